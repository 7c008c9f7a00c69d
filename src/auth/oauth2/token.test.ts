import { generateKeyPairSync, type KeyObject } from 'node:crypto'
import { jwtVerify } from 'jose'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { startScriptedTokenServer, type ScriptedTokenServer } from '../../../test/peers/oidc.js'
import { isPatchbayError, type PatchbayError } from '../../errors.js'
import type { OutgoingRequest } from '../../lib/request.js'
import type { Credentials } from '../scheme.js'
import { createTestAuthContext } from '../testing.js'
import {
  CLIENT_ASSERTION_TYPE,
  formUrlEncode,
  oauth2Scheme,
  oauth2SettingsSchema,
} from './index.js'

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

describe('oauth2 token-response values (tokenResponseValues)', () => {
  const keep = {
    tokenResponseValues: { instance_url: 'instance_url', org_id: 'org.id', region: 'region' },
    tokenResponseSecrets: { signature: 'signature' },
  }

  it('keeps the named values: secrets beside the tokens, the others as tokenValues', async () => {
    server.answer({
      body: {
        access_token: 'at-1',
        refresh_token: 'rt-1',
        instance_url: 'https://acme.my.example.com',
        org: { id: 42 },
        signature: 'sig-1',
        other: 'not kept',
      },
    })
    const credentials = await oauth2Scheme.refresh!(context(keep))
    expect(credentials.values).toEqual({
      access_token: 'at-1',
      refresh_token: 'rt-1',
      signature: 'sig-1',
    })
    // A value the answer does not have (`region`) is left out; a number is kept as text.
    expect(credentials.tokenValues).toEqual({
      instance_url: 'https://acme.my.example.com',
      org_id: '42',
    })
  })

  it('replaces a value a refresh answers again and keeps one it leaves out', async () => {
    const previous: Credentials = {
      values: { access_token: 'at-0', refresh_token: 'rt-0', signature: 'sig-0' },
      tokenValues: { instance_url: 'https://old.example.com', org_id: '7', dropped: 'x' },
    }
    server.answer({ body: { access_token: 'at-1', instance_url: 'https://new.example.com' } })
    const credentials = await oauth2Scheme.refresh!(context(keep, previous))
    expect(credentials.values).toEqual({
      access_token: 'at-1',
      refresh_token: 'rt-0',
      signature: 'sig-0',
    })
    // `dropped` is no longer named by the connector, so it is not carried on.
    expect(credentials.tokenValues).toEqual({
      instance_url: 'https://new.example.com',
      org_id: '7',
    })
  })

  it('keeps the values over a client_credentials re-acquire that leaves them out', async () => {
    const previous: Credentials = {
      values: { access_token: 'at-0', signature: 'sig-0' },
      tokenValues: { instance_url: 'https://old.example.com' },
    }
    server.answer({ body: { access_token: 'at-1', org: { id: 'o-9' } } })
    const credentials = await oauth2Scheme.refresh!(
      context({ ...keep, grantType: 'client_credentials' }, previous),
    )
    expect(credentials.values).toEqual({ access_token: 'at-1', signature: 'sig-0' })
    expect(credentials.tokenValues).toEqual({
      instance_url: 'https://old.example.com',
      org_id: 'o-9',
    })
  })

  it('refuses a name the grant keeps for itself, and a path that names nothing', () => {
    const parse = (values: Record<string, string>) =>
      oauth2SettingsSchema
        .safeParse({
          grantType: 'client_credentials',
          clientId: 'c',
          clientSecret: 's',
          tokenUrl: 'https://auth.example.com/token',
          tokenResponseSecrets: values,
        })
        .error?.issues.map((i) => [i.path.join('.'), i.message])
    expect(parse({ access_token: 'x', ok: '' })).toEqual([
      ['tokenResponseSecrets.ok', 'must name a value, such as data.token'],
      [
        'tokenResponseSecrets.access_token',
        'is a name this auth type keeps for itself (access_token, refresh_token, token_type, scope); pick another',
      ],
    ])
    expect(parse({ 'bad-name': 'y' })).toEqual([
      ['tokenResponseSecrets.bad-name', 'Invalid key in record'],
    ])
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

describe('oauth2 JWT client authentication (RFC 7523 §2.2)', () => {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 })
  const pkcs1 = rsa.privateKey.export({ type: 'pkcs1', format: 'pem' }) as string

  /** The form's client assertion, its signature checked with `key` at the test's clock. */
  async function assertionOf(form: Record<string, string>, key: KeyObject | Uint8Array) {
    const jwt = form.client_assertion ?? ''
    const { payload, protectedHeader } = await jwtVerify(jwt, key, {
      currentDate: new Date(NOW),
    })
    return { header: protectedHeader, claims: payload }
  }

  it('refreshes with private_key_jwt: client_id and a client assertion for the token URL', async () => {
    server.answer({ body: { access_token: 'at-1' } })
    await oauth2Scheme.refresh!(
      context({
        clientAuth: 'private_key_jwt',
        clientSecret: undefined,
        privateKey: pkcs1,
        keyId: 'key-2024',
        refreshUrl: `${server.origin}/refresh`,
      }),
    )
    const [sent] = server.requests
    expect(sent?.path).toBe('/refresh')
    expect(sent?.headers.authorization).toBeUndefined()
    expect(sent?.form).toEqual({
      grant_type: 'refresh_token',
      refresh_token: 'rt-0',
      client_id: 'client-1',
      client_assertion_type: CLIENT_ASSERTION_TYPE,
      client_assertion: expect.any(String) as string,
    })
    const { header, claims } = await assertionOf(sent!.form, rsa.publicKey)
    expect(header).toEqual({ alg: 'RS256', kid: 'key-2024' })
    expect(claims).toEqual({
      iss: 'client-1',
      sub: 'client-1',
      aud: `${server.origin}/token`,
      jti: expect.stringMatching(/^[\w-]{22}$/) as string,
      iat: NOW / 1000,
      exp: NOW / 1000 + 60,
    })
  })

  it('signs client_secret_jwt with HS256 over the secret, for the audience and lifetime set', async () => {
    server.answer({ body: { access_token: 'at-1' } })
    await oauth2Scheme.refresh!(
      context({
        clientAuth: 'client_secret_jwt',
        audience: 'https://auth.example.com',
        assertionLifetime: 120,
      }),
    )
    const form = server.requests[0]!.form
    expect(form.client_secret).toBeUndefined()
    const { header, claims } = await assertionOf(form, new TextEncoder().encode('very-secret'))
    expect(header).toEqual({ alg: 'HS256' })
    expect(claims).toMatchObject({
      iss: 'client-1',
      sub: 'client-1',
      aud: 'https://auth.example.com',
      exp: NOW / 1000 + 120,
    })
  })

  it('revokes with a fresh client assertion on each request', async () => {
    server.answer({ body: '' }, { body: '' })
    await oauth2Scheme.revoke!(
      context({
        revokeUrl: `${server.origin}/revoke`,
        clientAuth: 'private_key_jwt',
        clientSecret: undefined,
        privateKey: pkcs1,
      }),
    )
    const claims = await Promise.all(
      server.requests.map(async (r) => (await assertionOf(r.form, rsa.publicKey)).claims),
    )
    expect(claims.map((c) => c.aud)).toEqual([`${server.origin}/token`, `${server.origin}/token`])
    expect(claims[0]!.jti).not.toBe(claims[1]!.jti)
    expect(server.requests.map((r) => r.form.token)).toEqual(['rt-0', 'at-0'])
  })
})

describe('oauth2 JWT bearer grant (RFC 7523 §2.1)', () => {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 })
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const pkcs1 = rsa.privateKey.export({ type: 'pkcs1', format: 'pem' }) as string
  const pkcs8 = ec.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string
  const bearer = {
    grantType: 'jwt_bearer',
    authorizationUrl: undefined,
    clientSecret: undefined,
  }

  async function grantAssertion(key: KeyObject) {
    const form = server.requests.at(-1)!.form
    const { payload, protectedHeader } = await jwtVerify(form.assertion ?? '', key, {
      currentDate: new Date(NOW),
    })
    return { form, header: protectedHeader, claims: payload }
  }

  it('connects Salesforce style: no client authentication, iss the consumer key, sub the user', async () => {
    server.answer({
      body: { access_token: 'sf-1', instance_url: 'https://acme.my.salesforce.com' },
    })
    const ctx = context(
      {
        ...bearer,
        clientId: '3MVG9-consumer-key',
        clientAuth: 'none',
        privateKey: pkcs1,
        audience: 'https://login.salesforce.com',
        assertionSubject: '{{username}}',
        expiresIn: 7200,
      },
      { values: {} },
      { username: 'integration@acme.example' },
    )
    const outcome = await oauth2Scheme.connect(ctx)
    expect(outcome).toMatchObject({
      status: 'connected',
      credentials: { values: { access_token: 'sf-1' }, expiresAt: NOW + 7_200_000 },
    })
    const { form, header, claims } = await grantAssertion(rsa.publicKey)
    expect(form).toEqual({
      grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
      assertion: expect.any(String) as string,
    })
    expect(server.requests[0]?.headers.authorization).toBeUndefined()
    expect(header).toEqual({ alg: 'RS256' })
    expect(claims).toEqual({
      iss: '3MVG9-consumer-key',
      sub: 'integration@acme.example',
      aud: 'https://login.salesforce.com',
      jti: expect.any(String) as string,
      iat: NOW / 1000,
      exp: NOW / 1000 + 60,
    })
  })

  it('connects Google style: the key and the issuer from the connection, the scopes in a claim', async () => {
    server.answer({ body: { access_token: 'ya29-1', expires_in: 3599, token_type: 'Bearer' } })
    const ctx = context(
      {
        ...bearer,
        clientId: 'service-account',
        clientAuth: 'none',
        privateKeySource: 'connection',
        assertionIssuer: '{{client_email}}',
        keyId: '{{private_key_id}}',
        audience: 'https://oauth2.googleapis.com/token',
        assertionLifetime: 3600,
        scopeIn: 'claim',
        scopeDelimiter: ' ',
        scopes: [
          { name: 'Drive', value: 'https://www.googleapis.com/auth/drive.readonly' },
          { name: 'Calendar', value: 'https://www.googleapis.com/auth/calendar' },
        ],
      },
      { values: {} },
      {
        client_email: 'svc@project.iam.gserviceaccount.com',
        private_key_id: 'abc123',
        private_key: pkcs8,
      },
    )
    expect(oauth2Scheme.connectionFields(ctx.settings).map((f) => [f.name, f.type])).toEqual([
      ['scopes', 'multiselect'],
      ['private_key', 'password'],
    ])
    await oauth2Scheme.connect(ctx)
    const { form, header, claims } = await grantAssertion(ec.publicKey)
    expect(Object.keys(form)).toEqual(['grant_type', 'assertion'])
    expect(header).toEqual({ alg: 'ES256', kid: 'abc123' })
    expect(claims).toEqual({
      iss: 'svc@project.iam.gserviceaccount.com',
      aud: 'https://oauth2.googleapis.com/token',
      scope:
        'https://www.googleapis.com/auth/drive.readonly https://www.googleapis.com/auth/calendar',
      jti: expect.any(String) as string,
      iat: NOW / 1000,
      exp: NOW / 1000 + 3600,
    })
  })

  it('puts the scopes in the form by default, and re-acquires with a new assertion on refresh', async () => {
    server.answer({ body: { access_token: 'at-1' } }, { body: { access_token: 'at-2' } })
    const ctx = context({
      ...bearer,
      clientAuth: 'body',
      privateKey: pkcs1,
      scopes: [{ name: 'Read', value: 'read' }],
      tokenParams: { resource: 'api' },
    })
    expect(oauth2Scheme.canRefresh(ctx.settings, {}, { values: { access_token: 'x' } })).toBe(true)
    await oauth2Scheme.connect(ctx)
    const first = await grantAssertion(rsa.publicKey)
    expect(first.form).toEqual({
      resource: 'api',
      grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
      assertion: expect.any(String) as string,
      scope: 'read',
      client_id: 'client-1',
    })
    expect(first.claims).toMatchObject({ iss: 'client-1', aud: `${server.origin}/token` })
    expect(first.claims.scope).toBeUndefined()
    const renewed = await oauth2Scheme.refresh!(ctx)
    expect(renewed.values).toEqual({ access_token: 'at-2' })
    const second = await grantAssertion(rsa.publicKey)
    expect(second.claims.jti).not.toBe(first.claims.jti)
    expect(second.form.refresh_token).toBeUndefined()
  })

  it('can authenticate the client with private_key_jwt as well, with the same key', async () => {
    server.answer({ body: { access_token: 'at-1' } })
    await oauth2Scheme.connect(
      context({ ...bearer, clientAuth: 'private_key_jwt', privateKey: pkcs1 }),
    )
    const { form } = await grantAssertion(rsa.publicKey)
    expect(Object.keys(form)).toEqual([
      'grant_type',
      'assertion',
      'client_id',
      'client_assertion_type',
      'client_assertion',
    ])
    const client = await jwtVerify(form.client_assertion ?? '', rsa.publicKey, {
      currentDate: new Date(NOW),
    })
    expect(client.payload).toMatchObject({ iss: 'client-1', sub: 'client-1' })
  })

  it('refuses a connection key that does not parse with a 400 naming it, before any request', async () => {
    const ctx = context(
      { ...bearer, clientAuth: 'none', privateKeySource: 'connection' },
      { values: {} },
      { private_key: 'MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQ' },
    )
    const err = await failure(oauth2Scheme.connect(ctx))
    expect(err.code).toBe('connection.invalid_values')
    expect(err.details).toEqual([
      { path: 'values.private_key', rule: expect.stringMatching(/^must be a PEM private key/) },
    ])
    expect(err.message).not.toContain('MIIE')
    expect(server.requests).toEqual([])
  })

  it('refuses a connection key that does not fit signingAlgorithm, and a claim value it lacks', async () => {
    const mismatch = context(
      { ...bearer, privateKeySource: 'connection', signingAlgorithm: 'RS256' },
      { values: {} },
      { private_key: pkcs8 },
    )
    expect((await failure(oauth2Scheme.connect(mismatch))).details).toEqual([
      {
        path: 'values.private_key',
        rule: 'does not fit signingAlgorithm: RS256 needs an RSA key, and the private key is an EC key on P-256',
      },
    ])
    const missing = context({ ...bearer, privateKey: pkcs1, assertionIssuer: '{{client_email}}' })
    expect((await failure(oauth2Scheme.connect(missing))).details).toEqual([
      {
        path: 'auth.assertionIssuer',
        rule: 'uses {{client_email}}, which this connection does not set',
      },
    ])
    expect(server.requests).toEqual([])
  })

  it('leaves sub out when the user to act for is an optional value the connection does not set', async () => {
    server.answer({ body: { access_token: 'at-1' } }, { body: { access_token: 'at-2' } })
    const settings = { ...bearer, privateKey: pkcs1, assertionSubject: '{{subject}}' }
    await oauth2Scheme.connect(context(settings))
    expect((await grantAssertion(rsa.publicKey)).claims.sub).toBeUndefined()
    await oauth2Scheme.connect(context(settings, { values: {} }, { subject: 'bob@acme.example' }))
    expect((await grantAssertion(rsa.publicKey)).claims.sub).toBe('bob@acme.example')
  })

  it('fails the connect with flow_failed and a re-acquire with needs_reauth on invalid_grant', async () => {
    const answer = {
      status: 400,
      body: { error: 'invalid_grant', error_description: 'Invalid JWT Signature.' },
    }
    server.answer(answer, answer)
    const ctx = context({ ...bearer, clientAuth: 'none', privateKey: pkcs1 })
    const connect = await failure(oauth2Scheme.connect(ctx))
    expect(connect.code).toBe('connection.flow_failed')
    expect(connect.message).toMatch(
      /^The token request failed: HTTP 400, invalid_grant: Invalid JWT Signature/,
    )
    expect((await failure(oauth2Scheme.refresh!(ctx))).code).toBe('connection.needs_reauth')
  })
})
