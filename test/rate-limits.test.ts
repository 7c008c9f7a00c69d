/**
 * Rate limits end to end, on each store: a 429 or 503 is sent again after its `Retry-After`
 * (seconds or an HTTP-date) or a backoff, for idempotent methods only unless the connector says
 * so, within the connector's bounds, never holding a half-open breaker's trial; a call that is not
 * sent again answers `retryAfter`; and the connector's own `rateLimit` per connection.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runSql, startTestPatchbay, testStoreKinds, type TestPatchbay } from './helpers/patchbay.js'
import { json, startUpstream, type Recorded, type Upstream } from './peers/upstream.js'

/** Answers each request to `path` with the next scripted status (the last one repeats). */
function script(
  up: Upstream,
  path: string,
  answers: { status: number; headers?: Record<string, string> | (() => Record<string, string>) }[],
): Recorded[] {
  const seen: Recorded[] = []
  up.route(path, (req, res) => {
    seen.push(req)
    const a = answers[Math.min(seen.length - 1, answers.length - 1)]!
    const headers = typeof a.headers === 'function' ? a.headers() : (a.headers ?? {})
    json(res, a.status, { attempt: seen.length }, headers)
  })
  return seen
}

/** Waits (polling, with a deadline) until at least `marginMs` remain in the current fixed window. */
async function awayFromWindowEdge(periodMs: number, marginMs: number): Promise<void> {
  const deadline = Date.now() + periodMs + 1000
  while (periodMs - (Date.now() % periodMs) < marginMs) {
    if (Date.now() > deadline) throw new Error('the window edge did not pass')
    await new Promise((r) => setTimeout(r, 20))
  }
}

describe.each(await testStoreKinds())('rate limits on %s', (storeKind) => {
  let t: TestPatchbay
  let up: Upstream

  beforeAll(async () => {
    t = await startTestPatchbay({ storeKind })
    up = await startUpstream()
  })
  afterAll(async () => {
    await t.close()
    await up.close()
  })

  async function connection(over: Record<string, unknown> = {}) {
    const c = await t.api('POST', '/api/v1/connectors', {
      name: `Limited ${Math.random().toString(36).slice(2, 8)}`,
      baseUrl: up.url,
      auth: { type: 'bearer' },
      customAction: { enabled: true },
      ...over,
    })
    expect(c.status, JSON.stringify(c.body)).toBe(201)
    expect((await t.api('POST', `/api/v1/connectors/${c.body.id}/ready`)).status).toBe(200)
    const conn = await t.api('POST', '/api/v1/connections', {
      connector: c.body.id,
      values: { token: 'tok-rate' },
    })
    expect(conn.status).toBe(201)
    const id = conn.body.id as string
    return {
      id,
      call: (body: Record<string, unknown>) =>
        t.api('POST', `/api/v1/connections/${id}/request`, body),
      lastLog: async () =>
        (await t.api('GET', `/api/v1/logs?connection=${id}&limit=1`)).body.items[0],
    }
  }

  it('sends a GET again after Retry-After: 1 and answers the 200', async () => {
    const seen = script(up, '/busy', [
      { status: 429, headers: { 'retry-after': '1' } },
      { status: 200 },
    ])
    const c = await connection()
    const started = Date.now()
    const res = await c.call({ path: 'busy' })
    const elapsed = Date.now() - started
    expect(res.status).toBe(200)
    expect(res.body).toMatchObject({ status: 200, body: { attempt: 2 } })
    expect(res.body.retryAfter).toBeUndefined()
    expect(seen).toHaveLength(2)
    // One wait of at least the second asked for, and at most 10 % more (plus the calls).
    expect(elapsed).toBeGreaterThanOrEqual(1000)
    expect(elapsed).toBeLessThan(3000)
    const log = await c.lastLog()
    expect(log.status).toBe(200)
    expect(log.durationMs).toBeGreaterThanOrEqual(1000)
    expect(log.detail.retry.retries).toHaveLength(1)
    expect(log.detail.retry.retries[0]).toMatchObject({ status: 429, after: 'Retry-After: 1' })
    expect(log.detail.retry.retries[0].waitMs).toBeGreaterThanOrEqual(1000)
    expect(log.detail.retry.retries[0].waitMs).toBeLessThanOrEqual(1100)
    expect(log.detail.retry.stopped).toBeUndefined()
    // Each attempt carried the credentials.
    expect(seen[0]!.headers.authorization).toContain('tok-rate')
    expect(seen[1]!.headers.authorization).toBe(seen[0]!.headers.authorization)
  })

  it('reads an HTTP-date Retry-After on a 503', async () => {
    const seen = script(up, '/maintenance', [
      // Two seconds ahead, truncated to the second by the date format: 1 to 2 s from now.
      {
        status: 503,
        headers: () => ({ 'retry-after': new Date(Date.now() + 2000).toUTCString() }),
      },
      { status: 200 },
    ])
    const c = await connection()
    const res = await c.call({ method: 'PUT', path: 'maintenance', body: { a: 1 } })
    expect(res.body).toMatchObject({ status: 200 })
    expect(seen).toHaveLength(2)
    expect(seen.map((r) => r.body)).toEqual(['{"a":1}', '{"a":1}'])
    const wait = (await c.lastLog()).detail.retry.retries[0]
    expect(wait.after).toMatch(/^Retry-After: \w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d GMT$/)
    expect(wait.waitMs).toBeGreaterThanOrEqual(900)
    expect(wait.waitMs).toBeLessThanOrEqual(2300)
  })

  it('does not send a POST again, and answers the 429 with retryAfter', async () => {
    const seen = script(up, '/create', [
      { status: 429, headers: { 'retry-after': '1' } },
      { status: 201 },
    ])
    const c = await connection()
    const started = Date.now()
    const res = await c.call({ method: 'POST', path: 'create', body: { title: 'x' } })
    expect(Date.now() - started).toBeLessThan(1000)
    expect(res.status).toBe(200)
    expect(res.body).toMatchObject({ status: 429, retryAfter: 1, body: { attempt: 1 } })
    expect(res.body.headers['retry-after']).toBe('1')
    expect(seen).toHaveLength(1)
    const log = await c.lastLog()
    expect(log.status).toBe(429)
    expect(log.detail.retry).toEqual({
      retries: [],
      waitedMs: 0,
      stopped:
        'not retried: POST is not idempotent (list it in retry.methods, or set retry.unsafe)',
    })
  })

  it('sends a POST again when the connector lists it', async () => {
    const seen = script(up, '/create-ok', [
      { status: 429, headers: { 'retry-after': '0' } },
      { status: 201 },
    ])
    const c = await connection({ retry: { methods: ['POST'] } })
    const res = await c.call({ method: 'POST', path: 'create-ok', body: { title: 'x' } })
    expect(res.body).toMatchObject({ status: 201 })
    expect(seen).toHaveLength(2)
  })

  it('backs off exponentially without Retry-After, and stops at maxRetries', async () => {
    const seen = script(up, '/down', [{ status: 503 }])
    const c = await connection({ retry: { maxRetries: 2 } })
    const res = await c.call({ path: 'down' })
    expect(res.body).toMatchObject({ status: 503 })
    expect(res.body.retryAfter).toBeUndefined()
    expect(seen).toHaveLength(3)
    const retry = (await c.lastLog()).detail.retry
    expect(retry.retries.map((r: { after: string }) => r.after)).toEqual(['backoff', 'backoff'])
    // 0.5 s then 1 s, each between half and all of it.
    const [first, second] = retry.retries.map((r: { waitMs: number }) => r.waitMs)
    expect(first).toBeGreaterThanOrEqual(250)
    expect(first).toBeLessThanOrEqual(500)
    expect(second).toBeGreaterThanOrEqual(500)
    expect(second).toBeLessThanOrEqual(1000)
    expect(retry.stopped).toBe('retried 2 times (retry.maxRetries)')
  })

  it('does not wait longer than maxWaitSeconds, and the proxy passes Retry-After as it is', async () => {
    const seen = script(up, '/later', [{ status: 429, headers: { 'retry-after': '120' } }])
    const c = await connection({ retry: { maxWaitSeconds: 5 } })
    const res = await c.call({ path: 'later' })
    expect(res.body).toMatchObject({ status: 429, retryAfter: 120 })
    expect(seen).toHaveLength(1)
    expect((await c.lastLog()).detail.retry.stopped).toBe(
      'not retried: waiting 120 s is more than the 5 s left of retry.maxWaitSeconds',
    )
    const proxied = await fetch(`${t.url}/proxy/${c.id}/later`, {
      headers: { authorization: `Bearer ${t.adminKey}` },
    })
    expect(proxied.status).toBe(429)
    expect(proxied.headers.get('retry-after')).toBe('120')
    await proxied.arrayBuffer()
    expect(seen).toHaveLength(2)
  })

  it("answers a half-open breaker's trial at once instead of waiting for a retry", async () => {
    const seen = script(up, '/trial', [
      { status: 500 },
      { status: 429, headers: { 'retry-after': '1' } },
      { status: 200 },
    ])
    const c = await connection({ breaker: { threshold: 1, cooldownSeconds: 60 } })
    expect((await c.call({ path: 'trial' })).body.status).toBe(500)
    expect((await t.api('GET', `/api/v1/connections/${c.id}`)).body.breaker.state).toBe('open')
    // The cool-down is over (behind the server's back): the next call is the trial.
    const moved = await runSql(t, 'UPDATE breakers SET retry_at = ? WHERE key = ?', [
      Date.now() - 1,
      `connection:${c.id}`,
    ])
    expect(moved.changes).toBe(1)
    const started = Date.now()
    const trial = await c.call({ path: 'trial' })
    expect(Date.now() - started).toBeLessThan(1000)
    expect(trial.body).toMatchObject({ status: 429, retryAfter: 1 })
    expect(seen).toHaveLength(2)
    const log = await c.lastLog()
    expect(log.detail.retry.stopped).toBe(
      "not retried: the call is the circuit breaker's half-open trial",
    )
    // The trial failed: the breaker is open again, and calls fail fast.
    expect(log.breakerState).toBe('open')
    expect((await c.call({ path: 'trial' })).status).toBe(503)
    expect(seen).toHaveLength(2)
  })

  it('refuses bad retry and rateLimit settings with a 400 naming the field', async () => {
    const create = (over: Record<string, unknown>) =>
      t.api('POST', '/api/v1/connectors', {
        name: 'Bad limits',
        baseUrl: up.url,
        auth: { type: 'bearer' },
        ...over,
      })
    const cases: [Record<string, unknown>, string, RegExp][] = [
      [{ retry: { maxRetries: 11 } }, 'retry.maxRetries', /10/],
      [{ retry: { maxWaitSeconds: -1 } }, 'retry.maxWaitSeconds', /0/],
      [{ retry: { methods: ['GET'], unsafe: true } }, 'retry.unsafe', /methods or unsafe/],
      [{ retry: { methods: ['FETCH'] } }, 'retry.methods.0', /GET/],
      [{ retry: { every: 1 } }, 'retry', /every/],
      [{ rateLimit: { requests: 0, perSeconds: 1 } }, 'rateLimit.requests', /1/],
      [{ rateLimit: { requests: 5 } }, 'rateLimit.perSeconds', /./],
      [
        { rateLimit: { requests: 5, perSeconds: 1, maxWaitSeconds: 301 } },
        'rateLimit.maxWaitSeconds',
        /300/,
      ],
    ]
    for (const [over, path, rule] of cases) {
      const res = await create(over)
      expect(res.status, JSON.stringify(over)).toBe(400)
      expect(res.body.error.code).toBe('input.invalid')
      const issue = res.body.error.details.find((d: { path: string }) => d.path === path)
      expect(
        issue,
        `${JSON.stringify(over)} → ${JSON.stringify(res.body.error.details)}`,
      ).toBeDefined()
      expect(issue.rule).toMatch(rule)
    }
    const listed = await t.api('GET', '/api/v1/connectors?limit=500')
    expect(listed.body.items.filter((c: { name: string }) => c.name === 'Bad limits')).toEqual([])
  })

  it('keeps retry and rateLimit on the connector, editable once ready', async () => {
    const c = await connection({
      retry: { maxRetries: 1 },
      rateLimit: { requests: 3, perSeconds: 1 },
    })
    const conn = await t.api('GET', `/api/v1/connections/${c.id}`)
    const id = conn.body.connector.id as string
    const view = await t.api('GET', `/api/v1/connectors/${id}`)
    expect(view.body.retry).toEqual({ maxRetries: 1, maxWaitSeconds: 10 })
    expect(view.body.rateLimit).toEqual({ requests: 3, perSeconds: 1, maxWaitSeconds: 10 })
    const patched = await t.api('PATCH', `/api/v1/connectors/${id}`, {
      retry: { unsafe: true },
      rateLimit: null,
    })
    expect(patched.status, JSON.stringify(patched.body)).toBe(200)
    expect(patched.body.retry).toEqual({ maxRetries: 2, maxWaitSeconds: 10, unsafe: true })
    expect(patched.body.rateLimit).toBeUndefined()
  })

  it('enforces the connector’s own rate limit per connection: over it, a clear 429', async () => {
    script(up, '/limited', [{ status: 200 }])
    const c = await connection({ rateLimit: { requests: 2, perSeconds: 60, maxWaitSeconds: 0 } })
    const other = await connection({
      rateLimit: { requests: 2, perSeconds: 60, maxWaitSeconds: 0 },
    })
    await awayFromWindowEdge(60_000, 5_000)
    const before = up.requests.length
    const results = await Promise.all([1, 2, 3].map(() => c.call({ path: 'limited' })))
    expect(results.map((r) => r.status).sort()).toEqual([200, 200, 429])
    const refused = results.find((r) => r.status === 429)!
    expect(refused.body.error).toMatchObject({
      code: 'request.rate_limited',
      details: { requests: 2, perSeconds: 60 },
    })
    expect(refused.body.error.message).toMatch(/2 requests per 60 s/)
    expect(refused.body.error.details.retryAfter).toBeGreaterThanOrEqual(5)
    expect(refused.body.error.details.retryAfter).toBeLessThanOrEqual(60)
    expect(up.requests.length - before).toBe(2)
    // Another connection has a count of its own.
    expect((await other.call({ path: 'limited' })).status).toBe(200)
    expect(up.requests.length - before).toBe(3)
    // The refusal is logged, and is not an outage for the breaker.
    const logs = (await t.api('GET', `/api/v1/logs?connection=${c.id}&limit=3`)).body.items
    expect(logs.map((l: { status: number | null }) => l.status).sort()).toEqual([200, 200, null])
    const refusedLog = logs.find((l: { status: number | null }) => l.status === null)
    expect(refusedLog.error).toMatch(/^request\.rate_limited: /)
    expect((await t.api('GET', `/api/v1/connections/${c.id}`)).body.breaker.failures).toBe(0)
  })

  it('waits for the next window when it starts within maxWaitSeconds', async () => {
    const seen = script(up, '/paced', [{ status: 200 }])
    const c = await connection({ rateLimit: { requests: 1, perSeconds: 1, maxWaitSeconds: 3 } })
    await awayFromWindowEdge(1000, 300)
    const first = await c.call({ path: 'paced' })
    const second = await c.call({ path: 'paced' })
    expect([first.body.status, second.body.status]).toEqual([200, 200])
    expect(seen).toHaveLength(2)
    const log = await c.lastLog()
    expect(log.detail.rateLimit.waitedMs).toBeGreaterThan(0)
    expect(log.detail.rateLimit.waitedMs).toBeLessThanOrEqual(1200)
  })
})
