/**
 * Connect sessions end to end (docs/connect.md) on every store: the admin API, the hosted page's
 * session-scoped routes, scoping (the token opens nothing else), expiry and ending, reconnecting,
 * OAuth state bound to the session, end users, and no plain token at rest or in the logs.
 */
import { Writable } from 'node:stream'
import { Command } from 'commander'
import { pino } from 'pino'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { registerConnectCommands } from '../src/cli/commands/connect.js'
import { hashToken } from '../src/engine/connect-sessions.js'
import {
  runSql,
  startTestPatchbay,
  storeContains,
  testStoreKinds,
  type TestPatchbay,
} from './helpers/patchbay.js'
import { startOAuth1Provider, type OAuth1Provider } from './peers/oauth1-provider.js'
import { startOidcPeer, type OidcPeer } from './peers/oidc.js'
import { json, startUpstream, type Upstream } from './peers/upstream.js'

const HEADER = 'x-patchbay-connect-session'

describe.each(await testStoreKinds())('connect sessions on %s', (storeKind) => {
  let t: TestPatchbay
  let upstream: Upstream
  let peer: OidcPeer
  let oauth1Provider: OAuth1Provider
  let keyed: string
  let other: string
  let oauth: string
  let draft: string
  const logLines: string[] = []

  beforeAll(async () => {
    peer = await startOidcPeer({ accessTokenTtl: 3600 })
    oauth1Provider = await startOAuth1Provider()
    upstream = await startUpstream()
    upstream.route('/me', (req, res) =>
      req.headers['x-api-key']
        ? json(res, 200, { id: `user-${String(req.headers['x-api-key']).slice(0, 4)}` })
        : json(res, 401, { error: 'no key' }),
    )
    const logger = pino(
      { level: 'debug' },
      new Writable({
        write(chunk: Buffer, _enc, done) {
          logLines.push(chunk.toString('utf8'))
          done()
        },
      }),
    )
    t = await startTestPatchbay({ storeKind, logger })
    const ready = async (def: Record<string, unknown>) => {
      const c = await t.api('POST', '/api/v1/connectors', def)
      expect(c.status, JSON.stringify(c.body)).toBe(201)
      const r = await t.api('POST', `/api/v1/connectors/${c.body.id}/ready`)
      expect(r.status, JSON.stringify(r.body)).toBe(200)
      return c.body.id as string
    }
    keyed = await ready({
      name: 'Keyed API',
      description: 'An API with a key',
      baseUrl: upstream.url,
      auth: { type: 'api_key', params: [{ name: 'API key', key: 'X-Api-Key', in: 'header' }] },
      identity: { path: 'me', valuePath: 'id' },
      customAction: { enabled: true },
    })
    other = await ready({
      name: 'Other API',
      baseUrl: upstream.url,
      auth: { type: 'bearer' },
      customAction: { enabled: true },
    })
    oauth = await ready({
      name: 'OIDC API',
      baseUrl: upstream.url,
      auth: {
        type: 'oauth2',
        grantType: 'authorization_code',
        authorizationUrl: peer.authorizationUrl,
        tokenUrl: peer.tokenUrl,
        revokeUrl: peer.revocationUrl,
        clientId: peer.clients.basic.clientId,
        clientSecret: peer.clients.basic.clientSecret,
        clientAuth: 'basic',
        scopes: [
          { name: 'OpenID', value: 'openid' },
          { name: 'Offline', value: 'offline_access' },
        ],
        scopeDelimiter: ' ',
      },
      customAction: { enabled: true },
    })
    const d = await t.api('POST', '/api/v1/connectors', {
      name: 'Draft API',
      baseUrl: upstream.url,
      auth: { type: 'bearer' },
    })
    draft = d.body.id
  })
  afterAll(async () => {
    await t?.close()
    await upstream?.close()
    await peer?.close()
    await oauth1Provider?.close()
  })

  async function session(body: Record<string, unknown>) {
    const res = await t.api('POST', '/api/v1/connect-sessions', body)
    expect(res.status, JSON.stringify(res.body)).toBe(201)
    return res.body as { id: string; token: string; url: string; expiresAt: string }
  }

  /** A call to the connect page's own routes, with nothing but the session token. */
  async function page(method: string, path: string, token: string, body?: unknown) {
    const res = await fetch(`${t.url}/connect/api${path}`, {
      method,
      headers: {
        [HEADER]: token,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    })
    const text = await res.text()
    return { status: res.status, body: text ? JSON.parse(text) : null }
  }

  async function connectionCount(): Promise<number> {
    const list = await t.api('GET', '/api/v1/connections?limit=500')
    return list.body.items.length
  }

  /** Makes a session look expired, as the clock would in 30 minutes. */
  async function expire(token: string) {
    await runSql(t, 'UPDATE connect_sessions SET expires_at = ? WHERE token_hash = ?', [
      Date.now() - 1000,
      hashToken(token),
    ])
  }

  it('creates a session with a 256-bit token, a URL and a 30-minute expiry, storing only a hash', async () => {
    const before = Date.now()
    const s = await session({
      endUser: { id: 'user-1', email: 'one@example.com', displayName: 'User One' },
      connectors: [keyed, 'oidc_api'],
      allowedOrigin: 'https://app.example.com',
    })
    expect(s.id).toMatch(/^cs_/)
    expect(s.token).toMatch(/^pbcs_[A-Za-z0-9_-]{43}$/)
    expect(Buffer.from(s.token.slice(5), 'base64url').length).toBe(32)
    expect(s.url).toBe(`${t.url}/connect?session=${s.token}`)
    const expires = Date.parse(s.expiresAt)
    expect(expires).toBeGreaterThanOrEqual(before + 30 * 60_000 - 1000)
    expect(expires).toBeLessThanOrEqual(Date.now() + 30 * 60_000 + 1000)
    expect(await storeContains(t, s.token)).toBe(false)
    expect(await storeContains(t, s.token.slice(5))).toBe(false)
    expect(await storeContains(t, hashToken(s.token))).toBe(true)

    const list = await t.api('GET', '/api/v1/connect-sessions')
    const listed = list.body.items.find((x: { id: string }) => x.id === s.id)
    expect(listed).toMatchObject({
      endUser: { id: 'user-1', email: 'one@example.com', displayName: 'User One' },
      connectors: [keyed, oauth],
      allowedOrigin: 'https://app.example.com',
      expiresAt: s.expiresAt,
    })
    expect(JSON.stringify(list.body)).not.toContain(s.token)
    expect(JSON.stringify(list.body)).not.toContain(hashToken(s.token))
  })

  it('refuses bad input, naming the field', async () => {
    const bad = async (body: Record<string, unknown>, path: string) => {
      const res = await t.api('POST', '/api/v1/connect-sessions', body)
      expect(res.status, JSON.stringify(res.body)).toBe(400)
      expect(res.body.error.details.map((d: { path: string }) => d.path)).toContain(path)
      return res.body.error
    }
    const endUser = { id: 'user-1' }
    await bad({ endUser, expiresIn: 24 * 3600 + 1 }, 'expiresIn')
    await bad({ endUser, expiresIn: 10 }, 'expiresIn')
    await bad({ endUser, expiresIn: '1h' }, 'expiresIn')
    await bad({ endUser, connectors: [keyed, 'no-such-connector'] }, 'connectors.1')
    expect((await bad({ endUser, connectors: [draft] }, 'connectors.0')).message).toMatch(/draft/)
    await bad({ endUser, reconnect: 'co_missing' }, 'reconnect')
    await bad({ endUser, allowedOrigin: 'https://app.example.com/path' }, 'allowedOrigin')
    await bad({ endUser, returnUrl: 'javascript:alert(1)' }, 'returnUrl')
    await bad({ endUser: { id: 'has space' } }, 'endUser.id')
    await bad({}, 'endUser')
    await bad({ endUser, token: 'mine' }, '')
    const admin = await t.api('POST', '/api/v1/connections', {
      connector: keyed,
      endUser: 'someone-else',
      values: { 'X-Api-Key': 'k-someone' },
    })
    await bad({ endUser, reconnect: admin.body.id }, 'reconnect')
    expect(
      (await t.api('POST', '/api/v1/connect-sessions', { endUser, expiresIn: 24 * 3600 })).status,
    ).toBe(201)
  })

  it('refuses a session token on every /api/v1 route and on /proxy', async () => {
    const s = await session({ endUser: { id: 'user-scope' } })
    const made = await page('POST', '/connections', s.token, {
      connector: keyed,
      values: { 'X-Api-Key': 'scope-key' },
    })
    expect(made.status, JSON.stringify(made.body)).toBe(201)
    const spec = await t.api('GET', '/api/v1/openapi.json')
    const ids: Record<string, string> = { id: made.body.id }
    let checked = 0
    for (const [path, item] of Object.entries(spec.body.paths as Record<string, object>)) {
      for (const method of ['get', 'post', 'patch', 'delete', 'put']) {
        const op = (item as Record<string, { security?: unknown[] }>)[method]
        if (!op || (Array.isArray(op.security) && op.security.length === 0)) continue
        const url = `${t.url}/api/v1${path.replace(/\{(\w+)\}/g, (_m, k: string) => ids[k] ?? 'x')}`
        const attempts: Record<string, string>[] = [
          { authorization: `Bearer ${s.token}` },
          { [HEADER]: s.token },
          { 'x-patchbay-key': s.token },
        ]
        for (const headers of attempts) {
          const res = await fetch(url, {
            method: method.toUpperCase(),
            headers: { ...headers, 'content-type': 'application/json' },
            body: method === 'get' || method === 'delete' ? undefined : '{}',
          })
          expect(res.status, `${method} ${path}`).toBe(401)
          checked++
        }
      }
    }
    expect(checked).toBeGreaterThan(60)
    const proxyAttempts: Record<string, string>[] = [
      { authorization: `Bearer ${s.token}` },
      { [HEADER]: s.token },
    ]
    for (const headers of proxyAttempts) {
      const proxied = await fetch(`${t.url}/proxy/${made.body.id}/me`, { headers })
      expect(proxied.status).toBe(401)
    }
    // And the connect routes refuse the admin key: they take a session token only.
    const asAdmin = await fetch(`${t.url}/connect/api/session`, {
      headers: { authorization: `Bearer ${t.adminKey}` },
    })
    expect(asAdmin.status).toBe(401)
  })

  it('creates an api_key connection for its end user, and only of its listed connectors', async () => {
    const s = await session({
      endUser: { id: 'user-2', displayName: 'Two' },
      connectors: ['keyed_api'],
    })
    const info = await page('GET', '/session', s.token)
    expect(info.status).toBe(200)
    expect(info.body).toMatchObject({
      id: s.id,
      endUser: { id: 'user-2', displayName: 'Two' },
      reconnect: null,
    })
    expect(info.body.connectors).toEqual([
      {
        id: keyed,
        linkName: 'keyed_api',
        name: 'Keyed API',
        description: 'An API with a key',
        logo: null,
        fields: [{ name: 'X-Api-Key', label: 'API key', type: 'password' }],
        browser: false,
      },
    ])
    expect(JSON.stringify(info.body)).not.toMatch(/clientSecret|baseUrl|auth/)

    const before = await connectionCount()
    for (const connector of [other, oauth, 'no-such-connector']) {
      const refused = await page('POST', '/connections', s.token, {
        connector,
        values: { token: 'x' },
      })
      expect(refused.status).toBe(403)
      expect(refused.body.error.code).toBe('connect_session.forbidden')
    }
    const withEndUser = await page('POST', '/connections', s.token, {
      connector: keyed,
      endUser: 'someone-else',
      values: { 'X-Api-Key': 'k' },
    })
    expect(withEndUser.status).toBe(400)
    expect(await connectionCount()).toBe(before)

    const made = await page('POST', '/connections', s.token, {
      connector: keyed,
      values: { 'X-Api-Key': 'key-two-secret' },
    })
    expect(made.status, JSON.stringify(made.body)).toBe(201)
    expect(made.body).toMatchObject({ status: 'connected', connector: { id: keyed } })
    expect(JSON.stringify(made.body)).not.toContain('key-two-secret')
    const seen = await t.api('GET', `/api/v1/connections/${made.body.id}`)
    expect(seen.body).toMatchObject({
      endUser: 'user-2',
      status: 'connected',
      identity: 'user-key-',
    })
    const result = await page('GET', `/connections/${made.body.id}`, s.token)
    expect(result.body.connection).toMatchObject({ id: made.body.id, status: 'connected' })

    // It reads only what it made.
    const foreign = await t.api('POST', '/api/v1/connections', {
      connector: keyed,
      values: { 'X-Api-Key': 'k-admin' },
    })
    expect((await page('GET', `/connections/${foreign.body.id}`, s.token)).status).toBe(404)
    expect((await page('GET', '/connections', s.token)).status).toBe(404)
  })

  it('ends a session on DELETE: the page and its routes say so, nothing is written', async () => {
    const s = await session({ endUser: { id: 'user-3' }, connectors: [keyed] })
    expect((await fetch(s.url)).status).toBe(200)
    expect((await t.api('DELETE', `/api/v1/connect-sessions/${s.id}`)).status).toBe(204)
    const list = await t.api('GET', '/api/v1/connect-sessions')
    expect(list.body.items.map((x: { id: string }) => x.id)).not.toContain(s.id)
    const pageRes = await fetch(s.url)
    expect(pageRes.status).toBe(410)
    expect(await pageRes.text()).toMatch(/This connect link has ended.*was ended/s)
    const before = await connectionCount()
    const refused = await page('POST', '/connections', s.token, {
      connector: keyed,
      values: { 'X-Api-Key': 'k' },
    })
    expect(refused.status).toBe(401)
    expect(refused.body.error.code).toBe('connect_session.expired')
    expect(await connectionCount()).toBe(before)
    expect((await t.api('DELETE', `/api/v1/connect-sessions/${s.id}`)).status).toBe(204)
  })

  it('refuses an expired or unknown token with a clear page and writes nothing', async () => {
    const s = await session({ endUser: { id: 'user-4' }, expiresIn: 60 })
    await expire(s.token)
    const expired = await fetch(s.url)
    expect(expired.status).toBe(410)
    expect(expired.headers.get('content-security-policy')).toMatch(/default-src 'none'/)
    expect(await expired.text()).toMatch(/expired at/)
    const before = await connectionCount()
    const refused = await page('POST', '/connections', s.token, {
      connector: keyed,
      values: { 'X-Api-Key': 'k' },
    })
    expect(refused.body.error.code).toBe('connect_session.expired')
    expect(await connectionCount()).toBe(before)
    const list = await t.api('GET', '/api/v1/connect-sessions')
    expect(list.body.items.map((x: { id: string }) => x.id)).not.toContain(s.id)

    const unknown = await fetch(`${t.url}/connect?session=pbcs_${'A'.repeat(43)}`)
    expect(unknown.status).toBe(401)
    expect(await unknown.text()).toMatch(/not valid/)
    expect((await fetch(`${t.url}/connect?session=garbage`)).status).toBe(401)
    expect((await page('GET', '/session', 'garbage')).body.error.code).toBe(
      'connect_session.invalid',
    )
    const none = await fetch(`${t.url}/connect/api/session`)
    expect(none.status).toBe(401)
  })

  it('runs an OAuth 2.0 flow bound to the session, back to the page, and refuses a replay', async () => {
    const s = await session({
      endUser: { id: 'user-5' },
      connectors: [oauth],
      allowedOrigin: 'http://127.0.0.1:9',
    })
    const started = await page('POST', '/connections', s.token, { connector: oauth })
    expect(started.status, JSON.stringify(started.body)).toBe(201)
    expect(started.body.status).toBe('pending')
    const authorize = new URL(started.body.authorizeUrl)
    expect(authorize.searchParams.get('redirect_uri')).toBe(`${t.url}/oauth/callback`)
    const callback = await peer.follow(started.body.authorizeUrl)
    const back = await fetch(callback, { redirect: 'manual' })
    expect(back.status).toBe(302)
    const location = new URL(back.headers.get('location')!)
    expect(`${location.origin}${location.pathname}`).toBe(`${t.url}/connect/done`)
    expect(Object.fromEntries(location.searchParams)).toEqual({
      connectionId: started.body.id,
      status: 'connected',
    })
    const done = await fetch(location)
    expect(done.status).toBe(200)
    expect(done.headers.get('content-security-policy')).toContain("script-src 'self'")
    const result = await page('GET', `/connections/${started.body.id}`, s.token)
    expect(result.body).toMatchObject({
      connection: { id: started.body.id, status: 'connected' },
      allowedOrigin: 'http://127.0.0.1:9',
    })
    const seen = await t.api('GET', `/api/v1/connections/${started.body.id}`)
    expect(seen.body).toMatchObject({ endUser: 'user-5', status: 'connected' })

    const before = await connectionCount()
    const replay = await fetch(callback)
    expect(replay.status).toBe(400)
    expect(await replay.text()).toMatch(/unknown, already used or expired/)
    expect(await connectionCount()).toBe(before)
    expect((await t.api('GET', `/api/v1/connections/${started.body.id}`)).body.status).toBe(
      'connected',
    )
  })

  it('runs an OAuth 1.0a flow from the page and comes back to it', async () => {
    const c = await t.api('POST', '/api/v1/connectors', {
      name: 'Boards',
      baseUrl: oauth1Provider.resourceUrl,
      auth: {
        type: 'oauth1',
        consumerKey: oauth1Provider.consumerKey,
        consumerSecret: oauth1Provider.consumerSecret,
        requestTokenUrl: oauth1Provider.requestTokenUrl,
        authorizationUrl: oauth1Provider.authorizationUrl,
        accessTokenUrl: oauth1Provider.accessTokenUrl,
      },
    })
    expect((await t.api('POST', `/api/v1/connectors/${c.body.id}/ready`)).status).toBe(200)
    const s = await session({ endUser: { id: 'user-oauth1' }, connectors: ['boards'] })
    const info = await page('GET', '/session', s.token)
    expect(info.body.connectors[0]).toMatchObject({ name: 'Boards', browser: true, fields: [] })
    const started = await page('POST', '/connections', s.token, { connector: 'boards' })
    expect(started.status, JSON.stringify(started.body)).toBe(201)
    const callback = await oauth1Provider.approve(started.body.authorizeUrl)
    expect(`${callback.origin}${callback.pathname}`).toBe(`${t.url}/oauth1/callback`)
    const back = await fetch(callback, { redirect: 'manual' })
    expect(back.status).toBe(302)
    const location = new URL(back.headers.get('location')!)
    expect(`${location.origin}${location.pathname}`).toBe(`${t.url}/connect/done`)
    expect(location.searchParams.get('status')).toBe('connected')
    const seen = await t.api('GET', `/api/v1/connections/${started.body.id}`)
    expect(seen.body).toMatchObject({ endUser: 'user-oauth1', status: 'connected' })
    expect((await fetch(callback)).status).toBe(400)
  })

  it('fails a browser flow whose session was ended before the provider answered', async () => {
    const s = await session({ endUser: { id: 'user-6' }, connectors: [oauth] })
    const started = await page('POST', '/connections', s.token, { connector: oauth })
    await t.api('DELETE', `/api/v1/connect-sessions/${s.id}`)
    const callback = await peer.follow(started.body.authorizeUrl)
    const back = await fetch(callback, { redirect: 'manual' })
    expect(back.status).toBe(302)
    expect(new URL(back.headers.get('location')!).searchParams.get('status')).toBe('error')
    const seen = await t.api('GET', `/api/v1/connections/${started.body.id}`)
    expect(seen.body).toMatchObject({
      status: 'error',
      statusMessage: expect.stringMatching(/ended/),
    })
  })

  it('re-authorizes one connection with reconnect, keeping its id, then ends', async () => {
    const made = await t.api('POST', '/api/v1/connections', {
      connector: keyed,
      endUser: 'user-7',
      values: { 'X-Api-Key': 'old-key-7' },
    })
    const s = await session({ endUser: { id: 'user-7' }, reconnect: made.body.id })
    const info = await page('GET', '/session', s.token)
    expect(info.body.connectors).toEqual([])
    expect(info.body.reconnect).toMatchObject({
      id: made.body.id,
      connector: { id: keyed, name: 'Keyed API' },
      browser: false,
      fields: [{ name: 'X-Api-Key', type: 'password', optional: true }],
    })
    const forbidden = await page('POST', '/connections', s.token, {
      connector: other,
      values: {},
    })
    expect(forbidden.status).toBe(403)
    const done = await page('POST', '/connections', s.token, {
      values: { 'X-Api-Key': 'new-key-7' },
    })
    expect(done.status, JSON.stringify(done.body)).toBe(201)
    expect(done.body).toMatchObject({ id: made.body.id, status: 'connected' })
    const call = await t.api('POST', `/api/v1/connections/${made.body.id}/request`, {
      path: 'me',
    })
    expect(call.body.status).toBe(200)
    expect(upstream.requests.at(-1)!.headers['x-api-key']).toBe('new-key-7')
    const ended = await page('GET', '/session', s.token)
    expect(ended.status).toBe(401)
    expect(ended.body.error.message).toMatch(/already used to reconnect/)
    expect((await fetch(s.url)).status).toBe(410)
  })

  it('re-authorizes an OAuth 2.0 connection through the browser, keeping its id', async () => {
    const first = await session({ endUser: { id: 'user-8' }, connectors: [oauth] })
    const started = await page('POST', '/connections', first.token, { connector: oauth })
    await fetch(await peer.follow(started.body.authorizeUrl), { redirect: 'manual' })
    const id = started.body.id as string
    const s = await session({ endUser: { id: 'user-8' }, reconnect: id })
    const again = await page('POST', '/connections', s.token, {})
    expect(again.status, JSON.stringify(again.body)).toBe(201)
    expect(again.body).toMatchObject({ id, authorizeUrl: expect.any(String) })
    expect((await page('GET', '/session', s.token)).status).toBe(200)
    const back = await fetch(await peer.follow(again.body.authorizeUrl), { redirect: 'manual' })
    const location = new URL(back.headers.get('location')!)
    expect(location.searchParams.get('connectionId')).toBe(id)
    expect(location.searchParams.get('status')).toBe('connected')
    // Ended, but the page can still read the outcome it is showing.
    expect((await page('GET', '/session', s.token)).status).toBe(401)
    const result = await page('GET', `/connections/${id}`, s.token)
    expect(result.body.connection).toMatchObject({ id, status: 'connected' })
    const list = await t.api('GET', '/api/v1/connections?endUser=user-8')
    expect(list.body.items.map((c: { id: string }) => c.id)).toEqual([id])
  })

  it('lists end users with their connections and deletes one with all their connections', async () => {
    const s = await session({
      endUser: { id: 'user-9', email: 'nine@example.com', displayName: 'Nine' },
      connectors: [keyed, oauth],
    })
    const a = await page('POST', '/connections', s.token, {
      connector: keyed,
      values: { 'X-Api-Key': 'key-nine' },
    })
    const b = await page('POST', '/connections', s.token, { connector: oauth })
    await fetch(await peer.follow(b.body.authorizeUrl), { redirect: 'manual' })
    const users = await t.api('GET', '/api/v1/end-users?limit=500')
    expect(users.status).toBe(200)
    const nine = users.body.items.find((u: { id: string }) => u.id === 'user-9')
    expect(nine).toMatchObject({ email: 'nine@example.com', displayName: 'Nine' })
    expect(nine.connections.map((c: { id: string }) => c.id).sort()).toEqual(
      [a.body.id, b.body.id].sort(),
    )
    const ids = users.body.items.map((u: { id: string }) => u.id)
    expect(ids).toEqual([...ids].sort())
    const paged = await t.api('GET', '/api/v1/end-users?limit=1')
    expect(paged.body.items).toHaveLength(1)
    const next = await t.api('GET', `/api/v1/end-users?limit=1&cursor=${paged.body.nextCursor}`)
    expect(next.body.items[0].id).toBe(ids[1])

    peer.resetCounters()
    expect((await t.api('DELETE', '/api/v1/end-users/user-9')).status).toBe(204)
    expect((await t.api('GET', '/api/v1/connections?endUser=user-9')).body.items).toEqual([])
    const logs = await t.api('GET', `/api/v1/logs?connection=${b.body.id}`)
    expect(logs.body.items.find((l: { kind: string }) => l.kind === 'revoke')).toMatchObject({
      detail: { revoked: true },
    })
    // Their live session ended with them, and what was remembered is forgotten.
    expect((await page('GET', '/session', s.token)).status).toBe(401)
    const after = await t.api('GET', '/api/v1/end-users?limit=500')
    expect(after.body.items.map((u: { id: string }) => u.id)).not.toContain('user-9')
    expect((await t.api('GET', '/api/v1/end-users/user-9')).body).toMatchObject({
      email: null,
      connections: [],
    })
    expect((await t.api('DELETE', '/api/v1/end-users/has%20space')).status).toBe(400)
  })

  it('keeps every token out of the database and the logs', async () => {
    const tokens: string[] = []
    for (let i = 0; i < 3; i++) {
      const s = await session({ endUser: { id: `user-log-${i}` } })
      tokens.push(s.token)
      await fetch(s.url)
      await page('GET', '/session', s.token)
      await page('POST', '/connections', s.token, {
        connector: keyed,
        values: { 'X-Api-Key': 'x' },
      })
    }
    const logs = logLines.join('')
    expect(logs).toContain('/connect/api/connections')
    for (const token of tokens) {
      expect(await storeContains(t, token)).toBe(false)
      expect(logs).not.toContain(token)
    }
  })
})

describe('patchbay connect', () => {
  it('prints a connect URL for an end user, and lists and deletes end users', async () => {
    const t = await startTestPatchbay()
    const saved = { url: process.env.PATCHBAY_URL, key: process.env.PATCHBAY_ADMIN_KEY }
    const out: string[] = []
    const stdout = vi.spyOn(process.stdout, 'write').mockImplementation((s) => {
      out.push(String(s))
      return true
    })
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true)
    const run = async (...args: string[]) => {
      const program = new Command().option('--json').exitOverride()
      registerConnectCommands(program)
      out.length = 0
      await program.parseAsync(['node', 'patchbay', ...args])
      return out.join('')
    }
    try {
      process.env.PATCHBAY_URL = t.url
      process.env.PATCHBAY_ADMIN_KEY = t.adminKey
      const c = await t.api('POST', '/api/v1/connectors', {
        name: 'Cli Keys',
        baseUrl: 'http://127.0.0.1:9/',
        auth: { type: 'api_key', params: [{ name: 'Key', key: 'k', in: 'header' }] },
      })
      await t.api('POST', `/api/v1/connectors/${c.body.id}/ready`)
      const before = Date.now()
      const printed = await run(
        'connect',
        'cli_keys',
        '--end-user',
        'cli-user',
        '--email',
        'cli@example.com',
        '--expires-in',
        '2h',
        '--allowed-origin',
        'https://app.example.com',
      )
      expect(printed).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/connect\?session=pbcs_[\w-]{43}\n$/)
      const token = new URL(printed.trim()).searchParams.get('session')!
      const sessions = await t.api('GET', '/api/v1/connect-sessions')
      expect(sessions.body.items).toHaveLength(1)
      expect(sessions.body.items[0]).toMatchObject({
        endUser: { id: 'cli-user', email: 'cli@example.com' },
        connectors: [c.body.id],
        allowedOrigin: 'https://app.example.com',
      })
      expect(Date.parse(sessions.body.items[0].expiresAt) - before).toBeGreaterThan(
        2 * 3600_000 - 5000,
      )
      const made = await fetch(`${t.url}/connect/api/connections`, {
        method: 'POST',
        headers: { [HEADER]: token, 'content-type': 'application/json' },
        body: JSON.stringify({ connector: 'cli_keys', values: { k: 'v' } }),
      })
      expect(made.status).toBe(201)
      expect(await run('end-user', 'list')).toMatch(/cli-user\s+cli@example\.com/)
      expect(await run('connect-session', 'list')).toMatch(/cli-user/)
      await run('end-user', 'delete', 'cli-user')
      expect((await t.api('GET', '/api/v1/connections?endUser=cli-user')).body.items).toEqual([])
      await expect(
        run('connect', 'cli_keys', '--end-user', 'x', '--expires-in', 'soon'),
      ).rejects.toThrow(/--expires-in/)
    } finally {
      stdout.mockRestore()
      stderr.mockRestore()
      process.env.PATCHBAY_URL = saved.url
      process.env.PATCHBAY_ADMIN_KEY = saved.key
      if (saved.url === undefined) delete process.env.PATCHBAY_URL
      if (saved.key === undefined) delete process.env.PATCHBAY_ADMIN_KEY
      await t.close()
    }
  })
})

describe('the connect page brand', () => {
  it('shows the configured name and logo, allowing the logo origin as an image only', async () => {
    const t = await startTestPatchbay({
      env: {
        PATCHBAY_BRAND_NAME: 'Acme',
        PATCHBAY_BRAND_LOGO_URL: 'https://cdn.example.com/acme.svg',
      },
    })
    try {
      const s = await t.api('POST', '/api/v1/connect-sessions', { endUser: { id: 'brand-user' } })
      const info = await fetch(`${t.url}/connect/api/session`, {
        headers: { [HEADER]: s.body.token },
      })
      expect((await info.json()).brand).toEqual({
        name: 'Acme',
        logoUrl: 'https://cdn.example.com/acme.svg',
      })
      const page = await fetch(s.body.url)
      const csp = page.headers.get('content-security-policy')!
      expect(csp).toContain("img-src 'self' data: https://cdn.example.com;")
      expect(csp).toContain("script-src 'self';")
      expect(csp).toContain("frame-ancestors 'none'")
      expect(page.headers.get('cache-control')).toBe('no-store')
      expect(page.headers.get('referrer-policy')).toBe('no-referrer')
    } finally {
      await t.close()
    }
  })
})
