/**
 * Step 8: every call appends one log entry, redacted (SPEC §4.8). Outermost, so it also records
 * refused calls and open breakers.
 *
 * @module
 */
import { randomUUID } from 'node:crypto'
import { isPatchbayError } from '../errors.js'
import { encodeBody, type OutgoingRequest } from '../lib/request.js'
import { redactBody, redactHeaders, redactText, redactUrl } from './redact.js'
import type { PipelineContext, PipelineResult, Redaction, Step } from './types.js'

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
    await writeEntry(ctx, result, error, durationMs)
  }
}

/** Text from upstreams may hold NULs or lone surrogates, which PostgreSQL cannot store. */
function storable<T>(value: T): T {
  if (typeof value === 'string') return value.toWellFormed().replaceAll('\u0000', '\uFFFD') as T
  if (Array.isArray(value)) return value.map(storable) as T
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [storable(k), storable(v)]),
    ) as T
  }
  return value
}

async function writeEntry(
  ctx: PipelineContext,
  result: PipelineResult | undefined,
  error: unknown,
  durationMs: number,
): Promise<void> {
  const r = ctx.auth.redaction()
  const sent = ctx.meta.sent ?? ctx.request
  const errorText =
    result?.detected?.message ??
    (error === undefined
      ? null
      : redactText(isPatchbayError(error) ? `${error.code}: ${error.message}` : String(error), r))
  try {
    await ctx.store.appendLog(
      storable({
        id: `log_${randomUUID()}`,
        time: Date.now(),
        connectorId: ctx.log.connectorId,
        connectionId: ctx.log.connectionId,
        actionId: ctx.log.actionId,
        kind: 'request',
        method: sent.method,
        url: redactUrl(sent.url, r),
        status: result?.status ?? null,
        durationMs,
        refreshed: ctx.meta.refreshed,
        refreshOutcome: ctx.meta.refreshOutcome,
        breakerState: ctx.meta.breakerState,
        error: errorText,
        detail: {
          request: { headers: redactHeaders(sent.headers, r), body: requestBodyText(sent, r) },
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
      }),
    )
  } catch (err) {
    // A log write must not fail the call it describes.
    ctx.observer?.logFailed(err)
  }
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
