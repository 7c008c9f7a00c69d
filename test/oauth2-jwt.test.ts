/**
 * OAuth 2.0 with JWTs (RFC 7523) end to end, through the HTTP API: clients that authenticate with
 * `private_key_jwt` or `client_secret_jwt` at a real oidc-provider that requires them, the JWT
 * bearer grant registered in that provider, and a Google-style JWT bearer server without client
 * authentication. The private keys never show in answers, logs or the database.
 */
import { generateKeyPairSync, type KeyObject } from 'node:crypto'
import { Writable } from 'node:stream'
import {
  decodeJwt,
  decodeProtectedHeader,
  jwtVerify,
  type JWK,
  type JWTPayload,
  type ProtectedHeaderParameters,
} from 'jose'
import { pino } from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  startTestPatchbay,
  storeContains,
  testStoreKinds,
  type TestPatchbay,
} from './helpers/patchbay.js'
import { startJwtBearerServer, type JwtBearerServer } from './peers/jwt-bearer-server.js'
import { JWT_BEARER_GRANT, startOidcPeer, type OidcPeer } from './peers/oidc.js'
import { json, startUpstream, type Upstream } from './peers/upstream.js'

const CLIENT_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'
const SERVICE = 'reports@patchbay.test'
const GOOGLE_AUDIENCE = 'https://oauth2.googleapis.com/token'
const GOOGLE_SCOPES = [
  { name: 'Drive', value: 'https://www.googleapis.com/auth/drive.readonly' },
  { name: 'Calendar', value: 'https://www.googleapis.com/auth/calendar.readonly' },
]

type Pair = { privateKey: KeyObject; publicKey: KeyObject }
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 })
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' })
const stranger = generateKeyPairSync('rsa', { modulusLength: 2048 })
const service = generateKeyPairSync('rsa', { modulusLength: 2048 })
const googleKey = generateKeyPairSync('ec', { namedCurve: 'P-256' })

function pem(pair: Pair, type: 'pkcs1' | 'pkcs8'): string {
  return pair.privateKey.export({ type, format: 'pem' }) as string
}
const jwk = (pair: Pair, kid: string): JWK => ({ ...pair.publicKey.export({ format: 'jwk' }), kid })

/** Every key's PEM and a piece of its base64 body: none may show up anywhere. */
const PEMS = [pem(rsa, 'pkcs1'), pem(ec, 'pkcs8'), pem(service, 'pkcs1'), pem(googleKey, 'pkcs8')]
const NEEDLES = [...PEMS, ...PEMS.map((p) => p.split('\n')[1]!.slice(0, 40))]

/** A JWT's header and claims, its signature checked with `key`. */
async function verifiedJwt(
  jwt: string | undefined,
  key: KeyObject | Uint8Array,
): Promise<{ header: ProtectedHeaderParameters; claims: JWTPayload }> {
  const { payload, protectedHeader } = await jwtVerify(jwt ?? '', key)
  return { header: protectedHeader, claims: payload }
}

const anyString = expect.any(String) as string
const jtiLike = expect.stringMatching(/^[\w-]{22}$/) as string

/** An API in front of the provider's protected resource; tokens the test marks expired get 401. */
async function startApi(peer: OidcPeer): Promise<Upstream & { expired: Set<string> }> {
  const api = await startUpstream()
  const expired = new Set<string>()
  api.route('*', async (req, res) => {
    const auth = String(req.headers.authorization ?? '')
    if (expired.has(auth.replace(/^Bearer /, ''))) {
      return json(res, 401, { error: 'invalid_token' })
    }
    const upstream = await fetch(peer.resourceUrl, { headers: { authorization: auth } })
    json(res, upstream.status, await upstream.json())
  })
  return Object.assign(api, { expired })
}

describe.each(await testStoreKinds())('OAuth 2.0 JWTs on %s', (storeKind) => {
  let peer: OidcPeer
  let api: Awaited<ReturnType<typeof startApi>>
  let google: JwtBearerServer
  let t: TestPatchbay
  const logLines: string[] = []

  beforeAll(async () => {
    peer = await startOidcPeer({
      accessTokenTtl: 3600,
      privateKeyJwtKeys: [jwk(rsa, 'rsa-1'), jwk(ec, 'ec-1')],
      clientSecretJwt: true,
      jwtBearer: { issuers: { [SERVICE]: [jwk(service, 'svc-1')] } },
    })
    api = await startApi(peer)
    google = await startJwtBearerServer({
      audience: GOOGLE_AUDIENCE,
      issuers: { 'drive-sync@acme.iam.gserviceaccount.com': googleKey.publicKey },
      expiresIn: 2,
    })
    const logger = pino(
      { level: 'trace' },
      new Writable({
        write(chunk: Buffer, _enc, done) {
          logLines.push(chunk.toString('utf8'))
          done()
        },
      }),
    )
    t = await startTestPatchbay({ storeKind, logger })
  })
  afterAll(async () => {
    await t.close()
    await google.close()
    await api.close()
    await peer.close()
  })

  async function connector(
    auth: Record<string, unknown>,
    name: string,
    extra: Record<string, unknown> = {},
  ) {
    const c = await t.api('POST', '/api/v1/connectors', {
      name,
      baseUrl: api.url,
      auth: {
        type: 'oauth2',
        authorizationUrl: peer.authorizationUrl,
        tokenUrl: peer.tokenUrl,
        scopes: [{ name: 'Read', value: 'api:read' }],
        scopeDelimiter: ' ',
        ...auth,
      },
      customAction: { enabled: true },
      ...extra,
    })
    expect(c.status, JSON.stringify(c.body)).toBe(201)
    const ready = await t.api('POST', `/api/v1/connectors/${c.body.id}/ready`)
    expect(ready.status, JSON.stringify(ready.body)).toBe(200)
    return ready.body as { id: string; auth: Record<string, unknown> }
  }

  const call = (connectionId: string, path = 'me') =>
    t.api('POST', `/api/v1/connections/${connectionId}/request`, { method: 'GET', path })

  /** The last token request's form, and its client assertion verified with `key`. */
  async function lastClientAssertion(key: KeyObject | Uint8Array) {
    const sent = peer.tokenRequestLog.at(-1)!
    return { sent, ...(await verifiedJwt(sent.params.client_assertion, key)) }
  }

  it('authenticates client credentials with private_key_jwt and a PKCS#1 RSA key, masked in answers', async () => {
    const c = await connector(
      {
        grantType: 'client_credentials',
        clientId: peer.clients.privateKeyJwt!.clientId,
        clientAuth: 'private_key_jwt',
        privateKey: pem(rsa, 'pkcs1'),
        keyId: 'rsa-1',
      },
      'Private key JWT',
    )
    expect(c.auth.privateKey).toBe('********')
    peer.resetCounters()
    const created = await t.api('POST', '/api/v1/connections', { connector: c.id })
    expect(created.status, JSON.stringify(created.body)).toBe(201)
    expect(created.body.status).toBe('connected')
    expect(peer.counters.tokenRequestsByGrant).toEqual({ client_credentials: 1 })

    const { sent, header, claims } = await lastClientAssertion(rsa.publicKey)
    expect(sent.status).toBe(200)
    expect(sent.authorization).toBeUndefined()
    expect(sent.params).toEqual({
      grant_type: 'client_credentials',
      scope: 'api:read',
      client_id: 'app-private-key-jwt',
      client_assertion_type: CLIENT_ASSERTION_TYPE,
      client_assertion: anyString,
    })
    expect(header).toEqual({ alg: 'RS256', kid: 'rsa-1' })
    expect(claims).toEqual({
      iss: 'app-private-key-jwt',
      sub: 'app-private-key-jwt',
      aud: peer.tokenUrl,
      jti: jtiLike,
      iat: expect.any(Number) as number,
      exp: claims.iat! + 60,
    })
    expect(Math.abs(claims.iat! - Date.now() / 1000)).toBeLessThan(30)

    const first = await call(created.body.id)
    expect(first.body).toMatchObject({ status: 200, body: { client_id: 'app-private-key-jwt' } })

    // A refused token: one new client-credentials request, with a new assertion (a new jti).
    api.expired.add(String(api.requests.at(-1)!.headers.authorization).replace(/^Bearer /, ''))
    const again = await call(created.body.id)
    expect(again.body).toMatchObject({ status: 200, refreshed: true })
    expect(peer.counters.tokenRequestsByGrant).toEqual({ client_credentials: 2 })
    const renewed = await lastClientAssertion(rsa.publicKey)
    expect(renewed.claims.jti).not.toBe(claims.jti)
  })

  it('runs the code flow, a refresh and the revocation with private_key_jwt and an ES256 PKCS#8 key', async () => {
    const c = await connector(
      {
        grantType: 'authorization_code',
        clientId: peer.clients.privateKeyJwt!.clientId,
        clientAuth: 'private_key_jwt',
        privateKey: pem(ec, 'pkcs8'),
        keyId: 'ec-1',
        revokeUrl: peer.revocationUrl,
        scopes: [
          { name: 'Offline', value: 'offline_access' },
          { name: 'Read', value: 'api:read' },
        ],
      },
      'Private key JWT code',
    )
    peer.resetCounters()
    const created = await t.api('POST', '/api/v1/connections', { connector: c.id })
    expect(created.body.status).toBe('pending')
    const page = await fetch(await peer.follow(created.body.authorizeUrl))
    expect(page.status).toBe(200)
    const exchange = await lastClientAssertion(ec.publicKey)
    expect(exchange.sent.params).toEqual({
      grant_type: 'authorization_code',
      code: anyString,
      redirect_uri: `${t.url}/oauth/callback`,
      client_id: 'app-private-key-jwt',
      client_assertion_type: CLIENT_ASSERTION_TYPE,
      client_assertion: anyString,
    })
    expect(exchange.header).toEqual({ alg: 'ES256', kid: 'ec-1' })
    expect((await t.api('GET', `/api/v1/connections/${created.body.id}`)).body.status).toBe(
      'connected',
    )

    const refreshed = await t.api('POST', `/api/v1/connections/${created.body.id}/refresh`)
    expect(refreshed.status, JSON.stringify(refreshed.body)).toBe(200)
    expect(peer.counters.tokenRequestsByGrant).toEqual({ authorization_code: 1, refresh_token: 1 })
    const refresh = await lastClientAssertion(ec.publicKey)
    expect(refresh.sent.params).toMatchObject({
      grant_type: 'refresh_token',
      client_assertion_type: CLIENT_ASSERTION_TYPE,
    })
    expect(refresh.claims.jti).not.toBe(exchange.claims.jti)

    const me = await call(created.body.id)
    expect(me.body).toMatchObject({ status: 200, body: { sub: 'alice' } })
    const token = String(api.requests.at(-1)!.headers.authorization)
    expect((await t.api('DELETE', `/api/v1/connections/${created.body.id}`)).status).toBe(204)
    const logs = await t.api('GET', `/api/v1/logs?connection=${created.body.id}`)
    expect(logs.body.items[0]).toMatchObject({ kind: 'revoke', detail: { revoked: true } })
    expect((await fetch(peer.resourceUrl, { headers: { authorization: token } })).status).toBe(401)
  })

  it('authenticates with client_secret_jwt: an HS256 assertion over the client secret', async () => {
    const { clientId, clientSecret } = peer.clients.clientSecretJwt!
    const c = await connector(
      { grantType: 'client_credentials', clientId, clientSecret, clientAuth: 'client_secret_jwt' },
      'Client secret JWT',
    )
    peer.resetCounters()
    const created = await t.api('POST', '/api/v1/connections', { connector: c.id })
    expect(created.body.status).toBe('connected')
    const { sent, header, claims } = await lastClientAssertion(
      new TextEncoder().encode(clientSecret),
    )
    expect(Object.keys(sent.params).sort()).toEqual([
      'client_assertion',
      'client_assertion_type',
      'client_id',
      'grant_type',
      'scope',
    ])
    expect(header).toEqual({ alg: 'HS256' })
    expect(claims).toMatchObject({ iss: clientId, sub: clientId, aud: peer.tokenUrl })
    expect((await call(created.body.id)).body).toMatchObject({
      status: 200,
      body: { client_id: clientId },
    })
  })

  it('shows a wrong private key as a clear error and writes no connection', async () => {
    const c = await connector(
      {
        grantType: 'client_credentials',
        clientId: peer.clients.privateKeyJwt!.clientId,
        clientAuth: 'private_key_jwt',
        privateKey: pem(stranger, 'pkcs8'),
      },
      'Wrong key',
    )
    peer.resetCounters()
    const created = await t.api('POST', '/api/v1/connections', { connector: c.id })
    expect(created.status).toBe(502)
    expect(created.body.error).toMatchObject({
      code: 'connection.flow_failed',
      message: 'The token request failed: HTTP 401, invalid_client: client authentication failed.',
      details: { status: 401, error: 'invalid_client', transient: false },
    })
    expect(peer.tokenRequestLog.map((r) => r.status)).toEqual([401])
    const list = await t.api('GET', `/api/v1/connections?connector=${c.id}`)
    expect(list.body.items).toEqual([])
    expect(JSON.stringify(created.body)).not.toContain(pem(stranger, 'pkcs8').split('\n')[1])
  })

  it('refuses a private key that does not parse with a 400 naming the setting, writing nothing', async () => {
    const before = (await t.api('GET', '/api/v1/connectors?limit=100')).body.items.length
    const garbage = `-----BEGIN PRIVATE KEY-----\n${'QUJD'.repeat(30)}\n-----END PRIVATE KEY-----`
    const res = await t.api('POST', '/api/v1/connectors', {
      name: 'Bad key',
      baseUrl: api.url,
      auth: {
        type: 'oauth2',
        grantType: 'jwt_bearer',
        clientId: 'x',
        clientAuth: 'none',
        tokenUrl: peer.tokenUrl,
        privateKey: garbage,
      },
    })
    expect(res.status).toBe(400)
    expect(res.body.error).toMatchObject({
      code: 'input.invalid',
      details: [
        {
          path: 'auth.privateKey',
          rule: 'must be a PEM private key: "-----BEGIN PRIVATE KEY-----" (PKCS#8) or "-----BEGIN RSA PRIVATE KEY-----" (PKCS#1); it does not parse as one',
        },
      ],
    })
    expect(JSON.stringify(res.body)).not.toContain('QUJDQUJD')
    expect((await t.api('GET', '/api/v1/connectors?limit=100')).body.items).toHaveLength(before)
  })

  it('acquires with the JWT bearer grant, and re-acquires once for 50 concurrent calls with an expired token', async () => {
    const c = await connector(
      {
        grantType: 'jwt_bearer',
        clientId: peer.clients.jwtBearer!.clientId,
        privateKey: pem(service, 'pkcs1'),
        assertionIssuer: SERVICE,
        assertionSubject: '{{user}}',
      },
      'JWT bearer',
      { fields: [{ name: 'user', label: 'User to act for', type: 'text' }] },
    )
    peer.resetCounters()
    const created = await t.api('POST', '/api/v1/connections', {
      connector: c.id,
      values: { user: 'alice' },
    })
    expect(created.status, JSON.stringify(created.body)).toBe(201)
    expect(created.body.status).toBe('connected')
    expect(peer.counters.tokenRequestsByGrant).toEqual({ [JWT_BEARER_GRANT]: 1 })
    const sent = peer.tokenRequestLog.at(-1)!
    expect(sent.params).toEqual({
      grant_type: JWT_BEARER_GRANT,
      assertion: anyString,
      scope: 'api:read',
      client_id: 'app-jwt-bearer',
    })
    const { header, claims } = await verifiedJwt(sent.params.assertion, service.publicKey)
    expect(header).toEqual({ alg: 'RS256' })
    expect(claims).toEqual({
      iss: SERVICE,
      sub: 'alice',
      aud: peer.tokenUrl,
      jti: jtiLike,
      iat: expect.any(Number) as number,
      exp: claims.iat! + 60,
    })
    expect((await call(created.body.id)).body).toMatchObject({
      status: 200,
      body: { sub: 'alice', client_id: 'app-jwt-bearer', scope: 'api:read' },
    })

    api.expired.add(String(api.requests.at(-1)!.headers.authorization).replace(/^Bearer /, ''))
    peer.resetCounters()
    const results = await Promise.all(Array.from({ length: 50 }, () => call(created.body.id)))
    expect(results.map((r) => r.body.status)).toEqual(Array(50).fill(200))
    expect(peer.counters.tokenRequestsByGrant).toEqual({ [JWT_BEARER_GRANT]: 1 })
    const renewed = decodeJwt(peer.tokenRequestLog.at(-1)!.params.assertion!)
    expect(renewed.jti).not.toBe(claims.jti)
    const logs = await t.api('GET', `/api/v1/logs?connection=${created.body.id}&limit=100`)
    const refreshes = logs.body.items.filter((l: { kind: string }) => l.kind === 'refresh')
    expect(refreshes.map((l: { refreshOutcome: string }) => l.refreshOutcome)).toEqual([
      'refreshed',
    ])
  })

  it('connects Google style: no client authentication, the key per connection, scopes in the claim', async () => {
    const c = await t.api('POST', '/api/v1/connectors', {
      name: 'Drive service account',
      baseUrl: `${google.url}/api/`,
      fields: [{ name: 'client_email', label: 'Service account email', type: 'text' }],
      auth: {
        type: 'oauth2',
        grantType: 'jwt_bearer',
        clientId: '{{client_email}}',
        clientAuth: 'none',
        tokenUrl: google.tokenUrl,
        audience: GOOGLE_AUDIENCE,
        privateKeySource: 'connection',
        scopeIn: 'claim',
        scopes: GOOGLE_SCOPES,
        scopeDelimiter: ' ',
      },
      customAction: { enabled: true },
    })
    expect(c.status, JSON.stringify(c.body)).toBe(201)
    expect(c.body.connectionFields.map((f: { name: string; type: string }) => f.type)).toEqual([
      'text',
      'multiselect',
      'password',
    ])
    expect((await t.api('POST', `/api/v1/connectors/${c.body.id}/ready`)).status).toBe(200)

    // The hosted connect page asks for the values and sends no one to a browser flow.
    const session = await t.api('POST', '/api/v1/connect-sessions', {
      endUser: { id: 'user-jwt' },
      connectors: [c.body.id],
    })
    expect(session.status, JSON.stringify(session.body)).toBe(201)
    const pageInfo = await fetch(`${t.url}/connect/api/session`, {
      headers: { 'x-patchbay-connect-session': session.body.token },
    })
    const { connectors } = (await pageInfo.json()) as {
      connectors: { browser: boolean; fields: { name: string }[] }[]
    }
    expect(connectors[0]).toMatchObject({ browser: false })
    expect(connectors[0]!.fields.map((f) => f.name)).toEqual([
      'client_email',
      'scopes',
      'private_key',
    ])

    // A key that does not parse: a 400 naming the value, no token request, nothing written.
    const bad = await t.api('POST', '/api/v1/connections', {
      connector: c.body.id,
      values: {
        client_email: 'drive-sync@acme.iam.gserviceaccount.com',
        private_key: 'MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg',
      },
    })
    expect(bad.status).toBe(400)
    expect(bad.body.error).toMatchObject({
      code: 'connection.invalid_values',
      details: [{ path: 'values.private_key', rule: expect.stringMatching(/^must be a PEM/) }],
    })
    expect(JSON.stringify(bad.body)).not.toContain('MIGHAgEAMBMG')
    expect(google.tokenRequests).toHaveLength(0)
    expect((await t.api('GET', `/api/v1/connections?connector=${c.body.id}`)).body.items).toEqual(
      [],
    )

    // The key as a JSON key file holds it: its line breaks written as \n.
    const created = await t.api('POST', '/api/v1/connections', {
      connector: c.body.id,
      values: {
        client_email: 'drive-sync@acme.iam.gserviceaccount.com',
        private_key: JSON.stringify(pem(googleKey, 'pkcs8')).slice(1, -1),
      },
    })
    expect(created.status, JSON.stringify(created.body)).toBe(201)
    expect(created.body).toMatchObject({
      status: 'connected',
      values: { client_email: 'drive-sync@acme.iam.gserviceaccount.com' },
      secretsSet: ['private_key'],
    })
    const first = google.tokenRequests.at(-1)!
    expect(first.form).toEqual({ grant_type: JWT_BEARER_GRANT, assertion: anyString })
    expect(first.headers.authorization).toBeUndefined()
    expect(decodeProtectedHeader(first.form.assertion!)).toEqual({ alg: 'ES256' })
    expect(first.claims).toEqual({
      iss: 'drive-sync@acme.iam.gserviceaccount.com',
      aud: GOOGLE_AUDIENCE,
      scope: GOOGLE_SCOPES.map((s) => s.value).join(' '),
      jti: jtiLike,
      iat: expect.any(Number) as number,
      exp: first.claims!.iat! + 60,
    })
    const me = await t.api('POST', `/api/v1/connections/${created.body.id}/request`, {
      method: 'GET',
      path: 'drive/files',
    })
    expect(me.body).toMatchObject({
      status: 200,
      body: { iss: 'drive-sync@acme.iam.gserviceaccount.com' },
    })

    // The token lasts 2 s: once it has expired, 20 concurrent calls share one new token.
    const expiresAt = Date.parse(created.body.expiresAt)
    const deadline = Date.now() + 10_000
    while (Date.now() <= expiresAt && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50))
    }
    expect(Date.now()).toBeGreaterThan(expiresAt)
    const tokens = google.tokenRequests.length
    const results = await Promise.all(
      Array.from({ length: 20 }, () =>
        t.api('POST', `/api/v1/connections/${created.body.id}/request`, {
          method: 'GET',
          path: 'drive/files',
        }),
      ),
    )
    expect(results.map((r) => r.body.status)).toEqual(Array(20).fill(200))
    expect(google.tokenRequests.length - tokens).toBe(1)
    expect(google.tokenRequests.at(-1)!.status).toBe(200)
    expect(google.apiCalls.filter((a) => a.status === 401)).toEqual([])
  })

  it('never shows a private key in an answer, a log entry, a server log line or the database', async () => {
    const answers = [
      await t.api('GET', '/api/v1/connectors?limit=100'),
      await t.api('GET', '/api/v1/connections?limit=100'),
      await t.api('GET', '/api/v1/logs?limit=500'),
    ]
    const text = JSON.stringify(answers.map((a) => a.body))
    expect(text).toContain('"privateKey":"********"')
    for (const needle of NEEDLES) {
      expect(text).not.toContain(needle)
      expect(logLines.join('\n')).not.toContain(needle)
      expect(await storeContains(t, needle)).toBe(false)
    }
    expect(logLines.length).toBeGreaterThan(0)
  })
})
