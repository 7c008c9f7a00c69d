/**
 * `detectOn` — an error hidden behind a 2xx (docs/pipeline.md).
 *
 * @module
 */
import { PatchbayError } from '../errors.js'
import { bufferBody } from './send.js'
import { firstMatch, needsBody } from './signals.js'
import type { Step } from './types.js'

export const detect: Step = (next) => async (ctx) => {
  const result = await next(ctx)
  const signals = ctx.detectOn
  if (!signals?.length) return result
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
