/**
 * Every call is logged once, redacted: the step hands the entry to the engine's log writer, which
 * stores it. Outermost, so it also records refused calls and open breakers.
 *
 * @module
 */
import { isPatchbayError } from '../errors.js'
import { encodeBody, type OutgoingRequest } from '../lib/request.js'
import { redactBody, redactHeaders, redactText, redactUrl } from './redact.js'
import type { LogEntry, PipelineContext, PipelineResult, Redaction, Step } from './types.js'

const BODY_LOG_LIMIT = 4096

export const log: Step = (next) => async (ctx) => {
  const started = performance.now()
  let result: PipelineResult | undefined
  let error: unknown
  try {
    result = await next(ctx)
    return result
  } catch (err) {
    error = err
    throw err
  } finally {
    const durationMs = Math.round(performance.now() - started)
    ctx.observer?.call(
      result
        ? `${Math.floor(result.status / 100)}xx`
        : isPatchbayError(error)
          ? error.code
          : 'error',
      durationMs,
    )
    try {
      ctx.log.sink.write(entryOf(ctx, result, error, durationMs))
    } catch (err) {
      // A log entry must not fail the call it describes.
      ctx.observer?.logFailed(err)
    }
  }
}

function entryOf(
  ctx: PipelineContext,
  result: PipelineResult | undefined,
  error: unknown,
  durationMs: number,
): LogEntry {
  const r = ctx.auth.redaction()
  const sent = ctx.meta.sent ?? ctx.request
  return {
    kind: 'request',
    connectorId: ctx.log.connectorId,
    connectionId: ctx.log.connectionId,
    actionId: ctx.log.actionId,
    mcpKeyId: ctx.log.mcpKeyId,
    tool: ctx.log.tool,
    method: sent.method,
    url: redactUrl(sent.url, r),
    status: result?.status ?? null,
    durationMs,
    refreshed: ctx.meta.refreshed,
    refreshOutcome: ctx.meta.refreshOutcome,
    breakerState: ctx.meta.breakerState,
    error:
      result?.detected?.message ??
      (error === undefined
        ? null
        : redactText(
            isPatchbayError(error) ? `${error.code}: ${error.message}` : String(error),
            r,
          )),
    detail: {
      request: { headers: redactHeaders(sent.headers, r), body: requestBodyText(sent, r) },
      ...retryDetail(ctx),
      ...(result
        ? {
            response: {
              headers: redactHeaders(result.headers, r),
              body:
                result.body instanceof Uint8Array
                  ? bodySnippet(result.body, result.headers['content-type'], r)
                  : '(streamed)',
            },
          }
        : {}),
    },
  }
}

/** The waits of a call (retries after 429 or 503, the connector's rate limit), when it had any. */
function retryDetail(ctx: PipelineContext): Record<string, unknown> {
  const { retries, retryStopped, rateLimitWaitMs } = ctx.meta
  const out: Record<string, unknown> = {}
  if (retries.length || retryStopped !== undefined) {
    out.retry = {
      retries,
      waitedMs: retries.reduce((sum, r) => sum + r.waitMs, 0),
      ...(retryStopped !== undefined ? { stopped: retryStopped } : {}),
    }
  }
  if (rateLimitWaitMs > 0) out.rateLimit = { waitedMs: rateLimitWaitMs }
  return out
}

function requestBodyText(req: OutgoingRequest, r: Redaction): string | null {
  const copy = { ...req, headers: { ...req.headers } }
  const body = encodeBody(copy)
  if (body === undefined) return null
  return bodySnippet(
    typeof body === 'string' ? Buffer.from(body) : body,
    copy.headers['content-type'],
    r,
  )
}

function bodySnippet(
  bytes: Uint8Array,
  contentType: string | string[] | undefined,
  r: Redaction,
): string {
  const type = Array.isArray(contentType) ? contentType[0] : contentType
  if (type && !/json|text|xml|form|javascript/i.test(type))
    return `(${bytes.byteLength} bytes, ${type})`
  const text = Buffer.from(bytes.subarray(0, BODY_LOG_LIMIT * 4)).toString('utf8')
  const redacted = redactBody(text, type, r)
  return redacted.length > BODY_LOG_LIMIT
    ? `${redacted.slice(0, BODY_LOG_LIMIT)}… (truncated)`
    : redacted
}
