/**
 * The storage contract. Each dialect (sqlite/, postgres/) implements it; `store.case.test.ts` is
 * the suite every implementation passes. Operations that must be atomic across processes are
 * single methods here (compare-and-set, consume, breaker transitions) rather than open
 * transactions, so both dialects can make them atomic their own way.
 *
 * Secret columns (`secrets`, `flow`) hold ciphertext sealed by the engine (`crypto.ts`); a store
 * never sees a plain secret.
 *
 * @module
 */

export type Stage = 'draft' | 'ready'
export type ConnectionStatus = 'pending' | 'connected' | 'needs_reauth' | 'error'

export interface ConnectorRecord {
  id: string
  linkName: string
  name: string
  stage: Stage
  /** The definition without secret settings. */
  definition: Record<string, unknown>
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
  kind: 'request' | 'refresh' | 'revoke' | 'connect' | 'webhook'
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
}

export type BreakerState = 'closed' | 'open' | 'half_open'

export interface BreakerRecord {
  key: string
  state: BreakerState
  failures: number
  openedAt: number | null
  retryAt: number | null
  /** When the single half-open trial call was handed out. */
  trialAt: number | null
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
}

export interface CredentialsUpdate {
  secrets: string | null
  expiresAt: number | null
  refreshExpiresAt: number | null
  status: ConnectionStatus
  statusMessage: string | null
}

export interface StoreCapabilities {
  /** Locks and atomic operations hold across processes sharing the database. */
  crossProcess: boolean
}

export interface Store {
  readonly dialect: string
  readonly capabilities: StoreCapabilities
  migrate(): Promise<void>
  close(): Promise<void>

  /** Throws `connector.link_name_taken` when the link name exists. */
  insertConnector(record: ConnectorRecord): Promise<void>
  /** Writes when `version` is still `expectedVersion`; returns whether it did. */
  updateConnector(record: ConnectorRecord, expectedVersion: number): Promise<boolean>
  getConnector(idOrLinkName: string): Promise<ConnectorRecord | undefined>
  listConnectors(query: PageQuery): Promise<Page<ConnectorRecord>>
  deleteConnector(id: string): Promise<boolean>
  countConnections(connectorId: string): Promise<number>

  insertConnection(record: ConnectionRecord): Promise<void>
  getConnection(id: string): Promise<ConnectionRecord | undefined>
  listConnections(filter: ConnectionFilter): Promise<Page<ConnectionRecord>>
  /** Updates descriptive fields (never credentials). */
  updateConnection(
    id: string,
    patch: Partial<
      Pick<
        ConnectionRecord,
        'name' | 'status' | 'statusMessage' | 'identity' | 'refreshNotBefore' | 'refreshFailures'
      >
    >,
  ): Promise<boolean>
  /**
   * Replaces credentials in one atomic write when `credentialsVersion` is still `expectedVersion`,
   * bumping it (SPEC §7: old tokens or new, never half). Returns the new version, or undefined
   * when another writer got there first.
   */
  updateCredentials(
    id: string,
    expectedVersion: number,
    update: CredentialsUpdate,
  ): Promise<number | undefined>
  deleteConnection(id: string): Promise<boolean>
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

  appendLog(entry: LogRecord): Promise<void>
  listLogs(filter: LogFilter): Promise<Page<LogRecord>>

  getBreaker(key: string): Promise<BreakerRecord | undefined>
  /** Atomically applies a transition computed from the current record (read-modify-write). */
  updateBreaker(
    key: string,
    transition: (current: BreakerRecord) => BreakerRecord,
  ): Promise<BreakerRecord>

  /**
   * Runs `fn` holding a named lock. Across processes when `capabilities.crossProcess`. The lock is
   * released when `fn` settles, or lapses after `ttlMs` if the holder dies.
   */
  withLock<T>(key: string, ttlMs: number, fn: () => Promise<T>): Promise<T>

  getMeta(key: string): Promise<string | undefined>
  setMeta(key: string, value: string): Promise<void>
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
    if (Array.isArray(parts) && parts.every((p) => typeof p === 'string' || typeof p === 'number'))
      return parts
  } catch {
    // fall through
  }
  return undefined
}
