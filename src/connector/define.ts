/**
 * Code connectors (docs/auth/): a connector written in TypeScript or
 * JavaScript whose auth may replace any of `acquire`, `apply`, `refresh`, `identity`, `pkce` and
 * `selected` with functions, with the signatures and meaning of Workato's connector SDK
 * `authorization` hash.
 *
 * The operator puts such files in `PATCHBAY_CONNECTORS_DIR` (each `.js` / `.mjs` file
 * default-exporting `defineConnector(…)`); the server loads them at start as `ready` connectors
 * managed by code. Code is never accepted through the API.
 *
 * ```ts
 * import { defineConnector } from 'patchbay'
 *
 * export default defineConnector({
 *   name: 'Acme CRM',
 *   baseUrl: 'https://{{subdomain}}.acme.com/api/',
 *   fields: [
 *     { name: 'subdomain', type: 'text' },
 *     { name: 'api_key', type: 'password' },
 *   ],
 *   auth: {
 *     type: 'custom',
 *     async acquire(connection, { http }) {
 *       const res = await http(`https://${connection.subdomain}.acme.com/api/session`, {
 *         method: 'POST',
 *         body: { key: connection.api_key },
 *       })
 *       return { session: (res.body as { token: string }).token }
 *     },
 *     apply(connection, _accessToken, request) {
 *       request.headers({ 'X-Session': String(connection.session) })
 *     },
 *     identity: (connection) => String(connection.subdomain),
 *     refreshOn: [401],
 *   },
 *   customAction: { enabled: true },
 * })
 * ```
 *
 * @see https://docs.workato.com/developing-connectors/sdk/sdk-reference/connection/authorization.html
 * @module
 */
import type { HttpClient } from '../lib/http.js'
import type { ConnectorInput, Signal } from './schema.js'

export type Awaitable<T> = T | Promise<T>

/**
 * Workato's `connection` hash: the connection's field values (secrets included) merged with the
 * values acquired so far (`access_token`, what `acquire` returned…). A frozen copy.
 */
export type CodeConnection = Readonly<Record<string, unknown>>

/**
 * The outgoing request as `apply` sees it (Workato's `headers`, `params`, `payload`, `user`,
 * `password`). Each setter returns the request, so calls chain.
 */
export interface CodeRequest {
  /** The full URL as it will be sent (query parameters set so far included). */
  readonly url: string
  /** Upper case: `GET`, `POST`, … */
  readonly method: string
  /** Sets headers (names are case-insensitive). */
  headers(values: Record<string, string | number | boolean>): CodeRequest
  /** Sets query parameters. */
  params(values: Record<string, string | number | boolean>): CodeRequest
  /** Sets body fields: JSON fields keep their type; a form or an empty body gets form fields. */
  payload(values: Record<string, unknown>): CodeRequest
  /** The HTTP Basic user name (sent as `Authorization: Basic …` with `password`). */
  user(name: string): CodeRequest
  /** The HTTP Basic password. */
  password(secret: string): CodeRequest
}

/** What `acquire` and `refresh` may use besides the connection. */
export interface CodeTools {
  /**
   * HTTP with the server's network rules and timeout, without the connection's auth: for token
   * endpoints. JSON and form answers come back parsed in `body`.
   */
  http: HttpClient
}

/** What `identity` may use: also a call through the connection's own auth. */
export interface IdentityTools extends CodeTools {
  /**
   * `GET` a path of the connector's base URL (or an absolute URL on its origin) with the
   * connection's auth applied; answers the parsed body, and throws on a non-2xx status.
   */
  get(path: string, query?: Record<string, string>): Promise<unknown>
}

/** Tokens as a token endpoint answers them (RFC 6749 §5.1), and Workato's lambdas return them. */
export interface CodeTokens {
  access_token?: string
  refresh_token?: string
  /** Seconds. */
  expires_in?: number | string
  /** Seconds; a connection is refreshed in the background before it lapses (docs/auth/). */
  refresh_token_expires_in?: number | string
  [name: string]: unknown
}

/**
 * What `acquire` returns: a hash merged into the connection's acquired values (custom auth), or,
 * OAuth 2.0 style, `[tokens, ownerId, extraValues]`.
 */
export type AcquireResult =
  | Record<string, unknown>
  | [tokens: CodeTokens, ownerId?: string | null, extraValues?: Record<string, unknown> | null]

/** What a `pkce` lambda answers (Workato: `{ verifier:, challenge:, challenge_method: }`). */
export interface PkceResult {
  verifier: string
  challenge: string
  /** Default `S256`. */
  challenge_method?: 'S256' | 'plain'
}

/** Lambdas and settings every code auth may have. */
interface CodeAuthBase {
  /** Error signals that re-acquire credentials (docs/pipeline.md). */
  refreshOn?: Signal[]
  /** Signals that turn a response into an error, a 200 included (docs/pipeline.md). */
  detectOn?: Signal[]
  /** Templated headers and query parameters applied after the auth's own (docs/auth/). */
  extra?: { headers?: Record<string, string>; query?: Record<string, string> }
  /**
   * Adds the credentials to every request, replacing the type's own `apply`. `accessToken` is the
   * acquired `access_token` (or `token`), when there is one.
   */
  apply?(
    connection: CodeConnection,
    accessToken: string | undefined,
    request: CodeRequest,
  ): Awaitable<void>
  /**
   * Re-acquires credentials when `refreshOn` fires or they expire; answers the new tokens, merged
   * into the acquired values (a new `refresh_token` replaces the old one).
   */
  refresh?(
    connection: CodeConnection,
    refreshToken: string | undefined,
    tools: CodeTools,
  ): Awaitable<CodeTokens>
  /** Whom the connection is for (an e-mail, a login…), shown on the connection. */
  identity?(connection: CodeConnection, tools: IdentityTools): Awaitable<string | null | undefined>
  /** The settings of the type, as in a JSON connector (`request`, `clientId`, `params`, …). */
  [setting: string]: unknown
}

/** `custom` (the default) and the other types: `acquire(connection)` answers a hash of values. */
export interface CustomCodeAuth extends CodeAuthBase {
  type?: 'custom' | 'basic' | 'api_key' | 'bearer' | 'http_token' | 'aws_sigv4' | 'oauth1'
  /**
   * Runs on connect and, without `refresh`, whenever credentials must be re-acquired; what it
   * answers is merged into the connection's acquired values (`{{name}}` in templates).
   */
  acquire?(connection: CodeConnection, tools: CodeTools): Awaitable<Record<string, unknown>>
}

/** `oauth2`: the settings of the `oauth2` type, with the token exchange and PKCE replaceable. */
export interface OAuth2CodeAuth extends CodeAuthBase {
  type: 'oauth2'
  /**
   * Exchanges the authorization code (browser grants) or fetches a token (client credentials);
   * answers `[tokens, ownerId, extraValues]` or the tokens alone.
   */
  acquire?(
    connection: CodeConnection,
    authCode: string | undefined,
    redirectUri: string | undefined,
    codeVerifier: string | undefined,
    tools: CodeTools,
  ): Awaitable<AcquireResult>
  /** Replaces the PKCE pair Patchbay made (and turns PKCE on for `authorization_code`). */
  pkce?(verifier: string, challenge: string): Awaitable<PkceResult>
}

/** `multi`: the options of the `multi` type, with the option chosen by `selected`. */
export interface MultiCodeAuth extends CodeAuthBase {
  type: 'multi'
  /** The key of the option in force for this connection (synchronous: forms depend on it). */
  selected?(connection: CodeConnection): string
}

export type CodeAuth = CustomCodeAuth | OAuth2CodeAuth | MultiCodeAuth

/** A connector as code: the JSON definition (docs/concepts.md) with lambdas on `auth`. */
export type CodeConnector = Omit<ConnectorInput, 'auth'> & {
  auth: CodeAuth
  /** How long a lambda may take before it fails with `connector.code_error` (default 30 000 ms). */
  lambdaTimeoutMs?: number
}

/** Marks what `defineConnector` returned (shared across copies of the package). */
export const CODE_CONNECTOR = Symbol.for('patchbay.codeConnector')

/**
 * Declares a code connector. Returns it as given, marked, and typed so that an editor completes
 * the settings and each lambda's arguments.
 */
export function defineConnector<T extends CodeConnector>(connector: T): T {
  Object.defineProperty(connector, CODE_CONNECTOR, { value: true, enumerable: false })
  return connector
}

export function isCodeConnector(value: unknown): value is CodeConnector {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as Record<symbol, unknown>)[CODE_CONNECTOR] === true
  )
}

/** The lambda names, in the order Workato lists them. */
export const LAMBDAS = ['acquire', 'apply', 'refresh', 'identity', 'pkce', 'selected'] as const
export type LambdaName = (typeof LAMBDAS)[number]
