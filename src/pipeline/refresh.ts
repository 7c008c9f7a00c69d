/**
 * Steps 5–6: refresh ahead of expiry, and on an error whose signal matches `refreshOn` (any error
 * when `refreshOn` is absent, as in Workato) re-acquire once and retry once — never a loop.
 * Coalescing concurrent refreshes is the engine's `reacquire` (single flight + store lock).
 *
 * @module
 */
import { PatchbayError, isPatchbayError } from '../errors.js'
import { cloneRequest } from '../lib/request.js'
import { bufferBody, discardBody } from './send.js'
import { firstMatch, needsBody } from './signals.js'
import type { PipelineResult, Step } from './types.js'

export function isErrorResult(result: PipelineResult): boolean {
  return result.status >= 400 || result.detected !== undefined
}

export const refresh: Step = (next) => async (ctx) => {
  const due = await ctx.auth.refreshIfDue()
  if (due.refreshed) {
    ctx.meta.refreshed = true
    ctx.meta.refreshOutcome = due.outcome ?? 'refreshed ahead of expiry'
  } else if (due.outcome) {
    // An early refresh that failed while the token still works: the call goes on, and says so.
    ctx.meta.refreshOutcome = due.outcome
  } else if (ctx.auth.refreshInFlight()) {
    // These credentials are being re-acquired (most often because a call just had them refused):
    // this call waits for the new ones rather than send ones on their way out (a storm sends
    // each call once).
    try {
      await ctx.auth.reacquire()
      ctx.meta.refreshed = true
      ctx.meta.refreshOutcome = 'waited for a refresh under way'
    } catch {
      // That refresh failed: this call goes with what it has, and answers for itself.
    }
  }
  const original = cloneRequest(ctx.request)
  const result = await next(ctx)
  if (!isErrorResult(result) || !ctx.auth.canRefresh || ctx.meta.credentialsWithheld) return result
  if (ctx.refreshOn?.length) {
    const text = needsBody(ctx.refreshOn)
      ? Buffer.from(await bufferBody(result)).toString('utf8')
      : undefined
    if (firstMatch(ctx.refreshOn, result.status, text) === undefined) return result
  }
  discardBody(result)
  try {
    await ctx.auth.reacquire()
  } catch (err) {
    ctx.meta.refreshed = true
    ctx.meta.refreshOutcome = `failed: ${isPatchbayError(err) ? err.code : 'error'}`
    throw err
  }
  ctx.meta.refreshed = true
  ctx.meta.refreshOutcome = `refreshed after ${result.detected ? 'a detectOn match' : `status ${result.status}`}; retried once`
  ctx.request = original
  ctx.meta.redirects = 0
  ctx.meta.credentialsWithheld = false
  const retried = await next(ctx)
  // Fresh credentials refused too: the call ends here, and says why (never a second re-acquire).
  if (!retried.detected && (retried.status === 401 || ctx.refreshOn?.includes(retried.status))) {
    retried.detected = new PatchbayError(
      'request.auth_rejected',
      `the API answered ${retried.status} again after the credentials were re-acquired; the call was retried once and stops here: check the connector's auth settings and the connection's values`,
    )
  }
  return retried
}
