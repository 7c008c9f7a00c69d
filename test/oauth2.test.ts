/**
 * OAuth 2.0 end to end: a real authorization server (oidc-provider) on loopback, Patchbay's
 * callback route, refresh on 401 with one retry, single flight, revocation, needs_reauth.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestPatchbay, testStoreKinds, type TestPatchbay } from './helpers/patchbay.js'
import { startOidcPeer, type OidcPeer } from './peers/oidc.js'
import { json, startUpstream, type Upstream } from './peers/upstream.js'

/** An API in front of the provider's protected resource; tokens the test marks expired get 401. */
async function startApi(
  peer: OidcPeer,
): Promise<Upstream & { expired: Set<string>; lastToken(): string }> {
  const api = await startUpstream()
  const expired = new Set<string>()
  api.route('*', async (req, res) => {
    const auth = String(req.headers.authorization ?? '')
    if (expired.has(auth.replace(/^Bearer /, ''))) {
      return json(
        res,
        401,
        { error: 'invalid_token' },
        { 'www-authenticate': 'Bearer error="invalid_token"' },
      )
    }
    const upstream = await fetch(peer.resourceUrl, { headers: { authorization: auth } })
    json(res, upstream.status, await upstream.json())
  })
  return Object.assign(api, {
    expired,
    lastToken: () => String(api.requests.at(-1)!.headers.authorization).replace(/^Bearer /, ''),
  })
}

const SCOPES = [
  { name: 'OpenID', value: 'openid' },
  { name: 'Offline', value: 'offline_access' },
  { name: 'Read', value: 'api:read' },
]

describe.each(await testStoreKinds())('OAuth 2.0 on %s', (storeKind) => {
  let peer: OidcPeer
  let api: Awaited<ReturnType<typeof startApi>>
  let t: TestPatchbay

  beforeAll(async () => {
    peer = await startOidcPeer({ accessTokenTtl: 3600 })
    api = await startApi(peer)
    t = await startTestPatchbay({ storeKind })
  })
  afterAll(async () => {
    await t.close()
    await api.close()
    await peer.close()
  })

  async function connector(auth: Record<string, unknown>, name: string) {
    const c = await t.api('POST', '/api/v1/connectors', {
      name,
      baseUrl: api.url,
      auth: {
        type: 'oauth2',
        authorizationUrl: peer.authorizationUrl,
        tokenUrl: peer.tokenUrl,
        revokeUrl: peer.revocationUrl,
        scopes: SCOPES,
        scopeDelimiter: ' ',
        ...auth,
      },
      identity: { path: 'me', valuePath: 'sub' },
      customAction: { enabled: true },
    })
    expect(c.status, JSON.stringify(c.body)).toBe(201)
    const ready = await t.api('POST', `/api/v1/connectors/${c.body.id}/ready`)
    expect(ready.status, JSON.stringify(ready.body)).toBe(200)
    return c.body.id as string
  }

  /** Creates a connection and authorizes it the way a browser would. */
  async function authorize(connectorId: string, extra: Record<string, unknown> = {}) {
    const created = await t.api('POST', '/api/v1/connections', { connector: connectorId, ...extra })
    expect(created.status, JSON.stringify(created.body)).toBe(201)
    expect(created.body.status).toBe('pending')
    const callback = await peer.follow(created.body.authorizeUrl)
    const page = await fetch(callback, { redirect: 'manual' })
    return { created: created.body, callback, page }
  }

  let basicConnector: string
  it('connects with the authorization code flow and client_secret_basic', async () => {
    const c = peer.clients.basic
    basicConnector = await connector(
      {
        grantType: 'authorization_code',
        clientId: c.clientId,
        clientSecret: c.clientSecret,
        clientAuth: 'basic',
      },
      'Code basic',
    )
    peer.resetCounters()
    const { created, page } = await authorize(basicConnector)
    const url = new URL(created.authorizeUrl)
    expect(Object.fromEntries(url.searchParams)).toMatchObject({
      response_type: 'code',
      client_id: c.clientId,
      redirect_uri: `${t.url}/oauth/callback`,
      scope: 'openid offline_access api:read',
    })
    expect(url.searchParams.get('state')!.length).toBeGreaterThanOrEqual(22)
    expect(page.status).toBe(200)
    expect(await page.text()).toContain('is connected')
    const conn = await t.api('GET', `/api/v1/connections/${created.id}`)
    expect(conn.body).toMatchObject({ status: 'connected', identity: expect.any(String) })
    expect(Date.parse(conn.body.expiresAt)).toBeGreaterThan(Date.now())
    const exchange = peer.tokenRequestLog.at(-1)!
    expect(exchange.grantType).toBe('authorization_code')
    expect(exchange.authorization).toBe(
      `Basic ${Buffer.from(`${c.clientId}:${c.clientSecret}`).toString('base64')}`,
    )
    expect(exchange.params).toMatchObject({ redirect_uri: `${t.url}/oauth/callback` })
    expect(exchange.params.client_secret).toBeUndefined()
    expect(JSON.stringify(conn.body)).not.toMatch(/access_token|refresh_token/)
  })

  it('refuses a replayed or unknown state with a clear page and writes nothing', async () => {
    const { callback } = await authorize(basicConnector)
    const replay = await fetch(callback)
    expect(replay.status).toBe(400)
    expect(await replay.text()).toMatch(/unknown, already used or expired/)
    const forged = new URL(callback)
    forged.searchParams.set('state', 'forged-state-value')
    expect((await fetch(forged)).status).toBe(400)
  })

  it('ends a refused authorization in a failed connection and a clear page', async () => {
    const created = await t.api('POST', '/api/v1/connections', { connector: basicConnector })
    const callback = await peer.follow(created.body.authorizeUrl, { deny: true })
    const page = await fetch(callback)
    expect(page.status).toBe(400)
    expect(await page.text()).toMatch(/access_denied/)
    const conn = await t.api('GET', `/api/v1/connections/${created.body.id}`)
    expect(conn.body).toMatchObject({
      status: 'error',
      statusMessage: expect.stringMatching(/access_denied/),
    })
  })

  it('redirects to the returnUrl given at creation', async () => {
    const { created, page } = await authorize(basicConnector, {
      returnUrl: 'https://app.example.com/done?x=1',
    })
    expect(page.status).toBe(302)
    const location = new URL(page.headers.get('location')!)
    expect(location.origin + location.pathname).toBe('https://app.example.com/done')
    expect(Object.fromEntries(location.searchParams)).toEqual({
      x: '1',
      connectionId: created.id,
      status: 'connected',
    })
  })

  it('refreshes once and retries once on a 401, rotating the refresh token', async () => {
    const { created } = await authorize(basicConnector)
    const call = () => t.api('POST', `/api/v1/connections/${created.id}/request`, { path: 'me' })
    expect((await call()).body.status).toBe(200)
    for (let round = 0; round < 2; round++) {
      api.expired.add(api.lastToken())
      peer.resetCounters()
      const before = api.requests.length
      const res = await call()
      expect(res.body).toMatchObject({ status: 200, refreshed: true })
      expect(api.requests.length - before).toBe(2) // the 401, then the retry
      expect(peer.counters.tokenRequestsByGrant).toEqual({ refresh_token: 1 })
    }
    const presented = peer.tokenRequestLog
      .filter((r) => r.grantType === 'refresh_token')
      .map((r) => r.params.refresh_token)
    expect(new Set(presented).size).toBe(presented.length)
    const logs = await t.api('GET', `/api/v1/logs?connection=${created.id}&limit=20`)
    const kinds = logs.body.items.map(
      (l: { kind: string; refreshOutcome: string | null }) => `${l.kind}:${l.refreshOutcome}`,
    )
    expect(kinds).toContain('refresh:refreshed')
  })

  it('gives up after one retry when the new token is refused too', async () => {
    const { created } = await authorize(basicConnector)
    await t.api('POST', `/api/v1/connections/${created.id}/request`, { path: 'me' })
    // Every token is refused from now on for this API: one refresh, one retry, then the 401 stands.
    const always = api.expired
    const original = always.has.bind(always)
    always.has = () => true
    try {
      peer.resetCounters()
      const before = api.requests.length
      const res = await t.api('POST', `/api/v1/connections/${created.id}/request`, { path: 'me' })
      expect(res.body).toMatchObject({ status: 401, refreshed: true })
      expect(api.requests.length - before).toBe(2)
      expect(peer.counters.tokenRequests).toBe(1)
    } finally {
      always.has = original
    }
  })

  it('makes exactly one token request for 200 parallel calls with an expired token', async () => {
    const { created } = await authorize(basicConnector)
    await t.api('POST', `/api/v1/connections/${created.id}/request`, { path: 'me' })
    api.expired.add(api.lastToken())
    peer.resetCounters()
    const results = await Promise.all(
      Array.from({ length: 200 }, () =>
        t.api('POST', `/api/v1/connections/${created.id}/request`, { path: 'me' }),
      ),
    )
    expect(results.map((r) => r.body.status)).toEqual(Array(200).fill(200))
    expect(peer.counters.tokenRequests).toBe(1)
    expect(peer.counters.tokenRequestsByGrant).toEqual({ refresh_token: 1 })
  })

  it('marks the connection needs_reauth when the refresh token is revoked, and stops refreshing', async () => {
    const { created } = await authorize(basicConnector)
    await t.api('POST', `/api/v1/connections/${created.id}/request`, { path: 'me' })
    const token = api.lastToken()
    await peer.revokeGrant(token)
    api.expired.add(token)
    peer.resetCounters()
    const res = await t.api('POST', `/api/v1/connections/${created.id}/request`, { path: 'me' })
    expect(res.status).toBe(409)
    expect(res.body.error.code).toBe('connection.needs_reauth')
    expect(res.body.error.message).toMatch(/reconnect|authorize/i)
    const conn = await t.api('GET', `/api/v1/connections/${created.id}`)
    expect(conn.body.status).toBe('needs_reauth')
    const again = await t.api('POST', `/api/v1/connections/${created.id}/request`, { path: 'me' })
    expect(again.body.error.code).toBe('connection.needs_reauth')
    expect(peer.counters.tokenRequests).toBe(1)
  })

  it('reconnects a needs_reauth connection in place, keeping its id', async () => {
    const { created } = await authorize(basicConnector)
    await t.api('POST', `/api/v1/connections/${created.id}/request`, { path: 'me' })
    const token = api.lastToken()
    await peer.revokeGrant(token)
    api.expired.add(token)
    await t.api('POST', `/api/v1/connections/${created.id}/request`, { path: 'me' })
    expect((await t.api('GET', `/api/v1/connections/${created.id}`)).body.status).toBe(
      'needs_reauth',
    )
    const again = await t.api('POST', `/api/v1/connections/${created.id}/reconnect`, {})
    expect(again.status, JSON.stringify(again.body)).toBe(200)
    expect(again.body).toMatchObject({
      id: created.id,
      authorizeUrl: expect.stringContaining(peer.authorizationUrl),
    })
    const page = await fetch(await peer.follow(again.body.authorizeUrl))
    expect(page.status).toBe(200)
    expect((await t.api('GET', `/api/v1/connections/${created.id}`)).body.status).toBe('connected')
    const res = await t.api('POST', `/api/v1/connections/${created.id}/request`, { path: 'me' })
    expect(res.body.status).toBe(200)
  })

  it('revokes the tokens when the connection is deleted', async () => {
    const { created } = await authorize(basicConnector)
    await t.api('POST', `/api/v1/connections/${created.id}/request`, { path: 'me' })
    const token = api.lastToken()
    expect(
      (await fetch(peer.resourceUrl, { headers: { authorization: `Bearer ${token}` } })).status,
    ).toBe(200)
    expect((await t.api('DELETE', `/api/v1/connections/${created.id}`)).status).toBe(204)
    expect(
      (await fetch(peer.resourceUrl, { headers: { authorization: `Bearer ${token}` } })).status,
    ).toBe(401)
    const revokeLog = await t.api('GET', `/api/v1/logs?connection=${created.id}`)
    expect(revokeLog.body.items[0]).toMatchObject({
      kind: 'revoke',
      detail: { revoked: true },
      error: null,
    })
  })

  it('connects a PKCE public client without a secret, sending the code verifier', async () => {
    const id = await connector(
      { grantType: 'authorization_code_pkce', clientId: peer.clients.pkce.clientId },
      'Code PKCE',
    )
    const { created, page } = await authorize(id)
    const url = new URL(created.authorizeUrl)
    expect(url.searchParams.get('code_challenge_method')).toBe('S256')
    expect(url.searchParams.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(page.status).toBe(200)
    const exchange = peer.tokenRequestLog.at(-1)!
    expect(exchange.params.code_verifier).toMatch(/^[A-Za-z0-9._~-]{43,128}$/)
    expect(exchange.params.client_id).toBe(peer.clients.pkce.clientId)
    expect(exchange.params.client_secret).toBeUndefined()
    expect(exchange.authorization).toBeUndefined()
    expect((await t.api('GET', `/api/v1/connections/${created.id}`)).body.status).toBe('connected')
  })

  it('connects with client_secret_post', async () => {
    const c = peer.clients.post
    const id = await connector(
      { grantType: 'authorization_code', clientId: c.clientId, clientSecret: c.clientSecret },
      'Code post',
    )
    const { created } = await authorize(id)
    const exchange = peer.tokenRequestLog.at(-1)!
    expect(exchange.params).toMatchObject({ client_id: c.clientId, client_secret: c.clientSecret })
    expect(exchange.authorization).toBeUndefined()
    expect((await t.api('GET', `/api/v1/connections/${created.id}`)).body.status).toBe('connected')
  })

  it('connects with client credentials without a browser, and gets a new token when refused', async () => {
    const c = peer.clients.clientCredentials
    const id = await connector(
      {
        grantType: 'client_credentials',
        clientId: c.clientId,
        clientSecret: c.clientSecret,
        clientAuth: 'basic',
        scopes: [{ name: 'Read', value: 'api:read' }],
      },
      'Machine',
    )
    peer.resetCounters()
    const created = await t.api('POST', '/api/v1/connections', { connector: id })
    expect(created.body.status).toBe('connected')
    expect(peer.counters.tokenRequestsByGrant).toEqual({ client_credentials: 1 })
    await t.api('POST', `/api/v1/connections/${created.body.id}/request`, { path: 'me' })
    api.expired.add(api.lastToken())
    const res = await t.api('POST', `/api/v1/connections/${created.body.id}/request`, {
      path: 'me',
    })
    expect(res.body).toMatchObject({ status: 200, refreshed: true })
    expect(peer.counters.tokenRequestsByGrant).toEqual({ client_credentials: 2 })
  })

  it('keeps a draft with rules between settings broken from ready, naming the setting', async () => {
    const c = await t.api('POST', '/api/v1/connectors', {
      name: 'No authorize URL',
      baseUrl: api.url,
      auth: {
        type: 'oauth2',
        grantType: 'authorization_code',
        clientId: 'x',
        clientSecret: 'y',
        tokenUrl: peer.tokenUrl,
      },
    })
    expect(c.body.missing).toEqual([
      { path: 'auth.authorizationUrl', rule: 'is required for the authorization_code grant' },
    ])
    const ready = await t.api('POST', `/api/v1/connectors/${c.body.id}/ready`)
    expect(ready.status).toBe(409)
    expect(ready.body.error).toMatchObject({
      code: 'connector.incomplete',
      details: [{ path: 'auth.authorizationUrl' }],
    })
  })

  it('forces a refresh from the API', async () => {
    const { created } = await authorize(basicConnector)
    peer.resetCounters()
    const res = await t.api('POST', `/api/v1/connections/${created.id}/refresh`)
    expect(res.body.status).toBe('connected')
    expect(peer.counters.tokenRequestsByGrant).toEqual({ refresh_token: 1 })
  })
})

describe('OAuth 2.0 refresh ahead of time', () => {
  let tokens: Server
  let tokenUrl: string
  const grants: string[] = []
  let issued = 0
  let api: Upstream
  let t: TestPatchbay
  beforeAll(async () => {
    tokens = createServer((req, res) => {
      let body = ''
      req.on('data', (c: Buffer) => (body += c.toString()))
      req.on('end', () => {
        const params = new URLSearchParams(body)
        grants.push(params.get('grant_type') ?? '')
        issued++
        // Form-encoded, no token_type, a short-lived refresh token: quirks real providers have.
        res.writeHead(200, { 'content-type': 'application/x-www-form-urlencoded' })
        res.end(
          new URLSearchParams({
            access_token: `at-${issued}`,
            refresh_token: `rt-${issued}`,
            expires_in: '2',
            refresh_token_expires_in: '2',
          }).toString(),
        )
      })
    })
    await new Promise<void>((r) => tokens.listen(0, '127.0.0.1', r))
    tokenUrl = `http://127.0.0.1:${(tokens.address() as AddressInfo).port}/token`
    api = await startUpstream()
    t = await startTestPatchbay({ refreshIntervalMs: 100 })
  })
  afterAll(async () => {
    await t.close()
    await api.close()
    await new Promise<void>((r) => tokens.close(() => r()))
  })

  it('refreshes at 85 % of the lifetime before a call, and keeps the refresh token alive with no traffic', async () => {
    const c = await t.api('POST', '/api/v1/connectors', {
      name: 'Short lived',
      baseUrl: api.url,
      auth: {
        type: 'oauth2',
        grantType: 'client_credentials',
        clientId: 'id',
        clientSecret: 'secret',
        tokenUrl,
      },
      customAction: { enabled: true },
    })
    await t.api('POST', `/api/v1/connectors/${c.body.id}/ready`)
    const conn = await t.api('POST', '/api/v1/connections', { connector: c.body.id })
    expect(conn.body.status).toBe('connected')
    // With no calls at all, the background refresher renews before the refresh token lapses.
    const deadline = Date.now() + 10_000
    while (grants.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
    expect(grants.length).toBeGreaterThanOrEqual(3)
    expect(api.requests).toHaveLength(0)
    const res = await t.api('POST', `/api/v1/connections/${conn.body.id}/request`, { path: 'x' })
    expect(res.body.status).toBe(200)
    expect(api.requests[0]!.headers.authorization).toMatch(/^Bearer at-\d+$/)
  })

  it('refreshes ahead of expiry on the call itself, with no 401 first', async () => {
    const quiet = await startTestPatchbay({ refreshIntervalMs: 0 })
    try {
      const c = await quiet.api('POST', '/api/v1/connectors', {
        name: 'Proactive',
        baseUrl: api.url,
        auth: {
          type: 'oauth2',
          grantType: 'client_credentials',
          clientId: 'id',
          clientSecret: 'secret',
          tokenUrl,
        },
        customAction: { enabled: true },
      })
      await quiet.api('POST', `/api/v1/connectors/${c.body.id}/ready`)
      const conn = await quiet.api('POST', '/api/v1/connections', { connector: c.body.id })
      const obtained = Date.now()
      // 85 % of the 2 s lifetime.
      while (Date.now() < obtained + 1800) await new Promise((r) => setTimeout(r, 50))
      const before = api.requests.length
      const granted = grants.length
      const res = await quiet.api('POST', `/api/v1/connections/${conn.body.id}/request`, {
        path: 'y',
      })
      expect(res.body).toMatchObject({ status: 200, refreshed: true })
      expect(api.requests.length - before).toBe(1)
      expect(grants.length - granted).toBe(1)
    } finally {
      await quiet.close()
    }
  })
})
