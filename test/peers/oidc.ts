/**
 * A real OAuth 2.0 authorization server for tests: `oidc-provider` on loopback, with the clients
 * Patchbay's `oauth2` scheme needs, a protected resource, login and consent answered by test
 * interaction routes, and counters of what the token endpoint and the resource saw.
 *
 * Redirect URIs: every authorization-code client is a `native` client whose redirect URIs are
 * `http://127.0.0.1/oauth/callback` and `http://localhost/oauth/callback`, which oidc-provider
 * matches on any port (RFC 8252 §7.3), so a Patchbay started after the peer on any loopback port
 * can use `<public url>/oauth/callback`. Others can be added with `redirectUris`.
 *
 * Clients that authenticate with a JWT (`private_key_jwt`, `client_secret_jwt`) and the JWT bearer
 * grant (RFC 7523 §2.1, registered here with `registerGrantType`: oidc-provider has none) are
 * there when the options ask for them.
 *
 * @see https://github.com/panva/node-oidc-provider/blob/main/docs/README.md
 * @module
 */
import { generateKeyPair } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { promisify } from 'node:util'
import { createLocalJWKSet, decodeJwt, jwtVerify, type JWK, type JWTPayload } from 'jose'
// @ts-expect-error -- oidc-provider ships no type declarations; the parts used here are typed below.
import ProviderModule, { errors as oidcErrors } from 'oidc-provider'
import { request } from 'undici'

export interface OidcPeerOptions {
  /** Access-token (and client-credentials token) lifetime, seconds. Default 60. */
  accessTokenTtl?: number
  /** Refresh-token lifetime, seconds. Default 1 day. */
  refreshTokenTtl?: number
  /** More redirect URIs for the authorization-code clients, besides the loopback callbacks. */
  redirectUris?: string[]
  /** Every scope the server knows. Default `openid offline_access api:read api:write`. */
  scopes?: string[]
  /**
   * Registers `app-private-key-jwt`, which authenticates with `private_key_jwt` (OpenID Connect
   * Core 1.0 §9) by these public keys (JWKs, each with a `kid`), for the code, refresh and client
   * credentials grants (and the JWT bearer grant, with `jwtBearer`).
   */
  privateKeyJwtKeys?: JWK[]
  /** Registers `app-client-secret-jwt`, which authenticates with `client_secret_jwt` (HS256). */
  clientSecretJwt?: boolean
  /**
   * Accepts the JWT bearer grant for `app-jwt-bearer` (a public client that sends only its
   * `client_id`) and `app-private-key-jwt`: an assertion signed by a key of its `iss`, for this
   * server (`aud` the issuer or the token URL), valid for at most an hour, with a `jti` not seen
   * before, buys an access token for its `sub` (for its `iss` when it has none), with the scopes
   * of the `scope` parameter or else of a `scope` claim.
   */
  jwtBearer?: {
    /** The public keys of each assertion issuer. */
    issuers: Record<string, JWK[]>
    /** Seconds the access tokens it issues last. Default `accessTokenTtl`. */
    accessTokenTtl?: number
  }
  /**
   * More parameters for each successful token answer, as providers add them (RFC 6749 §5.1 lets
   * them): Salesforce's `instance_url`, Zoho's `api_domain`. Asked on every answer with whom
   * the new access token is for, so a test can change them between answers; `undefined` adds
   * nothing.
   */
  tokenResponseExtras?: (token: TokenAnswerInfo) => Record<string, unknown> | undefined
}

/** Whom a token answer is for (`tokenResponseExtras`). */
export interface TokenAnswerInfo {
  /** The account that logged in; the client itself for client credentials. */
  accountId: string | undefined
  clientId: string | undefined
  grantType: string
}

export interface OidcPeerClient {
  clientId: string
  /** Absent for the public clients and `private_key_jwt`. */
  clientSecret?: string
  tokenEndpointAuthMethod:
    'client_secret_basic' | 'client_secret_post' | 'none' | 'private_key_jwt' | 'client_secret_jwt'
}

export interface OidcPeerClients {
  /** Authorization code, `client_secret_basic`. */
  basic: OidcPeerClient & { clientSecret: string }
  /** Authorization code, `client_secret_post`. */
  post: OidcPeerClient & { clientSecret: string }
  /** Authorization code + PKCE (required), public: `none`. */
  pkce: OidcPeerClient
  /** `client_credentials`, `client_secret_post`. */
  clientCredentials: OidcPeerClient & { clientSecret: string }
  /** Code, refresh, client credentials (and JWT bearer), `private_key_jwt`: with `privateKeyJwtKeys`. */
  privateKeyJwt?: OidcPeerClient
  /** Code, refresh and client credentials, `client_secret_jwt`: with `clientSecretJwt`. */
  clientSecretJwt?: OidcPeerClient & { clientSecret: string }
  /** JWT bearer only, public (`none`): with `jwtBearer`. */
  jwtBearer?: OidcPeerClient
}

/** One request the token endpoint received, as sent (secrets included: this is a test peer). */
export interface TokenRequestRecord {
  grantType: string
  /** The form fields. */
  params: Record<string, string>
  /** The `Authorization` header, when one was sent. */
  authorization: string | undefined
  /** The status the server answered. */
  status: number
}

export interface OidcPeerCounters {
  tokenRequests: number
  tokenRequestsByGrant: Record<string, number>
  resourceCalls: number
  /** Every `refresh_token` presented to the token endpoint, in order. */
  refreshTokensPresented: string[]
}

export interface FollowOptions {
  /** The account that logs in. Default `alice`. */
  accountId?: string
  /** The user refuses: the client gets `error=access_denied`. */
  deny?: boolean
}

export interface OidcPeer {
  issuer: string
  authorizationUrl: string
  tokenUrl: string
  revocationUrl: string
  /** A protected resource: 200 `{ sub, client_id, scope }` for a valid bearer token, else 401. */
  resourceUrl: string
  clients: OidcPeerClients
  /** Live counters; see `resetCounters`. */
  counters: OidcPeerCounters
  /** Every token endpoint request, in order. */
  tokenRequestLog: TokenRequestRecord[]
  /**
   * Acts as the user's browser: follows `authorizeUrl` through login and consent (answered by the
   * test interaction routes) and returns the redirect to the client (with `code` and `state`, or
   * `error`). Throws when the server answers anything else.
   */
  follow(authorizeUrl: string, options?: FollowOptions): Promise<URL>
  /** Revokes the grant behind a refresh or access token, as if the user removed the app. */
  revokeGrant(token: string): Promise<void>
  resetCounters(): void
  close(): Promise<void>
}

// ---- the parts of oidc-provider (and its Koa) this peer uses ----

interface KoaContext {
  method: string
  path: string
  status: number
  body: unknown
  get(header: string): string
  set(header: string, value: string): void
  redirect(url: string): void
  req: IncomingMessage
  res: ServerResponse
  oidc?: { body?: Record<string, unknown> }
}

interface StoredToken {
  accountId?: string
  clientId: string
  scope?: string
  grantId?: string
  isValid: boolean
}

interface OidcClient {
  clientId: string
}

interface TokenContext extends KoaContext {
  oidc: { body?: Record<string, unknown>; params: Record<string, unknown>; client: OidcClient }
}

interface NewAccessToken {
  expiresIn: number
  readonly expiration: number
  save(): Promise<string>
}

interface TokenModel {
  find(value: string): Promise<StoredToken | undefined>
  revokeByGrantId(grantId: string): Promise<void>
}

interface InteractionDetails {
  prompt: {
    name: string
    details: { missingOIDCScope?: string[]; missingOIDCClaims?: string[] }
  }
  params: Record<string, string>
  session?: { accountId?: string }
  grantId?: string
}

interface Grant {
  addOIDCScope(scope: string): void
  addOIDCClaims(claims: string[]): void
  save(): Promise<string>
}

interface Provider {
  use(middleware: (ctx: KoaContext, next: () => Promise<void>) => Promise<void>): void
  callback(): (req: IncomingMessage, res: ServerResponse) => void
  interactionDetails(req: IncomingMessage, res: ServerResponse): Promise<InteractionDetails>
  interactionResult(
    req: IncomingMessage,
    res: ServerResponse,
    result: Record<string, unknown>,
    options?: { mergeWithLastSubmission?: boolean },
  ): Promise<string>
  registerGrantType(
    name: string,
    handler: (ctx: TokenContext, next: () => Promise<void>) => Promise<void>,
    parameters: string[],
  ): void
  AccessToken: TokenModel & {
    new (init: {
      accountId: string
      client: OidcClient
      grantId: string
      scope?: string | undefined
      gty: string
    }): NewAccessToken
  }
  RefreshToken: TokenModel
  AuthorizationCode: TokenModel
  ClientCredentials: Pick<TokenModel, 'find'>
  Grant: {
    new (init: { accountId: string; clientId: string }): Grant
    find(id: string): Promise<Grant | undefined>
    adapter: { destroy(id: string): Promise<void> }
  }
}

const ProviderClass = ProviderModule as new (issuer: string, config: object) => Provider
const { CustomOIDCProviderError } = oidcErrors as {
  CustomOIDCProviderError: new (error: string, description: string) => Error
}
/** An RFC 6749 §5.2 error answer with its description (oidc-provider's own keep it hidden). */
const tokenError = (error: string) => (description: string) =>
  new CustomOIDCProviderError(error, description)
const invalidGrant = tokenError('invalid_grant')
const invalidRequest = tokenError('invalid_request')
const invalidScope = tokenError('invalid_scope')

/** RFC 7523 §2.1. */
export const JWT_BEARER_GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer'

// ---------------------------------------------------------------

const LOOPBACK_CALLBACKS = ['http://127.0.0.1/oauth/callback', 'http://localhost/oauth/callback']
const DEFAULT_SCOPES = ['openid', 'offline_access', 'api:read', 'api:write']

export async function startOidcPeer(options: OidcPeerOptions = {}): Promise<OidcPeer> {
  const accessTokenTtl = options.accessTokenTtl ?? 60
  const refreshTokenTtl = options.refreshTokenTtl ?? 24 * 60 * 60
  const scopes = options.scopes ?? DEFAULT_SCOPES

  // The issuer holds the port, so listen first and hand requests to the provider once it exists.
  let handler: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => {
    res.statusCode = 503
    res.end()
  }
  const server = createServer((req, res) => handler(req, res))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  const issuer = `http://127.0.0.1:${port}`

  const clients: OidcPeerClients = {
    basic: {
      clientId: 'app-basic',
      clientSecret: 'secret-basic-0123456789abcdef',
      tokenEndpointAuthMethod: 'client_secret_basic',
    },
    post: {
      clientId: 'app-post',
      clientSecret: 'secret-post-0123456789abcdef',
      tokenEndpointAuthMethod: 'client_secret_post',
    },
    pkce: { clientId: 'app-pkce', tokenEndpointAuthMethod: 'none' },
    clientCredentials: {
      clientId: 'service',
      clientSecret: 'secret-service-0123456789abcdef',
      tokenEndpointAuthMethod: 'client_secret_post',
    },
  }
  const { jwtBearer } = options
  const jwtClients: object[] = []
  if (options.privateKeyJwtKeys) {
    clients.privateKeyJwt = {
      clientId: 'app-private-key-jwt',
      tokenEndpointAuthMethod: 'private_key_jwt',
    }
  }
  if (options.clientSecretJwt) {
    clients.clientSecretJwt = {
      clientId: 'app-client-secret-jwt',
      // RFC 7518 §3.2: an HS256 key of at least 256 bits.
      clientSecret: 'secret-client-jwt-0123456789abcdef-0123456789',
      tokenEndpointAuthMethod: 'client_secret_jwt',
    }
  }
  if (jwtBearer) {
    clients.jwtBearer = { clientId: 'app-jwt-bearer', tokenEndpointAuthMethod: 'none' }
  }
  const redirectUris = [...LOOPBACK_CALLBACKS, ...(options.redirectUris ?? [])]
  const codeClient = (c: OidcPeerClient) => ({
    client_id: c.clientId,
    ...(c.clientSecret === undefined ? {} : { client_secret: c.clientSecret }),
    token_endpoint_auth_method: c.tokenEndpointAuthMethod,
    application_type: 'native',
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    redirect_uris: redirectUris,
  })

  if (clients.privateKeyJwt) {
    jwtClients.push({
      ...codeClient(clients.privateKeyJwt),
      grant_types: [
        'authorization_code',
        'refresh_token',
        'client_credentials',
        ...(jwtBearer ? [JWT_BEARER_GRANT] : []),
      ],
      jwks: { keys: options.privateKeyJwtKeys },
    })
  }
  if (clients.clientSecretJwt) {
    jwtClients.push({
      ...codeClient(clients.clientSecretJwt),
      grant_types: ['authorization_code', 'refresh_token', 'client_credentials'],
    })
  }
  if (clients.jwtBearer) {
    jwtClients.push({
      client_id: clients.jwtBearer.clientId,
      token_endpoint_auth_method: 'none',
      grant_types: [JWT_BEARER_GRANT],
      response_types: [],
      redirect_uris: [],
    })
  }

  const { privateKey } = await promisify(generateKeyPair)('rsa', { modulusLength: 2048 })
  const provider = new ProviderClass(issuer, {
    clients: [
      codeClient(clients.basic),
      codeClient(clients.post),
      codeClient(clients.pkce),
      {
        client_id: clients.clientCredentials.clientId,
        client_secret: clients.clientCredentials.clientSecret,
        token_endpoint_auth_method: clients.clientCredentials.tokenEndpointAuthMethod,
        grant_types: ['client_credentials'],
        response_types: [],
        redirect_uris: [],
      },
      ...jwtClients,
    ],
    jwks: { keys: [{ ...privateKey.export({ format: 'jwk' }), kid: 'peer', alg: 'RS256' }] },
    cookies: { keys: ['oidc-peer-cookie-key-0123456789'] },
    scopes,
    findAccount: (_ctx: unknown, sub: string) => ({ accountId: sub, claims: () => ({ sub }) }),
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      // RFC 7009 §2.1: a client may revoke only its own tokens.
      revocation: {
        enabled: true,
        allowedPolicy: (_ctx: unknown, client: { clientId: string }, token: StoredToken) =>
          token.clientId === client.clientId,
      },
      introspection: { enabled: true },
    },
    // Opaque access tokens for the userinfo audience (no resource indicators), so the resource
    // route below can look them up with `AccessToken.find`.
    issueRefreshToken: (_ctx: unknown, client: { grantTypeAllowed(type: string): boolean }) =>
      client.grantTypeAllowed('refresh_token'),
    rotateRefreshToken: true,
    pkce: {
      required: (_ctx: unknown, client: { clientAuthMethod: string }) =>
        client.clientAuthMethod === 'none',
    },
    ttl: {
      AccessToken: accessTokenTtl,
      ClientCredentials: accessTokenTtl,
      RefreshToken: refreshTokenTtl,
      AuthorizationCode: 60,
      IdToken: 3600,
      Interaction: 600,
      Session: 3600,
      Grant: refreshTokenTtl,
    },
  })

  if (jwtBearer) {
    const seen = new Set<string>()
    provider.registerGrantType(
      JWT_BEARER_GRANT,
      async (ctx) => {
        ctx.body = await jwtBearerToken(
          ctx,
          jwtBearer.issuers,
          jwtBearer.accessTokenTtl ?? accessTokenTtl,
          seen,
        )
      },
      ['assertion', 'scope'],
    )
  }

  /** RFC 7523 §3: the assertion's signature and claims, then a token for its subject. */
  async function jwtBearerToken(
    ctx: TokenContext,
    issuers: Record<string, JWK[]>,
    ttl: number,
    seen: Set<string>,
  ): Promise<Record<string, unknown>> {
    const { assertion, scope: scopeParam } = ctx.oidc.params
    if (typeof assertion !== 'string')
      throw invalidRequest("missing required parameter 'assertion'")
    let iss: string | undefined
    try {
      iss = decodeJwt(assertion).iss
    } catch {
      throw invalidGrant('the assertion is not a JWT')
    }
    const keys = iss === undefined ? undefined : issuers[iss]
    if (!keys) throw invalidGrant('the assertion issuer is not known')
    let payload: JWTPayload
    try {
      ;({ payload } = await jwtVerify(assertion, createLocalJWKSet({ keys }), {
        algorithms: ['RS256', 'ES256'],
        audience: [issuer, `${issuer}/token`],
        requiredClaims: ['iss', 'aud', 'exp', 'iat', 'jti'],
      }))
    } catch (err) {
      throw invalidGrant(`the assertion was refused: ${(err as Error).message}`)
    }
    if (payload.exp! - payload.iat! > 3600) {
      throw invalidGrant('the assertion must expire within an hour of its iat')
    }
    const replayKey = `${iss}:${payload.jti}`
    if (seen.has(replayKey)) throw invalidGrant('the assertion was used before')
    seen.add(replayKey)
    const scope =
      typeof scopeParam === 'string'
        ? scopeParam
        : typeof payload.scope === 'string'
          ? payload.scope
          : undefined
    const unknown = (scope ?? '').split(' ').filter((s) => s !== '' && !scopes.includes(s))
    if (unknown.length > 0) throw invalidScope(`unknown scope: ${unknown.join(' ')}`)
    const accountId = payload.sub ?? iss!
    const grant = new provider.Grant({ accountId, clientId: ctx.oidc.client.clientId })
    if (scope) grant.addOIDCScope(scope)
    const token = new provider.AccessToken({
      accountId,
      client: ctx.oidc.client,
      grantId: await grant.save(),
      scope,
      gty: 'jwt_bearer',
    })
    token.expiresIn = ttl
    return {
      access_token: await token.save(),
      token_type: 'Bearer',
      expires_in: token.expiration,
      ...(scope ? { scope } : {}),
    }
  }

  const counters: OidcPeerCounters = {
    tokenRequests: 0,
    tokenRequestsByGrant: {},
    resourceCalls: 0,
    refreshTokensPresented: [],
  }
  const tokenRequestLog: TokenRequestRecord[] = []
  const pendingAnswers = new Map<string, FollowOptions>()

  provider.use(async (ctx, next) => {
    if (ctx.method === 'POST' && ctx.path === '/token') {
      try {
        await next()
        await addTokenResponseExtras(ctx)
      } finally {
        recordTokenRequest(ctx)
      }
      return
    }
    if (ctx.path === '/api/me') return protectedResource(ctx)
    const interaction = /^\/interaction\/([\w-]+)$/.exec(ctx.path)
    if (interaction && ctx.method === 'GET') return answerInteraction(ctx)
    await next()
  })

  async function addTokenResponseExtras(ctx: KoaContext): Promise<void> {
    const body = ctx.body as Record<string, unknown> | undefined
    const accessToken = body?.access_token
    if (!options.tokenResponseExtras || ctx.status !== 200 || typeof accessToken !== 'string')
      return
    const token =
      (await provider.AccessToken.find(accessToken)) ??
      (await provider.ClientCredentials.find(accessToken))
    const grantType = ctx.oidc?.body?.grant_type
    const extras = options.tokenResponseExtras({
      accountId: token?.accountId,
      clientId: token?.clientId,
      grantType: typeof grantType === 'string' ? grantType : 'unknown',
    })
    if (extras) ctx.body = { ...body, ...extras }
  }

  function recordTokenRequest(ctx: KoaContext): void {
    const params: Record<string, string> = {}
    for (const [k, v] of Object.entries(ctx.oidc?.body ?? {})) {
      if (typeof v === 'string') params[k] = v
    }
    const grantType = params.grant_type ?? 'unknown'
    counters.tokenRequests++
    counters.tokenRequestsByGrant[grantType] = (counters.tokenRequestsByGrant[grantType] ?? 0) + 1
    if (params.refresh_token !== undefined)
      counters.refreshTokensPresented.push(params.refresh_token)
    tokenRequestLog.push({
      grantType,
      params,
      authorization: ctx.get('authorization') || undefined,
      status: ctx.status,
    })
  }

  async function protectedResource(ctx: KoaContext): Promise<void> {
    counters.resourceCalls++
    const match = /^Bearer\s+(\S+)$/i.exec(ctx.get('authorization'))
    const value = match?.[1]
    const token = value
      ? ((await provider.AccessToken.find(value)) ?? (await provider.ClientCredentials.find(value)))
      : undefined
    const grantAlive = !token?.grantId || (await provider.Grant.find(token.grantId)) !== undefined
    if (!token?.isValid || !grantAlive) {
      ctx.status = 401
      ctx.set(
        'WWW-Authenticate',
        value ? 'Bearer error="invalid_token"' : `Bearer realm="${issuer}"`,
      )
      ctx.body = { error: value ? 'invalid_token' : 'invalid_request' }
      return
    }
    ctx.status = 200
    ctx.body = { sub: token.accountId ?? null, client_id: token.clientId, scope: token.scope ?? '' }
  }

  // Login, then consent: each prompt is answered at once with what `follow` was told.
  async function answerInteraction(ctx: KoaContext): Promise<void> {
    const details = await provider.interactionDetails(ctx.req, ctx.res)
    const answer = pendingAnswers.get(details.params.state ?? '') ?? {}
    let result: Record<string, unknown>
    if (answer.deny) {
      result = { error: 'access_denied', error_description: 'The user denied the request' }
    } else if (details.prompt.name === 'login') {
      result = { login: { accountId: answer.accountId ?? 'alice' } }
    } else if (details.prompt.name === 'consent') {
      const grant = details.grantId
        ? await provider.Grant.find(details.grantId)
        : new provider.Grant({
            accountId: details.session?.accountId ?? '',
            clientId: details.params.client_id ?? '',
          })
      if (!grant) throw new Error('grant not found')
      const missing = details.prompt.details
      if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '))
      if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims)
      result = { consent: { grantId: await grant.save() } }
    } else {
      throw new Error(`the test peer cannot answer the "${details.prompt.name}" prompt`)
    }
    const returnTo = await provider.interactionResult(ctx.req, ctx.res, result, {
      mergeWithLastSubmission: true,
    })
    ctx.status = 303
    ctx.redirect(returnTo)
  }

  handler = provider.callback()

  async function follow(authorizeUrl: string, followOptions: FollowOptions = {}): Promise<URL> {
    const jar = new CookieJar()
    let url = new URL(authorizeUrl)
    const state = url.searchParams.get('state') ?? ''
    pendingAnswers.set(state, followOptions)
    try {
      for (let hop = 0; hop < 20; hop++) {
        const cookie = jar.header(url)
        const res = await request(url, {
          method: 'GET',
          headers: cookie ? { cookie } : {},
        })
        const text = await res.body.text()
        jar.store(res.headers['set-cookie'], url)
        const location = res.headers.location
        if (res.statusCode < 300 || res.statusCode >= 400 || typeof location !== 'string') {
          throw new Error(
            `the authorization server answered ${res.statusCode}: ${text.slice(0, 500)}`,
          )
        }
        const next = new URL(location, url)
        if (next.origin !== issuer) return next
        url = next
      }
      throw new Error('too many redirects')
    } finally {
      pendingAnswers.delete(state)
    }
  }

  async function revokeGrant(token: string): Promise<void> {
    const found =
      (await provider.RefreshToken.find(token)) ?? (await provider.AccessToken.find(token))
    const grantId = found?.grantId
    if (!grantId) throw new Error('no grant found for this token')
    await Promise.all([
      provider.AccessToken.revokeByGrantId(grantId),
      provider.RefreshToken.revokeByGrantId(grantId),
      provider.AuthorizationCode.revokeByGrantId(grantId),
      provider.Grant.adapter.destroy(grantId),
    ])
  }

  return {
    issuer,
    authorizationUrl: `${issuer}/auth`,
    tokenUrl: `${issuer}/token`,
    revocationUrl: `${issuer}/token/revocation`,
    resourceUrl: `${issuer}/api/me`,
    clients,
    counters,
    tokenRequestLog,
    follow,
    revokeGrant,
    resetCounters() {
      counters.tokenRequests = 0
      counters.tokenRequestsByGrant = {}
      counters.resourceCalls = 0
      counters.refreshTokensPresented = []
      tokenRequestLog.length = 0
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections()
        server.close((err) => (err ? reject(err) : resolve()))
      }),
  }
}

/** Just enough of a browser's cookie store for oidc-provider's path-scoped session cookies. */
class CookieJar {
  readonly #cookies = new Map<string, { name: string; value: string; path: string }>()

  store(setCookie: string | string[] | undefined, url: URL): void {
    for (const line of typeof setCookie === 'string' ? [setCookie] : (setCookie ?? [])) {
      const [pair = '', ...attributes] = line.split(';').map((s) => s.trim())
      const eq = pair.indexOf('=')
      if (eq <= 0) continue
      const name = pair.slice(0, eq)
      const value = pair.slice(eq + 1)
      let path = url.pathname.replace(/\/[^/]*$/, '') || '/'
      let expired = false
      for (const attribute of attributes) {
        const [key = '', val = ''] = attribute.split('=', 2)
        const k = key.toLowerCase()
        if (k === 'path') path = val || '/'
        if (k === 'max-age' && Number(val) <= 0) expired = true
        if (k === 'expires' && Date.parse(val) <= Date.now()) expired = true
      }
      const key = `${name};${path}`
      if (expired) this.#cookies.delete(key)
      else this.#cookies.set(key, { name, value, path })
    }
  }

  header(url: URL): string {
    return [...this.#cookies.values()]
      .filter(
        (c) => url.pathname === c.path || url.pathname.startsWith(c.path.replace(/\/?$/, '/')),
      )
      .map((c) => `${c.name}=${c.value}`)
      .join('; ')
  }
}

// ---- a scripted token endpoint, for provider quirks oidc-provider does not have ----

export interface ScriptedAnswer {
  status?: number
  headers?: Record<string, string>
  /** An object is sent as JSON; a string as is (set `content-type` in `headers`). */
  body?: string | Record<string, unknown>
}

export interface RecordedRequest {
  method: string
  /** Path and query. */
  path: string
  headers: IncomingMessage['headers']
  /** The form fields of a form-encoded body. */
  form: Record<string, string>
}

export interface ScriptedTokenServer {
  /** `http://127.0.0.1:<port>`; any path answers. */
  origin: string
  requests: RecordedRequest[]
  /** Queues answers, one per coming request, in order. */
  answer(...answers: ScriptedAnswer[]): void
  /**
   * Throws when a queued answer was not used, or a request came with none queued; then clears
   * the queue and the recorded requests for the next test.
   */
  assertDone(): void
  close(): Promise<void>
}

/** A `node:http` server on loopback that records each request and answers from a queue. */
export async function startScriptedTokenServer(): Promise<ScriptedTokenServer> {
  const requests: RecordedRequest[] = []
  const queue: ScriptedAnswer[] = []
  let unexpected = 0
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8')
      const isForm = (req.headers['content-type'] ?? '').startsWith(
        'application/x-www-form-urlencoded',
      )
      requests.push({
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        form: isForm ? Object.fromEntries(new URLSearchParams(text)) : {},
      })
      const next = queue.shift()
      if (!next) {
        unexpected++
        res.writeHead(599).end()
        return
      }
      const json = typeof next.body === 'object'
      res.writeHead(next.status ?? 200, {
        ...(json ? { 'content-type': 'application/json' } : {}),
        ...next.headers,
      })
      res.end(json ? JSON.stringify(next.body) : (next.body ?? ''))
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    origin: `http://127.0.0.1:${port}`,
    requests,
    answer: (...answers) => void queue.push(...answers),
    assertDone() {
      const [extra, unused] = [unexpected, queue.length]
      unexpected = 0
      queue.length = 0
      requests.length = 0
      if (extra > 0) throw new Error(`${extra} request(s) came with no answer queued`)
      if (unused > 0) throw new Error(`${unused} queued answer(s) were not used`)
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections()
        server.close((err) => (err ? reject(err) : resolve()))
      }),
  }
}
