/**
 * Webhooks out (docs/connect.md): a receiver on loopback gets each connection event (created,
 * failed, needs_reauth, deleted) once, signed; a 500 is retried with backoff; every attempt is
 * logged; the network policy applies to the webhook URL.
 */
import { createHmac, timingSafeEqual } from 'node:crypto'
import { mkdtempSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createPatchbay } from '../src/index.js'
import { verifyWebhookSignature } from '../src/engine/webhooks.js'
import { startTestPatchbay, testStoreKinds, type TestPatchbay } from './helpers/patchbay.js'
import { startOidcPeer, type OidcPeer } from './peers/oidc.js'
import { json, startUpstream, type Upstream } from './peers/upstream.js'

const SECRET = 'whsec_test_0123456789abcdef'

interface Delivery {
  headers: Record<string, string | string[] | undefined>
  raw: string
  body: {
    id: string
    type: string
    createdAt: string
    data: { connectionId: string; connectorId: string; endUser: string | null }
  }
  answered: number
}

/** A webhook receiver that records every delivery and answers 500 to each event's first one. */
async function startReceiver() {
  const deliveries: Delivery[] = []
  const seen = new Set<string>()
  let mode: 'fail-first' | 'always-fail' = 'fail-first'
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8')
      const body = JSON.parse(raw) as Delivery['body']
      const first = !seen.has(body.id)
      seen.add(body.id)
      const answered = mode === 'always-fail' || first ? 500 : 200
      deliveries.push({ headers: req.headers, raw, body, answered })
      res.writeHead(answered, { 'content-type': 'text/plain' })
      res.end(answered === 200 ? 'ok' : 'try later')
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}/hooks/patchbay?tenant=t1`,
    deliveries,
    setMode: (m: typeof mode) => void (mode = m),
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections()
        server.close(() => r())
      }),
  }
}

/** The receiver's side, written from the docs with Node's crypto only. */
function verify(header: string, raw: string, secret: string, toleranceSeconds = 300): boolean {
  const parts = Object.fromEntries(
    header.split(',').map((p) => p.split('=', 2) as [string, string]),
  )
  const t = Number(parts.t)
  if (!Number.isInteger(t) || Math.abs(Date.now() / 1000 - t) > toleranceSeconds) return false
  const expected = createHmac('sha256', secret).update(`${t}.${raw}`).digest('hex')
  const given = String(parts.v1 ?? '')
  return (
    given.length === expected.length && timingSafeEqual(Buffer.from(given), Buffer.from(expected))
  )
}

describe.each(await testStoreKinds())('webhooks on %s', (storeKind) => {
  let t: TestPatchbay
  let receiver: Awaited<ReturnType<typeof startReceiver>>
  let upstream: Upstream
  let peer: OidcPeer
  let keyed: string
  let oauth: string

  beforeAll(async () => {
    receiver = await startReceiver()
    upstream = await startUpstream()
    upstream.route('*', (req, res) => json(res, 200, { auth: req.headers.authorization ?? null }))
    peer = await startOidcPeer({ accessTokenTtl: 3600 })
    t = await startTestPatchbay({
      storeKind,
      webhook: { url: receiver.url, secret: SECRET, retryDelaysMs: [20, 40, 80, 160] },
    })
    const ready = async (def: Record<string, unknown>) => {
      const c = await t.api('POST', '/api/v1/connectors', def)
      expect(c.status, JSON.stringify(c.body)).toBe(201)
      expect((await t.api('POST', `/api/v1/connectors/${c.body.id}/ready`)).status).toBe(200)
      return c.body.id as string
    }
    keyed = await ready({
      name: 'Hooked keys',
      baseUrl: upstream.url,
      auth: { type: 'api_key', params: [{ name: 'Key', key: 'X-Api-Key', in: 'header' }] },
      customAction: { enabled: true },
    })
    oauth = await ready({
      name: 'Hooked OAuth',
      baseUrl: upstream.url,
      auth: {
        type: 'oauth2',
        grantType: 'authorization_code',
        authorizationUrl: peer.authorizationUrl,
        tokenUrl: peer.tokenUrl,
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
  })
  afterAll(async () => {
    await t?.close()
    await receiver?.close()
    await upstream?.close()
    await peer?.close()
  })

  /** Deliveries that the receiver accepted, one per event. */
  const accepted = () => receiver.deliveries.filter((d) => d.answered === 200)

  it('signs and delivers each event once, retrying after a 500', async () => {
    const start = receiver.deliveries.length
    // created (direct)
    const keyedConn = await t.api('POST', '/api/v1/connections', {
      connector: keyed,
      endUser: 'hook-user',
      values: { 'X-Api-Key': 'hook-key' },
    })
    expect(keyedConn.status).toBe(201)
    // pending: nothing; then created when the provider answers
    const pending = await t.api('POST', '/api/v1/connections', {
      connector: oauth,
      endUser: 'hook-user',
    })
    await t.pb.webhooks.idle()
    expect(receiver.deliveries.length - start).toBe(2) // the first event, failed once and retried
    await fetch(await peer.follow(pending.body.authorizeUrl))
    // failed
    const denied = await t.api('POST', '/api/v1/connections', { connector: oauth })
    await fetch(await peer.follow(denied.body.authorizeUrl, { deny: true }))
    // needs_reauth
    await t.api('POST', `/api/v1/connections/${pending.body.id}/request`, { path: 'me' })
    const token = String(upstream.requests.at(-1)!.headers.authorization).replace(/^Bearer /, '')
    await peer.revokeGrant(token)
    const refresh = await t.api('POST', `/api/v1/connections/${pending.body.id}/refresh`)
    expect(refresh.body.error.code).toBe('connection.needs_reauth')
    // deleted
    expect((await t.api('DELETE', `/api/v1/connections/${keyedConn.body.id}`)).status).toBe(204)
    await t.pb.webhooks.idle()

    const mine = receiver.deliveries.slice(start)
    const events = accepted()
      .filter((d) => mine.includes(d))
      .map((d) => `${d.body.type} ${d.body.data.connectionId}`)
    expect(events.sort()).toEqual(
      [
        `connection.created ${keyedConn.body.id}`,
        `connection.created ${pending.body.id}`,
        `connection.failed ${denied.body.id}`,
        `connection.needs_reauth ${pending.body.id}`,
        `connection.deleted ${keyedConn.body.id}`,
      ].sort(),
    )
    // Each event: a 500 first, then the same event id again, accepted.
    const byId = new Map<string, number[]>()
    for (const d of mine) byId.set(d.body.id, [...(byId.get(d.body.id) ?? []), d.answered])
    expect([...byId.values()]).toEqual(Array(5).fill([500, 200]))

    for (const d of mine) {
      const header = String(d.headers['x-patchbay-signature'])
      expect(header).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/)
      expect(verify(header, d.raw, SECRET)).toBe(true)
      expect(verifyWebhookSignature(SECRET, header, d.raw)).toBe(true)
      expect(verify(header, `${d.raw} `, SECRET)).toBe(false)
      expect(verify(header, d.raw, `${SECRET}x`)).toBe(false)
      expect(d.headers['content-type']).toBe('application/json')
      expect(d.headers['x-patchbay-event-id']).toBe(d.body.id)
      expect(d.headers['x-patchbay-event-type']).toBe(d.body.type)
      expect(d.body.id).toMatch(/^evt_/)
      expect(Date.parse(d.body.createdAt)).toBeLessThanOrEqual(Date.now())
    }
    const created = mine.find((d) => d.body.data.connectionId === keyedConn.body.id)!.body
    expect(created.data).toEqual({
      connectionId: keyedConn.body.id,
      connectorId: keyed,
      endUser: 'hook-user',
    })
    expect(mine.map((d) => d.raw).join()).not.toContain('hook-key')

    const logs = await t.api('GET', `/api/v1/logs?connection=${keyedConn.body.id}&limit=50`)
    const hooks = logs.body.items.filter((l: { kind: string }) => l.kind === 'webhook')
    expect(hooks).toHaveLength(4)
    for (const l of hooks) {
      expect(l).toMatchObject({
        method: 'POST',
        url: receiver.url.replace(/\?.*$/, ''),
        detail: { tries: 5 },
      })
    }
    expect(
      hooks.map((l: { status: number; detail: { outcome: string } }) => [
        l.status,
        l.detail.outcome,
      ]),
    ).toEqual(
      expect.arrayContaining([
        [500, 'retrying'],
        [200, 'delivered'],
      ]),
    )
  })

  it('gives up after the configured number of tries, each logged', async () => {
    receiver.setMode('always-fail')
    try {
      const start = receiver.deliveries.length
      const conn = await t.api('POST', '/api/v1/connections', {
        connector: keyed,
        values: { 'X-Api-Key': 'k2' },
      })
      await t.pb.webhooks.idle()
      expect(receiver.deliveries.length - start).toBe(5)
      const logs = await t.api('GET', `/api/v1/logs?connection=${conn.body.id}`)
      const outcomes = logs.body.items
        .filter((l: { kind: string }) => l.kind === 'webhook')
        .map((l: { detail: { attempt: number; outcome: string } }) => l.detail)
        .sort((a: { attempt: number }, b: { attempt: number }) => a.attempt - b.attempt)
        .map((d: { outcome: string }) => d.outcome)
      expect(outcomes).toEqual(['retrying', 'retrying', 'retrying', 'retrying', 'failed'])
    } finally {
      receiver.setMode('fail-first')
    }
  })
})

describe('webhook settings', () => {
  it('applies the network policy to the webhook URL: refused once, logged, not retried', async () => {
    const receiver = await startReceiver()
    const t = await startTestPatchbay({
      allowPrivateNetwork: false,
      webhook: { url: receiver.url, secret: SECRET, retryDelaysMs: [10, 10] },
    })
    try {
      const c = await t.api('POST', '/api/v1/connectors', {
        name: 'Public only',
        baseUrl: 'https://api.example.com/',
        auth: { type: 'api_key', params: [{ name: 'Key', key: 'k', in: 'header' }] },
      })
      await t.api('POST', `/api/v1/connectors/${c.body.id}/ready`)
      const conn = await t.api('POST', '/api/v1/connections', {
        connector: c.body.id,
        values: { k: 'v' },
      })
      await t.pb.webhooks.idle()
      expect(receiver.deliveries).toHaveLength(0)
      const logs = await t.api('GET', `/api/v1/logs?connection=${conn.body.id}`)
      const hooks = logs.body.items.filter((l: { kind: string }) => l.kind === 'webhook')
      expect(hooks).toHaveLength(1)
      expect(hooks[0]).toMatchObject({
        status: null,
        error: expect.stringMatching(/request.network_refused/),
        detail: { outcome: 'failed', attempt: 1 },
      })
    } finally {
      await t.close()
      await receiver.close()
    }
  })

  it('refuses to start with a URL and no (or a short) secret', async () => {
    for (const env of [
      { PATCHBAY_WEBHOOK_URL: 'https://hooks.example.com/x' },
      { PATCHBAY_WEBHOOK_URL: 'https://hooks.example.com/x', PATCHBAY_WEBHOOK_SECRET: 'short' },
      { PATCHBAY_WEBHOOK_URL: 'ftp://hooks.example.com/x', PATCHBAY_WEBHOOK_SECRET: SECRET },
    ]) {
      await expect(
        createPatchbay({ dataDir: mkdtempSync(join(tmpdir(), 'pb-webhook-')), env }),
      ).rejects.toThrow(/PATCHBAY_WEBHOOK_(SECRET|URL)/)
    }
  })

  it('verifies signatures with a timestamp tolerance', () => {
    const body = '{"id":"evt_1"}'
    const now = Date.now()
    const t = Math.floor(now / 1000) - 600
    const v1 = createHmac('sha256', SECRET).update(`${t}.${body}`).digest('hex')
    expect(verifyWebhookSignature(SECRET, `t=${t},v1=${v1}`, body, { now })).toBe(false)
    expect(verifyWebhookSignature(SECRET, `t=${t},v1=${v1}`, body, { now: t * 1000 })).toBe(true)
    expect(verifyWebhookSignature(SECRET, undefined, body)).toBe(false)
    expect(verifyWebhookSignature(SECRET, 'garbage', body)).toBe(false)
  })
})
