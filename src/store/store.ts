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
import type { BreakerState, ConnectionStatus, LogKind, Stage } from '../connector/literals.js'
import { badCursor } from './store-errors.js'

export type { BreakerState, ConnectionStatus, LogKind, Stage }

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

/** A named admin key (SPEC §6); only the SHA-256 of the key is stored. */
export interface AdminKeyRecord {
  id: string
  name: string
  /** Hex SHA-256 of the key. */
  keyHash: string
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
    // A NUL or a lone surrogate could never have come from us, and PostgreSQL cannot compare it.
    const fine = (p: unknown) =>
      typeof p === 'number' || (typeof p === 'string' && !p.includes('\u0000') && p.isWellFormed())
    if (Array.isArray(parts) && parts.every(fine)) return parts as (string | number)[]
  } catch {
    // fall through
  }
  return undefined
}

/**
 * `listSealed` for any dialect: walks `SEALED_COLUMNS` in order from the cursor's `[kind, id]`,
 * asking `select` for up to `limit` rows of one table with an id after `afterId` (ascending).
 */
export async function pageSealed(
  query: PageQuery,
  select: (
    where: (typeof SEALED_COLUMNS)[number],
    afterId: string | undefined,
    limit: number,
  ) => Promise<{ id: string; sealed: string }[]>,
): Promise<Page<SealedValue>> {
  let start = 0
  let afterId: string | undefined
  if (query.cursor) {
    const parts = decodeCursor(query.cursor)
    const [kind, id] = parts ?? []
    start = SEALED_COLUMNS.findIndex((c) => c.kind === kind)
    if (parts?.length !== 2 || start < 0 || typeof id !== 'string') throw badCursor()
    afterId = id
  }
  const items: SealedValue[] = []
  for (let i = start; i < SEALED_COLUMNS.length && items.length <= query.limit; i++) {
    const where = SEALED_COLUMNS[i]!
    const rows = await select(
      where,
      i === start ? afterId : undefined,
      query.limit + 1 - items.length,
    )
    for (const r of rows) items.push({ kind: where.kind, id: r.id, sealed: r.sealed })
  }
  if (items.length <= query.limit) return { items }
  const page = items.slice(0, query.limit)
  const last = page[page.length - 1]!
  return { items: page, nextCursor: encodeCursor([last.kind, last.id]) }
}
