/**
 * An OAuth 1.0a provider on `node:http` (127.0.0.1, a free port) for tests, after RFC 5849 §2–3:
 * temporary credentials, resource owner authorization (approved at once: it redirects straight to
 * the callback with `oauth_token` and `oauth_verifier`), token credentials, revocation, and a
 * protected resource under `/api/`.
 *
 * It recomputes the signature of every request with its own copy of the secrets (`verifyRequest`),
 * answers 401 with an `oauth_problem` (the Problem Reporting extension) when it does not match,
 * refuses reused nonces and timestamps more than `maxSkewSeconds` away, and records every request.
 * HMAC-SHA1, HMAC-SHA256 and PLAINTEXT are accepted (PLAINTEXT over plain HTTP only because this
 * is a loopback test peer).
 *
 * @module
 */
import { randomBytes } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { SignatureMethod } from '../../src/auth/oauth1/signature.js'
import {
  readProtocolParameters,
  verifyRequest,
  type OAuthProblem,
} from '../../src/auth/oauth1/verify.js'
import { decodeBody, type OutgoingRequest } from '../../src/lib/request.js'

export interface RecordedRequest {
  method: string
  /** Path and query as received. */
  url: string
  /** Lower-case names. */
  headers: Record<string, string>
  body: string
  /** The status the provider answered. */
  status?: number
  /** The `oauth_problem` it answered with, if any. */
  problem?: string
}

export interface OAuth1ProviderOptions {
  consumerKey?: string
  consumerSecret?: string
  /** Default: all three. */
  signatureMethods?: readonly SignatureMethod[]
  /** Answer `oauth_callback_confirmed=true` (default); `false` plays a pre-1.0a server. */
  confirmCallback?: boolean
  /** Default 300 s. */
  maxSkewSeconds?: number
  now?: () => number
  /** Who the token credentials are for; returned with them. */
  user?: { user_id: string; screen_name: string }
}

export interface OAuth1Provider {
  /** `http://127.0.0.1:<port>` */
  url: string
  consumerKey: string
  consumerSecret: string
  requestTokenUrl: string
  authorizationUrl: string
  accessTokenUrl: string
  revokeUrl: string
  /** The protected resource: any path under it answers what it received, as JSON. */
  resourceUrl: string
  /** Every request received, in order. */
  requests: RecordedRequest[]
  /** Token credentials issued and not revoked. */
  accessTokens(): string[]
  /** Plays the user's browser: opens the authorize URL, approves, answers the callback URL. */
  approve(authorizeUrl: string): Promise<URL>
  close(): Promise<void>
}

interface Temporary {
  secret: string
  callback: string
  verifier?: string
}

interface Answer {
  status: number
  headers?: Record<string, string>
  body?: string
  problem?: string
}

const FORM = 'application/x-www-form-urlencoded'

export async function startOAuth1Provider(
  options: OAuth1ProviderOptions = {},
): Promise<OAuth1Provider> {
  const consumerKey = options.consumerKey ?? `ck_${random(8)}`
  const consumerSecret = options.consumerSecret ?? `cs_${random(16)}`
  const user = options.user ?? { user_id: '6253282', screen_name: 'patchbay_test' }
  const now = options.now ?? Date.now
  const temporary = new Map<string, Temporary>()
  const access = new Map<string, string>()
  const nonces = new Set<string>()
  const requests: RecordedRequest[] = []

  type Authenticated =
    { ok: true; parameters: Record<string, string> } | { ok: false; answer: Answer }

  /** §3.2: the consumer key, the token, the signature, then the nonce. */
  function authenticate(
    request: OutgoingRequest,
    tokens: 'none' | Map<string, Temporary> | Map<string, string>,
  ): Authenticated {
    const read = readProtocolParameters(request)
    if (!read.ok) return { ok: false, answer: problem(400, read.problem) }
    const p = read.parameters
    if (p.oauth_consumer_key !== consumerKey) {
      return { ok: false, answer: problem(401, 'consumer_key_unknown') }
    }
    let tokenSecret = ''
    if (tokens === 'none') {
      if (p.oauth_token !== undefined) return { ok: false, answer: problem(400, 'token_rejected') }
    } else {
      const found = p.oauth_token === undefined ? undefined : tokens.get(p.oauth_token)
      if (found === undefined) return { ok: false, answer: problem(401, 'token_rejected') }
      tokenSecret = typeof found === 'string' ? found : found.secret
    }
    const result = verifyRequest(
      request,
      { consumerSecret, tokenSecret },
      {
        maxSkewSeconds: options.maxSkewSeconds ?? 300,
        now,
        ...(options.signatureMethods ? { signatureMethods: options.signatureMethods } : {}),
      },
    )
    if (!result.valid) {
      const status = result.problem.startsWith('parameter_') ? 400 : 401
      return { ok: false, answer: problem(status, result.problem) }
    }
    if (p.oauth_nonce !== undefined) {
      const key = [consumerKey, p.oauth_token ?? '', p.oauth_timestamp ?? '', p.oauth_nonce].join(
        '&',
      )
      if (nonces.has(key)) return { ok: false, answer: problem(401, 'nonce_used') }
      nonces.add(key)
    }
    return { ok: true, parameters: p }
  }

  function route(request: OutgoingRequest): Answer {
    const { pathname } = request.url
    const method = request.method
    if (method === 'POST' && pathname === '/oauth/request_token') {
      const auth = authenticate(request, 'none')
      if (!auth.ok) return auth.answer
      const callback = auth.parameters.oauth_callback
      if (!callback) return problem(400, 'parameter_absent')
      const token = `tmp_${random(12)}`
      const secret = random(16)
      temporary.set(token, { secret, callback })
      return form({
        oauth_token: token,
        oauth_token_secret: secret,
        ...(options.confirmCallback === false ? {} : { oauth_callback_confirmed: 'true' }),
      })
    }
    if (method === 'GET' && pathname === '/oauth/authorize') {
      const token = request.url.searchParams.get('oauth_token') ?? ''
      const pending = temporary.get(token)
      if (!pending) return { status: 400, body: 'unknown oauth_token' }
      pending.verifier = random(10)
      if (pending.callback === 'oob') return { status: 200, body: pending.verifier }
      const location = new URL(pending.callback)
      location.searchParams.set('oauth_token', token)
      location.searchParams.set('oauth_verifier', pending.verifier)
      return { status: 302, headers: { location: location.href } }
    }
    if (method === 'POST' && pathname === '/oauth/access_token') {
      const auth = authenticate(request, temporary)
      if (!auth.ok) return auth.answer
      const temporaryToken = auth.parameters.oauth_token!
      const pending = temporary.get(temporaryToken)!
      const verifier = auth.parameters.oauth_verifier
      if (pending.verifier === undefined || verifier !== pending.verifier) {
        return problem(401, 'verifier_invalid')
      }
      temporary.delete(temporaryToken)
      const token = `${user.user_id}-${random(12)}`
      const secret = random(16)
      access.set(token, secret)
      return form({ oauth_token: token, oauth_token_secret: secret, ...user })
    }
    if (method === 'POST' && pathname === '/oauth/revoke') {
      const auth = authenticate(request, access)
      if (!auth.ok) return auth.answer
      access.delete(auth.parameters.oauth_token!)
      return { status: 200, headers: { 'content-type': FORM }, body: 'revoked=true' }
    }
    if (pathname.startsWith('/api/')) {
      const auth = authenticate(request, access)
      if (!auth.ok) return auth.answer
      const body = request.body
      return {
        status: 200,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          method,
          path: pathname,
          query: [...request.url.searchParams],
          form: body.kind === 'form' ? body.fields : null,
          user_id: user.user_id,
        }),
      }
    }
    return { status: 404, body: 'not found' }
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      res.statusCode = 500
      res.end(String(err))
    })
  })

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    const bytes = Buffer.concat(chunks)
    const headers: Record<string, string> = {}
    for (const [name, value] of Object.entries(req.headers)) {
      if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value
    }
    const record: RecordedRequest = {
      method: req.method ?? 'GET',
      url: req.url ?? '/',
      headers,
      body: bytes.toString('utf8'),
    }
    requests.push(record)
    const request: OutgoingRequest = {
      method: record.method,
      url: new URL(record.url, `http://${headers.host ?? '127.0.0.1'}`),
      headers,
      body: decodeBody(bytes, headers['content-type']),
    }
    const answer = route(request)
    record.status = answer.status
    if (answer.problem) record.problem = answer.problem
    res.writeHead(answer.status, answer.headers)
    res.end(answer.body)
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`

  return {
    url,
    consumerKey,
    consumerSecret,
    requestTokenUrl: `${url}/oauth/request_token`,
    authorizationUrl: `${url}/oauth/authorize`,
    accessTokenUrl: `${url}/oauth/access_token`,
    revokeUrl: `${url}/oauth/revoke`,
    resourceUrl: `${url}/api/`,
    requests,
    accessTokens: () => [...access.keys()],
    async approve(authorizeUrl) {
      const res = await fetch(authorizeUrl, { redirect: 'manual' })
      await res.body?.cancel()
      const location = res.headers.get('location')
      if (res.status !== 302 || !location) {
        throw new Error(`the authorize endpoint answered ${res.status} without a redirect`)
      }
      return new URL(location)
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()))
        server.closeAllConnections()
      }),
  }
}

function problem(status: number, name: OAuthProblem | string): Answer {
  return {
    status,
    headers: {
      'content-type': FORM,
      ...(status === 401 ? { 'www-authenticate': 'OAuth realm="oauth1-provider"' } : {}),
    },
    body: `oauth_problem=${name}`,
    problem: name,
  }
}

function form(fields: Record<string, string>): Answer {
  return {
    status: 200,
    headers: { 'content-type': FORM },
    body: new URLSearchParams(fields).toString(),
  }
}

function random(bytes: number): string {
  return randomBytes(bytes).toString('hex')
}
