/**
 * The pipeline's shapes (docs/pipeline.md). A step is `(next) => (ctx) => Promise<PipelineResult>`,
 * in the style of undici interceptors: retry, redirect and auth wrap one dispatcher.
 *
 * @module
 */
import type { Readable } from 'node:stream'
import type { Dispatcher } from 'undici'
import type { Signal } from '../connector/schema.js'
import type { PatchbayError } from '../errors.js'
import type { OutgoingRequest } from '../lib/request.js'
import type { BreakerRecord, LogRecord } from '../store/store.js'

/** What the pipeline needs from the connection's auth, supplied by the engine. */
export interface AuthBinding {
  /** Adds credentials (scheme + `extra`) to a copy of the request. */
  apply(request: OutgoingRequest): Promise<void>
  /** True when the scheme can re-acquire credentials. */
  canRefresh: boolean
  /**
   * Re-acquires credentials once for this call, coalesced with any refresh already under way for
   * the connection (docs/pipeline.md). Throws when it fails.
   */
  reacquire(): Promise<void>
  /** Whether another call in this process is re-acquiring the connection's credentials now. */
  refreshInFlight(): boolean
  /** Refreshes ahead of expiry when due; never throws while the current token still works. */
  refreshIfDue(): Promise<{ refreshed: boolean; outcome?: string }>
  /** Names and values to redact from logs. */
  redaction(): Redaction
}

export interface Redaction {
  headers: Set<string>
  query: Set<string>
  form: Set<string>
  values: string[]
}

export interface BreakerSettings {
  threshold: number
  cooldownMs: number
}

/**
 * The breaker around one call (a saved action's, or a connection's ad-hoc calls), supplied by the
 * engine. Its state is shared by every process on the store.
 */
export interface BreakerPort {
  readonly key: string
  readonly settings: BreakerSettings
  /** The breaker as it stands. */
  read(): Promise<BreakerRecord | undefined>
  /** Atomically applies a transition to the current state (read-modify-write). */
  update(transition: (current: BreakerRecord) => BreakerRecord): Promise<BreakerRecord>
}

/** When a 429 or 503 answer is sent again (`retry.ts`); the engine fills in the defaults. */
export interface RetryPolicy {
  maxRetries: number
  /** All the waits of one call together, at most. */
  maxWaitMs: number
  /** Upper-case methods that may be sent again. */
  methods: ReadonlySet<string>
}

/**
 * The connector's own rate limit for one connection (`rate-limit.ts`): fixed windows of
 * `periodMs`, counted in the store, so every process on it shares the count.
 */
export interface RateLimitPort {
  readonly requests: number
  readonly periodMs: number
  /** How long a request may wait for the next window. */
  readonly maxWaitMs: number
  /** Counts one request in the window starting at `windowStart` when it has room; whether it did. */
  take(windowStart: number): Promise<boolean>
}

/**
 * The connection's own transport, when it has a client certificate or trusts more certificate
 * authorities (mutual TLS): both under the same network policy as the default dispatcher.
 */
export interface Transport {
  /** Presents the client certificate: for requests that carry credentials. */
  withCredentials: Dispatcher
  /**
   * Trusts the same authorities without presenting it: a redirect to another origin. The same
   * dispatcher as `withCredentials` when there is no certificate to present.
   */
  withoutCredentials: Dispatcher
}

/** One wait before a request was sent again, as the log entry shows it. */
export interface RetryRecord {
  status: number
  waitMs: number
  /** `Retry-After: 2`, or `backoff` when the answer gave none. */
  after: string
}

/**
 * One log entry, discriminated by kind: each kind carries what it says, and the writer fills in
 * the rest of the stored record (id, time, the columns a kind does not use). Text is redacted by
 * whoever builds the entry.
 */
export type LogEntry =
  | ({ kind: 'request' } & Pick<
      LogRecord,
      | 'connectorId'
      | 'connectionId'
      | 'actionId'
      | 'method'
      | 'url'
      | 'status'
      | 'durationMs'
      | 'refreshed'
      | 'refreshOutcome'
      | 'breakerState'
      | 'error'
      | 'detail'
      | 'mcpKeyId'
      | 'tool'
    >)
  | ({ kind: 'refresh' } & Pick<
      LogRecord,
      'connectorId' | 'connectionId' | 'durationMs' | 'refreshed' | 'refreshOutcome' | 'error'
    >)
  | ({ kind: 'revoke' } & Pick<LogRecord, 'connectorId' | 'connectionId' | 'error'> & {
        detail: { revoked: boolean }
      })
  | ({ kind: 'webhook' } & Pick<
      LogRecord,
      | 'connectorId'
      | 'connectionId'
      | 'method'
      | 'url'
      | 'status'
      | 'durationMs'
      | 'error'
      | 'detail'
    >)

/** Takes log entries; never throws and never makes a call wait for the database. */
export interface LogSink {
  write(entry: LogEntry): void
}

/** Told about each call's outcome (metrics). */
export interface PipelineObserver {
  call(outcome: string, durationMs: number): void
  breakerOpened(): void
  /** A call's log entry could not be made (the call itself goes on). */
  logFailed(err: unknown): void
}

export interface PipelineContext {
  /** The request before credentials; steps that retry start again from it. */
  request: OutgoingRequest
  /** Origins credentials may go to (the connector's base URL and `allowedOrigins`). */
  allowedOrigins: Set<string>
  auth: AuthBinding
  refreshOn: Signal[] | undefined
  detectOn: Signal[] | undefined
  breaker: BreakerPort
  retry: RetryPolicy
  rateLimit?: RateLimitPort | undefined
  transport?: Transport | undefined
  /** Stream the response body (proxy) instead of buffering it. */
  stream: boolean
  timeoutMs: number
  observer?: PipelineObserver
  log: {
    sink: LogSink
    connectorId: string
    connectionId: string
    actionId: string | null
    /** The MCP key and tool that made the call, when an agent did (docs/mcp.md). */
    mcpKeyId: string | null
    tool: string | null
  }
  /** Filled in as the call goes. */
  meta: {
    refreshed: boolean
    refreshOutcome: string | null
    breakerState: string | null
    credentialsWithheld: boolean
    redirects: number
    /** Each wait before a 429 or 503 was sent again, in order (`retry.ts`). */
    retries: RetryRecord[]
    /** Why a 429 or 503 was not sent again, when it was not. */
    retryStopped?: string
    /** Time spent waiting for the connector's own rate limit (`rate-limit.ts`), ms. */
    rateLimitWaitMs: number
    /** The last request as sent, credentials included (for redacted logging). */
    sent?: OutgoingRequest
  }
}

export interface PipelineResult {
  status: number
  headers: Record<string, string | string[]>
  /** Buffered body, or a stream when `ctx.stream` (and no step needed the bytes). */
  body: Uint8Array | Readable
  /**
   * Set when a `detectOn` signal matched a response that otherwise looked fine, or when the
   * retry after a re-acquire was refused again (`request.auth_rejected`).
   */
  detected?: PatchbayError
  /** Seconds the upstream asked to wait (`Retry-After`) on a 429 or 503 that was not sent again. */
  retryAfter?: number
}

export type Handler = (ctx: PipelineContext) => Promise<PipelineResult>
export type Step = (next: Handler) => Handler
