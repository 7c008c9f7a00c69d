/**
 * The embedded default store on better-sqlite3. WAL mode lets several processes share the file;
 * locks are rows with an expiry so a dead holder cannot block others for long, and a holder whose
 * process died on this machine is taken over at once (lock-owner.ts).
 *
 * @module
 */
import Database from 'better-sqlite3'
import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
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
  type Page,
  type Store,
} from '../store.js'
import { badCursor, linkNameTaken } from '../store-errors.js'
import { createLockOwner, lockOwnerIsGone } from './lock-owner.js'
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
import { SQLITE_MIGRATIONS } from './migrations.js'

type Row = Record<string, unknown>

const toConnector = (r: Row): ConnectorRecord => ({
  id: r.id as string,
  linkName: r.link_name as string,
  name: r.name as string,
  stage: r.stage as ConnectorRecord['stage'],
  definition: JSON.parse(r.definition as string) as Record<string, unknown>,
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
  values: JSON.parse(r.public_values as string) as Record<string, unknown>,
  secrets: (r.secrets as string | null) ?? null,
  credentialsVersion: r.credentials_version as number,
  expiresAt: (r.expires_at as number | null) ?? null,
  refreshExpiresAt: (r.refresh_expires_at as number | null) ?? null,
  refreshNotBefore: (r.refresh_not_before as number | null) ?? null,
  refreshFailures: r.refresh_failures as number,
  createdAt: r.created_at as number,
  updatedAt: r.updated_at as number,
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
  refreshed: r.refreshed === 1,
  refreshOutcome: (r.refresh_outcome as string | null) ?? null,
  breakerState: (r.breaker_state as string | null) ?? null,
  error: (r.error as string | null) ?? null,
  detail: r.detail ? (JSON.parse(r.detail as string) as Record<string, unknown>) : null,
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

export interface SqliteStoreOptions {
  /** Database file path, or `:memory:`. */
  filename: string
}

export function createSqliteStore(options: SqliteStoreOptions): Store {
  if (options.filename !== ':memory:') mkdirSync(dirname(options.filename), { recursive: true })
  const db = new Database(options.filename)
  db.pragma('journal_mode = WAL')
  db.pragma('busy_timeout = 5000')
  db.pragma('foreign_keys = ON')
  db.pragma('synchronous = NORMAL')
  // Statements are prepared once: preparing on every call was a measurable share of a call's cost
  // (bench/). The SQL texts are a small fixed set, filters included.
  const prepared = new Map<string, Database.Statement>()
  const prepare = (sql: string): Database.Statement => {
    let stmt = prepared.get(sql)
    if (!stmt) {
      stmt = db.prepare(sql)
      prepared.set(sql, stmt)
    }
    return stmt
  }
  /** Runs a shared row's INSERT; SQLite binds no booleans, so they go in as 1 and 0. */
  const insert = (r: InsertRow): void => {
    prepare(insertSql(r, () => '?')).run(
      ...r.values.map((v) => (typeof v === 'boolean' ? Number(v) : v)),
    )
  }
  const owner = createLockOwner()
  const held = new Map<string, Promise<unknown>>()

  const page = <T>(
    rows: Row[],
    limit: number,
    map: (r: Row) => T,
    cursorOf: (r: Row) => (string | number)[],
  ): Page<T> => {
    const items = rows.slice(0, limit).map(map)
    const last = rows[limit - 1]
    return rows.length > limit && last
      ? { items, nextCursor: encodeCursor(cursorOf(last)) }
      : { items }
  }

  const store: Store = {
    dialect: 'sqlite',
    capabilities: { crossProcess: options.filename !== ':memory:' },

    migrate() {
      const current = db.pragma('user_version', { simple: true }) as number
      const apply = db.transaction(() => {
        for (let v = current; v < SQLITE_MIGRATIONS.length; v++) {
          db.exec(SQLITE_MIGRATIONS[v]!)
          db.pragma(`user_version = ${v + 1}`)
        }
      })
      apply.immediate()
      return Promise.resolve()
    },

    close() {
      db.close()
      return Promise.resolve()
    },

    insertConnector(r) {
      try {
        insert(connectorRow(r))
      } catch (err) {
        if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') {
          return Promise.reject(linkNameTaken(r.linkName))
        }
        throw err
      }
      return Promise.resolve()
    },

    updateConnector(r, expectedVersion) {
      try {
        const res = db
          .prepare(
            `UPDATE connectors SET link_name = ?, name = ?, stage = ?, definition = ?, secrets = ?, updated_at = ?, version = ?
             WHERE id = ? AND version = ?`,
          )
          .run(
            r.linkName,
            r.name,
            r.stage,
            JSON.stringify(r.definition),
            r.secrets,
            r.updatedAt,
            r.version,
            r.id,
            expectedVersion,
          )
        return Promise.resolve(res.changes === 1)
      } catch (err) {
        if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE')
          return Promise.reject(linkNameTaken(r.linkName))
        throw err
      }
    },

    getConnector(idOrLinkName) {
      const row = db
        .prepare('SELECT * FROM connectors WHERE id = ? OR link_name = ?')
        .get(idOrLinkName, idOrLinkName) as Row | undefined
      return Promise.resolve(row ? toConnector(row) : undefined)
    },

    listConnectors({ limit, cursor }) {
      const after = decodeCursor(cursor)
      if (cursor && !after) return Promise.reject(badCursor())
      const rows = (
        after
          ? db
              .prepare(
                'SELECT * FROM connectors WHERE (created_at, id) > (?, ?) ORDER BY created_at, id LIMIT ?',
              )
              .all(after[0], after[1], limit + 1)
          : prepare('SELECT * FROM connectors ORDER BY created_at, id LIMIT ?').all(limit + 1)
      ) as Row[]
      return Promise.resolve(
        page(rows, limit, toConnector, (r) => [r.created_at as number, r.id as string]),
      )
    },

    deleteConnector(id) {
      const del = db.transaction(() => {
        // substr, not LIKE: `_` in ids would be a wildcard.
        const prefix = `action:${id}:`
        prepare('DELETE FROM breakers WHERE substr(key, 1, ?) = ?').run(prefix.length, prefix)
        return prepare('DELETE FROM connectors WHERE id = ?').run(id).changes === 1
      })
      return Promise.resolve(del.immediate())
    },

    countConnections(connectorId) {
      const row = db
        .prepare('SELECT COUNT(*) AS n FROM connections WHERE connector_id = ?')
        .get(connectorId) as { n: number }
      return Promise.resolve(row.n)
    },

    insertConnection(r) {
      insert(connectionRow(r))
      return Promise.resolve()
    },

    getConnection(id) {
      const row = prepare('SELECT * FROM connections WHERE id = ?').get(id) as Row | undefined
      return Promise.resolve(row ? toConnection(row) : undefined)
    },

    listConnections({ limit, cursor, connectorId, endUser, status }) {
      const after = decodeCursor(cursor)
      if (cursor && !after) return Promise.reject(badCursor())
      const conditions: string[] = []
      const args: unknown[] = []
      const arg = (value: unknown) => (args.push(value), '?')
      if (connectorId) conditions.push(`connector_id = ${arg(connectorId)}`)
      if (endUser) conditions.push(`end_user = ${arg(endUser)}`)
      if (status) conditions.push(`status = ${arg(status)}`)
      if (after) conditions.push(`(created_at, id) > (${arg(after[0])}, ${arg(after[1])})`)
      const sql = `SELECT * FROM connections ${where(conditions)} ORDER BY created_at, id LIMIT ${arg(limit + 1)}`
      const rows = prepare(sql).all(...args) as Row[]
      return Promise.resolve(
        page(rows, limit, toConnection, (r) => [r.created_at as number, r.id as string]),
      )
    },

    updateConnection(id, patch) {
      const cols = CONNECTION_UPDATE_COLUMNS
      const sets: string[] = []
      const args: unknown[] = []
      for (const [k, v] of Object.entries(patch)) {
        if (v === undefined || !cols[k]) continue
        sets.push(`${cols[k]} = ?`)
        args.push(v)
      }
      sets.push('updated_at = ?')
      args.push(Date.now())
      const res = db
        .prepare(`UPDATE connections SET ${sets.join(', ')} WHERE id = ?`)
        .run(...args, id)
      return Promise.resolve(res.changes === 1)
    },

    updateCredentials(id, expectedVersion, u) {
      const res = db
        .prepare(
          `UPDATE connections SET secrets = ?, expires_at = ?, refresh_expires_at = ?, status = ?, status_message = ?,
             credentials_version = credentials_version + 1, refresh_not_before = NULL, refresh_failures = 0, updated_at = ?
           WHERE id = ? AND credentials_version = ?`,
        )
        .run(
          u.secrets,
          u.expiresAt,
          u.refreshExpiresAt,
          u.status,
          u.statusMessage,
          Date.now(),
          id,
          expectedVersion,
        )
      return Promise.resolve(res.changes === 1 ? expectedVersion + 1 : undefined)
    },

    deleteConnection(id) {
      const del = db.transaction(() => {
        prepare('DELETE FROM oauth_states WHERE connection_id = ?').run(id)
        prepare('DELETE FROM breakers WHERE key = ?').run(`connection:${id}`)
        return prepare('DELETE FROM connections WHERE id = ?').run(id).changes === 1
      })
      return Promise.resolve(del.immediate())
    },

    listRefreshDue(accessBefore, refreshBefore, now, limit) {
      const rows = db
        .prepare(
          `SELECT * FROM connections WHERE status = 'connected'
             AND (refresh_not_before IS NULL OR refresh_not_before <= ?)
             AND ((expires_at IS NOT NULL AND expires_at <= ?) OR (refresh_expires_at IS NOT NULL AND refresh_expires_at <= ?))
           ORDER BY COALESCE(refresh_expires_at, expires_at) LIMIT ?`,
        )
        .all(now, accessBefore, refreshBefore, limit) as Row[]
      return Promise.resolve(rows.map(toConnection))
    },

    insertOAuthState(r) {
      insert(oauthStateRow(r))
      return Promise.resolve()
    },

    consumeOAuthState(stateHash, now) {
      const row = prepare('DELETE FROM oauth_states WHERE state_hash = ? RETURNING *').get(
        stateHash,
      ) as Row | undefined
      if (!row || (row.expires_at as number) <= now) return Promise.resolve(undefined)
      return Promise.resolve({
        stateHash: row.state_hash as string,
        connectionId: row.connection_id as string,
        flow: row.flow as string,
        returnUrl: (row.return_url as string | null) ?? null,
        sessionId: (row.session_id as string | null) ?? null,
        expiresAt: row.expires_at as number,
      })
    },

    appendLog(e) {
      insert(logRow(e))
      return Promise.resolve()
    },

    listLogs({ limit, cursor, connectorId, connectionId, actionId }) {
      const after = decodeCursor(cursor)
      if (cursor && (!after || typeof after[0] !== 'number')) return Promise.reject(badCursor())
      const conditions: string[] = []
      const args: unknown[] = []
      const arg = (value: unknown) => (args.push(value), '?')
      if (connectorId) conditions.push(`connector_id = ${arg(connectorId)}`)
      if (connectionId) conditions.push(`connection_id = ${arg(connectionId)}`)
      if (actionId) conditions.push(`action_id = ${arg(actionId)}`)
      if (after) conditions.push(`seq < ${arg(after[0])}`)
      const sql = `SELECT * FROM logs ${where(conditions)} ORDER BY seq DESC LIMIT ${arg(limit + 1)}`
      const rows = prepare(sql).all(...args) as Row[]
      return Promise.resolve(page(rows, limit, toLog, (r) => [r.seq as number]))
    },

    getBreaker(key) {
      const row = prepare('SELECT * FROM breakers WHERE key = ?').get(key) as Row | undefined
      return Promise.resolve(row ? toBreaker(row) : undefined)
    },

    updateBreaker(key, transition) {
      const run = db.transaction(() => {
        const row = prepare('SELECT * FROM breakers WHERE key = ?').get(key) as Row | undefined
        const next = transition(row ? toBreaker(row) : emptyBreaker(key))
        prepare(
          `INSERT INTO breakers (key, state, failures, opened_at, retry_at, trial_at) VALUES (?, ?, ?, ?, ?, ?)
           ON CONFLICT (key) DO UPDATE SET state = excluded.state, failures = excluded.failures,
             opened_at = excluded.opened_at, retry_at = excluded.retry_at, trial_at = excluded.trial_at`,
        ).run(key, next.state, next.failures, next.openedAt, next.retryAt, next.trialAt)
        return next
      })
      // IMMEDIATE takes the write lock before reading, so two processes cannot interleave.
      return Promise.resolve(run.immediate())
    },

    async withLock(key, ttlMs, fn) {
      // In-process: chain holders of the same key; across processes: a lock row with an expiry.
      const previous = held.get(key) ?? Promise.resolve()
      let release!: () => void
      const mine = new Promise<void>((r) => (release = r))
      const chained = previous.then(() => mine)
      held.set(key, chained)
      await previous
      try {
        if (!store.capabilities.crossProcess) return await fn()
        const take = prepare(
          `INSERT INTO locks (key, owner, expires_at) VALUES (?, ?, ?)
           ON CONFLICT (key) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
           WHERE locks.expires_at < ?`,
        )
        const holder = prepare('SELECT owner FROM locks WHERE key = ?')
        const takeOver = prepare(
          'UPDATE locks SET owner = ?, expires_at = ? WHERE key = ? AND owner = ?',
        )
        for (let delay = 5; ; delay = Math.min(delay * 2, 50)) {
          const now = Date.now()
          if (take.run(key, owner, now + ttlMs, now).changes === 1) break
          // A holder killed on this machine never deletes its row: take the lock over at once
          // instead of waiting out the expiry (lock-owner.ts). Compare-and-set on the dead
          // owner, so of several waiters exactly one gets it.
          const found = holder.get(key) as { owner: string } | undefined
          if (
            found &&
            lockOwnerIsGone(found.owner) &&
            takeOver.run(owner, now + ttlMs, key, found.owner).changes === 1
          )
            break
          await new Promise((r) => setTimeout(r, delay))
        }
        try {
          return await fn()
        } finally {
          prepare('DELETE FROM locks WHERE key = ? AND owner = ?').run(key, owner)
        }
      } finally {
        release()
        if (held.get(key) === chained) held.delete(key)
      }
    },

    listSealed(query) {
      return pageSealed(query, (t, afterId, limit) =>
        Promise.resolve(
          db
            .prepare(
              `SELECT ${t.id} AS id, ${t.column} AS sealed FROM ${t.table}
               WHERE ${t.column} IS NOT NULL${afterId === undefined ? '' : ` AND ${t.id} > ?`}
               ORDER BY ${t.id} LIMIT ?`,
            )
            .all(...(afterId === undefined ? [] : [afterId]), limit) as {
            id: string
            sealed: string
          }[],
        ),
      )
    },

    replaceSealed(kind, id, expectedSealed, newSealed) {
      const t = SEALED_COLUMNS.find((c) => c.kind === kind)
      if (!t) return Promise.resolve(false)
      const res = db
        .prepare(`UPDATE ${t.table} SET ${t.column} = ? WHERE ${t.id} = ? AND ${t.column} = ?`)
        .run(newSealed, id, expectedSealed)
      return Promise.resolve(res.changes === 1)
    },

    insertAdminKey(r) {
      try {
        prepare(
          'INSERT INTO admin_keys (id, name, key_hash, created_at, revoked_at) VALUES (?, ?, ?, ?, ?)',
        ).run(r.id, r.name, r.keyHash, r.createdAt, r.revokedAt)
        return Promise.resolve()
      } catch (err) {
        return Promise.reject(err as Error)
      }
    },

    findAdminKey(keyHash) {
      const row = prepare('SELECT * FROM admin_keys WHERE key_hash = ?').get(keyHash) as
        Row | undefined
      return Promise.resolve(row ? toAdminKey(row) : undefined)
    },

    listAdminKeys({ limit, cursor }) {
      const after = decodeCursor(cursor)
      if (cursor && (after?.length !== 2 || typeof after[1] !== 'string'))
        return Promise.reject(badCursor())
      const rows = (
        after
          ? db
              .prepare(
                'SELECT * FROM admin_keys WHERE (created_at, id) > (?, ?) ORDER BY created_at, id LIMIT ?',
              )
              .all(after[0], after[1], limit + 1)
          : prepare('SELECT * FROM admin_keys ORDER BY created_at, id LIMIT ?').all(limit + 1)
      ) as Row[]
      return Promise.resolve(
        page(rows, limit, toAdminKey, (r) => [r.created_at as number, r.id as string]),
      )
    },

    revokeAdminKey(id, at) {
      const res = db
        .prepare('UPDATE admin_keys SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?')
        .run(at, id)
      return Promise.resolve(res.changes === 1)
    },

    getMeta(key) {
      const row = prepare('SELECT value FROM meta WHERE key = ?').get(key) as
        { value: string } | undefined
      return Promise.resolve(row?.value)
    },

    setMeta(key, value) {
      prepare(
        'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
      ).run(key, value)
      return Promise.resolve()
    },
  }
  return store
}
