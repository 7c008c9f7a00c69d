/**
 * The `HttpClient` given to auth schemes, on undici. Token endpoints answer JSON or, for some
 * providers still, form-encoded bodies; both are parsed.
 *
 * @module
 */
import { Agent, request, type Dispatcher } from 'undici'
import { PatchbayError } from '../errors.js'
import type { HttpClient, HttpRequestInit } from './http.js'
import { NetworkRefusedError, describeTlsFailure } from './network.js'

export interface HttpClientOptions {
  dispatcher?: Dispatcher
  /** Per-request timeout (headers and body), ms. Default 30 s. */
  timeoutMs?: number
  /** Called before each request with its URL; throws to refuse it (network rules). */
  guard?: (url: URL) => void | Promise<void>
}

let sharedAgent: Agent | undefined
export function defaultDispatcher(): Agent {
  sharedAgent ??= new Agent({ connections: 128, keepAliveTimeout: 10_000 })
  return sharedAgent
}

export function parseBody(text: string, contentType: string | undefined): unknown {
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase()
  if (type === 'application/json' || type.endsWith('+json')) {
    try {
      return JSON.parse(text) as unknown
    } catch {
      return text
    }
  }
  if (type === 'application/x-www-form-urlencoded' || type === 'text/plain') {
    // Some token endpoints (GitHub's classic one, OAuth1 providers) answer form-encoded.
    if (
      type === 'application/x-www-form-urlencoded' ||
      /^[\w.~%-]+=[^&\s]*(&[\w.~%-]+=[^&\s]*)*$/.test(text)
    ) {
      return Object.fromEntries(new URLSearchParams(text))
    }
    return text
  }
  try {
    return JSON.parse(text) as unknown
  } catch {
    return text
  }
}

export function createHttpClient(options: HttpClientOptions = {}): HttpClient {
  const timeout = options.timeoutMs ?? 30_000
  return async (input, init: HttpRequestInit = {}) => {
    const url = new URL(input)
    await options.guard?.(url)
    const headers: Record<string, string> = {}
    for (const [k, v] of Object.entries(init.headers ?? {})) headers[k.toLowerCase()] = v
    let body: string | undefined
    if (init.body instanceof URLSearchParams) {
      body = init.body.toString()
      headers['content-type'] ??= 'application/x-www-form-urlencoded'
    } else if (typeof init.body === 'string') {
      body = init.body
    } else if (init.body !== undefined) {
      body = JSON.stringify(init.body)
      headers['content-type'] ??= 'application/json'
    }
    headers['accept'] ??= 'application/json'
    const res = await request(url, {
      method: (init.method ?? (body === undefined ? 'GET' : 'POST')) as Dispatcher.HttpMethod,
      headers,
      body,
      dispatcher: options.dispatcher ?? defaultDispatcher(),
      headersTimeout: timeout,
      bodyTimeout: timeout,
    }).catch((err: unknown) => {
      if (err instanceof NetworkRefusedError) {
        throw new PatchbayError('request.network_refused', `${url.host}: ${err.message}`, {
          cause: err,
        })
      }
      const tls = describeTlsFailure(err)
      if (tls)
        throw new PatchbayError('request.tls_failed', `${url.origin}: ${tls}`, { cause: err })
      throw err
    })
    const text = await res.body.text()
    const outHeaders: Record<string, string> = {}
    for (const [k, v] of Object.entries(res.headers)) {
      if (v !== undefined) outHeaders[k] = Array.isArray(v) ? v.join(', ') : v
    }
    return {
      status: res.statusCode,
      headers: outHeaders,
      text,
      body: parseBody(text, outHeaders['content-type']),
    }
  }
}
