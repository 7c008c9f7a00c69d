/**
 * The ad-hoc envelope (`POST …/request`, saved actions): the upstream's answer with its status
 * inside, the body parsed when it is JSON, text when textual, base64 otherwise; and the request
 * bodies callers give, as the pipeline sends them.
 *
 * @module
 */
import { invalidInput } from '../errors.js'
import { parseBody } from '../lib/http-client.js'
import { isFormType, parseForm, type RequestBody } from '../lib/request.js'
import { bufferBody } from '../pipeline/index.js'
import type { ExecuteResult } from './executor.js'

/** The ad-hoc envelope: the upstream's answer, its status inside. */
export interface RequestOutcome {
  status: number
  headers: Record<string, string | string[]>
  body: unknown
  bodyEncoding?: 'base64'
  refreshed: boolean
  /** Set when a `detectOn` signal matched. */
  error?: { code: string; message: string }
  /**
   * Seconds the upstream asked to wait (`Retry-After`, RFC 9110 §10.2.3) on a 429 or 503 that
   * Patchbay did not send again.
   */
  retryAfter?: number
}

function isUtf8(bytes: Buffer): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes)
    return true
  } catch {
    return false
  }
}

export async function envelope(result: ExecuteResult): Promise<RequestOutcome> {
  const bytes = Buffer.from(await bufferBody(result))
  const type = String(result.headers['content-type'] ?? '')
  const textual =
    bytes.byteLength === 0 ||
    /json|text|xml|x-www-form-urlencoded|javascript/i.test(type) ||
    (!type && isUtf8(bytes))
  const out: RequestOutcome = {
    status: result.status,
    headers: result.headers,
    body: null,
    refreshed: result.refreshed,
  }
  if (!textual) {
    out.body = bytes.toString('base64')
    out.bodyEncoding = 'base64'
  } else {
    const text = bytes.toString('utf8')
    out.body = /json/i.test(type) ? parseBody(text, 'application/json') : text
  }
  if (result.detected) out.error = { code: result.detected.code, message: result.detected.message }
  if (result.retryAfter !== undefined) out.retryAfter = result.retryAfter
  return out
}

export function base64Body(body: unknown): RequestBody {
  if (typeof body !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(body)) {
    throw invalidInput([{ path: 'body', rule: 'must be base64 when bodyEncoding is base64' }])
  }
  return { kind: 'raw', bytes: Buffer.from(body, 'base64') }
}

/** A JSON body as given: a form for form content types, text for text ones, JSON otherwise. */
export function toBody(body: unknown, headers: Record<string, string> | undefined): RequestBody {
  const type =
    Object.entries(headers ?? {}).find(([k]) => k.toLowerCase() === 'content-type')?.[1] ?? ''
  // A urlencoded string is a form too, as on /proxy: auth can add fields and OAuth1 signs them.
  if (typeof body === 'string' && isFormType(type)) return { kind: 'form', fields: parseForm(body) }
  if (isFormType(type) && body && typeof body === 'object') {
    return {
      kind: 'form',
      fields: Object.entries(body as Record<string, unknown>).map(([k, v]) => [
        k,
        typeof v === 'string' ? v : JSON.stringify(v),
      ]),
    }
  }
  if (typeof body === 'string' && !/json/i.test(type))
    return {
      kind: 'raw',
      bytes: Buffer.from(body),
      contentType: type || 'text/plain; charset=utf-8',
    }
  return { kind: 'json', value: body }
}
