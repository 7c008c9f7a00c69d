import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestPatchbay, type TestPatchbay } from './helpers/patchbay.js'
import { json, startUpstream, type Upstream } from './peers/upstream.js'

describe('operations', () => {
  let t: TestPatchbay
  let up: Upstream
  let connectionId: string
  beforeAll(async () => {
    t = await startTestPatchbay()
    up = await startUpstream()
    const c = await t.api('POST', '/api/v1/connectors', {
      name: 'Ops',
      baseUrl: up.url,
      auth: { type: 'bearer' },
      customAction: { enabled: true },
    })
    await t.api('POST', `/api/v1/connectors/${c.body.id}/ready`)
    connectionId = (
      await t.api('POST', '/api/v1/connections', {
        connector: c.body.id,
        values: { token: 'ops-token' },
      })
    ).body.id
  })
  afterAll(async () => {
    await t.close()
    await up.close()
  })

  it('answers /healthz and /readyz without the admin key', async () => {
    expect(await (await fetch(`${t.url}/healthz`)).json()).toEqual({ status: 'ok' })
    const ready = await fetch(`${t.url}/readyz`)
    expect(ready.status).toBe(200)
    expect(await ready.json()).toEqual({ status: 'ready' })
  })

  it('counts calls, outcomes and latency in /metrics', async () => {
    up.route('/fail', (_req, res) => json(res, 503, { error: 'down' }))
    await t.api('POST', `/api/v1/connections/${connectionId}/request`, { path: 'ok' })
    await t.api('POST', `/api/v1/connections/${connectionId}/request`, { path: 'ok' })
    await t.api('POST', `/api/v1/connections/${connectionId}/request`, { path: 'fail' })
    const res = await fetch(`${t.url}/metrics`)
    expect(res.headers.get('content-type')).toMatch(/text\/plain/)
    const text = await res.text()
    expect(text).toMatch(/^patchbay_requests_total\{outcome="2xx"\} 2$/m)
    expect(text).toMatch(/^patchbay_requests_total\{outcome="5xx"\} 1$/m)
    expect(text).toMatch(/^patchbay_upstream_latency_seconds_count 3$/m)
    expect(text).not.toContain('ops-token')
  })

  it('finishes an in-flight request when shutting down, and takes no new ones', async () => {
    const slow = await startTestPatchbay()
    let release!: () => void
    const held = new Promise<void>((r) => (release = r))
    up.route('/slow', async (_req, res) => {
      await held
      json(res, 200, { finally: true })
    })
    const c = await slow.api('POST', '/api/v1/connectors', {
      name: 'Slow',
      baseUrl: up.url,
      auth: { type: 'bearer' },
      customAction: { enabled: true },
    })
    await slow.api('POST', `/api/v1/connectors/${c.body.id}/ready`)
    const conn = await slow.api('POST', '/api/v1/connections', {
      connector: c.body.id,
      values: { token: 't' },
    })
    const inflight = slow.api('POST', `/api/v1/connections/${conn.body.id}/request`, {
      path: 'slow',
    })
    while (!up.requests.some((r) => r.path === '/slow')) await new Promise((r) => setTimeout(r, 10))
    const closing = slow.server.close({ graceMs: 10_000 })
    const refused = await fetch(`${slow.url}/healthz`).then(
      () => 'answered',
      () => 'refused',
    )
    expect(refused).toBe('refused')
    release()
    const res = await inflight
    expect(res.body).toMatchObject({ status: 200, body: { finally: true } })
    await closing
    await slow.pb.close()
  })
})
