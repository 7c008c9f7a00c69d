import { describe, expect, it } from 'vitest'
import { isPatchbayError } from '../../errors.js'
import { authorizationUrl, processAuthorizationResponse, selectScopes } from './authorize.js'

function thrown(fn: () => unknown): unknown {
  try {
    fn()
  } catch (err) {
    return err
  }
  throw new Error('expected a throw')
}

describe('authorizationUrl', () => {
  const base = {
    clientId: 'client 1',
    redirectUri: 'https://patchbay.example.com/oauth/callback',
    state: 'st',
  }

  it('adds the RFC 6749 §4.1.1 parameters and keeps the endpoint’s own query', () => {
    const url = authorizationUrl('https://id.example.com/authorize?tenant=acme', {
      ...base,
      scope: 'read,write',
      extraParams: { access_type: 'offline', prompt: 'consent' },
    })
    expect(url.origin + url.pathname).toBe('https://id.example.com/authorize')
    expect([...url.searchParams]).toEqual([
      ['tenant', 'acme'],
      ['access_type', 'offline'],
      ['prompt', 'consent'],
      ['response_type', 'code'],
      ['client_id', 'client 1'],
      ['redirect_uri', 'https://patchbay.example.com/oauth/callback'],
      ['state', 'st'],
      ['scope', 'read,write'],
    ])
  })

  it('adds the PKCE challenge with S256', () => {
    const url = authorizationUrl('https://id.example.com/authorize', {
      ...base,
      codeChallenge: 'ch',
    })
    expect(url.searchParams.get('code_challenge')).toBe('ch')
    expect(url.searchParams.get('code_challenge_method')).toBe('S256')
    expect(url.searchParams.has('scope')).toBe(false)
  })

  it('never lets an endpoint or extra parameter replace Patchbay’s own', () => {
    const url = authorizationUrl('https://id.example.com/authorize?state=evil&scope=all', {
      ...base,
      extraParams: { client_id: 'other', redirect_uri: 'https://evil.example.com' },
    })
    expect(url.searchParams.getAll('state')).toEqual(['st'])
    expect(url.searchParams.getAll('client_id')).toEqual(['client 1'])
    expect(url.searchParams.getAll('redirect_uri')).toEqual([base.redirectUri])
    expect(url.searchParams.has('scope')).toBe(false)
  })

  it('names a bad endpoint', () => {
    expect(() => authorizationUrl('ftp://id.example.com', base)).toThrow(
      '"authorizationUrl" must be an http:// or https:// URL',
    )
  })
})

describe('processAuthorizationResponse', () => {
  it('returns the code', () => {
    const params = new URLSearchParams({ code: 'abc', state: 's', iss: 'https://id.example.com' })
    expect(processAuthorizationResponse(params, { expectedState: 's' })).toBe('abc')
  })

  it('throws oauth.provider_error with the error and its description', () => {
    const err = thrown(() =>
      processAuthorizationResponse(
        new URLSearchParams({
          error: 'access_denied',
          error_description: 'User said no\n',
          state: 's',
        }),
        { expectedState: 's' },
      ),
    )
    expect(isPatchbayError(err, 'oauth.provider_error')).toBe(true)
    expect((err as Error).message).toBe(
      'The authorization server refused the authorization (access_denied: User said no).',
    )
  })

  it('refuses a state that is not the flow’s, before reading anything else', () => {
    const err = thrown(() =>
      processAuthorizationResponse(new URLSearchParams({ code: 'abc', state: 'x' }), {
        expectedState: 's',
      }),
    )
    expect(isPatchbayError(err, 'oauth.state_invalid')).toBe(true)
  })

  it('refuses a redirect with neither code nor error', () => {
    const err = thrown(() => processAuthorizationResponse(new URLSearchParams({ state: 's' })))
    expect(isPatchbayError(err, 'oauth.provider_error')).toBe(true)
  })
})

describe('selectScopes', () => {
  const all = ['a', 'b', 'c']
  it('takes every scope when the connection chose none', () => {
    expect(selectScopes(all, undefined, ',')).toEqual(all)
    expect(selectScopes(all, '', ',')).toEqual(all)
    expect(selectScopes(all, [], ',')).toEqual(all)
  })

  it('reads an array or a delimited string', () => {
    expect(selectScopes(all, ['c', 'a'], ',')).toEqual(['c', 'a'])
    expect(selectScopes(all, 'b, c', ',')).toEqual(['b', 'c'])
    expect(selectScopes(all, 'a c', ' ')).toEqual(['a', 'c'])
  })

  it('refuses a scope the connector does not list', () => {
    const err = thrown(() => selectScopes(all, ['a', 'z'], ','))
    expect(isPatchbayError(err, 'connection.invalid_values')).toBe(true)
  })
})
