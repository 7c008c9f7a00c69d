/**
 * The webhook outbox (docs/connect.md), on both stores: events are rows written with the change
 * that caused them, so they survive a SIGKILL and any process delivers them, each at least once
 * and in order per connection; after the last try an event is dead-lettered, listed by
 * `GET /api/v1/webhook-events?status=dead`, and `POST /api/v1/webhook-events/:id/retry` sends it
 * again. Without a webhook URL, nothing is written.
 */
import { randomBytes } from 'node:crypto'
import { mkdtempSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { verifyWebhookSignature } from '../src/engine/webhooks.js'
import type { Store } from '../src/store/store.js'
import {
  runSql,
  startTestPatchbay,
  testStoreKinds,
  type StoreKind,
  type TestPatchbay,
} from './helpers/patchbay.js'
import { dropTestSchema, postgresTestUrl, testSchemaName } from './helpers/postgres.js'
import {
  pollUntil,
  requireBuild,
  startServerProcess,
  stopAll,
  type ServerProcess,
} from './helpers/processes.js'

const SECRET = 'whsec_outbox_0123456789abcdef'

interface Delivery {
  id: string
  type: string
  connectionId: string
  raw: string
  signature: string
  answered: number
}

/** A receiver that records every delivery and answers what `answer` says (200 by default). */
async function startReceiver() {
  const deliveries: Delivery[] = []
  let answer: (d: Omit<Delivery, 'answered'>) => number = () => 200
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8')
      const body = JSON.parse(raw) as { id: string; type: string; data: { connectionId: string } }
      const d = {
        id: body.id,
        type: body.type,
        connectionId: body.data.connectionId,
        raw,
        signature: String(req.headers['x-patchbay-signature']),
      }
      const answered = answer(d)
      deliveries.push({ ...d, answered })
      res.writeHead(answered, { 'content-type': 'text/plain' }).end(String(answered))
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}/hooks`,
    deliveries,
    answerWith(f: typeof answer) {
      answer = f
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections()
        server.close(() => r())
      }),
  }
}
type Receiver = Awaited<ReturnType<typeof startReceiver>>

/** The deliveries of one connection, in arrival order, as `type answered`. */
const trail = (r: Receiver, connectionId: string) =>
  r.deliveries.filter((d) => d.connectionId === connectionId).map((d) => `${d.type} ${d.answered}`)

async function readyKeyConnector(api: TestPatchbay['api'], baseUrl: string): Promise<string> {
  const c = await api('POST', '/api/v1/connectors', {
    name: `Outbox ${randomBytes(3).toString('hex')}`,
    baseUrl,
    auth: { type: 'api_key', params: [{ name: 'Key', key: 'X-Api-Key', in: 'header' }] },
  })
  expect(c.status, JSON.stringify(c.body)).toBe(201)
  expect((await api('POST', `/api/v1/connectors/${c.body.id}/ready`)).status).toBe(200)
  return c.body.id as string
}

describe.each(await testStoreKinds())('the webhook outbox on %s', (storeKind) => {
  let receiver: Receiver
  let t: TestPatchbay
  let connector: string

  beforeAll(async () => {
    receiver = await startReceiver()
    t = await startTestPatchbay({
      storeKind,
      webhook: { url: receiver.url, secret: SECRET, retryDelaysMs: [10, 10] },
    })
    connector = await readyKeyConnector(t.api, 'https://api.example.com/')
  })
  afterAll(async () => {
    await t?.close()
    await receiver?.close()
  })

  const connect = async (key: string) => {
    const res = await t.api('POST', '/api/v1/connections', {
      connector,
      endUser: 'outbox-user',
      values: { 'X-Api-Key': key },
    })
    expect(res.status, JSON.stringify(res.body)).toBe(201)
    return res.body.id as string
  }

  it('sends a connection’s events in order, each waiting for the one before to be delivered', async () => {
    // The first try of every event fails: each waits for its retry, and holds back the next.
    const tried = new Set<string>()
    receiver.answerWith((d) => (tried.has(d.id) ? 200 : (tried.add(d.id), 500)))
    const id = await connect('k1')
    const reconnected = await t.api('POST', `/api/v1/connections/${id}/reconnect`, {
      values: { 'X-Api-Key': 'k2' },
    })
    expect(reconnected.status, JSON.stringify(reconnected.body)).toBe(200)
    expect((await t.api('DELETE', `/api/v1/connections/${id}`)).status).toBe(204)
    await t.pb.webhooks.idle()
    expect(trail(receiver, id)).toEqual([
      'connection.created 500',
      'connection.created 200',
      'connection.reconnected 500',
      'connection.reconnected 200',
      'connection.deleted 500',
      'connection.deleted 200',
    ])
    const listed = await t.api('GET', `/api/v1/webhook-events?connection=${id}`)
    expect(listed.status).toBe(200)
    expect(
      listed.body.items.map((e: { type: string; status: string; attempts: number }) => [
        e.type,
        e.status,
        e.attempts,
      ]),
    ).toEqual([
      ['connection.deleted', 'delivered', 2],
      ['connection.reconnected', 'delivered', 2],
      ['connection.created', 'delivered', 2],
    ])
    for (const e of listed.body.items) {
      expect(e).toMatchObject({
        connectionId: id,
        connectorId: connector,
        endUser: 'outbox-user',
        lastStatus: 200,
        lastError: null,
        nextAttemptAt: null,
        deadAt: null,
      })
      expect(Date.parse(e.deliveredAt)).toBeGreaterThanOrEqual(Date.parse(e.createdAt))
    }
  })

  it('dead-letters an event after its last try, lists it, and no longer holds back the next', async () => {
    receiver.answerWith((d) => (d.type === 'connection.created' ? 503 : 200))
    const id = await connect('k3')
    await t.pb.webhooks.idle()
    expect(trail(receiver, id)).toEqual(Array(3).fill('connection.created 503'))
    const dead = await t.api('GET', `/api/v1/webhook-events?status=dead&connection=${id}`)
    expect(dead.body.items).toHaveLength(1)
    const [event] = dead.body.items
    expect(event).toMatchObject({
      type: 'connection.created',
      status: 'dead',
      attempts: 3,
      lastStatus: 503,
      lastError: 'the receiver answered 503',
      nextAttemptAt: null,
      deliveredAt: null,
    })
    expect(receiver.deliveries.filter((d) => d.connectionId === id).map((d) => d.id)).toEqual(
      Array(3).fill(event.id),
    )
    const logs = await t.api('GET', `/api/v1/logs?connection=${id}`)
    expect(
      logs.body.items
        .filter((l: { kind: string }) => l.kind === 'webhook')
        .map((l: { detail: { attempt: number; outcome: string } }) => l.detail)
        .sort((a: { attempt: number }, b: { attempt: number }) => a.attempt - b.attempt)
        .map((d: { attempt: number; outcome: string }) => `${d.attempt} ${d.outcome}`),
    ).toEqual(['1 retrying', '2 retrying', '3 failed'])

    // The next event of the connection goes out although the one before it is dead.
    expect((await t.api('DELETE', `/api/v1/connections/${id}`)).status).toBe(204)
    await t.pb.webhooks.idle()
    expect(trail(receiver, id).at(-1)).toBe('connection.deleted 200')
  })

  it('retries a dead-lettered event: same id, new tries, delivered once the receiver answers', async () => {
    receiver.answerWith(() => 500)
    const id = await connect('k4')
    await t.pb.webhooks.idle()
    const [dead] = (await t.api('GET', `/api/v1/webhook-events?status=dead&connection=${id}`)).body
      .items
    expect(dead.attempts).toBe(3)

    receiver.answerWith(() => 200)
    const retried = await t.api('POST', `/api/v1/webhook-events/${dead.id}/retry`)
    expect(retried.status, JSON.stringify(retried.body)).toBe(200)
    expect(retried.body).toMatchObject({
      id: dead.id,
      status: 'pending',
      attempts: 0,
      deadAt: null,
    })
    await t.pb.webhooks.idle()
    const delivered = receiver.deliveries.filter((d) => d.connectionId === id)
    expect(delivered.map((d) => `${d.id} ${d.answered}`)).toEqual([
      ...Array(3).fill(`${dead.id} 500`),
      `${dead.id} 200`,
    ])
    expect(verifyWebhookSignature(SECRET, delivered.at(-1)!.signature, delivered.at(-1)!.raw)).toBe(
      true,
    )
    const after = await t.api('GET', `/api/v1/webhook-events/${dead.id}`)
    expect(after.body).toMatchObject({ status: 'delivered', attempts: 1, lastStatus: 200 })

    // Only a dead event can be retried; unknown ids and bad filters are named.
    const again = await t.api('POST', `/api/v1/webhook-events/${dead.id}/retry`)
    expect(again.status).toBe(409)
    expect(again.body.error).toMatchObject({
      code: 'webhook_event.not_dead',
      details: { status: 'delivered' },
    })
    const unknown = await t.api('POST', '/api/v1/webhook-events/evt_nope/retry')
    expect(unknown.status).toBe(404)
    expect(unknown.body.error.code).toBe('webhook_event.not_found')
    expect((await t.api('GET', '/api/v1/webhook-events/evt_nope')).status).toBe(404)
    const bad = await t.api('GET', '/api/v1/webhook-events?status=lost')
    expect(bad.status).toBe(400)
    expect(bad.body.error.details).toEqual([
      { path: 'status', rule: 'must be one of "pending", "delivered", "dead"' },
    ])
    expect((await t.api('GET', '/api/v1/webhook-events?cursor=nope')).status).toBe(400)
  })

  it('writes no outbox rows when no webhook URL is configured', async () => {
    const quiet = await startTestPatchbay({ storeKind, webhook: false })
    try {
      const c = await readyKeyConnector(quiet.api, 'https://api.example.com/')
      const conn = await quiet.api('POST', '/api/v1/connections', {
        connector: c,
        values: { 'X-Api-Key': 'quiet' },
      })
      expect(conn.status).toBe(201)
      expect((await quiet.api('DELETE', `/api/v1/connections/${conn.body.id}`)).status).toBe(204)
      const { rows } = await runSql(quiet, 'SELECT COUNT(*) AS n FROM webhook_events')
      expect(Number(rows[0]!.n)).toBe(0)
      expect((await quiet.api('GET', '/api/v1/webhook-events')).body.items).toEqual([])
    } finally {
      await quiet.close()
    }
  })
})

const databaseUrl = await postgresTestUrl()

describe.each(await testStoreKinds())(
  'webhook events across a SIGKILL on %s',
  (kind: StoreKind) => {
    const adminKey = `outbox-admin-${randomBytes(8).toString('hex')}`
    const dataDir = mkdtempSync(join(tmpdir(), 'patchbay-outbox-'))
    const schema = testSchemaName()
    const processes: ServerProcess[] = []
    let receiver: Receiver
    let env: Record<string, string>
    /** Where `runSql` finds this database. */
    const db = {
      store: { dialect: kind } as Store,
      dataDir,
      schema: kind === 'postgres' ? schema : undefined,
    }

    beforeAll(async () => {
      requireBuild()
      receiver = await startReceiver()
      env = {
        PATCHBAY_DATA_DIR: dataDir,
        PATCHBAY_SECRET_KEY: randomBytes(32).toString('base64'),
        PATCHBAY_ALLOW_PRIVATE_NETWORK: 'true',
        PATCHBAY_WEBHOOK_URL: receiver.url,
        PATCHBAY_WEBHOOK_SECRET: SECRET,
        ...(kind === 'postgres'
          ? { PATCHBAY_DATABASE_URL: databaseUrl!, PATCHBAY_DATABASE_SCHEMA: schema }
          : {}),
      }
    })
    afterAll(async () => {
      await stopAll(processes)
      await receiver?.close()
      if (kind === 'postgres') await dropTestSchema(schema)
    })

    it('delivers every event, in order, from another process once the receiver answers 200', async () => {
      receiver.answerWith(() => 500)
      const first = await startServerProcess({ adminKey, env, name: 'first' })
      processes.push(first)
      const api = (method: string, path: string, body?: unknown) => first.api(method, path, body)
      const connector = await readyKeyConnector(
        api as TestPatchbay['api'],
        'https://api.example.com/',
      )
      const connect = async (key: string) => {
        const res = await api('POST', '/api/v1/connections', {
          connector,
          values: { 'X-Api-Key': key },
        })
        expect(res.status, JSON.stringify(res.body)).toBe(201)
        return res.body.id as string
      }
      const a = await connect('a')
      const b = await connect('b')
      expect(
        (await api('POST', `/api/v1/connections/${a}/reconnect`, { values: { 'X-Api-Key': 'a2' } }))
          .status,
      ).toBe(200)
      expect((await api('DELETE', `/api/v1/connections/${a}`)).status).toBe(204)
      const c = await connect('c')

      // Every connection's first event was tried (and refused) and nothing is mid-attempt: kill.
      await pollUntil('a first try of each connection’s first event', async () => {
        const heads = new Set(receiver.deliveries.map((d) => d.connectionId))
        if (![a, b, c].every((id) => heads.has(id))) return false
        const { rows } = await runSql(
          db,
          'SELECT COUNT(*) AS n FROM webhook_events WHERE lease_owner IS NOT NULL',
        )
        return Number(rows[0]!.n) === 0
      })
      await first.kill('SIGKILL')
      const { rows: left } = await runSql(
        db,
        'SELECT id, type, connection_id, status FROM webhook_events ORDER BY seq',
      )
      expect(left.map((r) => [r.type, r.connection_id, r.status])).toEqual([
        ['connection.created', a, 'pending'],
        ['connection.created', b, 'pending'],
        ['connection.reconnected', a, 'pending'],
        ['connection.deleted', a, 'pending'],
        ['connection.created', c, 'pending'],
      ])
      expect(receiver.deliveries.every((d) => d.answered === 500)).toBe(true)

      receiver.answerWith(() => 200)
      const second = await startServerProcess({ adminKey, env, name: 'second' })
      processes.push(second)
      await pollUntil(
        'every event delivered',
        async () => {
          const { rows } = await runSql(
            db,
            "SELECT COUNT(*) AS n FROM webhook_events WHERE status = 'delivered'",
          )
          return Number(rows[0]!.n) === 5
        },
        { timeoutMs: 90_000, intervalMs: 50 },
      )
      const accepted = receiver.deliveries.filter((d) => d.answered === 200)
      expect(accepted.map((d) => d.id).sort()).toEqual(left.map((r) => r.id as string).sort())
      // In order per connection: no try of an event before the one before it was delivered.
      expect(trail(receiver, a).filter((x) => !x.startsWith('connection.created'))).toEqual([
        'connection.reconnected 200',
        'connection.deleted 200',
      ])
      expect(trail(receiver, a).at(-3)).toBe('connection.created 200')
      for (const id of [b, c]) expect(trail(receiver, id).at(-1)).toBe('connection.created 200')
      for (const d of accepted)
        expect(verifyWebhookSignature(SECRET, d.signature, d.raw)).toBe(true)
      const listed = await second.api('GET', '/api/v1/webhook-events?status=delivered')
      expect(listed.body.items).toHaveLength(5)
    }, 150_000)
  },
)
