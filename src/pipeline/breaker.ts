/**
 * The circuit breaker. Its state is the engine's (`BreakerPort`), shared by every process on the
 * store. After `threshold` consecutive failures it opens; calls fail fast until
 * `cooldownMs` passes; then exactly one trial call decides.
 *
 * Failures: errors thrown below (unreachable, timeout, failed refresh), 5xx, 429, a 401 that
 * survived refresh, and `detectOn` matches. Other 4xx are the caller's mistakes, not an outage.
 *
 * @module
 */
import { PatchbayError } from '../errors.js'
import type { BreakerRecord } from '../store/store.js'
import type { PipelineContext, PipelineResult, Step } from './types.js'

export function isBreakerFailure(result: PipelineResult): boolean {
  return (
    result.status >= 500 ||
    result.status === 429 ||
    result.status === 401 ||
    result.detected !== undefined
  )
}

const NOT_UPSTREAM_FAILURES = new Set<string>([
  'request.origin_refused',
  'request.network_refused',
  'request.invalid',
  // The connector's own limit, reached before anything was sent.
  'request.rate_limited',
])

export const breaker: Step = (next) => async (ctx) => {
  const port = ctx.breaker
  const current = await port.read()
  let trial = false
  if (current && current.state !== 'closed') {
    const now = Date.now()
    const after = await port.update((b) => {
      const trialLapsed =
        b.state === 'half_open' && (b.trialAt ?? 0) + port.settings.cooldownMs <= now
      if ((b.state === 'open' && (b.retryAt ?? 0) <= now) || trialLapsed) {
        trial = true
        return { ...b, state: 'half_open', trialAt: now }
      }
      return b
    })
    if (!trial && after.state !== 'closed') {
      ctx.meta.breakerState = after.state
      const retryAt =
        after.state === 'open' ? after.retryAt : (after.trialAt ?? now) + port.settings.cooldownMs
      throw new PatchbayError(
        'breaker.open',
        `the circuit breaker is open after ${after.failures} consecutive failures; calls resume ${retryAt ? `after ${new Date(retryAt).toISOString()}` : 'after the cool-down'}`,
        {
          details: {
            breaker: port.key,
            state: after.state,
            failures: after.failures,
            retryAt,
          },
        },
      )
    }
  }
  ctx.meta.breakerState = trial ? 'half_open' : 'closed'
  let result: PipelineResult
  try {
    result = await next(ctx)
  } catch (err) {
    // Refusals of the request itself say nothing about the upstream's health.
    if (!(err instanceof PatchbayError && NOT_UPSTREAM_FAILURES.has(err.code)))
      await recordFailure(ctx)
    throw err
  }
  if (isBreakerFailure(result)) await recordFailure(ctx)
  else if (trial || (current && current.failures > 0)) await recordSuccess(ctx)
  return result
}

async function recordFailure(ctx: PipelineContext): Promise<void> {
  const now = Date.now()
  let opened = false
  const { settings } = ctx.breaker
  const b = await ctx.breaker.update((b): BreakerRecord => {
    const failures = b.failures + 1
    if (b.state === 'half_open' || (b.state === 'closed' && failures >= settings.threshold)) {
      opened = true
      return {
        ...b,
        state: 'open',
        failures,
        openedAt: now,
        retryAt: now + settings.cooldownMs,
        trialAt: null,
      }
    }
    return { ...b, failures }
  })
  if (opened) ctx.observer?.breakerOpened()
  ctx.meta.breakerState = b.state
}

async function recordSuccess(ctx: PipelineContext): Promise<void> {
  const b = await ctx.breaker.update((b) => ({
    ...b,
    state: 'closed',
    failures: 0,
    openedAt: null,
    retryAt: null,
    trialAt: null,
  }))
  ctx.meta.breakerState = b.state
}
