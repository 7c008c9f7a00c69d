/**
 * The request pipeline (docs/pipeline.md): log → origin guard → breaker → refresh → retry → detect
 * → redirects → rate limit → apply auth → send (docs/concepts.md#the-request-pipeline says why in
 * this order).
 *
 * @module
 */
import type { Dispatcher } from 'undici'
import { applyAuth } from './apply-auth.js'
import { breaker } from './breaker.js'
import { compose } from './compose.js'
import { detect } from './detect.js'
import { log } from './log.js'
import { originGuard } from './origin-guard.js'
import { rateLimit } from './rate-limit.js'
import { followRedirects } from './redirect.js'
import { refresh } from './refresh.js'
import { retry } from './retry.js'
import { createSend } from './send.js'
import type { Handler } from './types.js'

export function createPipeline(dispatcher?: Dispatcher): Handler {
  return compose(
    [log, originGuard, breaker, refresh, retry, detect, followRedirects, rateLimit, applyAuth],
    createSend(dispatcher),
  )
}

export { bufferBody } from './send.js'
export { isErrorResult } from './refresh.js'
export { RETRY_STATUSES, retryAfterMs } from './retry.js'
export { addSecretValue, emptyRedaction, redactText, REDACTED } from './redact.js'
export type * from './types.js'
