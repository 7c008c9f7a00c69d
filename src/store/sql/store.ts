/**
 * The `Store`, written once in SQL that SQLite and PostgreSQL both run, over a dialect's driver
 * (`Db`). Where the dialects differ the code asks the `Dialect`'s capabilities, never its name;
 * locks are the one part each dialect implements itself (`Locks`).
 *
 * @module
 */
import type {
  CallState,
  ConnectSessionRecord,
  HeldLock,
  NewWebhookEvent,
  Page,
  SealedValue,
  Store,
} from '../store.js'
import { keepRecent } from '../../lib/recent.js'
import { emptyBreaker, encodeCursor, readCursor, SEALED_COLUMNS } from '../store.js'
import { badCursor, linkNameTaken } from '../store-errors.js'
import { placeholders, type Db, type Dialect, type Row, type Statement } from './db.js'
import {
  adminKeyRow,
  CONNECTION_UPDATE_COLUMNS,
  connectionRow,
  connectorRow,
  connectSessionRow,
  endUserRow,
  insertSql,
  LOG_COLUMNS,
  logRow,
  mcpKeyRow,
  oauthStateRow,
  toAdminKey,
  toBreaker,
  toConnection,
  toConnector,
  toConnectSession,
  toEndUser,
  toLog,
  toMcpKey,
  toOAuthState,
  toUiSession,
  toWebhookEvent,
  uiSessionRow,
  webhookEventRow,
  type InsertRow,
} from './rows.js'

/** How a write proves its lock is still held: where to run it, and a condition to add. */
export interface LockFence {
  /** The database session that holds the lock (PostgreSQL), or the store's own. */
  db: Db
  /** A condition true only while the lock is held (SQLite's lock row), ANDed into the write. */
  condition?: { sql: string; args: unknown[] }
}

export interface Locks {
  withLock<T>(key: string, ttlMs: number, fn: (fence: LockFence) => Promise<T>): Promise<T>
  /** Deletes lapsed lock rows, where locks are rows. */
  purge?(now: number, batch: number): Promise<number>
}

export interface SqlStoreParts {
  db: Db
  dialect: Dialect
  locks: Locks
  migrate(): Promise<void>
  close(): Promise<void>
}

type Cursor = (string | number)[]

function page<T>(
  rows: Row[],
  limit: number,
  map: (r: Row) => T,
  cursorOf: (r: Row) => Cursor,
): Page<T> {
  const items = rows.slice(0, limit).map(map)
  const last = rows[limit - 1]
  return rows.length > limit && last
    ? { items, nextCursor: encodeCursor(cursorOf(last)) }
    : { items }
}

/** Call states a process keeps (`getCallState`); each is a few hundred bytes. */
const MAX_CALL_STATES = 5_000

/** 64 rows × 17 columns: 1,088 bound values per statement. */
const LOG_ROWS_PER_INSERT = 64

/** The INSERT for `count` log rows, built once per count. */
const logInserts = new Map<number, string>()
function logInsertSql(count: number): string {
  let sql = logInserts.get(count)
  if (sql === undefined) {
    sql = insertSql({ table: 'logs', columns: LOG_COLUMNS, values: [] }, count)
    logInserts.set(count, sql)
  }
  return sql
}

const byCreated = (r: Row): Cursor => [r.created_at as number, r.id as string]

/** `WHERE a AND b`, or nothing when no condition applies. */
function where(conditions: string[]): string {
  return conditions.length ? `WHERE ${conditions.join(' AND ')}` : ''
}

/** Collects `?` arguments next to the conditions that use them. */
function filters() {
  const conditions: string[] = []
  const args: unknown[] = []
  return {
    conditions,
    args,
    add(sql: string, ...values: unknown[]) {
      conditions.push(sql)
      args.push(...values)
    },
  }
}

const UPDATE_CREDENTIALS_SQL = `UPDATE connections SET secrets = ?, expires_at = ?, refresh_expires_at = ?, status = ?,
  status_message = ?, credentials_version = credentials_version + 1, refresh_not_before = NULL,
  refresh_failures = 0, updated_at = ?
WHERE id = ? AND credentials_version = ?`

/** The outbox events due for a claim: the oldest pending event of each connection, in order. */
const CLAIMABLE_WEBHOOK_EVENTS_SQL = `SELECT * FROM webhook_events e
WHERE e.status = 'pending' AND e.next_attempt_at <= ? AND (e.lease_until IS NULL OR e.lease_until <= ?)
  AND NOT EXISTS (SELECT 1 FROM webhook_events p
    WHERE p.status = 'pending' AND p.connection_id = e.connection_id AND p.seq < e.seq)
ORDER BY e.seq LIMIT ?`

export function createSqlStore(parts: SqlStoreParts): Store {
  const { db, dialect, locks } = parts
  const insert = (q: Db, r: InsertRow) => q.run(insertSql(r), r.values)

  /**
   * Runs a change and writes its webhook events with it, in one transaction, when the change
   * reports it was made; without events, the change alone (no transaction it does not need).
   */
  async function withEvents<T>(
    q: Db,
    events: readonly NewWebhookEvent[] | undefined,
    change: (tx: Db) => Promise<T>,
    made: (result: T) => boolean,
  ): Promise<T> {
    if (!events?.length) return change(q)
    return q.transaction(async (tx) => {
      const result = await change(tx)
      if (made(result)) for (const e of events) await insert(tx, webhookEventRow(e))
      return result
    })
  }

  /** Rewrites the index of a connector's saved actions, in the connector's own transaction. */
  async function indexActions(tx: Db, connectorId: string, actionIds: string[]): Promise<void> {
    await tx.run('DELETE FROM connector_actions WHERE connector_id = ?', [connectorId])
    for (const actionId of actionIds)
      await tx.run('INSERT INTO connector_actions (action_id, connector_id) VALUES (?, ?)', [
        actionId,
        connectorId,
      ])
  }

  const actionIds = (r: { definition: { actions?: { id: string }[] } }) =>
    (r.definition.actions ?? []).map((a) => a.id)

  function linkNameConflict(err: unknown, linkName: string): unknown {
    return dialect.uniqueViolation(err) === 'connectors.link_name' ? linkNameTaken(linkName) : err
  }

  function heldLock(fence: { db: Db; condition?: { sql: string; args: unknown[] } }): HeldLock {
    return {
      async updateCredentials(id, expectedVersion, u, events) {
        const sql = fence.condition
          ? `${UPDATE_CREDENTIALS_SQL} AND ${fence.condition.sql}`
          : UPDATE_CREDENTIALS_SQL
        const args = [
          u.secrets,
          u.expiresAt,
          u.refreshExpiresAt,
          u.status,
          u.statusMessage,
          Date.now(),
          id,
          expectedVersion,
          ...(fence.condition?.args ?? []),
        ]
        const changed = await withEvents(
          fence.db,
          events,
          (tx) => tx.run(sql, args),
          (n) => n === 1,
        )
        return changed === 1 ? expectedVersion + 1 : undefined
      },
    }
  }

  /** Call states read while the database stood at `mark` (`getCallState`). */
  const callStates = new Map<string, { mark: string; state: CallState }>()
  async function readCallState(
    connectionId: string,
    breakerKey: string,
  ): Promise<CallState | undefined> {
    const row = await db.get(
      `SELECT c.connector_id, c.status, c.status_message, c.credentials_version,
         k.version AS connector_version, b.key, b.state, b.failures, b.opened_at, b.retry_at,
         b.trial_at
       FROM connections c JOIN connectors k ON k.id = c.connector_id
         LEFT JOIN breakers b ON b.key = ?
       WHERE c.id = ?`,
      [breakerKey, connectionId],
    )
    if (!row) return undefined
    return {
      connectorId: row.connector_id as string,
      connectorVersion: row.connector_version as number,
      status: row.status as CallState['status'],
      statusMessage: (row.status_message as string | null) ?? null,
      credentialsVersion: row.credentials_version as number,
      breaker: row.key === null || row.key === undefined ? undefined : toBreaker(row),
    }
  }

  const store: Store = {
    dialect: dialect.name,
    capabilities: { crossProcess: dialect.crossProcess },
    migrate: parts.migrate,
    close: parts.close,

    async insertConnector(r) {
      try {
        await db.transaction(async (tx) => {
          await insert(tx, connectorRow(r))
          await indexActions(tx, r.id, actionIds(r))
        })
      } catch (err) {
        throw linkNameConflict(err, r.linkName)
      }
    },

    async updateConnector(r, expectedVersion) {
      try {
        return await db.transaction(async (tx) => {
          const changed = await tx.run(
            `UPDATE connectors SET link_name = ?, name = ?, stage = ?, definition = ?, secrets = ?,
               updated_at = ?, version = ?
             WHERE id = ? AND version = ?`,
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
          if (changed === 1) await indexActions(tx, r.id, actionIds(r))
          return changed === 1
        })
      } catch (err) {
        throw linkNameConflict(err, r.linkName)
      }
    },

    async getConnector(idOrLinkName) {
      // An id match wins over another connector whose link name happens to equal it.
      const row = await db.get(
        `SELECT * FROM connectors WHERE id = ? OR link_name = ?
         ORDER BY CASE WHEN id = ? THEN 0 ELSE 1 END LIMIT 1`,
        [idOrLinkName, idOrLinkName, idOrLinkName],
      )
      return row ? toConnector(row) : undefined
    },

    async listConnectors({ limit, cursor, stage }) {
      const after = readCursor(cursor, 'ns')
      const f = filters()
      if (stage) f.add('stage = ?', stage)
      if (after) f.add('(created_at, id) > (?, ?)', after[0], after[1])
      const rows = await db.all(
        `SELECT * FROM connectors ${where(f.conditions)} ORDER BY created_at, id LIMIT ?`,
        [...f.args, limit + 1],
      )
      return page(rows, limit, toConnector, byCreated)
    },

    deleteConnector(id) {
      return db.transaction(async (tx) => {
        // substr, not LIKE: `_` in ids would be a wildcard.
        const prefix = `action:${id}:`
        await tx.run('DELETE FROM breakers WHERE substr(key, 1, ?) = ?', [prefix.length, prefix])
        await tx.run('DELETE FROM connector_actions WHERE connector_id = ?', [id])
        return (await tx.run('DELETE FROM connectors WHERE id = ?', [id])) === 1
      })
    },

    async countConnections(connectorId) {
      const row = await db.get<{ n: number | string }>(
        'SELECT COUNT(*) AS n FROM connections WHERE connector_id = ?',
        [connectorId],
      )
      return Number(row?.n ?? 0)
    },

    async findActionConnector(actionId) {
      const row = await db.get<{ connector_id: string }>(
        'SELECT connector_id FROM connector_actions WHERE action_id = ?',
        [actionId],
      )
      return row?.connector_id
    },

    async insertConnection(r, events) {
      await withEvents(
        db,
        events,
        (tx) => insert(tx, connectionRow(r)),
        () => true,
      )
    },

    async getConnection(id) {
      const row = await db.get('SELECT * FROM connections WHERE id = ?', [id])
      return row ? toConnection(row) : undefined
    },

    async getCallState(connectionId, breakerKey) {
      // Every call starts here; when nothing was written since the last read, the answer is the
      // same, and the driver can say so for less than the read costs.
      const mark = db.writeMark?.()
      const key = `${connectionId}\n${breakerKey}`
      if (mark !== undefined) {
        const hit = callStates.get(key)
        if (hit?.mark === mark) return hit.state
      }
      const state = await readCallState(connectionId, breakerKey)
      if (mark !== undefined && state) keepRecent(callStates, key, { mark, state }, MAX_CALL_STATES)
      return state
    },

    async listConnections({ limit, cursor, connectorId, endUser, status }) {
      const after = readCursor(cursor, 'ns')
      const f = filters()
      if (connectorId) f.add('connector_id = ?', connectorId)
      if (endUser) f.add('end_user = ?', endUser)
      if (status) f.add('status = ?', status)
      if (after) f.add('(created_at, id) > (?, ?)', after[0], after[1])
      const rows = await db.all(
        `SELECT * FROM connections ${where(f.conditions)} ORDER BY created_at, id LIMIT ?`,
        [...f.args, limit + 1],
      )
      return page(rows, limit, toConnection, byCreated)
    },

    async updateConnection(id, patch, events) {
      const sets: string[] = []
      const args: unknown[] = []
      for (const [k, v] of Object.entries(patch)) {
        const column = CONNECTION_UPDATE_COLUMNS[k]
        if (v === undefined || !column) continue
        sets.push(`${column} = ?`)
        args.push(v)
      }
      sets.push('updated_at = ?')
      args.push(Date.now(), id)
      const sql = `UPDATE connections SET ${sets.join(', ')} WHERE id = ?`
      return withEvents(
        db,
        events,
        async (tx) => (await tx.run(sql, args)) === 1,
        (changed) => changed,
      )
    },

    updateCredentials(id, expectedVersion, update, events) {
      // One statement: the WHERE clause is checked on the row the write locks, so of many
      // concurrent writers at one version exactly one matches.
      return heldLock({ db }).updateCredentials(id, expectedVersion, update, events)
    },

    deleteConnection(id, events) {
      return db.transaction(async (tx) => {
        await tx.run('DELETE FROM oauth_states WHERE connection_id = ?', [id])
        await tx.run('DELETE FROM breakers WHERE key = ?', [`connection:${id}`])
        const deleted = (await tx.run('DELETE FROM connections WHERE id = ?', [id])) === 1
        if (deleted) for (const e of events ?? []) await insert(tx, webhookEventRow(e))
        return deleted
      })
    },

    async listRefreshDue(accessBefore, refreshBefore, now, limit) {
      const rows = await db.all(
        `SELECT * FROM connections WHERE status = 'connected'
           AND (refresh_not_before IS NULL OR refresh_not_before <= ?)
           AND ((expires_at IS NOT NULL AND expires_at <= ?)
             OR (refresh_expires_at IS NOT NULL AND refresh_expires_at <= ?))
         ORDER BY COALESCE(refresh_expires_at, expires_at) LIMIT ?`,
        [now, accessBefore, refreshBefore, limit],
      )
      return rows.map(toConnection)
    },

    async insertOAuthState(r) {
      await insert(db, oauthStateRow(r))
    },

    async consumeOAuthState(stateHash, now) {
      // Expired states are deleted too: a state is good for one attempt, in time or not.
      const row = await db.get('DELETE FROM oauth_states WHERE state_hash = ? RETURNING *', [
        stateHash,
      ])
      if (!row || (row.expires_at as number) <= now) return undefined
      return toOAuthState(row)
    },

    async appendLogs(entries) {
      if (entries.length === 0) return
      // Whole chunks of rows per statement: a statement each was most of a batch's cost. The
      // chunk stays far under both dialects' limits on bound values.
      const statements: Statement[] = []
      for (let i = 0; i < entries.length; i += LOG_ROWS_PER_INSERT) {
        const chunk = entries.slice(i, i + LOG_ROWS_PER_INSERT)
        statements.push({ sql: logInsertSql(chunk.length), args: chunk.flatMap(logRow) })
      }
      if (db.runAside) return db.runAside(statements)
      const write = async (q: Db) => {
        for (const { sql, args } of statements) await q.run(sql, args)
      }
      await (statements.length === 1 ? write(db) : db.transaction(write))
    },

    async listLogs({ limit, cursor, connectorId, connectionId, actionId, mcpKeyId, tool }) {
      const after = readCursor(cursor, 'n')
      const f = filters()
      if (connectorId) f.add('connector_id = ?', connectorId)
      if (connectionId) f.add('connection_id = ?', connectionId)
      if (actionId) f.add('action_id = ?', actionId)
      if (mcpKeyId) f.add('mcp_key_id = ?', mcpKeyId)
      if (tool) f.add('tool = ?', tool)
      if (after) f.add('seq < ?', after[0])
      const rows = await db.all(
        `SELECT * FROM logs ${where(f.conditions)} ORDER BY seq DESC LIMIT ?`,
        [...f.args, limit + 1],
      )
      return page(rows, limit, toLog, (r) => [Number(r.seq)])
    },

    async getBreaker(key) {
      const row = await db.get('SELECT * FROM breakers WHERE key = ?', [key])
      return row ? toBreaker(row) : undefined
    },

    async getBreakers(keys) {
      if (keys.length === 0) return []
      const rows = await db.all(
        `SELECT * FROM breakers WHERE key IN ${placeholders(keys.length)}`,
        keys,
      )
      return rows.map(toBreaker)
    },

    updateBreaker(key, transition) {
      return db.transaction(async (tx) => {
        // Insert-if-missing first so there is always a row to hold: every process's
        // read-modify-write of this key then runs one at a time.
        const empty = emptyBreaker(key)
        await tx.run(
          'INSERT INTO breakers (key, state, failures) VALUES (?, ?, ?) ON CONFLICT (key) DO NOTHING',
          [key, empty.state, empty.failures],
        )
        const row = await tx.get(`SELECT * FROM breakers WHERE key = ?${dialect.forUpdate}`, [key])
        const next = transition(row ? toBreaker(row) : empty)
        await tx.run(
          `UPDATE breakers SET state = ?, failures = ?, opened_at = ?, retry_at = ?, trial_at = ?
           WHERE key = ?`,
          [next.state, next.failures, next.openedAt, next.retryAt, next.trialAt, key],
        )
        return next
      })
    },

    async takeRateLimitSlot(key, windowStart, limit, expiresAt) {
      // One statement: the row is locked while its count is compared and bumped, so of many
      // concurrent takers exactly `limit` succeed; a full window updates nothing.
      const changed = await db.run(
        `INSERT INTO rate_windows (key, window_start, count, expires_at) VALUES (?, ?, 1, ?)
         ON CONFLICT (key, window_start) DO UPDATE SET count = rate_windows.count + 1
         WHERE rate_windows.count < ?`,
        [key, windowStart, expiresAt, limit],
      )
      return changed === 1
    },

    withLock(key, ttlMs, fn) {
      return locks.withLock(key, ttlMs, (fence) => fn(heldLock(fence)))
    },

    async listSealed(query) {
      let start = 0
      let afterId: string | undefined
      if (query.cursor) {
        const [kind, id] = readCursor(query.cursor, 'ss')!
        start = SEALED_COLUMNS.findIndex((c) => c.kind === kind)
        if (start < 0) throw badCursor()
        afterId = id as string
      }
      const items: SealedValue[] = []
      for (let i = start; i < SEALED_COLUMNS.length && items.length <= query.limit; i++) {
        const t = SEALED_COLUMNS[i]!
        const after = i === start ? afterId : undefined
        const rows = await db.all<{ id: string; sealed: string }>(
          `SELECT ${t.id} AS id, ${t.column} AS sealed FROM ${t.table}
           WHERE ${t.column} IS NOT NULL${after === undefined ? '' : ` AND ${t.id} > ?`}
           ORDER BY ${t.id} LIMIT ?`,
          [...(after === undefined ? [] : [after]), query.limit + 1 - items.length],
        )
        for (const r of rows) items.push({ kind: t.kind, id: r.id, sealed: r.sealed })
      }
      if (items.length <= query.limit) return { items }
      const shown = items.slice(0, query.limit)
      const last = shown[shown.length - 1]!
      return { items: shown, nextCursor: encodeCursor([last.kind, last.id]) }
    },

    async replaceSealed(kind, id, expectedSealed, newSealed) {
      const t = SEALED_COLUMNS.find((c) => c.kind === kind)
      if (!t) return false
      // One statement: a concurrent refresh that rewrote the value makes this match nothing.
      const changed = await db.run(
        `UPDATE ${t.table} SET ${t.column} = ? WHERE ${t.id} = ? AND ${t.column} = ?`,
        [newSealed, id, expectedSealed],
      )
      return changed === 1
    },

    async insertAdminKey(r) {
      await insert(db, adminKeyRow(r))
    },

    async findAdminKey(keyHash) {
      const row = await db.get('SELECT * FROM admin_keys WHERE key_hash = ?', [keyHash])
      return row ? toAdminKey(row) : undefined
    },

    async listAdminKeys({ limit, cursor }) {
      const after = readCursor(cursor, 'ns')
      const rows = after
        ? await db.all(
            'SELECT * FROM admin_keys WHERE (created_at, id) > (?, ?) ORDER BY created_at, id LIMIT ?',
            [after[0], after[1], limit + 1],
          )
        : await db.all('SELECT * FROM admin_keys ORDER BY created_at, id LIMIT ?', [limit + 1])
      return page(rows, limit, toAdminKey, byCreated)
    },

    async revokeAdminKey(id, at) {
      const changed = await db.run(
        'UPDATE admin_keys SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?',
        [at, id],
      )
      return changed === 1
    },

    async insertMcpKey(r) {
      await insert(db, mcpKeyRow(r))
    },

    async findMcpKey(keyHash) {
      const row = await db.get('SELECT * FROM mcp_keys WHERE key_hash = ?', [keyHash])
      return row ? toMcpKey(row) : undefined
    },

    async getMcpKey(id) {
      const row = await db.get('SELECT * FROM mcp_keys WHERE id = ?', [id])
      return row ? toMcpKey(row) : undefined
    },

    async listMcpKeys({ limit, cursor }) {
      const after = readCursor(cursor, 'ns')
      const f = filters()
      if (after) f.add('(created_at, id) > (?, ?)', after[0], after[1])
      const rows = await db.all(
        `SELECT * FROM mcp_keys ${where(f.conditions)} ORDER BY created_at, id LIMIT ?`,
        [...f.args, limit + 1],
      )
      return page(rows, limit, toMcpKey, byCreated)
    },

    async revokeMcpKey(id, at) {
      const changed = await db.run(
        'UPDATE mcp_keys SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?',
        [at, id],
      )
      return changed === 1
    },

    async insertConnectSession(r) {
      await insert(db, connectSessionRow(r))
    },

    async getConnectSession(tokenHash) {
      const row = await db.get('SELECT * FROM connect_sessions WHERE token_hash = ?', [tokenHash])
      return row ? toConnectSession(row) : undefined
    },

    async getConnectSessionById(id) {
      const row = await db.get('SELECT * FROM connect_sessions WHERE id = ?', [id])
      return row ? toConnectSession(row) : undefined
    },

    async listConnectSessions({ limit, cursor, liveAt, endUser }) {
      const after = readCursor(cursor, 'ns')
      const f = filters()
      f.add('ended_at IS NULL AND expires_at > ?', liveAt)
      if (endUser) f.add('end_user = ?', endUser)
      if (after) f.add('(created_at, id) < (?, ?)', after[0], after[1])
      const rows = await db.all(
        `SELECT * FROM connect_sessions ${where(f.conditions)}
         ORDER BY created_at DESC, id DESC LIMIT ?`,
        [...f.args, limit + 1],
      )
      return page(rows, limit, toConnectSession, byCreated)
    },

    async endConnectSession(id, at, reason) {
      const changed = await db.run(
        'UPDATE connect_sessions SET ended_at = ?, end_reason = ? WHERE id = ? AND ended_at IS NULL',
        [at, reason, id],
      )
      return changed === 1
    },

    addConnectSessionConnection(id, connectionId) {
      return db.transaction(async (tx): Promise<ConnectSessionRecord | undefined> => {
        const row = await tx.get(
          `SELECT * FROM connect_sessions WHERE id = ?${dialect.forUpdate}`,
          [id],
        )
        if (!row) return undefined
        const session = toConnectSession(row)
        if (session.connectionIds.includes(connectionId)) return session
        const connectionIds = [...session.connectionIds, connectionId]
        await tx.run('UPDATE connect_sessions SET connection_ids = ? WHERE id = ?', [
          JSON.stringify(connectionIds),
          id,
        ])
        return { ...session, connectionIds }
      })
    },

    async upsertEndUser(r) {
      const row = endUserRow(r)
      await db.run(
        `${insertSql(row)} ON CONFLICT (id) DO UPDATE SET email = excluded.email,
           display_name = excluded.display_name, updated_at = excluded.updated_at`,
        row.values,
      )
    },

    async getEndUser(id) {
      const row = await db.get('SELECT * FROM end_users WHERE id = ?', [id])
      return row ? toEndUser(row) : undefined
    },

    async deleteEndUser(id) {
      return (await db.run('DELETE FROM end_users WHERE id = ?', [id])) === 1
    },

    async listEndUserIds({ limit, cursor }) {
      const after = readCursor(cursor, 's')
      const rows = await db.all<{ end_user: string }>(
        `SELECT DISTINCT end_user FROM connections
         WHERE end_user IS NOT NULL${after ? ' AND end_user > ?' : ''}
         ORDER BY end_user LIMIT ?`,
        [...(after ? [after[0]] : []), limit + 1],
      )
      return page(
        rows,
        limit,
        (r) => r.end_user as string,
        (r) => [r.end_user as string],
      )
    },

    async insertUiSession(r) {
      await insert(db, uiSessionRow(r))
    },

    async getUiSession(idHash) {
      const row = await db.get('SELECT * FROM ui_sessions WHERE id_hash = ?', [idHash])
      return row ? toUiSession(row) : undefined
    },

    async deleteUiSession(idHash) {
      return (await db.run('DELETE FROM ui_sessions WHERE id_hash = ?', [idHash])) === 1
    },

    claimWebhookEvents({ owner, now, leaseMs, limit }) {
      return db.transaction(async (tx) => {
        const rows = await tx.all(`${CLAIMABLE_WEBHOOK_EVENTS_SQL}${dialect.forUpdateSkipLocked}`, [
          now,
          now,
          limit,
        ])
        if (rows.length === 0) return []
        const leaseUntil = now + leaseMs
        const seqs = rows.map((r) => Number(r.seq))
        await tx.run(
          `UPDATE webhook_events SET lease_owner = ?, lease_until = ? WHERE seq IN ${placeholders(seqs.length)}`,
          [owner, leaseUntil, ...seqs],
        )
        return rows.map((r) => ({ ...toWebhookEvent(r), leaseOwner: owner, leaseUntil }))
      })
    },

    async settleWebhookEvent(id, owner, o) {
      const changed = await db.run(
        `UPDATE webhook_events SET status = ?, attempts = attempts + 1, next_attempt_at = ?,
           last_attempt_at = ?, last_status = ?, last_error = ?, finished_at = ?,
           lease_owner = NULL, lease_until = NULL
         WHERE id = ? AND status = 'pending' AND (lease_owner = ? OR ? = 'delivered')`,
        [
          o.status,
          o.nextAttemptAt,
          o.at,
          o.lastStatus,
          o.lastError,
          o.status === 'pending' ? null : o.at,
          id,
          owner,
          o.status,
        ],
      )
      return changed === 1
    },

    async getWebhookEvent(id) {
      const row = await db.get('SELECT * FROM webhook_events WHERE id = ?', [id])
      return row ? toWebhookEvent(row) : undefined
    },

    async listWebhookEvents({ limit, cursor, status, connectionId }) {
      const after = readCursor(cursor, 'n')
      const f = filters()
      if (status) f.add('status = ?', status)
      if (connectionId) f.add('connection_id = ?', connectionId)
      if (after) f.add('seq < ?', after[0])
      const rows = await db.all(
        `SELECT * FROM webhook_events ${where(f.conditions)} ORDER BY seq DESC LIMIT ?`,
        [...f.args, limit + 1],
      )
      return page(rows, limit, toWebhookEvent, (r) => [Number(r.seq)])
    },

    async retryWebhookEvent(id, now) {
      const changed = await db.run(
        `UPDATE webhook_events SET status = 'pending', attempts = 0, next_attempt_at = ?,
           finished_at = NULL, lease_owner = NULL, lease_until = NULL
         WHERE id = ? AND status = 'dead'`,
        [now, id],
      )
      return changed === 1
    },

    async purge({ now, logsBefore, deliveredEventsBefore, sessionGraceMs, batch }) {
      const oldest = now - sessionGraceMs
      // Each DELETE picks at most `batch` rows by key: a short statement, never a long lock.
      const counts = {
        logs:
          logsBefore === undefined
            ? 0
            : await db.run(
                `DELETE FROM logs WHERE seq IN
                   (SELECT seq FROM logs WHERE time < ? ORDER BY seq LIMIT ?)`,
                [logsBefore, batch],
              ),
        uiSessions: await db.run(
          `DELETE FROM ui_sessions WHERE id_hash IN
             (SELECT id_hash FROM ui_sessions WHERE expires_at <= ? LIMIT ?)`,
          [now, batch],
        ),
        connectSessions: await db.run(
          `DELETE FROM connect_sessions WHERE id IN
             (SELECT id FROM connect_sessions WHERE expires_at <= ? OR ended_at <= ? LIMIT ?)`,
          [oldest, oldest, batch],
        ),
        oauthStates: await db.run(
          `DELETE FROM oauth_states WHERE state_hash IN
             (SELECT state_hash FROM oauth_states WHERE expires_at <= ? LIMIT ?)`,
          [now, batch],
        ),
        locks: (await locks.purge?.(now, batch)) ?? 0,
        rateWindows: await db.run(
          `DELETE FROM rate_windows WHERE (key, window_start) IN
             (SELECT key, window_start FROM rate_windows WHERE expires_at <= ? LIMIT ?)`,
          [now, batch],
        ),
        webhookEvents:
          deliveredEventsBefore === undefined
            ? 0
            : await db.run(
                `DELETE FROM webhook_events WHERE seq IN
                   (SELECT seq FROM webhook_events WHERE status = 'delivered' AND finished_at < ?
                    ORDER BY seq LIMIT ?)`,
                [deliveredEventsBefore, batch],
              ),
      }
      return counts
    },

    async getMeta(key) {
      const row = await db.get<{ value: string }>('SELECT value FROM meta WHERE key = ?', [key])
      return row?.value
    },

    async setMeta(key, value) {
      await db.run(
        'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
        [key, value],
      )
    },

    async setMetaIfAbsent(key, value) {
      const changed = await db.run(
        'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING',
        [key, value],
      )
      return changed === 1
    },
  }
  return store
}
