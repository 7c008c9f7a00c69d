import { describe, expect, it } from 'vitest'
import { oauth2Problems, oauth2SettingsSchema } from './settings.js'

const complete = {
  grantType: 'authorization_code',
  clientId: 'id',
  clientSecret: 'secret',
  authorizationUrl: 'https://{{subdomain}}.example.com/oauth/authorize',
  tokenUrl: 'https://{{subdomain}}.example.com/oauth/token',
}

function issues(input: Record<string, unknown>) {
  const result = oauth2SettingsSchema.safeParse(input)
  return result.success ? [] : result.error.issues.map((i) => [i.path.join('.'), i.message])
}

describe('oauth2 settings', () => {
  it('applies the SPEC defaults', () => {
    expect(oauth2SettingsSchema.parse(complete)).toEqual({
      ...complete,
      clientAuth: 'body',
      scopes: [],
      scopeDelimiter: ',',
      tokenPrefix: 'Bearer',
      expiresIn: 3600,
      authorizationParams: {},
      tokenParams: {},
    })
  })

  it('refuses an expiry out of 900..86400, a non-alphanumeric prefix and more than 50 scopes', () => {
    const scopes = Array.from({ length: 51 }, (_, i) => ({ name: `S${i}`, value: `s${i}` }))
    expect(issues({ ...complete, expiresIn: 899, tokenPrefix: 'Bearer!', scopes })).toEqual([
      ['scopes', 'must have at most 50 scopes'],
      ['tokenPrefix', 'must be alphanumeric, such as Bearer'],
      ['expiresIn', 'must be at least 900 seconds'],
    ])
    expect(issues({ ...complete, expiresIn: 86_401 })).toEqual([
      ['expiresIn', 'must be at most 86400 seconds'],
    ])
  })

  it('refuses a URL without scheme and extra params that replace Patchbay’s own', () => {
    expect(
      issues({
        ...complete,
        tokenUrl: 'example.com/token',
        authorizationParams: { state: 'x', prompt: 'consent' },
        tokenParams: { grant_type: 'password' },
      }),
    ).toEqual([
      ['tokenUrl', 'must be an absolute http:// or https:// URL'],
      ['authorizationParams.state', '"state" is set by Patchbay'],
      ['tokenParams.grant_type', '"grant_type" is set by Patchbay'],
    ])
  })

  it('validates a draft against the partial schema', () => {
    expect(oauth2SettingsSchema.partial().safeParse({ clientId: 'id' }).success).toBe(true)
  })

  it('asks for a secret unless PKCE, and an authorization URL unless client_credentials', () => {
    const settings = oauth2SettingsSchema.parse(complete)
    expect(oauth2Problems(settings)).toEqual([])
    expect(oauth2Problems({ ...settings, clientSecret: undefined })).toEqual([
      {
        path: 'clientSecret',
        rule: 'is required for the authorization_code grant (only a PKCE client may go without)',
      },
    ])
    expect(
      oauth2Problems({
        ...settings,
        grantType: 'authorization_code_pkce',
        clientSecret: undefined,
        authorizationUrl: undefined,
      }),
    ).toEqual([
      { path: 'authorizationUrl', rule: 'is required for the authorization_code_pkce grant' },
    ])
    expect(
      oauth2Problems({ ...settings, grantType: 'client_credentials', authorizationUrl: undefined }),
    ).toEqual([])
  })

  it('refuses HTTP Basic for a public client and duplicate scope values', () => {
    const settings = oauth2SettingsSchema.parse({
      ...complete,
      grantType: 'authorization_code_pkce',
      clientSecret: undefined,
      clientAuth: 'basic',
      scopes: [
        { name: 'A', value: 'read' },
        { name: 'B', value: 'read' },
      ],
    })
    expect(oauth2Problems(settings).map((i) => i.path)).toEqual(['clientAuth', 'scopes'])
  })
})
