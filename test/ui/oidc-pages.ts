/**
 * An OAuth 2.0 authorization server for the browser tests: `oidc-provider` on loopback with its
 * own login and consent pages (`devInteractions`), which the tests click through in Chromium,
 * a protected resource (`/api/me`), and a way to revoke a grant as a user removing the app would.
 *
 * @module
 */
import { generateKeyPair } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { promisify } from 'node:util'
// @ts-expect-error -- oidc-provider ships no type declarations; the parts used here are typed below.
import ProviderModule from 'oidc-provider'

interface KoaContext {
  method: string
  path: string
  status: number
  body: unknown
  get(header: string): string
  set(header: string, value: string): void
}

interface StoredToken {
  accountId?: string
  clientId: string
  scope?: string
  grantId?: string
  isValid: boolean
}

interface Provider {
  use(middleware: (ctx: KoaContext, next: () => Promise<void>) => Promise<void>): void
  callback(): (req: IncomingMessage, res: ServerResponse) => void
  AccessToken: {
    find(value: string): Promise<StoredToken | undefined>
    revokeByGrantId(id: string): Promise<void>
  }
  RefreshToken: {
    find(value: string): Promise<StoredToken | undefined>
    revokeByGrantId(id: string): Promise<void>
  }
  Grant: {
    find(id: string): Promise<unknown>
    adapter: { destroy(id: string): Promise<void> }
  }
}

const ProviderClass = ProviderModule as new (issuer: string, config: object) => Provider

export interface OidcPagesPeer {
  issuer: string
  authorizationUrl: string
  tokenUrl: string
  revocationUrl: string
  /** The base URL of the protected API: `GET me` answers `{ sub, scope }` for a valid token. */
  apiUrl: string
  client: { clientId: string; clientSecret: string }
  /** Revokes every grant of an account, as if the user removed the app at the provider. */
  revokeAccount(accountId: string): Promise<void>
  close(): Promise<void>
}

export async function startOidcPagesPeer(): Promise<OidcPagesPeer> {
  let handler: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => {
    res.statusCode = 503
    res.end()
  }
  const server = createServer((req, res) => handler(req, res))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const client = { clientId: 'ui-app', clientSecret: 'ui-app-secret-0123456789abcdef' }
  const { privateKey } = await promisify(generateKeyPair)('rsa', { modulusLength: 2048 })
  const grants = new Map<string, Set<string>>() // accountId → grant ids

  const provider = new ProviderClass(issuer, {
    clients: [
      {
        client_id: client.clientId,
        client_secret: client.clientSecret,
        token_endpoint_auth_method: 'client_secret_post',
        application_type: 'native',
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        // Loopback redirect URIs match any port (RFC 8252 §7.3).
        redirect_uris: ['http://127.0.0.1/oauth/callback'],
      },
    ],
    jwks: { keys: [{ ...privateKey.export({ format: 'jwk' }), kid: 'ui', alg: 'RS256' }] },
    cookies: { keys: ['oidc-pages-cookie-key-0123456789'] },
    scopes: ['openid', 'offline_access', 'api:read'],
    findAccount: (_ctx: unknown, sub: string) => ({ accountId: sub, claims: () => ({ sub }) }),
    features: {
      devInteractions: { enabled: true },
      // RFC 7009 §2.1: a client may revoke only its own tokens.
      revocation: {
        enabled: true,
        allowedPolicy: (_ctx: unknown, c: { clientId: string }, token: StoredToken) =>
          token.clientId === c.clientId,
      },
    },
    issueRefreshToken: () => true,
    rotateRefreshToken: true,
    ttl: {
      AccessToken: 3600,
      RefreshToken: 86_400,
      AuthorizationCode: 60,
      IdToken: 3600,
      Interaction: 600,
      Session: 3600,
      Grant: 86_400,
    },
  })

  provider.use(async (ctx, next) => {
    if (ctx.path !== '/api/me') {
      await next()
      return
    }
    const value = /^Bearer\s+(\S+)$/i.exec(ctx.get('authorization'))?.[1]
    const token = value ? await provider.AccessToken.find(value) : undefined
    const alive = token?.grantId ? (await provider.Grant.find(token.grantId)) !== undefined : false
    if (!token?.isValid || !alive) {
      ctx.status = 401
      ctx.set('WWW-Authenticate', 'Bearer error="invalid_token"')
      ctx.body = { error: 'invalid_token' }
      return
    }
    if (token.accountId && token.grantId) {
      const set = grants.get(token.accountId) ?? new Set()
      set.add(token.grantId)
      grants.set(token.accountId, set)
    }
    ctx.status = 200
    ctx.body = { sub: token.accountId ?? null, scope: token.scope ?? '' }
  })
  handler = provider.callback()

  return {
    issuer,
    authorizationUrl: `${issuer}/auth`,
    tokenUrl: `${issuer}/token`,
    revocationUrl: `${issuer}/token/revocation`,
    apiUrl: `${issuer}/api/`,
    client,
    async revokeAccount(accountId) {
      for (const grantId of grants.get(accountId) ?? []) {
        await provider.AccessToken.revokeByGrantId(grantId)
        await provider.RefreshToken.revokeByGrantId(grantId)
        await provider.Grant.adapter.destroy(grantId)
      }
      grants.delete(accountId)
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections()
        server.close((err) => (err ? reject(err) : resolve()))
      }),
  }
}
