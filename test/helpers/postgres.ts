/**
 * PostgreSQL for tests. `PATCHBAY_TEST_DATABASE_URL` (default
 * `postgres://postgres@127.0.0.1:5432/test`) names the server; each test store gets a fresh schema
 * of its own, dropped when the store closes, so test files run in parallel on one database.
 *
 * When the server cannot be reached, suites skip with the reason printed, except under CI
 * (`CI=true`), where a missing PostgreSQL fails the run: a green CI must have run them.
 *
 * ```ts
 * const url = await postgresTestUrl()
 * describe.skipIf(!url)('on PostgreSQL', () => {
 *   it('…', async () => {
 *     const store = await createTestPostgresStore()
 *     …
 *     await store.close() // also drops the schema
 *   })
 * })
 * ```
 *
 * @module
 */
import { randomBytes } from 'node:crypto'
import type { Socket } from 'node:net'
import pg from 'pg'
import { createPostgresDb, types } from '../../src/store/postgres/driver.js'
import { createAdvisoryLocks } from '../../src/store/postgres/lock.js'
import { createPostgresStore, postgresDialect } from '../../src/store/postgres/store.js'
import type { Db } from '../../src/store/sql/db.js'
import { createSqlStore } from '../../src/store/sql/store.js'
import type { Store } from '../../src/store/store.js'

export const DEFAULT_TEST_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/test'

export interface PostgresProbe {
  url: string
  /** Why PostgreSQL cannot be used, or undefined when it can. */
  unavailable?: string
}

let probe: Promise<PostgresProbe> | undefined

/** Connects once (per test file) to see whether the test database answers. */
export function probePostgres(): Promise<PostgresProbe> {
  probe ??= (async () => {
    const url = process.env.PATCHBAY_TEST_DATABASE_URL || DEFAULT_TEST_DATABASE_URL
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 })
    client.on('error', () => {})
    try {
      await client.connect()
      await client.query('SELECT 1')
      return { url }
    } catch (err) {
      return { url, unavailable: `PostgreSQL at ${redact(url)} is unreachable: ${String(err)}` }
    } finally {
      await client.end().catch(() => {})
    }
  })()
  return probe
}

/**
 * The test database URL, or undefined (with a warning saying why) when it is unreachable.
 * Throws instead under CI, where PostgreSQL-backed suites must run.
 */
export async function postgresTestUrl(): Promise<string | undefined> {
  const { url, unavailable } = await probePostgres()
  if (!unavailable) return url
  if (process.env.CI === 'true')
    throw new Error(`${unavailable}; under CI (CI=true) the PostgreSQL suites must run`)
  console.warn(`Skipping PostgreSQL suites: ${unavailable} (set PATCHBAY_TEST_DATABASE_URL)`)
  return undefined
}

/** Why PostgreSQL suites are skipped, for a test title; undefined when they run. */
export async function postgresSkipReason(): Promise<string | undefined> {
  return (await probePostgres()).unavailable
}

async function requireUrl(): Promise<string> {
  const url = await postgresTestUrl()
  if (!url) throw new Error((await postgresSkipReason()) ?? 'PostgreSQL is unavailable')
  return url
}

/** A fresh schema name; nothing is created until a store on it migrates. */
export function testSchemaName(): string {
  return `pb_test_${randomBytes(6).toString('hex')}`
}

export async function dropTestSchema(schema: string, url?: string): Promise<void> {
  const client = new pg.Client({ connectionString: url ?? (await requireUrl()) })
  client.on('error', () => {})
  await client.connect()
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)
  } finally {
    await client.end()
  }
}

export interface TestPostgresStoreOptions {
  /**
   * Share an existing schema (several stores standing for several processes). The caller then
   * drops it with `dropTestSchema`; by default the store gets a fresh schema that its `close()`
   * drops.
   */
  schema?: string
  poolSize?: number
  lockPoolSize?: number
  /** Default: call `migrate()` before returning. */
  migrate?: boolean
}

/** A migrated store on the test database in a schema of its own. Throws when unreachable. */
export async function createTestPostgresStore(
  options: TestPostgresStoreOptions = {},
): Promise<Store> {
  const url = await requireUrl()
  const owned = options.schema === undefined
  const schema = options.schema ?? testSchemaName()
  const store = createPostgresStore({
    connectionString: url,
    schema,
    poolSize: options.poolSize,
    lockPoolSize: options.lockPoolSize,
  })
  try {
    if (options.migrate !== false) await store.migrate()
  } catch (err) {
    await store.close()
    if (owned) await dropTestSchema(schema, url)
    throw err
  }
  if (!owned) return store
  let closed: Promise<void> | undefined
  return {
    ...store,
    close: () => (closed ??= store.close().then(() => dropTestSchema(schema, url))),
  }
}

export interface KillablePostgresStore {
  /** Built as `createPostgresStore` builds it, on an existing (migrated) schema. */
  store: Store
  /** The sessions of its lock pool: the ones that hold its advisory locks. */
  lockClients: pg.PoolClient[]
  /**
   * What a SIGKILL does to the store's process, as PostgreSQL sees it: the lock sessions' sockets
   * are destroyed without a goodbye (their backends run on until they next talk to the client),
   * and the process sends no query ever again.
   */
  kill(): void
}

/** A store whose lock sessions a test can reach, and whose process it can "kill". */
export async function createKillablePostgresStore(schema: string): Promise<KillablePostgresStore> {
  const config = {
    connectionString: await requireUrl(),
    types,
    options: `-c search_path=${schema}`,
  }
  const pool = new pg.Pool({ ...config, max: 4 })
  const lockPool = new pg.Pool({ ...config, max: 2 })
  pool.on('error', () => {})
  lockPool.on('error', () => {})
  const lockClients: pg.PoolClient[] = []
  lockPool.on('connect', (client) => lockClients.push(client))
  const live = createPostgresDb(pool)
  let dead = false
  const gone = () => Promise.reject(new Error('the process was killed'))
  const db: Db = {
    all: (sql, args) => (dead ? gone() : live.all(sql, args)),
    get: (sql, args) => (dead ? gone() : live.get(sql, args)),
    run: (sql, args) => (dead ? gone() : live.run(sql, args)),
    exec: (sql) => (dead ? gone() : live.exec(sql)),
    transaction: (fn) => (dead ? gone() : live.transaction(fn)),
  }
  const store = createSqlStore({
    db,
    dialect: postgresDialect,
    locks: createAdvisoryLocks(lockPool, schema),
    migrate: () => Promise.resolve(),
    close: async () => {
      await Promise.all([pool.end(), lockPool.end()])
    },
  })
  return {
    store,
    lockClients,
    kill() {
      dead = true
      for (const client of lockClients)
        (client as unknown as { connection: { stream: Socket } }).connection.stream.destroy()
    },
  }
}

function redact(url: string): string {
  try {
    const u = new URL(url)
    if (u.password) u.password = '*****'
    return u.toString()
  } catch {
    return '(unparseable URL)'
  }
}
