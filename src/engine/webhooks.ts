/**
 * Webhooks out (docs/connect.md): each connection event is POSTed as JSON to
 * `PATCHBAY_WEBHOOK_URL`, signed with `PATCHBAY_WEBHOOK_SECRET`, retried with bounded exponential
 * backoff and jitter, and every attempt and its outcome is appended to the logs (kind `webhook`).
 *
 * The signature, in the `X-Patchbay-Signature` header, is `t=<unix seconds>,v1=<hex>` where `<hex>`
 * is HMAC-SHA256, keyed with the secret, over `"<t>.<raw body>"` (the scheme Stripe uses). Each
 * attempt is signed afresh, so a receiver can refuse timestamps older than a few minutes; the
 * event `id` stays the same across attempts, for deduplication.
 *
 * Events wait in the store's outbox (`webhook_events`, written with the change that caused them:
 * `events.ts`), so they survive restarts and any process delivers them: a deliverer claims due
 * events with a lease (`Store.claimWebhookEvents`), attempts them, and records each attempt. Only
 * the oldest pending event of a connection is ever due, so a connection's events arrive in order,
 * each at least once. After the last try an event is dead-lettered (`dead`) and no longer holds
 * back the events after it; `retry` sends it again. A deliverer that dies mid-attempt leaves its
 * lease to lapse (`leaseMs`), and the event is attempted again.
 *
 * Outgoing calls go through the engine's HTTP client, so the network policy applies to the URL.
 *
 * @module
 */
import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto'
import { PatchbayError, invalidInput, isPatchbayError } from '../errors.js'
import type { HttpClient } from '../lib/http.js'
import type { Logger } from '../lib/logger.js'
import type { LogSink } from '../pipeline/index.js'
import { WEBHOOK_EVENT_STATUSES, type WebhookEventStatus } from '../connector/literals.js'
import type { Page, PageQuery, Store, WebhookEventRecord } from '../store/store.js'
import type { ConnectionEventType } from './events.js'

export interface WebhookOptions {
  /** Where events are POSTed (`PATCHBAY_WEBHOOK_URL`). */
  url: string
  /** The HMAC key (`PATCHBAY_WEBHOOK_SECRET`), at least 16 characters. */
  secret: string
  /**
   * Waits before each retry, ms, each varied by ±25 % (jitter); its length + 1 is the number of
   * tries. Default {@link DEFAULT_RETRY_DELAYS_MS}: seven tries over about an hour and a half.
   */
  retryDelaysMs?: number[]
  /** How often a process looks for events to deliver (other processes' and due retries), ms. Default 1 s. */
  pollIntervalMs?: number
  /**
   * How long a claimed event stays with the process attempting it, ms; an attempt still running
   * then (its process died) is taken over. Longer than an attempt can take. Default 60 s.
   */
  leaseMs?: number
}

/** The JSON body of a delivery. */
export interface WebhookPayload {
  id: string
  type: ConnectionEventType
  createdAt: string
  data: { connectionId: string; connectorId: string; endUser: string | null }
}

/** 1 s, 10 s, 1 min, 5 min, 30 min, 1 h: seven tries over about 1 h 37 min. */
export const DEFAULT_RETRY_DELAYS_MS = [1_000, 10_000, 60_000, 300_000, 1_800_000, 3_600_000]
/** A receiver has this long to answer (headers, then body), ms. */
export const WEBHOOK_TIMEOUT_MS = 10_000
const DEFAULT_POLL_MS = 1_000
const DEFAULT_LEASE_MS = 60_000
/** Events claimed (and attempted at once) per round. */
const CLAIM_BATCH = 10
export const SIGNATURE_HEADER = 'x-patchbay-signature'

/** The webhook settings from the environment, or undefined when no URL is set. */
export function webhookOptionsFromEnv(env: NodeJS.ProcessEnv): WebhookOptions | undefined {
  const url = env.PATCHBAY_WEBHOOK_URL?.trim()
  if (!url) return undefined
  return { url, secret: env.PATCHBAY_WEBHOOK_SECRET ?? '' }
}

/** Throws a precise error for settings that cannot work. */
export function checkWebhookOptions(options: WebhookOptions): void {
  let url: URL | undefined
  try {
    url = new URL(options.url)
  } catch {
    url = undefined
  }
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:'))
    throw new PatchbayError('input.invalid', '"PATCHBAY_WEBHOOK_URL" must be an http(s) URL', {
      details: [{ path: 'PATCHBAY_WEBHOOK_URL', rule: 'must be an http(s) URL' }],
    })
  if (options.secret.length < 16)
    throw new PatchbayError(
      'input.invalid',
      '"PATCHBAY_WEBHOOK_SECRET" must be set (at least 16 characters) when PATCHBAY_WEBHOOK_URL is',
      { details: [{ path: 'PATCHBAY_WEBHOOK_SECRET', rule: 'must be at least 16 characters' }] },
    )
  for (const d of options.retryDelaysMs ?? [])
    if (!Number.isFinite(d) || d < 0)
      throw new PatchbayError('input.invalid', '"retryDelaysMs" must hold non-negative numbers')
  for (const key of ['pollIntervalMs', 'leaseMs'] as const) {
    const v = options[key]
    if (v !== undefined && !(Number.isFinite(v) && v > 0))
      throw new PatchbayError('input.invalid', `"${key}" must be a positive number`)
  }
}

/** `t=<unix>,v1=<hex HMAC-SHA256 over "<t>.<body>">`. */
export function signWebhook(secret: string, body: string, unixSeconds: number): string {
  const v1 = createHmac('sha256', secret).update(`${unixSeconds}.${body}`).digest('hex')
  return `t=${unixSeconds},v1=${v1}`
}

/**
 * Checks a signature header against the raw body: timing-safe, and refusing timestamps more than
 * `toleranceSeconds` (default 300) away from `now`.
 */
export function verifyWebhookSignature(
  secret: string,
  header: string | undefined,
  body: string,
  options: { toleranceSeconds?: number; now?: number } = {},
): boolean {
  if (!header) return false
  const parts = new Map<string, string[]>()
  for (const item of header.split(',')) {
    const i = item.indexOf('=')
    if (i < 1) continue
    const k = item.slice(0, i).trim()
    parts.set(k, [...(parts.get(k) ?? []), item.slice(i + 1).trim()])
  }
  const t = Number(parts.get('t')?.[0])
  if (!Number.isInteger(t)) return false
  const now = Math.floor((options.now ?? Date.now()) / 1000)
  if (Math.abs(now - t) > (options.toleranceSeconds ?? 300)) return false
  const expected = Buffer.from(
    createHmac('sha256', secret).update(`${t}.${body}`).digest('hex'),
    'utf8',
  )
  return (parts.get('v1') ?? []).some((v) => {
    const given = Buffer.from(v, 'utf8')
    return given.length === expected.length && timingSafeEqual(given, expected)
  })
}

export interface WebhookDelivererDeps {
  store: Store
  http: HttpClient
  log: LogSink
  logger: Logger
  now: () => number
}

export interface WebhookDeliverer {
  /**
   * Looks for due events now (a change just wrote one, or one was retried). The first call starts
   * the deliverer: from then on it also looks every `pollIntervalMs`.
   */
  wake(): void
  /** Resolves when no event is pending in the outbox and no attempt runs here (tests, shutdown). */
  idle(): Promise<void>
  /** Stops claiming events and waits for the attempts in flight (which record their outcome). */
  close(): Promise<void>
}

/** The JSON body of an event's deliveries: the same on every attempt. */
export function webhookPayload(event: WebhookEventRecord): WebhookPayload {
  return {
    id: event.id,
    type: event.type as ConnectionEventType,
    createdAt: new Date(event.createdAt).toISOString(),
    data: {
      connectionId: event.connectionId,
      connectorId: event.connectorId,
      endUser: event.endUser,
    },
  }
}

/** A wait varied by ±25 %, so receivers that failed together are not retried together. */
function jittered(ms: number): number {
  return Math.round(ms * (0.75 + Math.random() * 0.5))
}

export function createWebhookDeliverer(
  deps: WebhookDelivererDeps,
  options: WebhookOptions,
): WebhookDeliverer {
  checkWebhookOptions(options)
  const { store } = deps
  const delays = options.retryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS
  const tries = delays.length + 1
  const pollMs = options.pollIntervalMs ?? DEFAULT_POLL_MS
  const leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS
  const target = new URL(options.url)
  // Logged without its query: a webhook URL may carry a token there.
  const loggedUrl = `${target.origin}${target.pathname}`
  const owner = `whd_${randomUUID()}`
  let closed = false
  let running: Promise<void> | undefined
  let again = false
  let timer: NodeJS.Timeout | undefined
  let timerAt = Infinity
  let waiters: (() => void)[] = []

  function log(
    payload: WebhookPayload,
    attempt: number,
    outcome: 'delivered' | 'retrying' | 'failed',
    status: number | null,
    durationMs: number,
    error: string | null,
  ): void {
    deps.log.write({
      kind: 'webhook',
      connectorId: payload.data.connectorId,
      connectionId: payload.data.connectionId,
      method: 'POST',
      url: loggedUrl,
      status,
      durationMs,
      error,
      detail: { eventId: payload.id, type: payload.type, attempt, tries, outcome },
    })
  }

  /** Wakes the deliverer at `at` at the latest (the earliest of the times asked for wins). */
  function schedule(at: number): void {
    if (closed || (timer && timerAt <= at)) return
    if (timer) clearTimeout(timer)
    timerAt = at
    timer = setTimeout(
      () => {
        timer = undefined
        timerAt = Infinity
        wake()
      },
      Math.max(0, at - deps.now()),
    )
    timer.unref()
  }

  async function attempt(event: WebhookEventRecord): Promise<void> {
    const n = event.attempts + 1
    const payload = webhookPayload(event)
    const body = JSON.stringify(payload)
    const started = performance.now()
    let status: number | null = null
    let error: string | null = null
    let permanent = false
    try {
      const res = await deps.http(options.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'Patchbay-Webhooks/1',
          'x-patchbay-event-id': payload.id,
          'x-patchbay-event-type': payload.type,
          [SIGNATURE_HEADER]: signWebhook(options.secret, body, Math.floor(deps.now() / 1000)),
        },
        body,
      })
      status = res.status
      if (status < 200 || status >= 300) error = `the receiver answered ${status}`
    } catch (err) {
      // The network policy refusing the URL does not change between tries.
      permanent = isPatchbayError(err, 'request.network_refused')
      error = isPatchbayError(err) ? `${err.code}: ${err.message}` : String(err)
    }
    const ms = Math.round(performance.now() - started)
    const at = deps.now()
    if (error === null) {
      await store.settleWebhookEvent(event.id, owner, {
        status: 'delivered',
        nextAttemptAt: at,
        lastStatus: status,
        lastError: null,
        at,
      })
      log(payload, n, 'delivered', status, ms, null)
      return
    }
    const last = permanent || n >= tries
    const nextAttemptAt = last ? at : at + jittered(delays[n - 1] ?? 0)
    await store.settleWebhookEvent(event.id, owner, {
      status: last ? 'dead' : 'pending',
      nextAttemptAt,
      lastStatus: status,
      lastError: error,
      at,
    })
    log(payload, n, last ? 'failed' : 'retrying', status, ms, error)
    if (last)
      deps.logger.warn(
        { eventId: payload.id, type: payload.type, error },
        'webhook not delivered: dead-lettered',
      )
    else schedule(nextAttemptAt)
  }

  async function drain(): Promise<void> {
    for (;;) {
      again = false
      if (closed) return
      const claimed = await store.claimWebhookEvents({
        owner,
        now: deps.now(),
        leaseMs,
        limit: CLAIM_BATCH,
      })
      if (claimed.length === 0) break
      // Different connections (one claimable event each): attempted side by side.
      await Promise.all(
        claimed.map((e) =>
          attempt(e).catch((err: unknown) =>
            deps.logger.error({ err, eventId: e.id }, 'webhook delivery failed'),
          ),
        ),
      )
    }
    if (waiters.length) {
      const pending = await store.listWebhookEvents({ status: 'pending', limit: 1 })
      if (pending.items.length === 0) {
        const w = waiters
        waiters = []
        w.forEach((f) => f())
      }
    }
  }

  function wake(): void {
    if (closed) return
    if (running) {
      again = true
      return
    }
    running = drain()
      .catch((err: unknown) => deps.logger.error({ err }, 'could not read the webhook outbox'))
      .finally(() => {
        running = undefined
        if (again) wake()
        else schedule(deps.now() + pollMs)
      })
  }

  return {
    wake,
    idle() {
      if (closed) return Promise.resolve()
      return new Promise((resolve) => {
        waiters.push(resolve)
        wake()
      })
    },
    async close() {
      closed = true
      if (timer) clearTimeout(timer)
      timer = undefined
      await running
      const w = waiters
      waiters = []
      w.forEach((f) => f())
    },
  }
}

/** A webhook event as the API answers it. */
export interface WebhookEventView {
  id: string
  type: string
  connectionId: string
  connectorId: string
  endUser: string | null
  status: WebhookEventStatus
  attempts: number
  createdAt: string
  /** When the next attempt may start; null unless pending. */
  nextAttemptAt: string | null
  lastAttemptAt: string | null
  /** The receiver's status on the last attempt (null: no answer, or none yet). */
  lastStatus: number | null
  lastError: string | null
  deliveredAt: string | null
  deadAt: string | null
}

export interface WebhookEventFilterInput extends PageQuery {
  status?: string | undefined
  connection?: string | undefined
}

export interface WebhookEvents {
  /** Newest first; `status` one of pending, delivered, dead. */
  list(filter: WebhookEventFilterInput): Promise<Page<WebhookEventView>>
  get(id: string): Promise<WebhookEventView>
  /** Sends a dead-lettered event again, as a new series of tries (same event id). */
  retry(id: string): Promise<WebhookEventView>
}

const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString())

export function webhookEventView(e: WebhookEventRecord): WebhookEventView {
  return {
    id: e.id,
    type: e.type,
    connectionId: e.connectionId,
    connectorId: e.connectorId,
    endUser: e.endUser,
    status: e.status,
    attempts: e.attempts,
    createdAt: new Date(e.createdAt).toISOString(),
    nextAttemptAt: e.status === 'pending' ? iso(e.nextAttemptAt) : null,
    lastAttemptAt: iso(e.lastAttemptAt),
    lastStatus: e.lastStatus,
    lastError: e.lastError,
    deliveredAt: e.status === 'delivered' ? iso(e.finishedAt) : null,
    deadAt: e.status === 'dead' ? iso(e.finishedAt) : null,
  }
}

function notFound(id: string): PatchbayError {
  return new PatchbayError(
    'webhook_event.not_found',
    `no webhook event "${id}"; list them with GET /api/v1/webhook-events`,
  )
}

export function createWebhookEvents(
  store: Store,
  now: () => number,
  deliverer: WebhookDeliverer | undefined,
): WebhookEvents {
  async function find(id: string): Promise<WebhookEventRecord> {
    const event = await store.getWebhookEvent(id)
    if (!event) throw notFound(id)
    return event
  }
  return {
    async list({ status, connection, ...page }) {
      if (status !== undefined && !(WEBHOOK_EVENT_STATUSES as readonly string[]).includes(status))
        throw invalidInput([
          { path: 'status', rule: `must be one of ${WEBHOOK_EVENT_STATUSES.join(', ')}` },
        ])
      const found = await store.listWebhookEvents({
        ...page,
        status: status as WebhookEventStatus | undefined,
        connectionId: connection,
      })
      return { ...found, items: found.items.map(webhookEventView) }
    },
    get: async (id) => webhookEventView(await find(id)),
    async retry(id) {
      if (!(await store.retryWebhookEvent(id, now()))) {
        const event = await find(id)
        throw new PatchbayError(
          'webhook_event.not_dead',
          `webhook event "${id}" is ${event.status}: only a dead-lettered event can be retried`,
          { details: { status: event.status } },
        )
      }
      // Read before the deliverer wakes: the answer is the event as the retry left it, pending.
      const pending = webhookEventView(await find(id))
      deliverer?.wake()
      return pending
    },
  }
}
