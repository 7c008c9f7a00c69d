/**
 * A token endpoint for the JWT bearer grant in the manner of Google's for service accounts: no
 * client authentication (RFC 7523 §2.1 makes it optional), the assertion's `iss` says who asks,
 * the scopes come in a `scope` claim, the assertion may be valid for an hour at most. Behind it, an
 * API under `/api/` that takes the tokens it issued until they expire. oidc-provider always wants
 * a client, so this small `node:http` server stands in for that kind of provider.
 *
 * @module
 */
import { createServer, type IncomingHttpHeaders } from 'node:http'
import type { KeyObject } from 'node:crypto'
import type { AddressInfo } from 'node:net'
import { decodeJwt, jwtVerify, type JWTHeaderParameters, type JWTPayload } from 'jose'

const JWT_BEARER_GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer'

export interface JwtBearerServerOptions {
  /** The `aud` every assertion must carry (Google: `https://oauth2.googleapis.com/token`). */
  audience: string
  /** The public key of each assertion issuer. */
  issuers: Record<string, KeyObject>
  /** Seconds each token lasts. */
  expiresIn: number
}

export interface JwtBearerTokenRequest {
  form: Record<string, string>
  headers: IncomingHttpHeaders
  /** The assertion, when it verified. */
  header?: JWTHeaderParameters
  claims?: JWTPayload
  status: number
}

export interface JwtBearerServer {
  /** `http://127.0.0.1:<port>`. */
  url: string
  tokenUrl: string
  /** Every token request, in order. */
  tokenRequests: JwtBearerTokenRequest[]
  /** Every call under `/api/`, in order. */
  apiCalls: { path: string; token: string | undefined; status: number }[]
  close(): Promise<void>
}

export async function startJwtBearerServer(
  options: JwtBearerServerOptions,
): Promise<JwtBearerServer> {
  const tokenRequests: JwtBearerTokenRequest[] = []
  const apiCalls: JwtBearerServer['apiCalls'] = []
  const issued = new Map<string, { expiresAt: number; iss: string; sub?: string; scope: string }>()
  let counter = 0

  async function token(form: Record<string, string>, record: JwtBearerTokenRequest) {
    if (form.grant_type !== JWT_BEARER_GRANT) {
      return { status: 400, body: { error: 'unsupported_grant_type' } }
    }
    const refuse = (description: string) => ({
      status: 400,
      body: { error: 'invalid_grant', error_description: description },
    })
    let iss: string | undefined
    try {
      iss = decodeJwt(form.assertion ?? '').iss
    } catch {
      return refuse('Invalid JWT.')
    }
    const key = iss === undefined ? undefined : options.issuers[iss]
    if (iss === undefined || !key) return refuse('Invalid issuer.')
    try {
      const { payload, protectedHeader } = await jwtVerify(form.assertion ?? '', key, {
        audience: options.audience,
        requiredClaims: ['iat', 'exp'],
      })
      record.header = protectedHeader
      record.claims = payload
    } catch {
      return refuse('Invalid JWT Signature.')
    }
    const { iat, exp, scope, sub } = record.claims
    if (exp! - iat! > 3600) return refuse('Invalid JWT: Token must be a short-lived token.')
    if (typeof scope !== 'string' || scope === '') {
      return { status: 400, body: { error: 'invalid_scope', error_description: 'Empty scope.' } }
    }
    const value = `gtok-${++counter}`
    issued.set(value, {
      expiresAt: Date.now() + options.expiresIn * 1000,
      iss,
      scope,
      ...(sub ? { sub } : {}),
    })
    return {
      status: 200,
      body: { access_token: value, expires_in: options.expiresIn, token_type: 'Bearer' },
    }
  }

  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const answer = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' })
        res.end(JSON.stringify(body))
      }
      const path = req.url ?? ''
      if (req.method === 'POST' && path === '/token') {
        const form = Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString()))
        const record: JwtBearerTokenRequest = { form, headers: req.headers, status: 0 }
        tokenRequests.push(record)
        void token(form, record).then(({ status, body }) => {
          record.status = status
          answer(status, body)
        })
        return
      }
      if (path.startsWith('/api/')) {
        const value = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1]
        const found = value === undefined ? undefined : issued.get(value)
        const live = found !== undefined && found.expiresAt > Date.now()
        apiCalls.push({ path, token: value, status: live ? 200 : 401 })
        if (!live) return answer(401, { error: { code: 401, status: 'UNAUTHENTICATED' } })
        return answer(200, { iss: found.iss, sub: found.sub ?? null, scope: found.scope })
      }
      answer(404, { error: 'not_found' })
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return {
    url,
    tokenUrl: `${url}/token`,
    tokenRequests,
    apiCalls,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections()
        server.close((err) => (err ? reject(err) : resolve()))
      }),
  }
}
