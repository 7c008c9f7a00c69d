/**
 * Send on undici's pooled dispatcher, with timeouts; the body streams back when asked.
 *
 * @module
 */
import { errors as undiciErrors, type Dispatcher } from 'undici'
import { PatchbayError } from '../errors.js'
import { defaultDispatcher } from '../lib/http-client.js'
import { NetworkRefusedError, describeTlsFailure } from '../lib/network.js'
import { encodeBody } from '../lib/request.js'
import type { Handler, PipelineResult } from './types.js'

// Hop-by-hop headers (RFC 9110 §7.6.1) never travel through a proxy.
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'host',
  'content-length',
])

export function createSend(dispatcher: Dispatcher = defaultDispatcher()): Handler {
  return async (ctx) => {
    const wire = ctx.meta.sent ?? ctx.request
    // A client certificate is a credential: it goes only where the other credentials go.
    const carriesCredentials =
      !ctx.meta.credentialsWithheld && ctx.allowedOrigins.has(wire.url.origin)
    const via = ctx.transport
      ? carriesCredentials
        ? ctx.transport.withCredentials
        : ctx.transport.withoutCredentials
      : dispatcher
    const body = encodeBody(wire)
    const headers: Record<string, string> = {}
    for (const [k, v] of Object.entries(wire.headers)) if (!HOP_BY_HOP.has(k)) headers[k] = v
    let res: Dispatcher.ResponseData
    try {
      // On the dispatcher itself: undici's top-level request() would parse the URL again.
      res = await via.request({
        origin: wire.url.origin,
        path: `${wire.url.pathname}${wire.url.search}`,
        method: wire.method as Dispatcher.HttpMethod,
        headers,
        body,
        headersTimeout: ctx.timeoutMs,
        bodyTimeout: ctx.timeoutMs,
      })
    } catch (err) {
      const presented =
        carriesCredentials &&
        ctx.transport !== undefined &&
        ctx.transport.withCredentials !== ctx.transport.withoutCredentials
      throw sendError(err, wire.url, presented)
    }
    const outHeaders: Record<string, string | string[]> = {}
    for (const [k, v] of Object.entries(res.headers)) {
      if (v !== undefined && !HOP_BY_HOP.has(k)) outHeaders[k] = v
    }
    // A body streamed on as it came keeps its length: the caller's answer is then sent as is,
    // not re-framed in chunks.
    const length = res.headers['content-length']
    if (ctx.stream && typeof length === 'string') outHeaders['content-length'] = length
    const result: PipelineResult = {
      status: res.statusCode,
      headers: outHeaders,
      body: Buffer.alloc(0),
    }
    if (ctx.stream) {
      // undici's body is a Readable already: handed on as it is, piped straight to the caller.
      result.body = res.body
    } else {
      try {
        result.body = Buffer.from(await res.body.arrayBuffer())
      } catch (err) {
        throw sendError(err, wire.url)
      }
    }
    return result
  }
}

function sendError(err: unknown, url: URL, presentedCertificate = false): PatchbayError {
  // undici refuses some requests before sending them (a header value with control characters,
  // say, from a connection value): the request is at fault, not the upstream.
  if (
    err instanceof undiciErrors.InvalidArgumentError ||
    err instanceof undiciErrors.NotSupportedError
  ) {
    return new PatchbayError('request.invalid', `the request cannot be sent: ${err.message}`, {
      cause: err,
    })
  }
  if (err instanceof NetworkRefusedError) {
    return new PatchbayError('request.network_refused', `${url.host}: ${err.message}`, {
      cause: err,
    })
  }
  const tls = describeTlsFailure(err)
  if (tls) {
    return new PatchbayError('request.tls_failed', `${url.origin}: ${tls}`, { cause: err })
  }
  if (
    err instanceof undiciErrors.HeadersTimeoutError ||
    err instanceof undiciErrors.BodyTimeoutError
  ) {
    return new PatchbayError(
      'request.timeout',
      `${url.origin} did not answer in time; try again later`,
      { cause: err },
    )
  }
  const code = (err as { code?: string }).code ?? (err as { cause?: { code?: string } }).cause?.code
  // A TLS 1.3 server that refuses a client certificate may just close the connection.
  const refused =
    presentedCertificate &&
    code === 'UND_ERR_SOCKET' &&
    (err as { socket?: { bytesRead?: number } }).socket?.bytesRead === 0
      ? ': the server closed the connection before answering; it may have refused the client certificate (check auth.tls.cert)'
      : ''
  return new PatchbayError(
    'request.upstream_unreachable',
    `could not reach ${url.origin}${code ? ` (${code})` : ''}${refused}`,
    {
      cause: err,
    },
  )
}

/** Reads a result's body into memory (for steps that must look at it). */
export async function bufferBody(result: PipelineResult): Promise<Uint8Array> {
  if (result.body instanceof Uint8Array) return result.body
  const chunks: Buffer[] = []
  for await (const chunk of result.body) chunks.push(Buffer.from(chunk as Uint8Array))
  result.body = Buffer.concat(chunks)
  return result.body
}

/** Throws away a body that will not be used (a retried or redirected response). */
export function discardBody(result: PipelineResult): void {
  if (!(result.body instanceof Uint8Array)) result.body.resume()
}
