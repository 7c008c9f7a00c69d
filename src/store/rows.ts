/**
 * Which column each record field is stored in, written once for both dialects: a column added to
 * a table changes here, not in two INSERTs that must agree on their order. Values are as both
 * drivers take them (JSON as text); a dialect adapts only what its driver cannot bind.
 *
 * @module
 */
import type { ConnectionRecord, ConnectorRecord, LogRecord, OAuthStateRecord } from './store.js'

export interface InsertRow {
  table: string
  columns: string[]
  values: unknown[]
}

function row(table: string, entries: [column: string, value: unknown][]): InsertRow {
  return { table, columns: entries.map(([c]) => c), values: entries.map(([, v]) => v) }
}

/** `INSERT INTO table (…) VALUES (…)` with the dialect's placeholders (`?`, `$1`…). */
export function insertSql(r: InsertRow, placeholder: (index: number) => string): string {
  return `INSERT INTO ${r.table} (${r.columns.join(', ')}) VALUES (${r.columns.map((_, i) => placeholder(i)).join(', ')})`
}

export function connectorRow(r: ConnectorRecord): InsertRow {
  return row('connectors', [
    ['id', r.id],
    ['link_name', r.linkName],
    ['name', r.name],
    ['stage', r.stage],
    ['definition', JSON.stringify(r.definition)],
    ['secrets', r.secrets],
    ['created_at', r.createdAt],
    ['updated_at', r.updatedAt],
    ['version', r.version],
  ])
}

export function connectionRow(r: ConnectionRecord): InsertRow {
  return row('connections', [
    ['id', r.id],
    ['connector_id', r.connectorId],
    ['name', r.name],
    ['end_user', r.endUser],
    ['status', r.status],
    ['status_message', r.statusMessage],
    ['identity', r.identity],
    ['public_values', JSON.stringify(r.values)],
    ['secrets', r.secrets],
    ['credentials_version', r.credentialsVersion],
    ['expires_at', r.expiresAt],
    ['refresh_expires_at', r.refreshExpiresAt],
    ['refresh_not_before', r.refreshNotBefore],
    ['refresh_failures', r.refreshFailures],
    ['created_at', r.createdAt],
    ['updated_at', r.updatedAt],
  ])
}

export function oauthStateRow(r: OAuthStateRecord): InsertRow {
  return row('oauth_states', [
    ['state_hash', r.stateHash],
    ['connection_id', r.connectionId],
    ['flow', r.flow],
    ['return_url', r.returnUrl],
    ['session_id', r.sessionId],
    ['expires_at', r.expiresAt],
  ])
}

export function logRow(e: LogRecord): InsertRow {
  return row('logs', [
    ['id', e.id],
    ['time', e.time],
    ['connector_id', e.connectorId],
    ['connection_id', e.connectionId],
    ['action_id', e.actionId],
    ['kind', e.kind],
    ['method', e.method],
    ['url', e.url],
    ['status', e.status],
    ['duration_ms', e.durationMs],
    ['refreshed', e.refreshed],
    ['refresh_outcome', e.refreshOutcome],
    ['breaker_state', e.breakerState],
    ['error', e.error],
    ['detail', e.detail ? JSON.stringify(e.detail) : null],
  ])
}

/** `WHERE a AND b`, or nothing when no condition applies. */
export function where(conditions: string[]): string {
  return conditions.length ? `WHERE ${conditions.join(' AND ')}` : ''
}

/** The connection fields `updateConnection` may change, and their columns. */
export const CONNECTION_UPDATE_COLUMNS: Readonly<Record<string, string>> = {
  name: 'name',
  status: 'status',
  statusMessage: 'status_message',
  identity: 'identity',
  refreshNotBefore: 'refresh_not_before',
  refreshFailures: 'refresh_failures',
}
