/**
 * The one interface every auth type implements, and the registry that holds them. The pipeline,
 * the engine, the server and the web UI ask these hooks whatever they need to decide per type, and
 * never name a type (docs/auth/README.md).
 *
 * A scheme's life on a connection:
 * 1. `connect` — straight to `connected` (basic, api_key, client_credentials, custom acquire…) or
 *    `pending` with an authorize URL (browser flows), finished later by `complete`.
 * 2. `apply` — before every request, adds the credentials.
 * 3. `refresh` — re-acquires credentials when `refreshOn` fires or they expire.
 * 4. `revoke` — when the connection is deleted.
 *
 * @module
 */
import type { z } from 'zod'
import type { FieldDefinition } from '../connector/schema.js'
import { PatchbayError, type FieldIssue } from '../errors.js'
import type { HttpClient } from '../lib/http.js'
import type { OutgoingRequest } from '../lib/request.js'
import type { AuthPresentation } from './presentation.js'

/** Values a scheme acquired (tokens); all are secrets, encrypted at rest, never returned. */
export interface Credentials {
  /** e.g. `access_token`, `refresh_token`, `oauth_token_secret`, `token`; readable as `{{name}}`. */
  values: Record<string, string>
  /** Epoch ms when the access credential stops working, when known. */
  expiresAt?: number | undefined
  /** Epoch ms when the refresh credential lapses, when known. */
  refreshExpiresAt?: number | undefined
  /** Epoch ms when the credentials were obtained; proactive refresh runs at 85 % of the lifetime. */
  obtainedAt?: number | undefined
  /**
   * Values kept from the token response that are not secrets (the connector's
   * `tokenResponseValues`, `response-values.ts`): readable as `{{name}}` like `values`, and shown
   * on the connection. Sealed with the credentials, so they change with them in one write.
   */
  tokenValues?: Record<string, string> | undefined
}

/** A value a scheme keeps from token responses (`AuthScheme.tokenValues`). */
export interface TokenValueDeclaration {
  name: string
  /** Kept with the tokens: never shown, redacted from logs, not usable in URLs. */
  secret: boolean
  /** The setting that declares it, relative to `auth` (for the connector's 400s). */
  path: string
}

/** Everything a hook may read. Settings and values are decrypted; treat them as secrets. */
export interface AuthContext<S = Record<string, unknown>> {
  /** The connector's auth settings, parsed by this scheme's `settings` schema. */
  settings: S
  /** The connection's field values (connector fields and this scheme's fields). */
  values: Record<string, unknown>
  /** Acquired credentials; empty before the first acquire. */
  credentials: Credentials
  /** Resolves `{{name}}` templates against values and credentials (docs/concepts.md). */
  render: (template: string) => string
  /**
   * Like `render`, for URLs: each value is percent-encoded, so a connection value can fill a
   * path segment or a subdomain but never move a request (and its secrets) to another host.
   */
  renderUrl: (template: string) => string
  /** Outgoing HTTP for token endpoints, with the engine's dispatcher and network rules. */
  http: HttpClient
  connectorName: string
  connectionId: string
  /** `<public url>/oauth/callback` etc. */
  callbackUrl: (path: string) => string
  now: () => number
  /** Resolves an auth scheme by type (for schemes that compose others, like `multi`). */
  registry: AuthRegistry
}

/** State a browser flow keeps between `connect` and `complete` (encrypted with the OAuth state). */
export type FlowState = Record<string, string>

export type ConnectOutcome =
  | { status: 'connected'; credentials: Credentials }
  | {
      status: 'pending'
      authorizeUrl: string
      /** The `state` value the provider will echo (≥ 128 random bits); the engine stores it. */
      state: string
      flow: FlowState
    }

/** A route that finishes browser flows: the provider sends the user's browser back to `path`. */
export interface FlowCallback {
  /** Under the public URL, e.g. `/oauth/callback`; the server answers it. */
  readonly path: string
  /** The value the flow is stored under (`ConnectOutcome.state`), read from the callback's query. */
  stateOf(params: URLSearchParams): string | null
}

export interface AuthScheme<S = Record<string, unknown>> {
  readonly type: string
  readonly label: string
  /**
   * The complete settings (without the common `type`, `refreshOn`, `detectOn`, `extra`). A draft
   * connector is validated against a partial version; `ready` requires the whole.
   */
  readonly settings: z.ZodObject
  /** Settings keys that hold secrets: encrypted at rest and masked in answers. */
  readonly secretSettings?: readonly string[]
  /**
   * How the connector builder shows the settings: labels, order, layout, conditions, editors
   * (`presentation.ts`). The builder's form is drawn from these hints and the JSON Schema of
   * `settings`, so a type needs no UI code of its own.
   */
  readonly presentation?: AuthPresentation
  /**
   * Fields a connection supplies for this scheme, besides the connector's own `fields`. With the
   * connection's `values`, a scheme whose fields depend on them (`multi`) answers exactly.
   */
  connectionFields(settings: S, values?: Record<string, unknown>): FieldDefinition[]
  /**
   * Whether a failed response (or an expiry) should lead to `refresh`: false when the scheme
   * cannot re-acquire for these settings, connection values and credentials.
   */
  readonly canRefresh: (
    settings: S,
    values?: Record<string, unknown>,
    credentials?: Credentials,
  ) => boolean
  /**
   * Rules between settings that a draft may break but `ready` may not (each with the setting's
   * path, relative to `auth`).
   */
  problems?(settings: S): FieldIssue[]
  /**
   * Whether connecting with these settings (and the connection's values so far) sends the user's
   * browser to the provider; absent means never.
   */
  needsBrowser?(settings: S, values: Record<string, unknown>): boolean
  /** The routes this scheme's browser flows come back to. */
  readonly callbacks?: readonly FlowCallback[]
  /**
   * Settings (arrays) that may still grow once the connector is ready: items may be appended, and
   * existing ones edited or removed only while the connector has no connection. Every other
   * setting is frozen once ready.
   */
  readonly appendOnlySettings?: readonly string[]
  /** Starts a connection. */
  connect(ctx: AuthContext<S>): Promise<ConnectOutcome>
  /** Finishes a browser flow with the callback's query parameters. */
  complete?(ctx: AuthContext<S>, params: URLSearchParams, flow: FlowState): Promise<Credentials>
  /** Adds the credentials to an outgoing request (the scheme may sign it). */
  apply(ctx: AuthContext<S>, request: OutgoingRequest): void | Promise<void>
  /**
   * Whether `apply` signs the request (OAuth 1.0a, SigV4). When it does, the connector's `extra`
   * headers go on the request before `apply`, so the signature covers them; otherwise they go on
   * after it (and win over a header of the same name). `extra` query parameters always go on
   * before. A scheme that hands `apply` to another (`multi`, code connectors) answers for the
   * connection: read it with `signsRequest()`.
   */
  readonly signsRequest?: boolean | ((settings: S, values: Record<string, unknown>) => boolean)
  /** Re-acquires credentials. Throws `connection.needs_reauth` when the grant is dead. */
  refresh?(ctx: AuthContext<S>): Promise<Credentials>
  /** Revokes credentials at the provider (best effort). */
  revoke?(ctx: AuthContext<S>): Promise<void>
  /**
   * The values these settings keep from token responses (`tokenResponseValues`): readable as
   * `{{name}}` in the base URL, `allowedOrigins`, `extra` and saved actions, and shown on the
   * connection unless secret. The connector's validation refuses a name that is also a
   * connection field, and a base URL that names a value nothing provides. Called with a draft's
   * partial settings too.
   */
  tokenValues?(settings: S): TokenValueDeclaration[]
  /** Names secret values (header names, query keys) this scheme put on requests, for log redaction. */
  readonly redact?: (settings: S) => { headers?: string[]; query?: string[]; form?: string[] }
  /**
   * Whom a connection is for, when the scheme knows (a code connector's `identity` lambda); the
   * engine otherwise runs the connector's `identity` request. Shown on the connection (docs/auth/).
   */
  identity?(ctx: AuthContext<S>): Promise<string | null>
  /**
   * `POST …/ready` needs a successful `test` of the connector's current settings first (Intercom's
   * rule for HTTP-request tokens); changing the settings in draft asks for a new test.
   */
  readonly testBeforeReady?: boolean
  /**
   * The connector builder's "test request": tries the settings once with sample connection
   * values and reports what came back. The report is shown as is, so it holds no raw secret.
   */
  test?(ctx: SchemeTestContext<S>): Promise<SchemeTestResult>
  /**
   * The link name of the one connector this scheme belongs to (a code connector's
   * `code:<linkName>`): connectors created or changed through the API may not name it.
   */
  readonly ownedBy?: string
}

export interface SchemeTestContext<S = Record<string, unknown>> {
  /** The connector's complete settings (secrets included). */
  settings: S
  /** Sample connection values for the templates (`{{username}}`…). */
  values: Record<string, unknown>
  http: HttpClient
}

export interface SchemeTestResult {
  ok: boolean
  /** What to show: status, masked token, why it failed… (never a raw secret). */
  report: Record<string, unknown>
}

export interface AuthRegistry {
  get(type: string): AuthScheme | undefined
  types(): string[]
  /** Every scheme's flow callbacks, one per path. */
  callbacks(): FlowCallback[]
}

export function createAuthRegistry(schemes: AuthScheme<never>[]): AuthRegistry {
  const byType = new Map<string, AuthScheme>()
  for (const scheme of schemes) {
    if (byType.has(scheme.type)) throw new Error(`auth type "${scheme.type}" is registered twice`)
    byType.set(scheme.type, scheme as unknown as AuthScheme)
  }
  const callbacks = new Map<string, FlowCallback>()
  for (const scheme of byType.values())
    for (const cb of scheme.callbacks ?? []) if (!callbacks.has(cb.path)) callbacks.set(cb.path, cb)
  return {
    get: (type) => byType.get(type),
    types: () => [...byType.keys()],
    callbacks: () => [...callbacks.values()],
  }
}

/** Whether `scheme.apply` signs a request of a connector with these settings and values. */
export function signsRequest<S>(
  scheme: AuthScheme<S>,
  settings: S,
  values: Record<string, unknown>,
): boolean {
  const flag = scheme.signsRequest
  return typeof flag === 'function' ? flag(settings, values) : flag === true
}

/** Defines a scheme with its settings typed from its schema. */
export function defineAuthScheme<T extends z.ZodObject>(
  scheme: Omit<AuthScheme<z.infer<T>>, 'settings'> & { settings: T },
): AuthScheme<z.infer<T>> {
  return scheme
}

/** Refuses a connection value that cannot travel in an HTTP header (RFC 9110 §5.5). */
export function assertHeaderValue(value: string, field: string): void {
  if (!/^[\t\x20-\x7e\x80-\xff]*$/.test(value)) {
    const rule =
      'may not hold control characters or characters outside Latin-1: it is sent in a header'
    throw new PatchbayError('connection.invalid_values', `values.${field} ${rule}`, {
      details: [{ path: `values.${field}`, rule }],
    })
  }
}
