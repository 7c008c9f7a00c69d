/**
 * A loopback auth endpoint and API in one `node:http` server, for tests of token-based schemes:
 * it issues tokens, expires them on demand, counts token requests, records every request, and
 * guards `/protected/*` with the tokens it issued.
 *
 * Routes:
 * - `POST /token` — issues a token when `accept` agrees, answering `tokenBody(token)` (default
 *   `{ data: { token, expires_in: 3600 } }`); otherwise 401 `{ error: 'invalid_client' }`.
 *   `failNext()` makes the next token request answer what it is told.
 * - `ANY /protected/*` — 200 `{ ok: true, path }` when the request carries a live token anywhere
 *   (a header, the last word of `Authorization`, a query value, a form or JSON body field);
 *   otherwise `deniedStatus` (401) `{ error: 'invalid_token' }`.
 * - anything added with `route()`.
 *
 * @module
 */
import { randomBytes } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface RecordedRequest {
  method: string
  /** Path without the query. */
  path: string
  query: Record<string, string>
  /** Lower-case names, as node combines repeated headers. */
  headers: Record<string, string>
  body: string
  /** The body parsed, when it was JSON. */
  json?: unknown
  /** The body parsed, when it was a form. */
  form?: Record<string, string>
}

export interface Reply {
  status?: number
  /** Sent as JSON unless it is a string. */
  body?: unknown
  headers?: Record<string, string>
}

export type RouteHandler = (req: RecordedRequest, server: TokenServer) => Reply | Promise<Reply>

export interface TokenServerOptions {
  /** Whether `/token` should issue a token for this request. Default: always. */
  accept?: (req: RecordedRequest) => boolean
  /** The `/token` response for an issued token. */
  tokenBody?: (token: string) => unknown
  /** Status `/protected/*` answers for a missing, unknown or expired token (some APIs say 200). */
  deniedStatus?: number
}

export interface TokenServer {
  /** `http://127.0.0.1:<port>` */
  url: string
  /** Every request, in arrival order. */
  requests: RecordedRequest[]
  requestsTo(path: string): RecordedRequest[]
  /** Requests to `/token`, including refused ones. */
  readonly tokenRequests: number
  /** Every token issued, oldest first. */
  readonly issued: readonly string[]
  /** Issues a token without a request (for static keys). */
  issue(): string
  /** Expires one token, or every token issued so far. */
  expire(token?: string): void
  isLive(token: string): boolean
  /** The next `/token` request answers this instead. */
  failNext(reply: Reply): void
  route(method: string, path: string, handler: RouteHandler): void
  close(): Promise<void>
}

async function record(req: IncomingMessage): Promise<RecordedRequest> {
  const chunks: Buffer[] = []
  for await (const chunk of req) chunks.push(chunk as Buffer)
  const body = Buffer.concat(chunks).toString('utf8')
  const url = new URL(req.url ?? '/', 'http://loopback')
  const headers: Record<string, string> = {}
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value
  }
  const type = (headers['content-type'] ?? '').split(';')[0]!.trim()
  const recorded: RecordedRequest = {
    method: req.method ?? 'GET',
    path: url.pathname,
    query: Object.fromEntries(url.searchParams),
    headers,
    body,
  }
  if (type === 'application/json' && body !== '') {
    try {
      recorded.json = JSON.parse(body) as unknown
    } catch {
      // left as text
    }
  }
  if (type === 'application/x-www-form-urlencoded') {
    recorded.form = Object.fromEntries(new URLSearchParams(body))
  }
  return recorded
}

function send(res: ServerResponse, reply: Reply): void {
  const text = typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body ?? {})
  res.writeHead(reply.status ?? 200, {
    'content-type': typeof reply.body === 'string' ? 'text/plain' : 'application/json',
    ...reply.headers,
  })
  res.end(text)
}

/** Every string a request carries, where a token might be. */
function candidates(req: RecordedRequest): string[] {
  const out = [...Object.values(req.headers), ...Object.values(req.query)]
  const auth = req.headers.authorization
  if (auth) out.push(auth.split(' ').at(-1)!)
  if (req.form) out.push(...Object.values(req.form))
  if (req.json && typeof req.json === 'object') {
    for (const v of Object.values(req.json)) if (typeof v === 'string') out.push(v)
  }
  return out
}

export async function startTokenServer(options: TokenServerOptions = {}): Promise<TokenServer> {
  const requests: RecordedRequest[] = []
  const live = new Set<string>()
  const issued: string[] = []
  const failures: Reply[] = []
  const routes = new Map<string, RouteHandler>()

  const issue = (): string => {
    const token = `tok_${issued.length + 1}_${randomBytes(12).toString('hex')}`
    issued.push(token)
    live.add(token)
    return token
  }

  const api: TokenServer = {
    url: '',
    requests,
    requestsTo: (path) => requests.filter((r) => r.path === path),
    get tokenRequests() {
      return requests.filter((r) => r.path === '/token').length
    },
    issued,
    issue,
    expire(token) {
      if (token === undefined) live.clear()
      else live.delete(token)
    },
    isLive: (token) => live.has(token),
    failNext(reply) {
      failures.push(reply)
    },
    route(method, path, handler) {
      routes.set(`${method.toUpperCase()} ${path}`, handler)
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections()
        server.close((err) => (err ? reject(err) : resolve()))
      }),
  }

  const handle = async (req: RecordedRequest): Promise<Reply> => {
    const custom = routes.get(`${req.method} ${req.path}`)
    if (custom) return custom(req, api)
    if (req.path === '/token' && req.method === 'POST') {
      const failure = failures.shift()
      if (failure) return failure
      if (options.accept && !options.accept(req)) {
        return { status: 401, body: { error: 'invalid_client' } }
      }
      const token = issue()
      return {
        body: options.tokenBody ? options.tokenBody(token) : { data: { token, expires_in: 3600 } },
      }
    }
    if (req.path.startsWith('/protected/')) {
      return candidates(req).some((c) => live.has(c))
        ? { body: { ok: true, path: req.path } }
        : { status: options.deniedStatus ?? 401, body: { error: 'invalid_token' } }
    }
    return { status: 404, body: { error: 'not_found' } }
  }

  const server = createServer((req, res) => {
    void (async () => {
      const recorded = await record(req)
      requests.push(recorded)
      try {
        send(res, await handle(recorded))
      } catch (err) {
        send(res, { status: 500, body: { error: String(err) } })
      }
    })()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  api.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return api
}
