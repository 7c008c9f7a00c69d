/**
 * `detectOn` — an error hidden behind a 2xx (docs/pipeline.md).
 *
 * @module
 */
import { PatchbayError } from '../errors.js'
import { bufferBody } from './send.js'
import { firstMatch, needsBody } from './signals.js'
import type { Signal } from '../connector/schema.js'
import type { Handler, PipelineContext, PipelineResult, Step } from './types.js'

// Not async itself: a connector without signals passes its calls straight through.
export const detect: Step = (next) => (ctx) => {
  const signals = ctx.detectOn
  if (!signals?.length) return next(ctx)
  return detectIn(signals, next, ctx)
}

async function detectIn(
  signals: Signal[],
  next: Handler,
  ctx: PipelineContext,
): Promise<PipelineResult> {
  const result = await next(ctx)
  const text = needsBody(signals)
    ? Buffer.from(await bufferBody(result)).toString('utf8')
    : undefined
  const hit = firstMatch(signals, result.status, text)
  if (hit !== undefined) {
    result.detected = new PatchbayError(
      'request.detected_error',
      `the response matched the detectOn signal ${JSON.stringify(hit)} (status ${result.status})`,
    )
  }
  return result
}
