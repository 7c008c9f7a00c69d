import pg from 'pg'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import {
  createTestPostgresStore,
  dropTestSchema,
  postgresSkipReason,
  postgresTestUrl,
  testSchemaName,
} from '../../../test/helpers/postgres.js'
import {
  attemptOutcome,
  connectionRecord,
  connectorRecord,
  describeStoreContract,
  webhookEvent,
} from '../store.case.js'
import type { Store } from '../store.js'
import { advisoryLockId } from './lock.js'
import { POSTGRES_MIGRATIONS } from './migrations.js'
import { createPostgresStore } from './store.js'

const url = await postgresTestUrl()

if (url) {
  describeStoreContract('postgres', () => createTestPostgresStore())
} else {
  describe.skip(`Store contract: postgres — skipped: ${await postgresSkipReason()}`, () => {
    it('runs against PostgreSQL', () => {})
  })
}

/** Polls `check` until it returns true, failing after `ms`. */
async function until(check: () => Promise<boolean>, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`)
    await new Promise((r) => setTimeout(r, 10))
  }
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void
  const promise = new Promise<void>((r) => (resolve = r))
  return { promise, resolve }
}

describe.skipIf(!url)('PostgreSQL store across processes (one pool per process)', () => {
  let schema: string
  let a: Store
  let b: Store
  let admin: pg.Client

  /** Sessions holding (granted) or waiting for the advisory lock `key`. */
  const lockSessions = async (key: string, granted: boolean): Promise<number[]> => {
    const id = BigInt(advisoryLockId(schema, key))
    const { rows } = await admin.query<{ pid: number }>(
      `SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
         AND classid = $1 AND objid = $2 AND objsubid = 1 AND granted = $3`,
      [String(BigInt.asUintN(32, id >> 32n)), String(BigInt.asUintN(32, id)), granted],
    )
    return rows.map((r) => r.pid)
  }

  beforeEach(async () => {
    schema = testSchemaName()
    // Both migrate at once, as two servers starting together would.
    ;[a, b] = await Promise.all([
      createTestPostgresStore({ schema }),
      createTestPostgresStore({ schema }),
    ])
    admin = new pg.Client({ connectionString: url })
    await admin.connect()
  })

  afterEach(async () => {
    await Promise.all([a.close(), b.close(), admin.end()])
    await dropTestSchema(schema, url)
  })

  it('migrates once when several processes start at once', async () => {
    const more = Array.from({ length: 3 }, () =>
      createPostgresStore({ connectionString: url!, schema, poolSize: 1 }),
    )
    await Promise.all(more.map((s) => s.migrate()))
    await Promise.all(more.map((s) => s.close()))
    const { rows } = await admin.query(
      `SELECT version FROM "${schema}".patchbay_migrations ORDER BY version`,
    )
    expect(rows.map((r: { version: number }) => r.version)).toEqual(
      POSTGRES_MIGRATIONS.map((_, i) => i + 1),
    )
  })

  it('runs lock holders one at a time across processes', async () => {
    let inside = 0
    let most = 0
    let ran = 0
    await Promise.all(
      [a, b, a, b, a, b, a, b].map((store) =>
        store.withLock('refresh:x', 5000, async () => {
          inside++
          most = Math.max(most, inside)
          await new Promise((r) => setTimeout(r, 5))
          inside--
          ran++
        }),
      ),
    )
    expect(ran).toBe(8)
    expect(most).toBe(1)
  })

  it('queues waiters in-process so a key costs one waiting connection per process', async () => {
    const held = deferred()
    const release = deferred()
    const holder = a.withLock('refresh:y', 5000, async () => {
      held.resolve()
      await release.promise
    })
    await held.promise
    const waiters = Array.from({ length: 6 }, () => b.withLock('refresh:y', 5000, async () => {}))
    try {
      await until(async () => (await lockSessions('refresh:y', false)).length > 0, 'b waits')
      expect(await lockSessions('refresh:y', false)).toHaveLength(1)
    } finally {
      release.resolve()
      await Promise.all([holder, ...waiters])
    }
  })

  it('lets only one compare-and-set writer win across processes', async () => {
    const c = connectorRecord()
    await a.insertConnector(c)
    const conn = connectionRecord(c.id)
    await a.insertConnection(conn)
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        (i % 2 ? a : b).updateCredentials(conn.id, 1, {
          secrets: `pb1.${i}`,
          expiresAt: null,
          refreshExpiresAt: null,
          status: 'connected',
          statusMessage: null,
        }),
      ),
    )
    expect(results.filter((r) => r === 2)).toHaveLength(1)
    expect(results.filter((r) => r === undefined)).toHaveLength(19)
    expect((await b.getConnection(conn.id))?.credentialsVersion).toBe(2)
  })

  it('applies breaker transitions atomically across processes', async () => {
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        (i % 2 ? a : b).updateBreaker('k', (br) => ({ ...br, failures: br.failures + 1 })),
      ),
    )
    expect(await a.getBreaker('k')).toMatchObject({ state: 'closed', failures: 20 })
  })

  it('frees the lock of a holder whose database session dies', async () => {
    const held = deferred()
    const bGotIt = deferred()
    const holder = a.withLock('refresh:z', 60_000, async () => {
      held.resolve()
      await Promise.race([bGotIt.promise, new Promise((r) => setTimeout(r, 10_000))])
      return 'done'
    })
    await held.promise
    const [pid] = await lockSessions('refresh:z', true)
    expect(pid).toBeTypeOf('number')
    await admin.query('SELECT pg_terminate_backend($1)', [pid])
    await b.withLock('refresh:z', 60_000, async () => bGotIt.resolve())
    expect(await lockSessions('refresh:z', true)).not.toContain(pid)
    // The cut holder still finishes its work, and its store keeps working.
    await expect(holder).resolves.toBe('done')
    await expect(a.withLock('refresh:z', 1000, async () => 'again')).resolves.toBe('again')
  })

  it('hands each webhook event to one claimer, one event of a connection at a time, in order', async () => {
    await a.insertConnector(connectorRecord({ id: 'cn_x' }))
    const expected = new Map<string, string[]>()
    for (let c = 0; c < 8; c++) {
      const id = `co_${c}`
      const events = Array.from({ length: 4 }, () => webhookEvent(id, { connectorId: 'cn_x' }))
      await a.insertConnection(connectionRecord('cn_x', { id }), events)
      expected.set(
        id,
        events.map((e) => e.id),
      )
    }
    const delivered = new Map<string, string[]>()
    const inFlight = new Set<string>()
    let together = 0
    let total = 0
    const deliverer = async (store: Store, owner: string) => {
      const deadline = Date.now() + 20_000
      while (total < 32) {
        if (Date.now() > deadline) throw new Error(`${owner} timed out at ${total} of 32`)
        const claimed = await store.claimWebhookEvents({
          owner,
          now: Date.now(),
          leaseMs: 60_000,
          limit: 3,
        })
        await Promise.all(
          claimed.map(async (e) => {
            if (inFlight.has(e.connectionId)) together++
            inFlight.add(e.connectionId)
            await new Promise((r) => setImmediate(r))
            delivered.set(e.connectionId, [...(delivered.get(e.connectionId) ?? []), e.id])
            inFlight.delete(e.connectionId)
            total++
            expect(
              await store.settleWebhookEvent(e.id, owner, attemptOutcome('delivered', Date.now())),
            ).toBe(true)
          }),
        )
        if (claimed.length === 0) await new Promise((r) => setTimeout(r, 2))
      }
    }
    await Promise.all([
      deliverer(a, 'a1'),
      deliverer(b, 'b1'),
      deliverer(a, 'a2'),
      deliverer(b, 'b2'),
    ])
    expect(together).toBe(0)
    expect(new Map([...delivered].sort())).toEqual(new Map([...expected].sort()))
  })

  it('skips, never waits for, webhook events another transaction holds', async () => {
    await a.insertConnector(connectorRecord({ id: 'cn_x' }))
    const held = webhookEvent('co_held', { connectorId: 'cn_x' })
    const free = webhookEvent('co_free', { connectorId: 'cn_x' })
    await a.insertConnection(connectionRecord('cn_x', { id: 'co_held' }), [held])
    await a.insertConnection(connectionRecord('cn_x', { id: 'co_free' }), [free])
    await admin.query('BEGIN')
    try {
      await admin.query(
        `SELECT * FROM "${schema}".webhook_events WHERE connection_id = 'co_held' FOR UPDATE`,
      )
      const claimed = await b.claimWebhookEvents({
        owner: 'b',
        now: Date.now(),
        leaseMs: 60_000,
        limit: 10,
      })
      expect(claimed.map((e) => e.id)).toEqual([free.id])
    } finally {
      await admin.query('ROLLBACK')
    }
    const later = await b.claimWebhookEvents({ owner: 'b', now: Date.now(), leaseMs: 1, limit: 10 })
    expect(later.map((e) => e.id)).toEqual([held.id])
  })
})
