/**
 * Credentials never go to another origin (docs/pipeline.md).
 *
 * @module
 */
import { PatchbayError } from '../errors.js'
import type { Step } from './types.js'

export const originGuard: Step = (next) => (ctx) => {
  const origin = ctx.request.url.origin
  if (!ctx.allowedOrigins.has(origin)) {
    return Promise.reject(
      new PatchbayError(
        'request.origin_refused',
        `${origin} is not this connector's origin; credentials only go to ${[...ctx.allowedOrigins].join(', ')} (add it to the connector's allowedOrigins to allow it)`,
        { details: [{ path: 'url', rule: 'must be on the connector’s origin' }] },
      ),
    )
  }
  return next(ctx)
}
