/**
 * Sends a 429 (RFC 6585 §4) or 503 (RFC 9110 §15.6.4) answer's request again: after the answer's
 * `Retry-After` (RFC 9110 §10.2.3, seconds or an HTTP-date) when it has one, else after a bounded
 * exponential backoff, both with jitter; at most `maxRetries` times and `maxWaitMs` of waiting in
 * all for one call (the budget is the call's, so the retry after a refresh does not start a new
 * one). Only idempotent methods (RFC 9110 §9.2.2) unless the connector lists others.
 *
 * Below the breaker, so a rate-limited request that a retry cures is not an outage, and a
 * half-open breaker's single trial is never kept waiting: it answers the first 429 or 503 as it
 * is. Above detect, redirects and apply auth, so every attempt starts from the caller's request
 * with the credentials applied afresh (docs/concepts.md#the-request-pipeline).
 *
 * @module
 */
import { setTimeout as delay } from 'node:timers/promises'
import { cloneRequest } from '../lib/request.js'
import { discardBody } from './send.js'
import type { PipelineContext, PipelineResult, Step } from './types.js'

/** The statuses that ask the client to come back later. */
export const RETRY_STATUSES: ReadonlySet<number> = new Set([429, 503])

/** Backoff without `Retry-After`: 0.5 s, 1 s, 2 s … at most 8 s, each between half and all of it. */
export const BACKOFF_BASE_MS = 500
export const BACKOFF_CAP_MS = 8_000

const ASCTIME_RE = /^[A-Za-z]{3} [A-Za-z]{3} [ \d]\d \d\d:\d\d:\d\d \d{4}$/

/**
 * How long a `Retry-After` value asks to wait, ms from `now`: delay-seconds, or an HTTP-date
 * (IMF-fixdate, or the obsolete RFC 850 and asctime forms a recipient must read); undefined when
 * the value is neither. A date in the past means now.
 *
 * @see https://www.rfc-editor.org/rfc/rfc9110#section-10.2.3
 * @see https://www.rfc-editor.org/rfc/rfc9110#section-5.6.7
 */
export function retryAfterMs(
  value: string | string[] | undefined,
  now: number,
): number | undefined {
  const text = (Array.isArray(value) ? value[0] : value)?.trim()
  if (!text) return undefined
  if (/^\d+$/.test(text)) return Number(text) * 1000
  if (!/^[A-Za-z]{3}/.test(text)) return undefined
  // asctime carries no zone; HTTP dates are always UTC.
  const at = Date.parse(ASCTIME_RE.test(text) ? `${text} GMT` : text)
  return Number.isNaN(at) ? undefined : Math.max(0, at - now)
}

/** The wait before retry `attempt` (1-based) when the answer named none: equal jitter. */
export function backoffMs(attempt: number, random: () => number = Math.random): number {
  const cap = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** (attempt - 1))
  return cap / 2 + random() * (cap / 2)
}

/** The wait for a `Retry-After` of `askedMs`: never earlier, at most 10 % (and 1 s) later. */
export function retryAfterJitterMs(askedMs: number, random: () => number = Math.random): number {
  return askedMs + random() * Math.min(1_000, askedMs / 10)
}

function waitedMs(ctx: PipelineContext): number {
  return ctx.meta.retries.reduce((sum, r) => sum + r.waitMs, 0)
}

export const retry: Step = (next) => async (ctx) => {
  const original = cloneRequest(ctx.request)
  const policy = ctx.retry
  // A pass after a refresh says for itself whether it stopped.
  delete ctx.meta.retryStopped
  let result = await next(ctx)
  for (;;) {
    if (!RETRY_STATUSES.has(result.status)) return result
    const header = result.headers['retry-after']
    const asked = retryAfterMs(header, Date.now())
    const stop = (why: string): PipelineResult => {
      ctx.meta.retryStopped = why
      if (asked !== undefined) result.retryAfter = Math.ceil(asked / 1000)
      return result
    }
    if (!policy.methods.has(original.method))
      return stop(
        `not retried: ${original.method} is not idempotent (list it in retry.methods, or set retry.unsafe)`,
      )
    // The trial decides the breaker's state: keeping it waiting would keep every caller waiting.
    if (ctx.meta.breakerState === 'half_open')
      return stop("not retried: the call is the circuit breaker's half-open trial")
    const attempt = ctx.meta.retries.length + 1
    if (attempt > policy.maxRetries)
      return stop(
        policy.maxRetries === 0
          ? 'not retried: retry.maxRetries is 0'
          : `retried ${policy.maxRetries} time${policy.maxRetries > 1 ? 's' : ''} (retry.maxRetries)`,
      )
    const wait = Math.round(asked !== undefined ? retryAfterJitterMs(asked) : backoffMs(attempt))
    const left = policy.maxWaitMs - waitedMs(ctx)
    if (wait > left)
      return stop(
        `not retried: waiting ${Math.ceil((asked ?? wait) / 1000)} s is more than the ${Math.max(0, Math.floor(left / 1000))} s left of retry.maxWaitSeconds`,
      )
    discardBody(result)
    const asText = Array.isArray(header) ? header[0] : header
    ctx.meta.retries.push({
      status: result.status,
      waitMs: wait,
      after: asked !== undefined ? `Retry-After: ${asText?.trim()}` : 'backoff',
    })
    await delay(wait)
    ctx.request = cloneRequest(original)
    ctx.meta.redirects = 0
    ctx.meta.credentialsWithheld = false
    result = await next(ctx)
  }
}
