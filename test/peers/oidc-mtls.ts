/**
 * A real OAuth 2.0 authorization server that authenticates its client by mutual TLS (RFC 8705):
 * `oidc-provider` with `features.mTLS` (`tls_client_auth`, certificate-bound access tokens) on a
 * `node:https` server that demands a client certificate from the test authority. A protected
 * resource on the same server accepts a token only with the certificate it is bound to
 * (`cnf.x5t#S256`, RFC 8705 §3).
 *
 * @see https://www.rfc-editor.org/rfc/rfc8705
 * @module
 */
import { createHash, generateKeyPair, type X509Certificate } from 'node:crypto'
import { createServer, type Server } from 'node:https'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { TLSSocket } from 'node:tls'
import { promisify } from 'node:util'
// @ts-expect-error -- oidc-provider ships no type declarations; the parts used here are typed below.
import ProviderModule from 'oidc-provider'
import type { TestCertificates } from '../helpers/certs.js'

interface KoaContext {
  method: string
  path: string
  status: number
  body: unknown
  get(header: string): string
  set(header: string, value: string): void
  req: IncomingMessage
  oidc?: { body?: Record<string, unknown> }
}

interface StoredToken {
  clientId: string
  isValid: boolean
  'x5t#S256'?: string
}

interface Provider {
  use(middleware: (ctx: KoaContext, next: () => Promise<void>) => Promise<void>): void
  callback(): (req: IncomingMessage, res: ServerResponse) => void
  ClientCredentials: { find(value: string): Promise<StoredToken | undefined> }
}

const ProviderClass = ProviderModule as new (issuer: string, config: object) => Provider

export interface MtlsTokenRequest {
  params: Record<string, string>
  authorization: string | undefined
  /** The subject of the client certificate presented, when one was. */
  certificate: string | undefined
  status: number
}

export interface MtlsOidcPeer {
  issuer: string
  tokenUrl: string
  /** 200 `{ client_id, bound }` for a token used with its own certificate, else 401. */
  resourceUrl: string
  clientId: string
  tokenRequests: MtlsTokenRequest[]
  resourceCalls: { certificate: string | undefined; status: number }[]
  close(): Promise<void>
}

function peerCertificate(req: IncomingMessage): X509Certificate | undefined {
  const socket = req.socket as TLSSocket
  return socket.getPeerX509Certificate?.()
}

const thumbprint = (cert: X509Certificate) =>
  createHash('sha256').update(cert.raw).digest('base64url')

export async function startMtlsOidcPeer(certs: TestCertificates): Promise<MtlsOidcPeer> {
  let handler: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => {
    res.statusCode = 503
    res.end()
  }
  const server: Server = createServer(
    {
      key: certs.server.key,
      cert: certs.server.cert,
      ca: [certs.ca],
      requestCert: true,
      rejectUnauthorized: true,
    },
    (req, res) => handler(req, res),
  )
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  const issuer = `https://127.0.0.1:${port}`
  const clientId = 'mtls-service'

  const { privateKey } = await promisify(generateKeyPair)('ec', { namedCurve: 'P-256' })
  const provider = new ProviderClass(issuer, {
    clients: [
      {
        client_id: clientId,
        token_endpoint_auth_method: 'tls_client_auth',
        tls_client_auth_subject_dn: 'CN=patchbay-client',
        tls_client_certificate_bound_access_tokens: true,
        id_token_signed_response_alg: 'ES256',
        grant_types: ['client_credentials'],
        response_types: [],
        redirect_uris: [],
      },
    ],
    jwks: { keys: [{ ...privateKey.export({ format: 'jwk' }), kid: 'mtls', alg: 'ES256' }] },
    cookies: { keys: ['oidc-mtls-peer-cookie-key-0123456789'] },
    clientAuthMethods: ['tls_client_auth'],
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      mTLS: {
        enabled: true,
        tlsClientAuth: true,
        certificateBoundAccessTokens: true,
        getCertificate: (ctx: KoaContext) => peerCertificate(ctx.req),
        // The TLS server already refused certificates the test authority did not issue.
        certificateAuthorized: (ctx: KoaContext) => (ctx.req.socket as TLSSocket).authorized,
        certificateSubjectMatches: (ctx: KoaContext, property: string, expected: string) =>
          property === 'tls_client_auth_subject_dn' &&
          peerCertificate(ctx.req)?.subject === expected,
      },
    },
    ttl: { ClientCredentials: 3600 },
  })

  const tokenRequests: MtlsTokenRequest[] = []
  const resourceCalls: MtlsOidcPeer['resourceCalls'] = []
  provider.use(async (ctx, next) => {
    if (ctx.method === 'POST' && ctx.path === '/token') {
      try {
        await next()
      } finally {
        const params: Record<string, string> = {}
        for (const [k, v] of Object.entries(ctx.oidc?.body ?? {}))
          if (typeof v === 'string') params[k] = v
        tokenRequests.push({
          params,
          authorization: ctx.get('authorization') || undefined,
          certificate: peerCertificate(ctx.req)?.subject,
          status: ctx.status,
        })
      }
      return
    }
    if (ctx.path === '/api/me') {
      const cert = peerCertificate(ctx.req)
      const value = /^Bearer\s+(\S+)$/i.exec(ctx.get('authorization'))?.[1]
      const token = value ? await provider.ClientCredentials.find(value) : undefined
      // RFC 8705 §3: the token works only with the certificate it was issued for.
      const bound = token?.['x5t#S256'] !== undefined
      const ok = token?.isValid && bound && cert && token['x5t#S256'] === thumbprint(cert)
      ctx.status = ok ? 200 : 401
      ctx.body = ok ? { client_id: token.clientId, bound } : { error: 'invalid_token' }
      resourceCalls.push({ certificate: cert?.subject, status: ctx.status })
      return
    }
    await next()
  })
  handler = provider.callback()

  return {
    issuer,
    tokenUrl: `${issuer}/token`,
    resourceUrl: `${issuer}/api/me`,
    clientId,
    tokenRequests,
    resourceCalls,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections()
        server.close((err) => (err ? reject(err) : resolve()))
      }),
  }
}
