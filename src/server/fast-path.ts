/**
 * The product's hot path, answered on `node:http` directly: the streaming proxy
 * (`ANY /proxy/:id/*`) and the ad-hoc custom action (`POST /api/v1/connections/:id/request`)
 * called with a key. A call then costs what the engine's work costs — no web `Request`/`Response`
 * objects, no router, the upstream's body piped straight to the socket. Requests it does not take
 * (the UI's cookie session, every other route) go to the Hono app (`app.ts`); both answer the
 * same statuses, headers and error shapes.
 *
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Patchbay } from '../engine/patchbay.js'
import { PatchbayError, invalidInput } from '../errors.js'
import { STATUS_OF } from './errors.js'

/** Headers that are ours or the hop's, never the upstream's (the admin key, cookies…). */
const NOT_FORWARDED: ReadonlySet<string> = new Set([
  'authorization',
  'x-patchbay-key',
  'cookie',
  'host',
  'content-length',
  'connection',
  // Between the caller and Patchbay only (Node already answered 100 Continue).
  'expect',
])
const PROXY_BODY_LIMIT = 25 * 1024 * 1024
const API_BODY_LIMIT = 5 * 1024 * 1024
const NUL_RULE = 'must not contain NUL characters'
const REQUEST_PATH = /^\/api\/v1\/connections\/([^/]+)\/request$/

/** Whether the proxy passes a caller's header (lower-case name) on to the upstream. */
export function isForwarded(name: string): boolean {
  return !NOT_FORWARDED.has(name) && !name.startsWith('x-forwarded-')
}

export type FastPath = (req: IncomingMessage, res: ServerResponse) => boolean

/** The key a caller sent (`Authorization: Bearer …` or `X-Patchbay-Key`), if any. */
function keyOf(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization
  const m = header ? /^Bearer\s+(.+)$/i.exec(header) : null
  const key = m?.[1]?.trim() ?? req.headers['x-patchbay-key']
  return typeof key === 'string' && key ? key : undefined
}

class TooLarge extends Error {}

async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size > limit) throw new TooLarge()
    chunks.push(chunk)
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body)
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  })
  res.end(text)
}

function decode(segment: string, name: string): string {
  let value: string
  try {
    value = decodeURIComponent(segment)
  } catch {
    throw invalidInput([{ path: name, rule: 'must be percent-encoded correctly' }])
  }
  if (value.includes('\0')) throw invalidInput([{ path: name, rule: NUL_RULE }])
  return value
}

export function createFastPath(pb: Patchbay): FastPath {
  const unauthorized = new PatchbayError(
    'auth.unauthorized',
    'send the admin key as "Authorization: Bearer <key>" (printed at first start, or PATCHBAY_ADMIN_KEY)',
  )

  function fail(res: ServerResponse, err: unknown): void {
    if (res.headersSent) {
      res.destroy(err instanceof Error ? err : undefined)
      return
    }
    if (err instanceof TooLarge) {
      sendJson(res, 413, {
        error: { code: 'input.invalid', message: 'the request body is too large' },
      })
      return
    }
    if (err instanceof PatchbayError) {
      sendJson(res, STATUS_OF[err.code], { error: err.toJSON() })
      return
    }
    pb.logger.error({ err }, 'unexpected error')
    sendJson(res, 500, {
      error: { code: 'internal', message: 'an unexpected error happened; see the server log' },
    })
  }

  async function proxy(req: IncomingMessage, res: ServerResponse, url: string, key: string) {
    if (!(await pb.admin.verify(key))) throw unauthorized
    const q = url.indexOf('?')
    const pathname = q < 0 ? url : url.slice(0, q)
    const rest = pathname.slice('/proxy/'.length)
    const slash = rest.indexOf('/')
    const id = decode(rest.slice(0, slash), 'id')
    const headers: Record<string, string> = {}
    for (const k in req.headers) {
      const v = req.headers[k]
      if (v === undefined || !isForwarded(k)) continue
      headers[k] = Array.isArray(v) ? v.join(', ') : v
    }
    const method = req.method ?? 'GET'
    const body =
      method === 'GET' || method === 'HEAD' ? undefined : await readBody(req, PROXY_BODY_LIMIT)
    const answer = await pb.connections.proxy(id, {
      method,
      path: rest.slice(slash + 1),
      search: q < 0 ? '' : url.slice(q),
      headers,
      body,
    })
    res.writeHead(answer.status, answer.headers)
    const bodyless = answer.status === 204 || answer.status === 304 || method === 'HEAD'
    if (answer.body instanceof Uint8Array) {
      res.end(bodyless ? undefined : answer.body)
    } else if (bodyless) {
      answer.body.resume()
      res.end()
    } else {
      // pipe(), not stream.pipeline(): the upstream's body ends the response, and either side
      // failing ends the other, without pipeline's per-call AbortController.
      const body = answer.body
      await new Promise<void>((resolve, reject) => {
        body.once('error', (err) => {
          res.destroy(err)
          reject(err)
        })
        res.once('close', () => {
          if (!body.readableEnded) body.destroy()
          resolve()
        })
        body.pipe(res)
      })
    }
  }

  async function request(req: IncomingMessage, res: ServerResponse, id: string, key: string) {
    if (!(await pb.admin.verify(key))) throw unauthorized
    const text = (await readBody(req, API_BODY_LIMIT)).toString('utf8')
    let input: unknown = {}
    if (text.trim() !== '') {
      try {
        input = JSON.parse(text)
      } catch (err) {
        throw new PatchbayError(
          'input.malformed_json',
          `the request body is not valid JSON: ${(err as Error).message}`,
          { details: [{ path: '(body)', rule: 'must be valid JSON' }] },
        )
      }
      if (input === null || typeof input !== 'object' || Array.isArray(input))
        throw invalidInput([{ path: '(body)', rule: 'must be a JSON object' }])
    }
    sendJson(res, 200, await pb.connections.request(decode(id, 'id'), input))
  }

  return (req, res) => {
    const url = req.url ?? '/'
    let run: Promise<void> | undefined
    if (url.startsWith('/proxy/')) {
      const key = keyOf(req)
      // Without a key it may be the UI's cookie session: the app checks that.
      if (key === undefined || url.indexOf('/', 7) < 0) return false
      run = proxy(req, res, url, key)
    } else if (req.method === 'POST' && url.startsWith('/api/v1/connections/')) {
      const match = REQUEST_PATH.exec(url)
      const key = keyOf(req)
      if (!match || key === undefined) return false
      if (match[1]!.includes('%00')) return false // the app's NUL check answers it
      run = request(req, res, match[1]!, key)
    } else return false
    const started = performance.now()
    run
      .catch((err: unknown) => fail(res, err))
      .finally(() => {
        // The same line the app logs for every request (the logger redacts the key).
        if (!pb.logger.isLevelEnabled('info')) return
        pb.logger.info(
          {
            req: {
              method: req.method,
              path: url.split('?')[0],
              headers: { authorization: req.headers.authorization },
            },
            res: { status: res.statusCode },
            ms: Math.round(performance.now() - started),
          },
          'request',
        )
      })
    return true
  }
}
