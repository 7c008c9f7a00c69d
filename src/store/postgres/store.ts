/**
 * The shared store on PostgreSQL (`PATCHBAY_DATABASE_URL=postgres://…`): any number of processes
 * on one database behave as one system. Atomic operations are single statements or short
 * transactions that lock the rows they read; `withLock` holds a session advisory lock (`lock.ts`).
 *
 * @module
 */
import pg from 'pg'
import { invalidInput } from '../../errors.js'
import type { Dialect } from '../sql/db.js'
import { createSqlStore } from '../sql/store.js'
import type { Store } from '../store.js'
import { createPostgresDb, types } from './driver.js'
import { advisoryLockId, createAdvisoryLocks } from './lock.js'
import { POSTGRES_MIGRATIONS } from './migrations.js'

export interface PostgresStoreOptions {
  /** `postgres://user:password@host:port/database?…` */
  connectionString: string
  /**
   * Schema holding Patchbay's tables, created by `migrate()` when missing; set as the
   * `search_path` of every connection. Lower-case letters, digits and `_`. Default: the
   * connection's own `search_path` (usually `public`).
   */
  schema?: string | undefined
  /** Connections for queries. Default 10. */
  poolSize?: number | undefined
  /**
   * Connections for `withLock`: each lock held (or waited for at the database) by this process
   * takes one for as long as it is held, so this bounds how many different keys one process
   * holds at once. Default 4.
   */
  lockPoolSize?: number | undefined
}

const MIGRATIONS_TABLE = 'patchbay_migrations'
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/

/** Constraint names as the migrations declare them, by the column they keep unique. */
const UNIQUE_CONSTRAINTS: Record<string, string> = {
  connectors_link_name_key: 'connectors.link_name',
  admin_keys_key_hash_key: 'admin_keys.key_hash',
  connect_sessions_token_hash_key: 'connect_sessions.token_hash',
  mcp_keys_key_hash_key: 'mcp_keys.key_hash',
  webhook_events_id_key: 'webhook_events.id',
}

/** What the shared SQL needs to know about PostgreSQL. */
export const postgresDialect: Dialect = {
  name: 'postgres',
  crossProcess: true,
  forUpdate: ' FOR UPDATE',
  forUpdateSkipLocked: ' FOR UPDATE SKIP LOCKED',
  uniqueViolation(err) {
    if (!(err instanceof pg.DatabaseError) || err.code !== '23505') return undefined
    return UNIQUE_CONSTRAINTS[err.constraint ?? ''] ?? `${err.table}.${err.constraint}`
  },
}

export function createPostgresStore(options: PostgresStoreOptions): Store {
  const { connectionString, schema } = options
  if (schema !== undefined && !SCHEMA_NAME.test(schema))
    throw invalidInput([
      {
        path: 'schema',
        rule: 'must be lower-case letters, digits and _, starting with a letter or _',
      },
    ])
  const config: pg.PoolConfig = {
    connectionString,
    types,
    application_name: 'patchbay',
    ...(schema === undefined ? {} : { options: `-c search_path=${schema}` }),
  }
  const pool = new pg.Pool({ ...config, max: options.poolSize ?? 10 })
  const lockPool = new pg.Pool({ ...config, max: options.lockPoolSize ?? 4 })
  // An idle connection that breaks (server restart, network) is dropped by the pool and replaced
  // on next use; without a listener its 'error' would crash the process.
  pool.on('error', () => {})
  lockPool.on('error', () => {})
  const db = createPostgresDb(pool)
  let closing: Promise<void> | undefined

  return createSqlStore({
    db,
    dialect: postgresDialect,
    locks: createAdvisoryLocks(lockPool, schema ?? ''),
    // The transaction-scoped advisory lock serialises processes that start at once: the first
    // applies the migrations, the others then find them applied (and the lock is released at
    // COMMIT or ROLLBACK, even if the process dies).
    migrate: () =>
      db.transaction(async (tx) => {
        await tx.run('SELECT pg_advisory_xact_lock(?::bigint)', [
          advisoryLockId(schema ?? '', 'migrate'),
        ])
        // Checked first: CREATE SCHEMA needs the CREATE privilege on the database even when the
        // schema exists, and an operator may have created it for a less privileged role.
        if (schema !== undefined) {
          const found = await tx.get('SELECT 1 FROM pg_namespace WHERE nspname = ?', [schema])
          if (!found) await tx.exec(`CREATE SCHEMA "${schema}"`)
        }
        await tx.exec(
          `CREATE TABLE IF NOT EXISTS ${MIGRATIONS_TABLE} (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)`,
        )
        const row = await tx.get<{ version: number }>(
          `SELECT COALESCE(MAX(version), 0)::integer AS version FROM ${MIGRATIONS_TABLE}`,
        )
        for (let v = row?.version ?? 0; v < POSTGRES_MIGRATIONS.length; v++) {
          const m = POSTGRES_MIGRATIONS[v]!
          await tx.exec(m.sql)
          await m.data?.(tx)
          await tx.run(`INSERT INTO ${MIGRATIONS_TABLE} (version, applied_at) VALUES (?, ?)`, [
            v + 1,
            Date.now(),
          ])
        }
      }),
    close() {
      closing ??= Promise.all([pool.end(), lockPool.end()]).then(() => undefined)
      return closing
    },
  })
}
