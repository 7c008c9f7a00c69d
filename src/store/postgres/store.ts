/**
 * The shared store on PostgreSQL (`PATCHBAY_DATABASE_URL=postgres://…`, SPEC §1): any number of
 * processes on one database behave as one system. Atomic operations are single statements
 * (`UPDATE … WHERE credentials_version = $n RETURNING`, `DELETE … RETURNING`) or short
 * transactions with row locks (breakers); `withLock` holds a session advisory lock (`lock.ts`).
 *
 * @module
 */
import pg from 'pg'
import type { CustomTypesConfig, PoolClient, QueryResultRow } from 'pg'
import { invalidInput } from '../../errors.js'
import {
  decodeCursor,
  emptyBreaker,
  encodeCursor,
  pageSealed,
  SEALED_COLUMNS,
  type AdminKeyRecord,
  type BreakerRecord,
  type ConnectionRecord,
  type ConnectorRecord,
  type LogRecord,
  type OAuthStateRecord,
  type Page,
  type Store,
} from '../store.js'
import {
  CONNECTION_UPDATE_COLUMNS,
  connectionRow,
  connectorRow,
  insertSql,
  logRow,
  oauthStateRow,
  where,
  type InsertRow,
} from '../rows.js'
import { badCursor, linkNameTaken } from '../store-errors.js'
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

type Row = QueryResultRow

const INT8_OID = 20
const MIGRATIONS_TABLE = 'patchbay_migrations'
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/

/** BIGINT columns hold epoch milliseconds, counts and log sequence numbers: all safe integers. */
const types: CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID && format !== 'binary'
      ? (value: string) => Number(value)
      : pg.types.getTypeParser(oid, format as 'text')) as CustomTypesConfig['getTypeParser'],
}

const toConnector = (r: Row): ConnectorRecord => ({
  id: r.id as string,
  linkName: r.link_name as string,
  name: r.name as string,
  stage: r.stage as ConnectorRecord['stage'],
  definition: r.definition as Record<string, unknown>,
  secrets: (r.secrets as string | null) ?? null,
  createdAt: r.created_at as number,
  updatedAt: r.updated_at as number,
  version: r.version as number,
})

const toConnection = (r: Row): ConnectionRecord => ({
  id: r.id as string,
  connectorId: r.connector_id as string,
  name: r.name as string,
  endUser: (r.end_user as string | null) ?? null,
  status: r.status as ConnectionRecord['status'],
  statusMessage: (r.status_message as string | null) ?? null,
  identity: (r.identity as string | null) ?? null,
  values: r.public_values as Record<string, unknown>,
  secrets: (r.secrets as string | null) ?? null,
  credentialsVersion: r.credentials_version as number,
  expiresAt: (r.expires_at as number | null) ?? null,
  refreshExpiresAt: (r.refresh_expires_at as number | null) ?? null,
  refreshNotBefore: (r.refresh_not_before as number | null) ?? null,
  refreshFailures: r.refresh_failures as number,
  createdAt: r.created_at as number,
  updatedAt: r.updated_at as number,
})

const toOAuthState = (r: Row): OAuthStateRecord => ({
  stateHash: r.state_hash as string,
  connectionId: r.connection_id as string,
  flow: r.flow as string,
  returnUrl: (r.return_url as string | null) ?? null,
  sessionId: (r.session_id as string | null) ?? null,
  expiresAt: r.expires_at as number,
})

const toLog = (r: Row): LogRecord => ({
  id: r.id as string,
  time: r.time as number,
  connectorId: (r.connector_id as string | null) ?? null,
  connectionId: (r.connection_id as string | null) ?? null,
  actionId: (r.action_id as string | null) ?? null,
  kind: r.kind as LogRecord['kind'],
  method: (r.method as string | null) ?? null,
  url: (r.url as string | null) ?? null,
  status: (r.status as number | null) ?? null,
  durationMs: (r.duration_ms as number | null) ?? null,
  refreshed: r.refreshed === true,
  refreshOutcome: (r.refresh_outcome as string | null) ?? null,
  breakerState: (r.breaker_state as string | null) ?? null,
  error: (r.error as string | null) ?? null,
  detail: (r.detail as Record<string, unknown> | null) ?? null,
})

const toBreaker = (r: Row): BreakerRecord => ({
  key: r.key as string,
  state: r.state as BreakerRecord['state'],
  failures: r.failures as number,
  openedAt: (r.opened_at as number | null) ?? null,
  retryAt: (r.retry_at as number | null) ?? null,
  trialAt: (r.trial_at as number | null) ?? null,
})

const toAdminKey = (r: Row): AdminKeyRecord => ({
  id: r.id as string,
  name: r.name as string,
  keyHash: r.key_hash as string,
  createdAt: r.created_at as number,
  revokedAt: (r.revoked_at as number | null) ?? null,
})

/** A cursor from `encodeCursor([createdAt, id])`, or undefined when it is not one. */
function timeIdCursor(cursor: string): [number, string] | undefined {
  const parts = decodeCursor(cursor)
  const [time, id] = parts ?? []
  return parts?.length === 2 && Number.isSafeInteger(time) && typeof id === 'string'
    ? [time as number, id]
    : undefined
}

function isUniqueViolation(err: unknown, constraint: string): boolean {
  return err instanceof pg.DatabaseError && err.code === '23505' && err.constraint === constraint
}

function page<T>(
  rows: Row[],
  limit: number,
  map: (r: Row) => T,
  cursorOf: (r: Row) => (string | number)[],
): Page<T> {
  const items = rows.slice(0, limit).map(map)
  const last = rows[limit - 1]
  return rows.length > limit && last
    ? { items, nextCursor: encodeCursor(cursorOf(last)) }
    : { items }
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
  const locks = createAdvisoryLocks(lockPool, schema ?? '')
  let closing: Promise<void> | undefined

  const query = (sql: string, args: unknown[] = []) => pool.query(sql, args)
  const insert = (r: InsertRow) =>
    query(
      insertSql(r, (i) => `$${i + 1}`),
      r.values,
    )

  /** Runs `fn` in a transaction on one client; rolls back when it throws. */
  const transaction = async <T>(fn: (client: PoolClient) => Promise<T>): Promise<T> => {
    const client = await pool.connect()
    // Checked-out clients have no error listener; a broken connection rejects the query anyway.
    let broken: Error | undefined
    const onError = (err: Error) => {
      broken = err
    }
    client.on('error', onError)
    try {
      await client.query('BEGIN')
      const result = await fn(client)
      await client.query('COMMIT')
      return result
    } catch (err) {
      await client.query('ROLLBACK').catch((e: unknown) => {
        broken ??= e instanceof Error ? e : new Error(String(e))
      })
      throw err
    } finally {
      client.off('error', onError)
      client.release(broken)
    }
  }

  const store: Store = {
    dialect: 'postgres',
    capabilities: { crossProcess: true },

    async migrate() {
      // The transaction-scoped advisory lock serialises processes that start at once: the first
      // applies the migrations, the others then find them applied (and the lock is released at
      // COMMIT or ROLLBACK, even if the process dies).
      await transaction(async (client) => {
        await client.query('SELECT pg_advisory_xact_lock($1::bigint)', [
          advisoryLockId(schema ?? '', 'migrate'),
        ])
        // Checked first: CREATE SCHEMA needs the CREATE privilege on the database even when the
        // schema exists, and an operator may have created it for a less privileged role.
        if (schema !== undefined) {
          const found = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [
            schema,
          ])
          if (found.rowCount === 0) await client.query(`CREATE SCHEMA "${schema}"`)
        }
        await client.query(
          `CREATE TABLE IF NOT EXISTS ${MIGRATIONS_TABLE} (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)`,
        )
        const { rows } = await client.query(
          `SELECT COALESCE(MAX(version), 0)::integer AS version FROM ${MIGRATIONS_TABLE}`,
        )
        for (
          let v = (rows[0] as { version: number }).version;
          v < POSTGRES_MIGRATIONS.length;
          v++
        ) {
          await client.query(POSTGRES_MIGRATIONS[v]!)
          await client.query(
            `INSERT INTO ${MIGRATIONS_TABLE} (version, applied_at) VALUES ($1, $2)`,
            [v + 1, Date.now()],
          )
        }
      })
    },

    close() {
      closing ??= Promise.all([pool.end(), lockPool.end()]).then(() => undefined)
      return closing
    },

    async insertConnector(r) {
      try {
        await insert(connectorRow(r))
      } catch (err) {
        if (isUniqueViolation(err, 'connectors_link_name_key')) throw linkNameTaken(r.linkName)
        throw err
      }
    },

    async updateConnector(r, expectedVersion) {
      try {
        const res = await query(
          `UPDATE connectors SET link_name = $1, name = $2, stage = $3, definition = $4, secrets = $5, updated_at = $6,
             version = $7
           WHERE id = $8 AND version = $9`,
          [
            r.linkName,
            r.name,
            r.stage,
            JSON.stringify(r.definition),
            r.secrets,
            r.updatedAt,
            r.version,
            r.id,
            expectedVersion,
          ],
        )
        return res.rowCount === 1
      } catch (err) {
        if (isUniqueViolation(err, 'connectors_link_name_key')) throw linkNameTaken(r.linkName)
        throw err
      }
    },

    async getConnector(idOrLinkName) {
      // An id match wins over another connector whose link name happens to equal it.
      const { rows } = await query(
        'SELECT * FROM connectors WHERE id = $1 OR link_name = $1 ORDER BY (id = $1) DESC LIMIT 1',
        [idOrLinkName],
      )
      return rows[0] ? toConnector(rows[0]) : undefined
    },

    async listConnectors({ limit, cursor }) {
      const after = cursor === undefined ? undefined : timeIdCursor(cursor)
      if (cursor && !after) throw badCursor()
      const { rows } = after
        ? await query(
            'SELECT * FROM connectors WHERE (created_at, id) > ($1, $2) ORDER BY created_at, id LIMIT $3',
            [after[0], after[1], limit + 1],
          )
        : await query('SELECT * FROM connectors ORDER BY created_at, id LIMIT $1', [limit + 1])
      return page(rows, limit, toConnector, (r) => [r.created_at as number, r.id as string])
    },

    async deleteConnector(id) {
      // One statement, so one atomic change: the connector and its saved actions' breakers.
      const { rows } = await query(
        `WITH breakers_gone AS (DELETE FROM breakers WHERE starts_with(key, $2))
         DELETE FROM connectors WHERE id = $1 RETURNING id`,
        [id, `action:${id}:`],
      )
      return rows.length === 1
    },

    async countConnections(connectorId) {
      const { rows } = await query(
        'SELECT COUNT(*) AS n FROM connections WHERE connector_id = $1',
        [connectorId],
      )
      return (rows[0] as { n: number }).n
    },

    async insertConnection(r) {
      await insert(connectionRow(r))
    },

    async getConnection(id) {
      const { rows } = await query('SELECT * FROM connections WHERE id = $1', [id])
      return rows[0] ? toConnection(rows[0]) : undefined
    },

    async listConnections({ limit, cursor, connectorId, endUser, status }) {
      const after = cursor === undefined ? undefined : timeIdCursor(cursor)
      if (cursor && !after) throw badCursor()
      const conditions: string[] = []
      const args: unknown[] = []
      const arg = (value: unknown) => `$${args.push(value)}`
      if (connectorId) conditions.push(`connector_id = ${arg(connectorId)}`)
      if (endUser) conditions.push(`end_user = ${arg(endUser)}`)
      if (status) conditions.push(`status = ${arg(status)}`)
      if (after) conditions.push(`(created_at, id) > (${arg(after[0])}, ${arg(after[1])})`)
      const { rows } = await query(
        `SELECT * FROM connections ${where(conditions)} ORDER BY created_at, id LIMIT ${arg(limit + 1)}`,
        args,
      )
      return page(rows, limit, toConnection, (r) => [r.created_at as number, r.id as string])
    },

    async updateConnection(id, patch) {
      const cols = CONNECTION_UPDATE_COLUMNS
      const sets: string[] = []
      const args: unknown[] = []
      const arg = (value: unknown) => `$${args.push(value)}`
      for (const [k, v] of Object.entries(patch)) {
        const col = cols[k]
        if (v === undefined || !col) continue
        sets.push(`${col} = ${arg(v)}`)
      }
      sets.push(`updated_at = ${arg(Date.now())}`)
      const res = await query(
        `UPDATE connections SET ${sets.join(', ')} WHERE id = ${arg(id)}`,
        args,
      )
      return res.rowCount === 1
    },

    async updateCredentials(id, expectedVersion, u) {
      // One statement: PostgreSQL re-checks the WHERE clause on the row it locks, so of many
      // concurrent writers at one version exactly one matches (SPEC §4 step 6, §7).
      const { rows } = await query(
        `UPDATE connections SET secrets = $1, expires_at = $2, refresh_expires_at = $3, status = $4, status_message = $5,
           credentials_version = credentials_version + 1, refresh_not_before = NULL, refresh_failures = 0, updated_at = $6
         WHERE id = $7 AND credentials_version = $8
         RETURNING credentials_version`,
        [
          u.secrets,
          u.expiresAt,
          u.refreshExpiresAt,
          u.status,
          u.statusMessage,
          Date.now(),
          id,
          expectedVersion,
        ],
      )
      return rows[0] ? (rows[0].credentials_version as number) : undefined
    },

    async deleteConnection(id) {
      const { rows } = await query(
        `WITH states_gone AS (DELETE FROM oauth_states WHERE connection_id = $1),
              breaker_gone AS (DELETE FROM breakers WHERE key = $2)
         DELETE FROM connections WHERE id = $1 RETURNING id`,
        [id, `connection:${id}`],
      )
      return rows.length === 1
    },

    async listRefreshDue(accessBefore, refreshBefore, now, limit) {
      const { rows } = await query(
        `SELECT * FROM connections WHERE status = 'connected'
           AND (refresh_not_before IS NULL OR refresh_not_before <= $1)
           AND ((expires_at IS NOT NULL AND expires_at <= $2) OR (refresh_expires_at IS NOT NULL AND refresh_expires_at <= $3))
         ORDER BY COALESCE(refresh_expires_at, expires_at) LIMIT $4`,
        [now, accessBefore, refreshBefore, limit],
      )
      return rows.map(toConnection)
    },

    async insertOAuthState(r) {
      await insert(oauthStateRow(r))
    },

    async consumeOAuthState(stateHash, now) {
      // Expired states are deleted too: a state is good for one attempt, in time or not.
      const { rows } = await query('DELETE FROM oauth_states WHERE state_hash = $1 RETURNING *', [
        stateHash,
      ])
      const row = rows[0]
      if (!row || (row.expires_at as number) <= now) return undefined
      return toOAuthState(row)
    },

    async appendLog(e) {
      await insert(logRow(e))
    },

    async listLogs({ limit, cursor, connectorId, connectionId, actionId }) {
      const after = decodeCursor(cursor)
      const seq = after?.[0]
      if (cursor && (after?.length !== 1 || !Number.isSafeInteger(seq))) throw badCursor()
      const conditions: string[] = []
      const args: unknown[] = []
      const arg = (value: unknown) => `$${args.push(value)}`
      if (connectorId) conditions.push(`connector_id = ${arg(connectorId)}`)
      if (connectionId) conditions.push(`connection_id = ${arg(connectionId)}`)
      if (actionId) conditions.push(`action_id = ${arg(actionId)}`)
      if (seq !== undefined) conditions.push(`seq < ${arg(seq)}`)
      const { rows } = await query(
        `SELECT * FROM logs ${where(conditions)} ORDER BY seq DESC LIMIT ${arg(limit + 1)}`,
        args,
      )
      return page(rows, limit, toLog, (r) => [r.seq as number])
    },

    async getBreaker(key) {
      const { rows } = await query('SELECT * FROM breakers WHERE key = $1', [key])
      return rows[0] ? toBreaker(rows[0]) : undefined
    },

    updateBreaker(key, transition) {
      return transaction(async (client) => {
        // Insert-if-missing first so there is always a row to lock: FOR UPDATE then serialises
        // every process's read-modify-write on this key (SPEC §4 step 7).
        const empty = emptyBreaker(key)
        await client.query(
          `INSERT INTO breakers (key, state, failures) VALUES ($1, $2, $3) ON CONFLICT (key) DO NOTHING`,
          [key, empty.state, empty.failures],
        )
        const { rows } = await client.query('SELECT * FROM breakers WHERE key = $1 FOR UPDATE', [
          key,
        ])
        const next = transition(rows[0] ? toBreaker(rows[0]) : empty)
        await client.query(
          `UPDATE breakers SET state = $2, failures = $3, opened_at = $4, retry_at = $5, trial_at = $6 WHERE key = $1`,
          [key, next.state, next.failures, next.openedAt, next.retryAt, next.trialAt],
        )
        return next
      })
    },

    withLock(key, _ttlMs, fn) {
      // ttlMs is not needed: a dead holder's session ends, and PostgreSQL drops its lock then.
      return locks.withLock(key, fn)
    },

    listSealed(pageQuery) {
      return pageSealed(pageQuery, async (t, afterId, limit) => {
        const { rows } =
          afterId === undefined
            ? await query(
                `SELECT ${t.id} AS id, ${t.column} AS sealed FROM ${t.table}
                 WHERE ${t.column} IS NOT NULL ORDER BY ${t.id} LIMIT $1`,
                [limit],
              )
            : await query(
                `SELECT ${t.id} AS id, ${t.column} AS sealed FROM ${t.table}
                 WHERE ${t.column} IS NOT NULL AND ${t.id} > $1 ORDER BY ${t.id} LIMIT $2`,
                [afterId, limit],
              )
        return rows as { id: string; sealed: string }[]
      })
    },

    async replaceSealed(kind, id, expectedSealed, newSealed) {
      const t = SEALED_COLUMNS.find((c) => c.kind === kind)
      if (!t) return false
      // One statement: the WHERE clause is re-checked on the locked row, so a concurrent refresh
      // that rewrote the value makes this match nothing.
      const res = await query(
        `UPDATE ${t.table} SET ${t.column} = $1 WHERE ${t.id} = $2 AND ${t.column} = $3`,
        [newSealed, id, expectedSealed],
      )
      return res.rowCount === 1
    },

    async insertAdminKey(r) {
      await query(
        'INSERT INTO admin_keys (id, name, key_hash, created_at, revoked_at) VALUES ($1, $2, $3, $4, $5)',
        [r.id, r.name, r.keyHash, r.createdAt, r.revokedAt],
      )
    },

    async findAdminKey(keyHash) {
      const { rows } = await query('SELECT * FROM admin_keys WHERE key_hash = $1', [keyHash])
      return rows[0] ? toAdminKey(rows[0]) : undefined
    },

    async listAdminKeys({ limit, cursor }) {
      const after = cursor === undefined ? undefined : timeIdCursor(cursor)
      if (cursor && !after) throw badCursor()
      const { rows } = after
        ? await query(
            'SELECT * FROM admin_keys WHERE (created_at, id) > ($1, $2) ORDER BY created_at, id LIMIT $3',
            [after[0], after[1], limit + 1],
          )
        : await query('SELECT * FROM admin_keys ORDER BY created_at, id LIMIT $1', [limit + 1])
      return page(rows, limit, toAdminKey, (r) => [r.created_at as number, r.id as string])
    },

    async revokeAdminKey(id, at) {
      const res = await query(
        'UPDATE admin_keys SET revoked_at = COALESCE(revoked_at, $1) WHERE id = $2',
        [at, id],
      )
      return res.rowCount === 1
    },

    async getMeta(key) {
      const { rows } = await query('SELECT value FROM meta WHERE key = $1', [key])
      return rows[0] ? (rows[0].value as string) : undefined
    },

    async setMeta(key, value) {
      await query(
        'INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
        [key, value],
      )
    },
  }
  return store
}
