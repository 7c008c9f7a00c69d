/**
 * The storage contract. One implementation of it (`sql/store.ts`) runs the same SQL on every
 * dialect through a thin driver (`sqlite/`, `postgres/`); `store.case.ts` is the suite every
 * dialect passes. Operations that must be atomic across processes are single methods here
 * (compare-and-set, consume, claim, breaker transitions) rather than open transactions, so each
 * driver can make them atomic its own way.
 *
 * Secret columns (`secrets`, `flow`) hold ciphertext sealed by the engine (`crypto.ts`); a store
 * never sees a plain secret.
 *
 * @module
 */
import type {
  BreakerState,
  ConnectionStatus,
  LogKind,
  Stage,
  WebhookEventStatus,
} from '../connector/literals.js'
import type { ConnectorDefinition } from '../connector/model.js'
import { badCursor } from './store-errors.js'

export type { BreakerState, ConnectionStatus, LogKind, Stage }

export interface ConnectorRecord {
  id: string
  linkName: string
  name: string
  stage: Stage
  /** The definition without secret settings. */
  definition: ConnectorDefinition
  /** Sealed JSON of the secret auth settings, or null. */
  secrets: string | null
  createdAt: number
  updatedAt: number
  /** Bumped by each update; updates compare it (optimistic concurrency). */
  version: number
}

export interface ConnectionRecord {
  id: string
  connectorId: string
  name: string
  endUser: string | null
  status: ConnectionStatus
  statusMessage: string | null
  identity: string | null
  /** Non-secret field values. */
  values: Record<string, unknown>
  /** Sealed JSON `{ values, credentials }`: secret field values and acquired credentials. */
  secrets: string | null
  /** Bumped by every credentials change; refreshes compare-and-set on it. */
  credentialsVersion: number
  expiresAt: number | null
  refreshExpiresAt: number | null
  /** Next time the background refresher may try this connection (transient-failure backoff). */
  refreshNotBefore: number | null
  refreshFailures: number
  createdAt: number
  updatedAt: number
}

export interface OAuthStateRecord {
  /** SHA-256 of the state value; the value itself is never stored. */
  stateHash: string
  connectionId: string
  /** Sealed flow state (PKCE verifier, OAuth1 temporary secret). */
  flow: string
  returnUrl: string | null
  /** The connect session that started the flow, if any. */
  sessionId: string | null
  expiresAt: number
}

export interface LogRecord {
  id: string
  time: number
  connectorId: string | null
  connectionId: string | null
  actionId: string | null
  kind: LogKind
  method: string | null
  url: string | null
  status: number | null
  durationMs: number | null
  refreshed: boolean
  refreshOutcome: string | null
  breakerState: string | null
  error: string | null
  /** Redacted request and response summaries. */
  detail: Record<string, unknown> | null
  /** The MCP key whose tool call made this entry (docs/mcp.md); null for every other caller. */
  mcpKeyId: string | null
  /** The MCP tool that made this entry. */
  tool: string | null
}

/** Which column a sealed value lives in; the id names its row (a state's id is its hash). */
export type SealedKind = 'connector' | 'connection' | 'oauth_state'

/** One sealed value at rest: `connectors.secrets`, `connections.secrets` or `oauth_states.flow`. */
export interface SealedValue {
  kind: SealedKind
  id: string
  sealed: string
}

/** Where each kind of sealed value lives, in the order `listSealed` walks them. */
export const SEALED_COLUMNS: readonly {
  kind: SealedKind
  table: string
  id: string
  column: string
}[] = [
  { kind: 'connector', table: 'connectors', id: 'id', column: 'secrets' },
  { kind: 'connection', table: 'connections', id: 'id', column: 'secrets' },
  { kind: 'oauth_state', table: 'oauth_states', id: 'state_hash', column: 'flow' },
]

/**
 * A connection event in the webhook outbox (docs/connect.md). It is written in the transaction of
 * the change that caused it, so an event exists exactly when its change committed, and any process
 * delivers it.
 */
export interface WebhookEventRecord {
  /** `evt_…`: the id receivers see, the same on every attempt. */
  id: string
  /** Outbox order: the events of one connection are delivered in this order. */
  seq: number
  type: string
  connectionId: string
  connectorId: string
  endUser: string | null
  /** When the change happened, ms since the epoch. */
  createdAt: number
  status: WebhookEventStatus
  /** Attempts made so far. */
  attempts: number
  /** When the next attempt may start, while pending. */
  nextAttemptAt: number
  /** The deliverer holding the event while it attempts it, and until when. */
  leaseOwner: string | null
  leaseUntil: number | null
  lastAttemptAt: number | null
  /** The receiver's status on the last attempt (null: no answer). */
  lastStatus: number | null
  lastError: string | null
  /** When it was delivered or dead-lettered. */
  finishedAt: number | null
}

/** What a change writes into the outbox with it (`Store` methods' `events`). */
export type NewWebhookEvent = Pick<
  WebhookEventRecord,
  'id' | 'type' | 'connectionId' | 'connectorId' | 'endUser' | 'createdAt'
>

export interface WebhookEventFilter extends PageQuery {
  status?: WebhookEventStatus | undefined
  connectionId?: string | undefined
}

export interface WebhookClaim {
  /** Who claims: the lease names it. */
  owner: string
  now: number
  /** How long the claimed events stay leased to `owner`, ms. */
  leaseMs: number
  limit: number
}

/** How an attempt ended, as `settleWebhookEvent` records it. */
export interface WebhookAttemptOutcome {
  status: WebhookEventStatus
  /** When the next attempt may start (a pending event's backoff). */
  nextAttemptAt: number
  lastStatus: number | null
  lastError: string | null
  /** When the attempt ended. */
  at: number
}

/** A named admin key; only the SHA-256 of the key is stored. */
export interface AdminKeyRecord {
  id: string
  name: string
  /** Hex SHA-256 of the key. */
  keyHash: string
  createdAt: number
  revokedAt: number | null
}

/**
 * A scoped MCP key (docs/mcp.md); only the SHA-256 of the key is stored. Its tools use either an
 * end user's connections or the named connections, and are the saved actions of `connectorIds`
 * plus the actions of `actionIds`.
 */
export interface McpKeyRecord {
  id: string
  name: string
  /** Hex SHA-256 of the key. */
  keyHash: string
  /** The end user whose connections the tools use; null when `connectionIds` is set. */
  endUser: string | null
  /** The connections the tools use (one per connector); null when `endUser` is set. */
  connectionIds: string[] | null
  /** Connectors (ids) whose saved actions are all tools; null when none were given. */
  connectorIds: string[] | null
  /** Saved actions (ids) that are tools; null when none were given. */
  actionIds: string[] | null
  /** Whether each connector of `connectorIds` with custom actions on gets an `http_request` tool. */
  httpRequest: boolean
  createdAt: number
  revokedAt: number | null
}

export interface BreakerRecord {
  key: string
  state: BreakerState
  failures: number
  openedAt: number | null
  retryAt: number | null
  /** When the single half-open trial call was handed out. */
  trialAt: number | null
}

/** What an end user gave in a connect session; the id is the connections' `endUser`. */
export interface EndUserInfo {
  id: string
  email?: string
  displayName?: string
}

export interface EndUserRecord {
  id: string
  email: string | null
  displayName: string | null
  updatedAt: number
}

/** A connect session, stored under the SHA-256 of its token. */
export interface ConnectSessionRecord {
  id: string
  tokenHash: string
  endUser: EndUserInfo
  /** Connector ids; null = every ready connector. */
  connectors: string[] | null
  reconnect: string | null
  returnUrl: string | null
  allowedOrigin: string | null
  createdAt: number
  expiresAt: number
  endedAt: number | null
  /** `ended`: by the admin (or with its end user); `completed`: a reconnect finished. */
  endReason: 'ended' | 'completed' | null
  /** Connections this session created (or re-authorized), in order. */
  connectionIds: string[]
}

/** A web UI session: the cookie holds a random id; only its SHA-256 is stored. */
export interface UiSessionRecord {
  idHash: string
  /** Hex SHA-256 of the admin key that opened it: revoking or rotating the key ends it. */
  keyHash: string
  createdAt: number
  expiresAt: number
}

export interface Page<T> {
  items: T[]
  nextCursor?: string
}

export interface PageQuery {
  limit: number
  cursor?: string | undefined
}

export interface ConnectionFilter extends PageQuery {
  connectorId?: string | undefined
  endUser?: string | undefined
  status?: ConnectionStatus | undefined
}

export interface LogFilter extends PageQuery {
  connectorId?: string | undefined
  connectionId?: string | undefined
  actionId?: string | undefined
  mcpKeyId?: string | undefined
  tool?: string | undefined
}

export interface ConnectSessionFilter extends PageQuery {
  /** Sessions live at this time (not ended, not expired). */
  liveAt: number
  endUser?: string | undefined
}

/**
 * What a call reads first, in one statement: the connection's status and credentials version, its
 * connector's version, and the call's breaker. A process that keeps the opened connection and
 * connector in memory uses them while these versions still match.
 */
export interface CallState {
  connectorId: string
  connectorVersion: number
  status: ConnectionStatus
  statusMessage: string | null
  credentialsVersion: number
  breaker: BreakerRecord | undefined
}

export interface CredentialsUpdate {
  secrets: string | null
  expiresAt: number | null
  refreshExpiresAt: number | null
  status: ConnectionStatus
  statusMessage: string | null
}

/** The connection fields `updateConnection` may change (never credentials). */
export type ConnectionPatch = Partial<
  Pick<
    ConnectionRecord,
    'name' | 'status' | 'statusMessage' | 'identity' | 'refreshNotBefore' | 'refreshFailures'
  >
>

/**
 * What `purge` deletes: expired sessions and states, logs older than `logsBefore`, and webhook
 * events delivered before `deliveredEventsBefore`.
 */
export interface PurgeOptions {
  now: number
  /** Logs with an earlier `time` go (retention); none when absent. */
  logsBefore?: number | undefined
  /** Delivered webhook events that finished earlier go; none when absent. Others always stay. */
  deliveredEventsBefore?: number | undefined
  /** Connect sessions are kept this long after they end or expire, ms, so their link can say so. */
  sessionGraceMs: number
  /** Rows deleted per table per call: the caller repeats while a table had this many. */
  batch: number
}

export type PurgeCounts = Record<
  | 'logs'
  | 'uiSessions'
  | 'connectSessions'
  | 'oauthStates'
  | 'locks'
  | 'rateWindows'
  | 'webhookEvents',
  number
>

/** A held lock, handed to `withLock`'s callback. */
export interface HeldLock {
  /**
   * `updateCredentials`, fenced by the lock: the write commits only while this holder still holds
   * the lock, so a holder that lost it (died, or paused past its expiry while another took over)
   * can never overwrite what the new holder wrote. `events` are written with it, or not at all.
   */
  updateCredentials(
    id: string,
    expectedVersion: number,
    update: CredentialsUpdate,
    events?: readonly NewWebhookEvent[],
  ): Promise<number | undefined>
}

export interface StoreCapabilities {
  /** Locks and atomic operations hold across processes sharing the database. */
  crossProcess: boolean
}

export interface Store {
  /** `sqlite` or `postgres`; for messages only: no caller branches on it. */
  readonly dialect: string
  readonly capabilities: StoreCapabilities
  migrate(): Promise<void>
  close(): Promise<void>

  /** Throws `connector.link_name_taken` when the link name exists. */
  insertConnector(record: ConnectorRecord): Promise<void>
  /** Writes when `version` is still `expectedVersion`; returns whether it did. */
  updateConnector(record: ConnectorRecord, expectedVersion: number): Promise<boolean>
  /** By id, or else by link name. */
  getConnector(idOrLinkName: string): Promise<ConnectorRecord | undefined>
  listConnectors(query: PageQuery & { stage?: Stage | undefined }): Promise<Page<ConnectorRecord>>
  deleteConnector(id: string): Promise<boolean>
  countConnections(connectorId: string): Promise<number>
  /** The connector holding a saved action (an indexed lookup, kept with the connector's writes). */
  findActionConnector(actionId: string): Promise<string | undefined>

  /*
   * The methods that change a connection take the webhook events the change causes (`events`):
   * they are written into the outbox in the same transaction, and only when the change is made
   * (an update that matches no row, a compare-and-set that loses, writes none).
   */

  insertConnection(record: ConnectionRecord, events?: readonly NewWebhookEvent[]): Promise<void>
  getConnection(id: string): Promise<ConnectionRecord | undefined>
  /** The call state of a connection (undefined when it is gone), with the breaker at `breakerKey`. */
  getCallState(connectionId: string, breakerKey: string): Promise<CallState | undefined>
  listConnections(filter: ConnectionFilter): Promise<Page<ConnectionRecord>>
  /** Updates descriptive fields (never credentials). */
  updateConnection(
    id: string,
    patch: ConnectionPatch,
    events?: readonly NewWebhookEvent[],
  ): Promise<boolean>
  /**
   * Replaces credentials in one atomic write when `credentialsVersion` is still `expectedVersion`,
   * bumping it (old tokens or new, never half). Returns the new version, or undefined when another
   * writer got there first.
   */
  updateCredentials(
    id: string,
    expectedVersion: number,
    update: CredentialsUpdate,
    events?: readonly NewWebhookEvent[],
  ): Promise<number | undefined>
  deleteConnection(id: string, events?: readonly NewWebhookEvent[]): Promise<boolean>
  /** Connections whose access token expires before `accessBefore` or refresh token before `refreshBefore`. */
  listRefreshDue(
    accessBefore: number,
    refreshBefore: number,
    now: number,
    limit: number,
  ): Promise<ConnectionRecord[]>

  insertOAuthState(record: OAuthStateRecord): Promise<void>
  /** Atomically removes and returns the state; undefined when unknown, used or expired. */
  consumeOAuthState(stateHash: string, now: number): Promise<OAuthStateRecord | undefined>

  /** Appends entries in one write, in order. */
  appendLogs(entries: readonly LogRecord[]): Promise<void>
  listLogs(filter: LogFilter): Promise<Page<LogRecord>>

  getBreaker(key: string): Promise<BreakerRecord | undefined>
  /** The breakers with these keys that have a record (for a page of views, in one read). */
  getBreakers(keys: readonly string[]): Promise<BreakerRecord[]>
  /** Atomically applies a transition computed from the current record (read-modify-write). */
  updateBreaker(
    key: string,
    transition: (current: BreakerRecord) => BreakerRecord,
  ): Promise<BreakerRecord>

  /**
   * Counts one request in the fixed window `windowStart` of the rate limit `key` when the window
   * holds fewer than `limit`, in one atomic step across processes; returns whether it did. The
   * window's row may be purged once `expiresAt` has passed.
   */
  takeRateLimitSlot(
    key: string,
    windowStart: number,
    limit: number,
    expiresAt: number,
  ): Promise<boolean>

  /**
   * Runs `fn` holding a named lock. Across processes when `capabilities.crossProcess`. The lock is
   * released when `fn` settles, or lapses after `ttlMs` if the holder dies.
   */
  withLock<T>(key: string, ttlMs: number, fn: (lock: HeldLock) => Promise<T>): Promise<T>

  /**
   * Every sealed value (null secrets skipped), in pages ordered by kind then id, for re-sealing
   * under a new key. The cursor is the last `[kind, id]` handed out, so rows written meanwhile are
   * seen when they sort later and caught by the next pass otherwise.
   */
  listSealed(query: PageQuery): Promise<Page<SealedValue>>
  /**
   * Replaces one sealed value when it is still `expectedSealed` (compare-and-set on the value
   * itself); returns whether it did. Touches nothing else — no version, no `updated_at` — so a
   * re-seal never makes a concurrent refresh or update fail; a writer that got there first wins,
   * and the caller re-reads.
   */
  replaceSealed(
    kind: SealedKind,
    id: string,
    expectedSealed: string,
    newSealed: string,
  ): Promise<boolean>

  insertAdminKey(record: AdminKeyRecord): Promise<void>
  /** The key with this hash, revoked or not. */
  findAdminKey(keyHash: string): Promise<AdminKeyRecord | undefined>
  /** Admin keys oldest first, revoked ones included. */
  listAdminKeys(query: PageQuery): Promise<Page<AdminKeyRecord>>
  /** Marks a key revoked (keeping the first revocation time); false when no key has this id. */
  revokeAdminKey(id: string, at: number): Promise<boolean>

  insertMcpKey(record: McpKeyRecord): Promise<void>
  /** The MCP key with this hash, revoked or not. */
  findMcpKey(keyHash: string): Promise<McpKeyRecord | undefined>
  getMcpKey(id: string): Promise<McpKeyRecord | undefined>
  /** MCP keys oldest first, revoked ones included. */
  listMcpKeys(query: PageQuery): Promise<Page<McpKeyRecord>>
  /** Marks an MCP key revoked (keeping the first revocation time); false when no key has this id. */
  revokeMcpKey(id: string, at: number): Promise<boolean>

  insertConnectSession(record: ConnectSessionRecord): Promise<void>
  getConnectSession(tokenHash: string): Promise<ConnectSessionRecord | undefined>
  getConnectSessionById(id: string): Promise<ConnectSessionRecord | undefined>
  /** Live sessions, newest first. */
  listConnectSessions(filter: ConnectSessionFilter): Promise<Page<ConnectSessionRecord>>
  /** Ends a session not yet ended; false when it was already ended, or unknown. */
  endConnectSession(id: string, at: number, reason: 'ended' | 'completed'): Promise<boolean>
  /** Appends a connection id to a session's list (once); returns the session after. */
  addConnectSessionConnection(
    id: string,
    connectionId: string,
  ): Promise<ConnectSessionRecord | undefined>

  /** Keeps what an end user last gave (email, display name). */
  upsertEndUser(record: EndUserRecord): Promise<void>
  getEndUser(id: string): Promise<EndUserRecord | undefined>
  deleteEndUser(id: string): Promise<boolean>
  /** The distinct `endUser` ids of connections, in id order. */
  listEndUserIds(query: PageQuery): Promise<Page<string>>

  insertUiSession(record: UiSessionRecord): Promise<void>
  getUiSession(idHash: string): Promise<UiSessionRecord | undefined>
  deleteUiSession(idHash: string): Promise<boolean>

  /**
   * Leases up to `limit` webhook events that are due: pending, their next attempt time reached,
   * not leased (or the lease lapsed), and the oldest pending event of their connection, so one
   * connection's events go out one at a time, in order. Events another process is claiming at
   * the same moment are skipped, never waited for. Oldest first.
   */
  claimWebhookEvents(claim: WebhookClaim): Promise<WebhookEventRecord[]>
  /**
   * Records an attempt on a pending event, counting it: only while `owner` still holds its lease,
   * except that `delivered` is recorded whoever holds it. Releases the lease; false when nothing
   * was recorded.
   */
  settleWebhookEvent(id: string, owner: string, outcome: WebhookAttemptOutcome): Promise<boolean>
  getWebhookEvent(id: string): Promise<WebhookEventRecord | undefined>
  /** Newest first. */
  listWebhookEvents(filter: WebhookEventFilter): Promise<Page<WebhookEventRecord>>
  /**
   * A dead event back to pending, due at `now`, its attempts counted from zero again; false when
   * it is not dead (or unknown).
   */
  retryWebhookEvent(id: string, now: number): Promise<boolean>

  /** Deletes expired rows, at most `batch` per table; short transactions, never a long lock. */
  purge(options: PurgeOptions): Promise<PurgeCounts>

  getMeta(key: string): Promise<string | undefined>
  setMeta(key: string, value: string): Promise<void>
  /** Sets a value only when the key has none yet; returns whether it did (the first writer wins). */
  setMetaIfAbsent(key: string, value: string): Promise<boolean>
}

export function emptyBreaker(key: string): BreakerRecord {
  return { key, state: 'closed', failures: 0, openedAt: null, retryAt: null, trialAt: null }
}

export function encodeCursor(parts: (string | number)[]): string {
  return Buffer.from(JSON.stringify(parts)).toString('base64url')
}

export function decodeCursor(cursor: string | undefined): (string | number)[] | undefined {
  if (!cursor) return undefined
  try {
    const parts = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown
    // A NUL or a lone surrogate could never have come from us, and PostgreSQL cannot compare it.
    const fine = (p: unknown) =>
      typeof p === 'number' || (typeof p === 'string' && !p.includes('\u0000') && p.isWellFormed())
    if (Array.isArray(parts) && parts.every(fine)) return parts as (string | number)[]
  } catch {
    // fall through
  }
  return undefined
}

/** A cursor of the given shape (`'n'` a safe integer, `'s'` a string), or a 400. */
export function readCursor(
  cursor: string | undefined,
  shape: string,
): (string | number)[] | undefined {
  if (cursor === undefined) return undefined
  const parts = decodeCursor(cursor)
  const ok =
    parts?.length === shape.length &&
    [...shape].every((t, i) =>
      t === 'n' ? Number.isSafeInteger(parts[i]) : typeof parts[i] === 'string',
    )
  if (!ok) throw badCursor()
  return parts
}
