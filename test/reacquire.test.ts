/**
 * Re-acquire and retry (docs/pipeline.md) for every scheme that re-acquires its credentials with a
 * request (`http_token`, `custom`, and `multi` with an `http_token` option), through the API
 * against a token server that issues, expires and counts tokens: a 401 → exactly one token request
 * → one retry; a second 401 ends the call with a clear error; a failing re-acquire is logged and
 * counts toward the circuit breaker.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestPatchbay, testStoreKinds, type TestPatchbay } from './helpers/patchbay.js'
import { startTokenServer, type TokenServer } from './peers/token-server.js'

type Scheme = {
  name: string
  auth: (url: string) => Record<string, unknown>
  values: Record<string, unknown>
}

const tokenRequest = (url: string) => ({
  method: 'POST',
  url: `${url}/token`,
  body: { client: '{{client}}' },
})

const SCHEMES: Scheme[] = [
  {
    name: 'http_token',
    auth: (url) => ({
      type: 'http_token',
      request: tokenRequest(url),
      tokenPath: 'data.token',
      prefix: 'Bearer',
    }),
    values: { client: 'c-1' },
  },
  {
    name: 'custom',
    auth: (url) => ({
      type: 'custom',
      acquire: [{ ...tokenRequest(url), extract: { session: 'data.token' } }],
      apply: { headers: { 'X-Session': '{{session}}' } },
    }),
    values: { client: 'c-1' },
  },
  {
    name: 'multi (http_token option)',
    auth: (url) => ({
      type: 'multi',
      options: {
        token: {
          label: 'HTTP token',
          type: 'http_token',
          request: tokenRequest(url),
          tokenPath: 'data.token',
          header: 'X-Token',
        },
        key: { label: 'Static key', type: 'bearer' },
      },
    }),
    values: { client: 'c-1', auth_type: 'token' },
  },
]

describe.each(await testStoreKinds())('re-acquire on %s', (storeKind) => {
  let t: TestPatchbay
  beforeAll(async () => {
    t = await startTestPatchbay({ storeKind })
  })
  afterAll(async () => {
    await t.close()
  })

  describe.each(SCHEMES)('$name', (scheme) => {
    let server: TokenServer
    let connectionId: string

    beforeAll(async () => {
      server = await startTokenServer()
      server.route('GET', '/protected/always-denied', () => ({
        status: 401,
        body: { error: 'invalid_token' },
      }))
      const created = await t.api('POST', '/api/v1/connectors', {
        name: `Reacquire ${scheme.name}`.replace(/[()]/g, ''),
        baseUrl: `${server.url}/protected/`,
        fields: [{ name: 'client', type: 'text' }],
        auth: scheme.auth(server.url),
        customAction: { enabled: true },
        breaker: { threshold: 2, cooldownSeconds: 600 },
      })
      expect(created.status, JSON.stringify(created.body)).toBe(201)
      const id = created.body.id as string
      if (created.body.testRequired) {
        const test = await t.api('POST', `/api/v1/connectors/${id}/test-token`, {
          values: scheme.values,
        })
        expect(test.body.ok, JSON.stringify(test.body)).toBe(true)
      }
      const ready = await t.api('POST', `/api/v1/connectors/${id}/ready`)
      expect(ready.status, JSON.stringify(ready.body)).toBe(200)
      const before = server.tokenRequests
      const conn = await t.api('POST', '/api/v1/connections', {
        connector: id,
        values: scheme.values,
      })
      expect(conn.status, JSON.stringify(conn.body)).toBe(201)
      expect(conn.body.status).toBe('connected')
      expect(server.tokenRequests - before).toBe(1)
      connectionId = conn.body.id
    })
    afterAll(async () => {
      await server.close()
    })

    const call = (path: string) =>
      t.api('POST', `/api/v1/connections/${connectionId}/request`, { method: 'GET', path })
    const protectedCalls = () => server.requests.filter((r) => r.path.startsWith('/protected/'))

    it('uses the token it has while it works', async () => {
      const before = server.tokenRequests
      for (let i = 0; i < 3; i++) expect((await call('items')).body.status).toBe(200)
      expect(server.tokenRequests - before).toBe(0)
    })

    it('answers a 401 with exactly one token request and one retry', async () => {
      server.expire()
      const tokens = server.tokenRequests
      const calls = protectedCalls().length
      const res = await call('items')
      expect(res.body, JSON.stringify(res.body)).toMatchObject({
        status: 200,
        refreshed: true,
        body: { ok: true },
      })
      expect(res.body.error).toBeUndefined()
      expect(server.tokenRequests - tokens).toBe(1)
      expect(protectedCalls().length - calls).toBe(2) // the 401, then the retry
      // The new token is the one sent on the retry and kept for the next calls.
      const newest = server.issued.at(-1)!
      expect(JSON.stringify(protectedCalls().at(-1)!.headers)).toContain(newest)
      expect((await call('items')).body.status).toBe(200)
      expect(server.tokenRequests - tokens).toBe(1)
    })

    it('ends the call with a clear error when the retry gets a 401 too', async () => {
      const tokens = server.tokenRequests
      const calls = protectedCalls().length
      const res = await call('always-denied')
      expect(res.status).toBe(200) // the upstream answered: its status is in the envelope
      expect(res.body).toMatchObject({
        status: 401,
        refreshed: true,
        error: {
          code: 'request.auth_rejected',
          message: expect.stringMatching(/401 again after the credentials were re-acquired/),
        },
      })
      expect(server.tokenRequests - tokens).toBe(1)
      expect(protectedCalls().length - calls).toBe(2)
      const logs = await t.api('GET', `/api/v1/logs?connection=${connectionId}&limit=1`)
      expect(logs.body.items[0]).toMatchObject({
        kind: 'request',
        status: 401,
        refreshed: true,
        error: expect.stringMatching(/re-acquired/),
      })
      await t.api('POST', `/api/v1/connections/${connectionId}/breaker/reset`)
    })

    it('logs a failing re-acquire and counts it toward the breaker', async () => {
      server.expire()
      server.failNext({ status: 503, body: { error: 'down for maintenance' } })
      const tokens = server.tokenRequests
      const first = await call('items')
      expect(first.status).toBe(502)
      expect(first.body.error.code).toBe('refresh.failed')
      expect(first.body.error.message).toMatch(/503/)
      expect(server.tokenRequests - tokens).toBe(1)

      const logs = await t.api('GET', `/api/v1/logs?connection=${connectionId}&limit=2`)
      const [request, refresh] = logs.body.items as Record<string, unknown>[]
      expect(refresh).toMatchObject({
        kind: 'refresh',
        refreshed: false,
        refreshOutcome: 'failed: refresh.failed',
        error: expect.stringMatching(/503/),
      })
      expect(request).toMatchObject({
        kind: 'request',
        refreshOutcome: 'failed: refresh.failed',
        error: expect.stringMatching(/refresh\.failed/),
      })
      let conn = await t.api('GET', `/api/v1/connections/${connectionId}`)
      expect(conn.body).toMatchObject({
        status: 'connected',
        breaker: { state: 'closed', failures: 1 },
      })

      // The next 401 finds the re-acquire backing off: a second failure opens the breaker
      // (threshold 2), without another token request.
      const second = await call('items')
      expect(second.status).toBe(502)
      expect(second.body.error.code).toBe('refresh.failed')
      conn = await t.api('GET', `/api/v1/connections/${connectionId}`)
      expect(conn.body.breaker).toMatchObject({ state: 'open', failures: 2 })
      const third = await call('items')
      expect(third.status).toBe(503)
      expect(third.body.error.code).toBe('breaker.open')
      expect(server.tokenRequests - tokens).toBe(1)
    })
  })
})

describe.each(await testStoreKinds())('calls during a re-acquire on %s', (storeKind) => {
  let t: TestPatchbay
  let server: TokenServer
  beforeAll(async () => {
    t = await startTestPatchbay({ storeKind })
    server = await startTokenServer()
  })
  afterAll(async () => {
    await server.close()
    await t.close()
  })

  it('wait for it and are sent once, with the new token, instead of with the refused one', async () => {
    const created = await t.api('POST', '/api/v1/connectors', {
      name: 'Reacquire storm',
      baseUrl: `${server.url}/protected/`,
      fields: [{ name: 'client', type: 'text' }],
      auth: { type: 'http_token', request: tokenRequest(server.url), tokenPath: 'data.token' },
      customAction: { enabled: true },
    })
    const id = created.body.id as string
    await t.api('POST', `/api/v1/connectors/${id}/test-token`, { values: { client: 'c-1' } })
    expect((await t.api('POST', `/api/v1/connectors/${id}/ready`)).status).toBe(200)
    const conn = await t.api('POST', '/api/v1/connections', {
      connector: id,
      values: { client: 'c-1' },
    })
    const connectionId = conn.body.id as string
    const stale = server.issued.at(-1)!
    server.expire()

    // The token endpoint answers only when let go, so the refresh stays under way.
    let release!: () => void
    const held = new Promise<void>((resolve) => (release = resolve))
    server.route('POST', '/token', async (_req, s) => {
      await held
      return { body: { data: { token: s.issue(), expires_in: 3600 } } }
    })
    const call = () =>
      t.api('POST', `/api/v1/connections/${connectionId}/request`, { method: 'GET', path: 'x' })
    const tokens = server.requestsTo('/token').length
    const first = call()
    await expect.poll(() => server.requestsTo('/token').length).toBe(tokens + 1)
    const others = [call(), call(), call()]
    await new Promise((r) => setTimeout(r, 100))
    release()
    const answers = await Promise.all([first, ...others])
    expect(answers.map((a) => a.body.status)).toEqual([200, 200, 200, 200])
    expect(server.requestsTo('/token').length).toBe(tokens + 1)
    const fresh = server.issued.at(-1)!
    // One call was refused with the old token; every other request carried the new one.
    const sent = server.requests
      .filter((r) => r.path === '/protected/x')
      .map((r) => r.headers.authorization)
    expect(sent).toEqual([stale, fresh, fresh, fresh, fresh])
    const logs = await t.api('GET', `/api/v1/logs?connection=${connectionId}&limit=10`)
    const outcomes = (logs.body.items as { kind: string; refreshOutcome: string }[])
      .filter((l) => l.kind === 'request')
      .map((l) => l.refreshOutcome)
      .sort()
    expect(outcomes).toEqual([
      'refreshed after status 401; retried once',
      'waited for a refresh under way',
      'waited for a refresh under way',
      'waited for a refresh under way',
    ])
  })
})
