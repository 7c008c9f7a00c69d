import pg from 'pg'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import {
  createKillablePostgresStore,
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
  logRecord,
  webhookEvent,
} from '../store.case.js'
import type { CredentialsUpdate, Store } from '../store.js'
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

/** Polls `check` until it returns something truthy (which it answers), failing after `ms`. */
async function until<T>(
  check: () => Promise<T | undefined | false>,
  what: string,
  ms = 10_000,
): Promise<T> {
  const deadline = Date.now() + ms
  for (;;) {
    const value = await check()
    if (value) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`)
    await new Promise((r) => setTimeout(r, 10))
  }
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void
  const promise = new Promise<void>((r) => (resolve = r))
  return { promise, resolve }
}

const credentials = (secrets: string): CredentialsUpdate => ({
  secrets,
  expiresAt: null,
  refreshExpiresAt: null,
  status: 'connected',
  statusMessage: null,
})

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

  it('indexes only the log entries with an action, MCP key or tool', async () => {
    await a.appendLogs([
      logRecord(),
      logRecord({ actionId: 'ac_1' }),
      logRecord({ mcpKeyId: 'mk_1', tool: 'call_api' }),
    ])
    const { rows } = await admin.query(
      `SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = $1 AND indexname IN ('logs_action', 'logs_mcp_key', 'logs_tool') ORDER BY indexname`,
      [schema],
    )
    expect(
      rows.map((r: { indexdef: string }) => /WHERE \((\w+) IS NOT NULL\)/.exec(r.indexdef)?.[1]),
    ).toEqual(['action_id', 'mcp_key_id', 'tool'])
    expect((await a.listLogs({ limit: 10, actionId: 'ac_1' })).items).toHaveLength(1)
    expect((await a.listLogs({ limit: 10, mcpKeyId: 'mk_1' })).items).toHaveLength(1)
    expect((await a.listLogs({ limit: 10, tool: 'call_api' })).items).toHaveLength(1)
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

  /*
   * Refresh fencing. Holder A takes `refresh:x`, refreshes, and sends its fenced credentials
   * write — which blocks, because a third session holds the row (`SELECT … FOR UPDATE`). Then A's
   * process "dies": the socket of its lock session is destroyed without a goodbye, and its backend,
   * waiting for the row lock, keeps running the UPDATE, as a killed process's backend would (it
   * notices the client is gone only when it next talks to it). B then asks for `refresh:x`.
   *
   * The write runs on the lock's own session, which runs its statements one at a time: the
   * session, and with it the advisory lock, ends only after the UPDATE has committed. So B gets the
   * lock after A's write, sees A's credentials version, and does not refresh again.
   *
   * The old design wrote on another pooled connection. Killing A's process then closed an idle lock
   * session — PostgreSQL frees a dead session's advisory locks at once — while the UPDATE, on the
   * other connection, still waited for the row: B got the lock early, read the old version, and
   * refreshed again with the refresh token A had just used (which a provider that rotates refresh
   * tokens refuses, and then revokes the grant).
   */
  it('lets a lock holder that dies mid-write keep its lock until the write committed', async () => {
    const visible = await createKillablePostgresStore(schema)
    const holder = visible.store
    try {
      const c = connectorRecord()
      await b.insertConnector(c)
      const conn = connectionRecord(c.id, { secrets: 'pb1.before' })
      await b.insertConnection(conn)

      const row = new pg.Client({ connectionString: url })
      await row.connect()
      try {
        await row.query('BEGIN')
        await row.query(`SELECT * FROM "${schema}".connections WHERE id = $1 FOR UPDATE`, [conn.id])
        const aHolds = deferred()
        const aWrite = holder
          .withLock(`refresh:${conn.id}`, 60_000, (lock) => {
            aHolds.resolve()
            return lock.updateCredentials(conn.id, 1, credentials('pb1.from-a'))
          })
          .catch((err: unknown) => err)
        await aHolds.promise
        // The backend running A's UPDATE, waiting for the row lock.
        const writerOf = async () =>
          (
            await admin.query<{ pid: number }>(
              `SELECT pid FROM pg_stat_activity
               WHERE wait_event_type = 'Lock' AND query LIKE 'UPDATE connections SET secrets%'`,
            )
          ).rows[0]?.pid
        const writer = await until(writerOf, 'A waits for the row')
        const [session] = visible.lockClients
        const lockPid = (session as unknown as { processID: number }).processID
        expect(await lockSessions(`refresh:${conn.id}`, true)).toEqual([lockPid])

        // A's process dies: its lock session's socket is gone, and the backend writing for it
        // still waits to run the UPDATE.
        visible.kill()
        expect(await writerOf()).toBe(writer)

        let bGotIt = false
        const bRefresh = b.withLock(`refresh:${conn.id}`, 60_000, async (lock) => {
          bGotIt = true
          const seen = (await b.getConnection(conn.id))!
          // What the refresher does (refresher.ts): refresh only when the version is still the one
          // it saw before taking the lock.
          if (seen.credentialsVersion !== 1) return { refreshed: false, seen }
          await lock.updateCredentials(conn.id, 1, credentials('pb1.from-b'))
          return { refreshed: true, seen }
        })
        await until(
          async () => bGotIt || (await lockSessions(`refresh:${conn.id}`, false)).length === 1,
          'B waits for the lock (or gets it)',
        )
        expect(bGotIt, "B got the lock before A's write committed").toBe(false)
        // The fence: A's write runs on the session that holds the lock.
        expect(writer).toBe(lockPid)

        await row.query('COMMIT')
        // A never hears how its write ended: its connection is gone.
        expect(String(await aWrite)).toMatch(/terminated|closed|ECONNRESET/i)
        const outcome = await bRefresh
        expect(outcome.refreshed).toBe(false)
        expect(outcome.seen).toMatchObject({ secrets: 'pb1.from-a', credentialsVersion: 2 })
        expect(await b.getConnection(conn.id)).toMatchObject({
          secrets: 'pb1.from-a',
          credentialsVersion: 2,
        })
        await until(async () => (await writerOf()) === undefined, "A's backend ends")
        expect(await lockSessions(`refresh:${conn.id}`, true)).not.toContain(lockPid)
      } finally {
        await row.end()
      }
    } finally {
      await holder.close()
    }
  })
})
