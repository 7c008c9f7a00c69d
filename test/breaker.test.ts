import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestPatchbay, testStoreKinds, type TestPatchbay } from './helpers/patchbay.js'
import { json, startUpstream, type Upstream } from './peers/upstream.js'

describe.each(await testStoreKinds())('the circuit breaker on %s', (storeKind) => {
  let t: TestPatchbay
  let up: Upstream
  let healthy = false
  beforeAll(async () => {
    t = await startTestPatchbay({ storeKind })
    up = await startUpstream()
    up.route('*', (_req, res) =>
      healthy ? json(res, 200, { ok: true }) : json(res, 500, { error: 'down' }),
    )
  })
  afterAll(async () => {
    await t.close()
    await up.close()
  })

  async function setup(name: string) {
    const c = await t.api('POST', '/api/v1/connectors', {
      name,
      baseUrl: up.url,
      auth: { type: 'bearer' },
      customAction: { enabled: true },
      breaker: { threshold: 3, cooldownSeconds: 1 },
      actions: [{ name: 'Ping', method: 'GET', path: 'ping' }],
    })
    await t.api('POST', `/api/v1/connectors/${c.body.id}/ready`)
    const conn = await t.api('POST', '/api/v1/connections', {
      connector: c.body.id,
      values: { token: 'tok' },
    })
    return { connectionId: conn.body.id as string, actionId: c.body.actions[0].id as string }
  }

  it('opens after the threshold, fails fast without calling the upstream, and a trial after the cool-down closes it', async () => {
    healthy = false
    const { connectionId } = await setup('Flaky')
    const call = () => t.api('POST', `/api/v1/connections/${connectionId}/request`, { path: 'x' })
    for (let i = 0; i < 3; i++) expect((await call()).body.status).toBe(500)
    const seen = up.requests.length
    const open = await call()
    expect(open.status).toBe(503)
    expect(open.body.error).toMatchObject({
      code: 'breaker.open',
      details: { state: 'open', failures: 3 },
    })
    expect(up.requests.length).toBe(seen)
    const view = await t.api('GET', `/api/v1/connections/${connectionId}`)
    expect(view.body.breaker).toMatchObject({ state: 'open', failures: 3 })

    healthy = true
    const deadline = Date.now() + 5000
    let trial = await call()
    while (trial.status === 503 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50))
      trial = await call()
    }
    expect(trial.body.status).toBe(200)
    expect(up.requests.length).toBe(seen + 1)
    expect((await t.api('GET', `/api/v1/connections/${connectionId}`)).body.breaker).toEqual({
      state: 'closed',
      failures: 0,
      retryAt: null,
    })
    const logs = await t.api('GET', `/api/v1/logs?connection=${connectionId}&limit=10`)
    expect(logs.body.items.map((l: { breakerState: string }) => l.breakerState)).toContain('open')
  })

  it('keeps one breaker per saved action, apart from ad-hoc calls, and can be reset by hand', async () => {
    healthy = false
    const { connectionId, actionId } = await setup('Action breaker')
    for (let i = 0; i < 3; i++)
      await t.api('POST', `/api/v1/actions/${actionId}/run`, { connection: connectionId })
    expect(
      (await t.api('POST', `/api/v1/actions/${actionId}/run`, { connection: connectionId })).status,
    ).toBe(503)
    expect((await t.api('GET', `/api/v1/actions/${actionId}`)).body.breaker.state).toBe('open')
    // The connection's own (ad-hoc) breaker is untouched.
    expect(
      (await t.api('POST', `/api/v1/connections/${connectionId}/request`, { path: 'x' })).body
        .status,
    ).toBe(500)
    const reset = await t.api('POST', `/api/v1/actions/${actionId}/breaker/reset`)
    expect(reset.body).toEqual({ state: 'closed', failures: 0, retryAt: null })
    healthy = true
    expect(
      (await t.api('POST', `/api/v1/actions/${actionId}/run`, { connection: connectionId })).body
        .status,
    ).toBe(200)
  })

  it('lets exactly one trial call through when many arrive after the cool-down', async () => {
    healthy = false
    const { connectionId } = await setup('Trial')
    for (let i = 0; i < 3; i++)
      await t.api('POST', `/api/v1/connections/${connectionId}/request`, { path: 'x' })
    const opened = await t.api('GET', `/api/v1/connections/${connectionId}`)
    const retryAt = Date.parse(opened.body.breaker.retryAt)
    while (Date.now() < retryAt + 20) await new Promise((r) => setTimeout(r, 20))
    let release!: () => void
    const gate = new Promise<void>((r) => (release = r))
    up.route('/slow-trial', async (_req, res) => {
      await gate
      json(res, 200, { ok: true })
    })
    const before = up.requests.length
    let answered = 0
    const calls = Array.from({ length: 10 }, () =>
      t
        .api('POST', `/api/v1/connections/${connectionId}/request`, { path: 'slow-trial' })
        .then((r) => {
          answered++
          return r
        }),
    )
    // The trial is held upstream until every other call has been answered.
    const deadline = Date.now() + 10_000
    while (answered < 9 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10))
    release()
    const results = await Promise.all(calls)
    expect(results.filter((r) => r.status === 200)).toHaveLength(1)
    expect(results.filter((r) => r.status === 503)).toHaveLength(9)
    expect(up.requests.length).toBe(before + 1)
  })
})
