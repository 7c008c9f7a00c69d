/**
 * Credentials on a copy of the request, so retries and redirects start clean.
 *
 * @module
 */
import { cloneRequest } from '../lib/request.js'
import type { Step } from './types.js'

export const applyAuth: Step = (next) => async (ctx) => {
  const wire = cloneRequest(ctx.request)
  if (!ctx.meta.credentialsWithheld) await ctx.auth.apply(wire)
  ctx.meta.sent = wire
  return next(ctx)
}
