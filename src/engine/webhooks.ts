/**
 * Webhooks out (SPEC §8): each connection event is POSTed as JSON to `PATCHBAY_WEBHOOK_URL`,
 * signed with `PATCHBAY_WEBHOOK_SECRET`, retried with exponential backoff, and every attempt and
 * its outcome is appended to the logs (kind `webhook`).
 *
 * The signature, in the `X-Patchbay-Signature` header, is `t=<unix seconds>,v1=<hex>` where `<hex>`
 * is HMAC-SHA256, keyed with the secret, over `"<t>.<raw body>"` (the scheme Stripe uses). Each
 * attempt is signed afresh, so a receiver can refuse timestamps older than a few minutes; the
 * event `id` stays the same across attempts, for deduplication.
 *
 * Delivery is at least once while the process runs: pending retries are not kept across restarts.
 * Outgoing calls go through the engine's HTTP client, so the network policy applies to the URL.
 *
 * @module
 */
import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto'
import { PatchbayError, isPatchbayError } from '../errors.js'
import type { HttpClient } from '../lib/http.js'
import type { Logger } from '../lib/logger.js'
import type { LogSink } from '../pipeline/index.js'
import type { ConnectionEvent, ConnectionEventType } from './events.js'

export interface WebhookOptions {
  /** Where events are POSTed (`PATCHBAY_WEBHOOK_URL`). */
  url: string
  /** The HMAC key (`PATCHBAY_WEBHOOK_SECRET`), at least 16 characters. */
  secret: string
  /**
   * Waits before each retry, ms; its length + 1 is the number of tries. Default
   * `[1000, 10000, 60000, 300000]`: five tries over about six minutes.
   */
  retryDelaysMs?: number[]
}

/** The JSON body of a delivery. */
export interface WebhookPayload {
  id: string
  type: ConnectionEventType
  createdAt: string
  data: { connectionId: string; connectorId: string; endUser: string | null }
}

export const DEFAULT_RETRY_DELAYS_MS = [1_000, 10_000, 60_000, 300_000]
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

export interface WebhookSenderDeps {
  http: HttpClient
  log: LogSink
  logger: Logger
  now: () => number
}

export interface WebhookSender {
  /** Queues an event for delivery; returns at once. */
  send(event: ConnectionEvent): void
  /** Resolves when nothing is in flight or waiting for a retry (tests, graceful shutdown). */
  idle(): Promise<void>
  /** Drops waiting retries and waits for attempts in flight. */
  close(): Promise<void>
}

export function createWebhookSender(
  deps: WebhookSenderDeps,
  options: WebhookOptions,
): WebhookSender {
  checkWebhookOptions(options)
  const delays = options.retryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS
  const tries = delays.length + 1
  const target = new URL(options.url)
  // Logged without its query: a webhook URL may carry a token there.
  const loggedUrl = `${target.origin}${target.pathname}`
  const timers = new Set<NodeJS.Timeout>()
  const inflight = new Set<Promise<void>>()
  let pending = 0
  let waiters: (() => void)[] = []
  let closed = false

  const settle = () => {
    pending--
    if (pending === 0) {
      const w = waiters
      waiters = []
      w.forEach((f) => f())
    }
  }

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

  async function attempt(payload: WebhookPayload, body: string, n: number): Promise<void> {
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
    if (error === null) {
      log(payload, n, 'delivered', status, ms, null)
      return
    }
    const last = permanent || n >= tries || closed
    log(payload, n, last ? 'failed' : 'retrying', status, ms, error)
    if (last) {
      deps.logger.warn({ eventId: payload.id, type: payload.type, error }, 'webhook not delivered')
      return
    }
    pending++
    const timer = setTimeout(
      () => {
        timers.delete(timer)
        run(payload, body, n + 1)
        settle()
      },
      delays[n - 1] ?? 0,
    )
    timer.unref()
    timers.add(timer)
  }

  function run(payload: WebhookPayload, body: string, n: number): void {
    if (closed) return
    pending++
    const p = attempt(payload, body, n)
      .catch((err: unknown) => deps.logger.error({ err }, 'webhook delivery failed'))
      .finally(() => {
        inflight.delete(p)
        settle()
      })
    inflight.add(p)
  }

  return {
    send(event) {
      const payload: WebhookPayload = {
        id: `evt_${randomUUID()}`,
        type: event.type,
        createdAt: new Date(event.at).toISOString(),
        data: {
          connectionId: event.connectionId,
          connectorId: event.connectorId,
          endUser: event.endUser,
        },
      }
      run(payload, JSON.stringify(payload), 1)
    },
    idle() {
      return pending === 0 ? Promise.resolve() : new Promise((resolve) => waiters.push(resolve))
    },
    async close() {
      closed = true
      for (const t of timers) {
        clearTimeout(t)
        timers.delete(t)
        settle()
      }
      await Promise.allSettled([...inflight])
    },
  }
}
