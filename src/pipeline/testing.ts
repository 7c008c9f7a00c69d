/**
 * Fakes for the pipeline steps' unit tests (`*.test.ts` beside each step); nothing else imports
 * it. Every test builds its context here and reads the state the steps keep through `TestStore`,
 * never through the context, so a change to the `PipelineContext` shape (how steps reach their
 * state, say) is one edit in this file:
 *
 * - `createTestContext` — a context for one call, with defaults for everything a step does not
 *   look at;
 * - `createFakeAuth` — an `AuthBinding` that counts its calls and puts `Bearer tok-<n>` on the
 *   request, `n` going up with each re-acquire;
 * - `createFakeTerminal` — the handler after the step under test: it records what each call
 *   carried and answers from a script, failing the test when called more often than scripted;
 * - `createTestStore` — the state the breaker and log steps keep, on a real in-memory SQLite store;
 * - `createFakeObserver` — records what the steps report for metrics.
 *
 * @module
 */
import { randomUUID } from 'node:crypto'
import { Readable } from 'node:stream'
import type { Signal } from '../connector/schema.js'
import { cloneRequest, type OutgoingRequest, type RequestBody } from '../lib/request.js'
import { createSqliteStore } from '../store/sqlite/store.js'
import type { BreakerRecord, LogRecord, Store } from '../store/store.js'
import { addSecretValue, emptyRedaction } from './redact.js'
import type {
  AuthBinding,
  BreakerPort,
  BreakerSettings,
  LogSink,
  Handler,
  PipelineContext,
  PipelineObserver,
  PipelineResult,
  Redaction,
  RetryPolicy,
} from './types.js'

// ---------------------------------------------------------------------------------------------
// The context
// ---------------------------------------------------------------------------------------------

export interface TestContextOptions {
  method?: string
  /** Default `https://api.test/v1/items`. */
  url?: string
  headers?: Record<string, string>
  body?: RequestBody
  /** Origins credentials may go to; default the URL's origin. */
  allowedOrigins?: string[]
  /** Default `createFakeAuth()`. */
  auth?: AuthBinding
  refreshOn?: Signal[]
  detectOn?: Signal[]
  /** Default `TEST_BREAKER_KEY`. */
  breakerKey?: string
  /** Default threshold 3, cool-down 60 s. */
  breaker?: Partial<BreakerSettings>
  /** Default: no retries. */
  retry?: RetryPolicy
  stream?: boolean
  /** Default 5 s. */
  timeoutMs?: number
  /** Where the breaker and log steps keep state; without one, a step that touches it fails. */
  store?: TestStore
  observer?: PipelineObserver
  log?: Partial<PipelineContext['log']>
}

export const TEST_URL = 'https://api.test/v1/items'
export const TEST_BREAKER_KEY = 'connection:co_test'

/** A fresh context for one call, as the engine builds one per request. */
export function createTestContext(options: TestContextOptions = {}): PipelineContext {
  const url = new URL(options.url ?? TEST_URL)
  return {
    request: {
      method: options.method ?? 'GET',
      url,
      headers: { ...options.headers },
      body: options.body ?? { kind: 'none' },
    },
    allowedOrigins: new Set(options.allowedOrigins ?? [url.origin]),
    auth: options.auth ?? createFakeAuth(),
    refreshOn: options.refreshOn,
    detectOn: options.detectOn,
    breaker: breakerPort(options.store ?? noStore, options.breakerKey ?? TEST_BREAKER_KEY, {
      threshold: 3,
      cooldownMs: 60_000,
      ...options.breaker,
    }),
    retry: options.retry ?? { maxRetries: 0, maxWaitMs: 0, methods: new Set() },
    stream: options.stream ?? false,
    timeoutMs: options.timeoutMs ?? 5_000,
    ...(options.observer ? { observer: options.observer } : {}),
    log: {
      sink: (options.store ?? noStore).sink,
      connectorId: 'cn_test',
      connectionId: 'co_test',
      actionId: null,
      mcpKeyId: null,
      tool: null,
      ...options.log,
    },
    meta: {
      refreshed: false,
      refreshOutcome: null,
      breakerState: null,
      credentialsWithheld: false,
      redirects: 0,
      retries: [],
      rateLimitWaitMs: 0,
    },
  }
}

/** The breaker port the engine hands the pipeline, on the test's store. */
function breakerPort(state: TestStore, key: string, settings: BreakerSettings): BreakerPort {
  return {
    key,
    settings,
    read: () => state.breaker(key),
    update: (transition) => state.setBreaker(transition, key),
  }
}

/** Stands in when a test gives no store: a step that reaches for state fails the test, loudly. */
const noStore: TestStore = {
  get store(): Store {
    throw new Error('the step reached for the store, but the test gave none')
  },
  breaker: () => Promise.reject(new Error('the step read the breaker, but the test gave no store')),
  setBreaker: () =>
    Promise.reject(new Error('the step changed the breaker, but the test gave no store')),
  logs: () => Promise.resolve([]),
  sink: {
    write() {
      throw new Error('the step wrote a log entry, but the test gave no store')
    },
  },
  close: () => Promise.resolve(),
}

// ---------------------------------------------------------------------------------------------
// The auth binding
// ---------------------------------------------------------------------------------------------

export interface FakeAuthOptions {
  /** Default true. */
  canRefresh?: boolean
  /** Replaces the default re-acquire (which moves on to the next token); throw to fail it. */
  reacquire?: () => Promise<void>
  /** Default: nothing is due. */
  refreshIfDue?: () => Promise<{ refreshed: boolean; outcome?: string }>
  /** Default: no other call is re-acquiring. */
  refreshInFlight?: () => boolean
  /** Replaces the default apply (`authorization: Bearer <token>`). */
  apply?: (request: OutgoingRequest) => void | Promise<void>
  /** Extra secret values to redact, besides every token handed out. */
  secrets?: string[]
  /** Names to redact, besides the ones always redacted (as a scheme names its own). */
  redact?: { headers?: string[]; query?: string[]; form?: string[] }
}

export interface FakeAuth extends AuthBinding {
  /** How often each method was called. */
  readonly calls: { apply: number; reacquire: number; refreshIfDue: number }
  /** The token `apply` puts on requests now: `tok-1`, then `tok-2` after a re-acquire, … */
  readonly token: string
}

export function createFakeAuth(options: FakeAuthOptions = {}): FakeAuth {
  const calls = { apply: 0, reacquire: 0, refreshIfDue: 0 }
  let generation = 1
  const token = () => `tok-${generation}`
  return {
    calls,
    get token() {
      return token()
    },
    canRefresh: options.canRefresh ?? true,
    async apply(request) {
      calls.apply++
      if (options.apply) await options.apply(request)
      else request.headers['authorization'] = `Bearer ${token()}`
    },
    async reacquire() {
      calls.reacquire++
      if (options.reacquire) await options.reacquire()
      generation++
    },
    refreshInFlight: () => options.refreshInFlight?.() ?? false,
    async refreshIfDue() {
      calls.refreshIfDue++
      return options.refreshIfDue ? options.refreshIfDue() : { refreshed: false }
    },
    redaction(): Redaction {
      const r = emptyRedaction()
      for (let n = 1; n <= generation; n++) addSecretValue(r, `tok-${n}`)
      for (const s of options.secrets ?? []) addSecretValue(r, s)
      for (const name of options.redact?.headers ?? []) r.headers.add(name.toLowerCase())
      for (const name of options.redact?.query ?? []) r.query.add(name)
      for (const name of options.redact?.form ?? []) r.form.add(name)
      return r
    },
  }
}

// ---------------------------------------------------------------------------------------------
// The terminal handler
// ---------------------------------------------------------------------------------------------

/** One scripted answer: a result, an error to throw, or a function of the call's context. */
export type Scripted =
  PipelineResult | Error | ((ctx: PipelineContext) => PipelineResult | Promise<PipelineResult>)

/** What the terminal saw on one call: copies, so later steps changing the context do not alter it. */
export interface TerminalCall {
  request: OutgoingRequest
  /** The request as it would go on the wire (credentials applied), when apply auth ran. */
  sent: OutgoingRequest | undefined
  meta: Omit<PipelineContext['meta'], 'sent'>
}

export interface FakeTerminal {
  handler: Handler
  calls: TerminalCall[]
  /** Resolves once the terminal has been called `n` times. */
  called(n: number): Promise<void>
}

export function createFakeTerminal(...script: Scripted[]): FakeTerminal {
  const calls: TerminalCall[] = []
  const waiting: { n: number; resolve: () => void }[] = []
  const handler: Handler = async (ctx) => {
    const { sent, ...meta } = ctx.meta
    calls.push({
      request: cloneRequest(ctx.request),
      sent: sent && cloneRequest(sent),
      meta: { ...meta },
    })
    for (const w of waiting.filter((w) => w.n <= calls.length)) w.resolve()
    const next = script[calls.length - 1]
    if (next === undefined)
      throw new Error(
        `the terminal was called ${calls.length} times; the test scripted ${script.length}`,
      )
    if (next instanceof Error) throw next
    if (typeof next === 'function') return next(ctx)
    // A fresh copy each time: steps set `detected` and replace bodies on the result they get.
    return { ...next, headers: { ...next.headers } }
  }
  return {
    handler,
    calls,
    called: (n) =>
      calls.length >= n
        ? Promise.resolve()
        : new Promise<void>((resolve) => waiting.push({ n, resolve })),
  }
}

/** A result as `send` makes one: a buffered body (text, or JSON for anything else). */
export function answer(
  status: number,
  options: { headers?: Record<string, string | string[]>; body?: unknown } = {},
): PipelineResult {
  const body =
    options.body === undefined
      ? Buffer.alloc(0)
      : typeof options.body === 'string'
        ? Buffer.from(options.body)
        : options.body instanceof Uint8Array
          ? options.body
          : Buffer.from(JSON.stringify(options.body))
  return { status, headers: { ...options.headers }, body }
}

/** A result with a streamed body, as `send` makes one for the proxy. */
export function streamedAnswer(
  status: number,
  chunks: string[],
  headers: Record<string, string | string[]> = {},
): PipelineResult & { body: Readable } {
  return { status, headers, body: Readable.from(chunks.map((c) => Buffer.from(c))) }
}

/** A promise the test settles: for a terminal answer held until the test lets it go. */
export function deferred<T>(): {
  promise: Promise<T>
  resolve: (value: T) => void
  reject: (err: unknown) => void
} {
  let resolve!: (value: T) => void
  let reject!: (err: unknown) => void
  const promise = new Promise<T>((res, rej) => {
    resolve = res
    reject = rej
  })
  return { promise, resolve, reject }
}

// ---------------------------------------------------------------------------------------------
// State and metrics
// ---------------------------------------------------------------------------------------------

/** The breaker and log state the steps keep, on a real store, and the test's view of it. */
export interface TestStore {
  readonly store: Store
  /** The breaker record under `key`, as the steps left it (undefined when never written). */
  breaker(key?: string): Promise<BreakerRecord | undefined>
  /** Changes a breaker record, e.g. to put its cool-down in the past instead of waiting it out. */
  setBreaker(change: (b: BreakerRecord) => BreakerRecord, key?: string): Promise<BreakerRecord>
  /** Every log entry, oldest first. */
  logs(): Promise<LogRecord[]>
  /** Where the log step's entries go: straight to the store, as records. */
  readonly sink: LogSink
  close(): Promise<void>
}

export async function createTestStore(): Promise<TestStore> {
  const store = createSqliteStore({ filename: ':memory:' })
  await store.migrate()
  const writes: Promise<void>[] = []
  return {
    store,
    breaker: (key = TEST_BREAKER_KEY) => store.getBreaker(key),
    setBreaker: (change, key = TEST_BREAKER_KEY) => store.updateBreaker(key, change),
    async logs() {
      await Promise.all(writes)
      const page = await store.listLogs({ limit: 500 })
      return page.items.reverse()
    },
    sink: {
      write(entry) {
        const record: LogRecord = {
          id: `log_${randomUUID()}`,
          time: Date.now(),
          actionId: null,
          method: null,
          url: null,
          status: null,
          durationMs: null,
          refreshed: false,
          refreshOutcome: null,
          breakerState: null,
          detail: null,
          mcpKeyId: null,
          tool: null,
          ...entry,
        }
        writes.push(store.appendLogs([record]))
      },
    },
    close: () => store.close(),
  }
}

export interface FakeObserver extends PipelineObserver {
  readonly calls: { outcome: string; durationMs: number }[]
  readonly opened: number
  readonly logFailures: unknown[]
}

export function createFakeObserver(): FakeObserver {
  const calls: { outcome: string; durationMs: number }[] = []
  const logFailures: unknown[] = []
  let opened = 0
  return {
    calls,
    logFailures,
    get opened() {
      return opened
    },
    call: (outcome, durationMs) => void calls.push({ outcome, durationMs }),
    breakerOpened: () => void opened++,
    logFailed: (err) => void logFailures.push(err),
  }
}
