/**
 * Which column each record field is stored in, and the typed row mappers, written once for every
 * dialect. Drivers hand back JSON columns as text and flags as 0/1 or booleans; the mappers read
 * either.
 *
 * @module
 */
import type { ConnectorDefinition } from '../../connector/model.js'
import type {
  AdminKeyRecord,
  BreakerRecord,
  ConnectionRecord,
  ConnectorRecord,
  ConnectSessionRecord,
  EndUserRecord,
  LogRecord,
  McpKeyRecord,
  NewWebhookEvent,
  OAuthStateRecord,
  UiSessionRecord,
  WebhookEventRecord,
} from '../store.js'
import type { Row } from './db.js'

export interface InsertRow {
  table: string
  columns: readonly string[]
  values: unknown[]
}

function row(table: string, entries: [column: string, value: unknown][]): InsertRow {
  return { table, columns: entries.map(([c]) => c), values: entries.map(([, v]) => v) }
}

/** `INSERT INTO table (…) VALUES (?, …)`, with `count` rows of values. */
export function insertSql(r: InsertRow, count = 1): string {
  const values = `(${r.columns.map(() => '?').join(', ')})`
  return `INSERT INTO ${r.table} (${r.columns.join(', ')}) VALUES ${Array(count).fill(values).join(', ')}`
}

const json = (value: unknown): string | null => (value === null ? null : JSON.stringify(value))
const parse = <T>(value: unknown): T => JSON.parse(value as string) as T
const text = (value: unknown): string | null => (value as string | null | undefined) ?? null
const int = (value: unknown): number | null => (value as number | null | undefined) ?? null
const flag = (value: unknown): boolean => value === true || value === 1

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

export const toConnector = (r: Row): ConnectorRecord => ({
  id: r.id as string,
  linkName: r.link_name as string,
  name: r.name as string,
  stage: r.stage as ConnectorRecord['stage'],
  definition: parse<ConnectorDefinition>(r.definition),
  secrets: text(r.secrets),
  createdAt: r.created_at as number,
  updatedAt: r.updated_at as number,
  version: r.version as number,
})

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

export const toConnection = (r: Row): ConnectionRecord => ({
  id: r.id as string,
  connectorId: r.connector_id as string,
  name: r.name as string,
  endUser: text(r.end_user),
  status: r.status as ConnectionRecord['status'],
  statusMessage: text(r.status_message),
  identity: text(r.identity),
  values: parse<Record<string, unknown>>(r.public_values),
  secrets: text(r.secrets),
  credentialsVersion: r.credentials_version as number,
  expiresAt: int(r.expires_at),
  refreshExpiresAt: int(r.refresh_expires_at),
  refreshNotBefore: int(r.refresh_not_before),
  refreshFailures: r.refresh_failures as number,
  createdAt: r.created_at as number,
  updatedAt: r.updated_at as number,
})

/** The connection fields `updateConnection` may change, and their columns. */
export const CONNECTION_UPDATE_COLUMNS: Readonly<Record<string, string>> = {
  name: 'name',
  status: 'status',
  statusMessage: 'status_message',
  identity: 'identity',
  refreshNotBefore: 'refresh_not_before',
  refreshFailures: 'refresh_failures',
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

export const toOAuthState = (r: Row): OAuthStateRecord => ({
  stateHash: r.state_hash as string,
  connectionId: r.connection_id as string,
  flow: r.flow as string,
  returnUrl: text(r.return_url),
  sessionId: text(r.session_id),
  expiresAt: r.expires_at as number,
})

/** A NUL or a UTF-16 surrogate, raw or as JSON writes them (escaped). */
// eslint-disable-next-line no-control-regex -- a raw NUL is one of the things looked for
const SUSPECT = /\\u0000|\\ud[89a-f]|[\u0000\ud800-\udfff]/i

/** Text from upstreams may hold NULs or lone surrogates, which PostgreSQL cannot store. */
function storable<T>(value: T): T {
  if (typeof value === 'string') return value.toWellFormed().replaceAll('\u0000', '\uFFFD') as T
  if (Array.isArray(value)) return value.map(storable) as T
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [storable(k), storable(v)]),
    ) as T
  }
  return value
}

/** A log row's columns, in the order `logRow` gives its values. */
export const LOG_COLUMNS: readonly string[] = [
  'id',
  'time',
  'connector_id',
  'connection_id',
  'action_id',
  'kind',
  'method',
  'url',
  'status',
  'duration_ms',
  'refreshed',
  'refresh_outcome',
  'breaker_state',
  'error',
  'detail',
  'mcp_key_id',
  'tool',
]

function suspect(record: LogRecord, detail: string | null): boolean {
  if (detail !== null && SUSPECT.test(detail)) return true
  for (const key in record) {
    const value = record[key as keyof LogRecord]
    if (typeof value === 'string' && SUSPECT.test(value)) return true
  }
  return false
}

/**
 * A log entry's values, in `LOG_COLUMNS` order. Written for every call, so it builds nothing but
 * the values: the columns are shared.
 */
export function logRow(record: LogRecord): unknown[] {
  // Most entries hold neither: checked on every text column, the detail on the JSON the row is
  // written with anyway.
  let detail = record.detail ? JSON.stringify(record.detail) : null
  const e = suspect(record, detail) ? storable(record) : record
  if (e !== record) detail = e.detail ? JSON.stringify(e.detail) : null
  return [
    e.id,
    e.time,
    e.connectorId,
    e.connectionId,
    e.actionId,
    e.kind,
    e.method,
    e.url,
    e.status,
    e.durationMs,
    e.refreshed,
    e.refreshOutcome,
    e.breakerState,
    e.error,
    detail,
    e.mcpKeyId,
    e.tool,
  ]
}

export const toLog = (r: Row): LogRecord => ({
  id: r.id as string,
  time: r.time as number,
  connectorId: text(r.connector_id),
  connectionId: text(r.connection_id),
  actionId: text(r.action_id),
  kind: r.kind as LogRecord['kind'],
  method: text(r.method),
  url: text(r.url),
  status: int(r.status),
  durationMs: int(r.duration_ms),
  refreshed: flag(r.refreshed),
  refreshOutcome: text(r.refresh_outcome),
  breakerState: text(r.breaker_state),
  error: text(r.error),
  detail: r.detail ? parse<Record<string, unknown>>(r.detail) : null,
  mcpKeyId: text(r.mcp_key_id),
  tool: text(r.tool),
})

export const toBreaker = (r: Row): BreakerRecord => ({
  key: r.key as string,
  state: r.state as BreakerRecord['state'],
  failures: r.failures as number,
  openedAt: int(r.opened_at),
  retryAt: int(r.retry_at),
  trialAt: int(r.trial_at),
})

export function adminKeyRow(r: AdminKeyRecord): InsertRow {
  return row('admin_keys', [
    ['id', r.id],
    ['name', r.name],
    ['key_hash', r.keyHash],
    ['created_at', r.createdAt],
    ['revoked_at', r.revokedAt],
  ])
}

export const toAdminKey = (r: Row): AdminKeyRecord => ({
  id: r.id as string,
  name: r.name as string,
  keyHash: r.key_hash as string,
  createdAt: r.created_at as number,
  revokedAt: int(r.revoked_at),
})

export function mcpKeyRow(r: McpKeyRecord): InsertRow {
  return row('mcp_keys', [
    ['id', r.id],
    ['name', r.name],
    ['key_hash', r.keyHash],
    ['end_user', r.endUser],
    ['connection_ids', json(r.connectionIds)],
    ['connector_ids', json(r.connectorIds)],
    ['action_ids', json(r.actionIds)],
    ['http_request', r.httpRequest],
    ['created_at', r.createdAt],
    ['revoked_at', r.revokedAt],
  ])
}

const list = (value: unknown): string[] | null => (value === null ? null : parse<string[]>(value))

export const toMcpKey = (r: Row): McpKeyRecord => ({
  id: r.id as string,
  name: r.name as string,
  keyHash: r.key_hash as string,
  endUser: text(r.end_user),
  connectionIds: list(r.connection_ids),
  connectorIds: list(r.connector_ids),
  actionIds: list(r.action_ids),
  httpRequest: flag(r.http_request),
  createdAt: r.created_at as number,
  revokedAt: int(r.revoked_at),
})

export function connectSessionRow(r: ConnectSessionRecord): InsertRow {
  return row('connect_sessions', [
    ['id', r.id],
    ['token_hash', r.tokenHash],
    ['end_user', r.endUser.id],
    ['end_user_email', r.endUser.email ?? null],
    ['end_user_display_name', r.endUser.displayName ?? null],
    ['connectors', json(r.connectors)],
    ['reconnect', r.reconnect],
    ['return_url', r.returnUrl],
    ['allowed_origin', r.allowedOrigin],
    ['created_at', r.createdAt],
    ['expires_at', r.expiresAt],
    ['ended_at', r.endedAt],
    ['end_reason', r.endReason],
    ['connection_ids', JSON.stringify(r.connectionIds)],
  ])
}

export const toConnectSession = (r: Row): ConnectSessionRecord => {
  const email = text(r.end_user_email)
  const displayName = text(r.end_user_display_name)
  return {
    id: r.id as string,
    tokenHash: r.token_hash as string,
    endUser: {
      id: r.end_user as string,
      ...(email === null ? {} : { email }),
      ...(displayName === null ? {} : { displayName }),
    },
    connectors: r.connectors === null ? null : parse<string[]>(r.connectors),
    reconnect: text(r.reconnect),
    returnUrl: text(r.return_url),
    allowedOrigin: text(r.allowed_origin),
    createdAt: r.created_at as number,
    expiresAt: r.expires_at as number,
    endedAt: int(r.ended_at),
    endReason: text(r.end_reason) as ConnectSessionRecord['endReason'],
    connectionIds: parse<string[]>(r.connection_ids),
  }
}

export function endUserRow(r: EndUserRecord): InsertRow {
  return row('end_users', [
    ['id', r.id],
    ['email', r.email],
    ['display_name', r.displayName],
    ['updated_at', r.updatedAt],
  ])
}

export const toEndUser = (r: Row): EndUserRecord => ({
  id: r.id as string,
  email: text(r.email),
  displayName: text(r.display_name),
  updatedAt: r.updated_at as number,
})

export function uiSessionRow(r: UiSessionRecord): InsertRow {
  return row('ui_sessions', [
    ['id_hash', r.idHash],
    ['key_hash', r.keyHash],
    ['created_at', r.createdAt],
    ['expires_at', r.expiresAt],
  ])
}

export const toUiSession = (r: Row): UiSessionRecord => ({
  idHash: r.id_hash as string,
  keyHash: r.key_hash as string,
  createdAt: r.created_at as number,
  expiresAt: r.expires_at as number,
})

/** A new outbox row: pending, due at once. */
export function webhookEventRow(e: NewWebhookEvent): InsertRow {
  return row('webhook_events', [
    ['id', e.id],
    ['type', e.type],
    ['connection_id', e.connectionId],
    ['connector_id', e.connectorId],
    ['end_user', e.endUser],
    ['created_at', e.createdAt],
    ['status', 'pending'],
    ['attempts', 0],
    ['next_attempt_at', e.createdAt],
  ])
}

export const toWebhookEvent = (r: Row): WebhookEventRecord => ({
  id: r.id as string,
  seq: Number(r.seq),
  type: r.type as string,
  connectionId: r.connection_id as string,
  connectorId: r.connector_id as string,
  endUser: text(r.end_user),
  createdAt: r.created_at as number,
  status: r.status as WebhookEventRecord['status'],
  attempts: r.attempts as number,
  nextAttemptAt: r.next_attempt_at as number,
  leaseOwner: text(r.lease_owner),
  leaseUntil: int(r.lease_until),
  lastAttemptAt: int(r.last_attempt_at),
  lastStatus: int(r.last_status),
  lastError: text(r.last_error),
  finishedAt: int(r.finished_at),
})
