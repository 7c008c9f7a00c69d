/**
 * The connector's own rate limit (`rateLimit: { requests, perSeconds }`), per connection and
 * across every process sharing the store: each request to the connector's origins takes one slot
 * in a fixed window of `perSeconds`, counted by an atomic increment in the store (the engine's
 * `RateLimitPort`). A request over the limit waits for the next window when it starts within
 * `maxWaitSeconds`, else fails with `request.rate_limited` and `retryAfter` in its details.
 *
 * Just above apply auth: every request actually sent counts — each retry, the retry after a
 * refresh, each redirect to an allowed origin — and credentials (signatures with a timestamp)
 * are applied after the wait, never before it.
 *
 * @module
 */
import { setTimeout as delay } from 'node:timers/promises'
import { PatchbayError } from '../errors.js'
import type { Handler, PipelineContext, PipelineResult, RateLimitPort, Step } from './types.js'

/** At most this much later than the window's start, so waiting processes do not all wake at once. */
const WAKE_JITTER_MS = 100

function rateLimited(limit: RateLimitPort, waitMs: number): PatchbayError {
  const retryAfter = Math.max(1, Math.ceil(waitMs / 1000))
  const per = limit.periodMs / 1000
  return new PatchbayError(
    'request.rate_limited',
    `the connector's rate limit of ${limit.requests} request${limit.requests > 1 ? 's' : ''} per ${per} s is used up for this connection; the next window starts in ${retryAfter} s, later than the ${limit.maxWaitMs / 1000} s a call may wait (rateLimit.maxWaitSeconds)`,
    { details: { retryAfter, requests: limit.requests, perSeconds: per } },
  )
}

// Not async itself: most connectors have no limit, and their calls pass straight through.
export const rateLimit: Step = (next) => (ctx) => {
  const limit = ctx.rateLimit
  // A redirect to another origin is not a request to the connector's API.
  if (!limit || !ctx.allowedOrigins.has(ctx.request.url.origin)) return next(ctx)
  return takeSlot(limit, ctx, next)
}

async function takeSlot(
  limit: RateLimitPort,
  ctx: PipelineContext,
  next: Handler,
): Promise<PipelineResult> {
  const started = Date.now()
  const deadline = started + limit.maxWaitMs
  for (;;) {
    const now = Date.now()
    const windowStart = now - (now % limit.periodMs)
    if (await limit.take(windowStart)) break
    const nextWindow = windowStart + limit.periodMs
    if (nextWindow > deadline) throw rateLimited(limit, nextWindow - now)
    const jitter = Math.random() * Math.min(WAKE_JITTER_MS, limit.periodMs / 10)
    await delay(nextWindow - now + jitter)
  }
  ctx.meta.rateLimitWaitMs += Date.now() - started
  return next(ctx)
}
