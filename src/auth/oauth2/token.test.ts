import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { startScriptedTokenServer, type ScriptedTokenServer } from '../../../test/peers/oidc.js'
import { isPatchbayError, type PatchbayError } from '../../errors.js'
import type { OutgoingRequest } from '../../lib/request.js'
import type { Credentials } from '../scheme.js'
import { createTestAuthContext } from '../testing.js'
import { formUrlEncode, oauth2Scheme, oauth2SettingsSchema } from './index.js'

const NOW = 1_700_000_000_000
const FORM = { 'content-type': 'application/x-www-form-urlencoded' }

let server: ScriptedTokenServer
beforeAll(async () => {
  server = await startScriptedTokenServer()
})
afterEach(() => server.assertDone())
afterAll(() => server.close())

function context(
  settings: Record<string, unknown> = {},
  credentials: Credentials = { values: { access_token: 'at-0', refresh_token: 'rt-0' } },
  values: Record<string, unknown> = {},
) {
  return createTestAuthContext({
    settings: oauth2SettingsSchema.parse({
      grantType: 'authorization_code',
      clientId: 'client-1',
      clientSecret: 'very-secret',
      authorizationUrl: `${server.origin}/authorize`,
      tokenUrl: `${server.origin}/token`,
      ...settings,
    }),
    credentials,
    values,
    now: () => NOW,
  })
}

async function failure(promise: Promise<unknown>): Promise<PatchbayError> {
  const err: unknown = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  if (!isPatchbayError(err)) throw new Error(`expected a PatchbayError, got ${String(err)}`)
  return err
}

describe('oauth2 token responses', () => {
  it('reads a form-encoded token response', async () => {
    server.answer({
      headers: FORM,
      body: 'access_token=at-1&token_type=bearer&expires_in=7200&refresh_token=rt-1&scope=a%20b',
    })
    const credentials = await oauth2Scheme.refresh!(context())
    expect(credentials).toEqual({
      values: { access_token: 'at-1', refresh_token: 'rt-1', token_type: 'bearer', scope: 'a b' },
      expiresAt: NOW + 7_200_000,
      refreshExpiresAt: undefined,
      obtainedAt: NOW,
    })
  })

  it('uses the connector expiresIn when the answer has no expires_in, and needs no token_type', async () => {
    server.answer({ body: { access_token: 'at-1' } })
    const ctx = context({ expiresIn: 1800, tokenPrefix: 'token' })
    const credentials = await oauth2Scheme.refresh!(ctx)
    expect(credentials.expiresAt).toBe(NOW + 1_800_000)
    expect(credentials.values).toEqual({ access_token: 'at-1', refresh_token: 'rt-0' })

    const req: OutgoingRequest = {
      method: 'GET',
      url: new URL('https://api.example.com/x'),
      headers: {},
      body: { kind: 'none' },
    }
    await oauth2Scheme.apply({ ...ctx, credentials }, req)
    expect(req.headers.authorization).toBe('token at-1')
  })

  it('keeps the old refresh token and its expiry when the answer has none', async () => {
    server.answer({ body: { access_token: 'at-1', expires_in: 60 } })
    const previous = {
      values: { access_token: 'at-0', refresh_token: 'rt-0' },
      refreshExpiresAt: NOW + 5000,
    }
    const credentials = await oauth2Scheme.refresh!(context({}, previous))
    expect(credentials.values.refresh_token).toBe('rt-0')
    expect(credentials.refreshExpiresAt).toBe(NOW + 5000)
  })

  it('records refresh_token_expires_in as the refresh expiry', async () => {
    server.answer({
      body: { access_token: 'at-1', refresh_token: 'rt-1', refresh_token_expires_in: 86_400 },
    })
    const credentials = await oauth2Scheme.refresh!(context())
    expect(credentials.refreshExpiresAt).toBe(NOW + 86_400_000)
  })
})

describe('oauth2 token requests', () => {
  it('sends the refresh to refreshUrl with body client auth and tokenParams', async () => {
    server.answer({ body: { access_token: 'at-1' } })
    await oauth2Scheme.refresh!(
      context({ refreshUrl: `${server.origin}/refresh`, tokenParams: { audience: 'api' } }),
    )
    const [sent] = server.requests
    expect(sent?.method).toBe('POST')
    expect(sent?.path).toBe('/refresh')
    expect(sent?.headers.authorization).toBeUndefined()
    expect(sent?.form).toEqual({
      audience: 'api',
      grant_type: 'refresh_token',
      refresh_token: 'rt-0',
      client_id: 'client-1',
      client_secret: 'very-secret',
    })
  })

  it('form-encodes the client id and secret in HTTP Basic (RFC 6749 §2.3.1)', async () => {
    server.answer({ body: { access_token: 'at-1' } })
    const clientId = 'my client:1'
    const clientSecret = 'p@ss w/rd+é%'
    await oauth2Scheme.refresh!(context({ clientId, clientSecret, clientAuth: 'basic' }))
    const header = server.requests[0]?.headers.authorization ?? ''
    const decoded = Buffer.from(header.replace(/^Basic /, ''), 'base64').toString('utf8')
    expect(decoded).toBe('my+client%3A1:p%40ss+w%2Frd%2B%C3%A9%25')
    const [id = '', secret = ''] = decoded.split(':')
    const formDecode = (s: string) => decodeURIComponent(s.replace(/\+/g, ' '))
    expect([formDecode(id), formDecode(secret)]).toEqual([clientId, clientSecret])
    expect(server.requests[0]?.form).toEqual({ grant_type: 'refresh_token', refresh_token: 'rt-0' })
    expect(formUrlEncode('a b')).toBe('a+b')
  })

  it('renders {{field}} templates in the token URL and the extra params', async () => {
    server.answer({ body: { access_token: 'at-1' } })
    const ctx = context(
      {
        tokenUrl: `${server.origin}/{{tenant}}/token`,
        tokenParams: { resource: '{{tenant}}-api' },
      },
      undefined,
      { tenant: 'acme' },
    )
    await oauth2Scheme.refresh!(ctx)
    expect(server.requests[0]?.path).toBe('/acme/token')
    expect(server.requests[0]?.form.resource).toBe('acme-api')
  })

  it('percent-encodes template values so that they cannot change the token host', async () => {
    const ctx = context({ tokenUrl: 'http://{{host}}.localhost/token' }, undefined, {
      host: `127.0.0.1:${new URL(server.origin).port}/steal#`,
    })
    const err = await failure(oauth2Scheme.refresh!(ctx))
    expect(err.code).toBe('connection.invalid_values')
    expect(server.requests).toEqual([])
  })

  it('sends the client_credentials grant with the selected scopes joined by the delimiter', async () => {
    server.answer({ body: { access_token: 'cc-1', token_type: 'Bearer', expires_in: 900 } })
    const ctx = context(
      {
        grantType: 'client_credentials',
        authorizationUrl: undefined,
        clientAuth: 'basic',
        scopes: [
          { name: 'Read', value: 'read' },
          { name: 'Write', value: 'write' },
          { name: 'Admin', value: 'admin' },
        ],
      },
      { values: {} },
      { scopes: 'read,admin' },
    )
    const outcome = await oauth2Scheme.connect(ctx)
    expect(outcome).toEqual({
      status: 'connected',
      credentials: {
        values: { access_token: 'cc-1', token_type: 'Bearer' },
        expiresAt: NOW + 900_000,
        refreshExpiresAt: undefined,
        obtainedAt: NOW,
      },
    })
    expect(server.requests[0]?.form).toEqual({
      grant_type: 'client_credentials',
      scope: 'read,admin',
    })
    expect(server.requests[0]?.headers.authorization).toMatch(/^Basic /)
  })
})

describe('oauth2 failure classification', () => {
  it('makes a 5xx on refresh a transient refresh.failed', async () => {
    server.answer({
      status: 503,
      body: 'down for maintenance',
      headers: { 'content-type': 'text/html' },
    })
    const err = await failure(oauth2Scheme.refresh!(context()))
    expect(err.code).toBe('refresh.failed')
    expect(err.details).toEqual({ status: 503, transient: true })
  })

  it('makes a network error on refresh a transient refresh.failed', async () => {
    const closed = await startScriptedTokenServer()
    await closed.close()
    const err = await failure(
      oauth2Scheme.refresh!(context({ tokenUrl: `${closed.origin}/token` })),
    )
    expect(err.code).toBe('refresh.failed')
    expect(err.details).toEqual({ transient: true })
    expect(err.cause).toBeInstanceOf(Error)
  })

  it('makes a 429 or temporarily_unavailable transient', async () => {
    server.answer({ status: 429, body: '' }, { body: { error: 'temporarily_unavailable' } })
    expect((await failure(oauth2Scheme.refresh!(context()))).details).toMatchObject({
      transient: true,
    })
    expect((await failure(oauth2Scheme.refresh!(context()))).code).toBe('refresh.failed')
  })

  it.each([
    ['invalid_grant with 400', { status: 400, body: { error: 'invalid_grant' } }],
    ['a bare 401', { status: 401, body: '' }],
    ['invalid_client with 400', { status: 400, body: { error: 'invalid_client' } }],
    ['invalid_grant with 200', { status: 200, body: { error: 'invalid_grant' } }],
  ])('makes %s on refresh a needs_reauth', async (_, answer) => {
    server.answer(answer)
    const err = await failure(oauth2Scheme.refresh!(context()))
    expect(err.code).toBe('connection.needs_reauth')
    expect(err.message).toMatch(/reconnect/)
    expect(err.message).not.toContain('very-secret')
    expect(err.message).not.toContain('rt-0')
  })

  it('makes a 403 or an answer without a token a lasting refresh.failed', async () => {
    server.answer({ status: 403, body: { error: 'access_denied' } })
    server.answer({ body: '<html>sign in</html>', headers: { 'content-type': 'text/html' } })
    const forbidden = await failure(oauth2Scheme.refresh!(context()))
    expect(forbidden.code).toBe('refresh.failed')
    expect(forbidden.details).toEqual({ status: 403, error: 'access_denied', transient: false })
    const html = await failure(oauth2Scheme.refresh!(context()))
    expect(html.code).toBe('refresh.failed')
    expect(html.message).toContain('neither JSON nor a form')
  })

  it('fails the connection flow when the code exchange is refused', async () => {
    server.answer({
      status: 400,
      body: { error: 'invalid_grant', error_description: 'code expired' },
    })
    const ctx = context()
    const outcome = await oauth2Scheme.connect(ctx)
    if (outcome.status !== 'pending') throw new Error('expected pending')
    const params = new URLSearchParams({ code: 'c-1', state: outcome.state })
    const err = await failure(oauth2Scheme.complete!(ctx, params, outcome.flow))
    expect(err.code).toBe('connection.flow_failed')
    expect(err.message).toBe('The token request failed: HTTP 400, invalid_grant: code expired.')
    expect(server.requests[0]?.form).toEqual({
      grant_type: 'authorization_code',
      code: 'c-1',
      redirect_uri: 'http://127.0.0.1:1/oauth/callback',
      client_id: 'client-1',
      client_secret: 'very-secret',
    })
  })

  it('fails a client_credentials connect with flow_failed, and its refresh with needs_reauth', async () => {
    const settings = { grantType: 'client_credentials', authorizationUrl: undefined }
    server.answer({ status: 401, body: { error: 'invalid_client' } })
    server.answer({ status: 401, body: { error: 'invalid_client' } })
    expect((await failure(oauth2Scheme.connect(context(settings)))).code).toBe(
      'connection.flow_failed',
    )
    expect((await failure(oauth2Scheme.refresh!(context(settings)))).code).toBe(
      'connection.needs_reauth',
    )
  })
})

describe('oauth2 revocation (RFC 7009)', () => {
  it('revokes the refresh token, then the access token, with client auth', async () => {
    server.answer({ body: '' }, { body: '' })
    await oauth2Scheme.revoke!(
      context({ revokeUrl: `${server.origin}/revoke`, clientAuth: 'basic' }),
    )
    expect(server.requests.map((r) => [r.path, r.form])).toEqual([
      ['/revoke', { token: 'rt-0', token_type_hint: 'refresh_token' }],
      ['/revoke', { token: 'at-0', token_type_hint: 'access_token' }],
    ])
    expect(server.requests[0]?.headers.authorization).toMatch(/^Basic /)
  })

  it('does nothing without a revokeUrl', async () => {
    await oauth2Scheme.revoke!(context())
    expect(server.requests).toEqual([])
  })

  it('still revokes the access token when the refresh token revocation fails, then throws', async () => {
    server.answer({ status: 503, body: { error: 'temporarily_unavailable' } }, { body: '' })
    const err = await failure(
      oauth2Scheme.revoke!(context({ revokeUrl: `${server.origin}/revoke` })),
    )
    expect(err.code).toBe('oauth.provider_error')
    expect(err.details).toEqual({ status: 503, error: 'temporarily_unavailable' })
    expect(server.requests).toHaveLength(2)
  })
})
