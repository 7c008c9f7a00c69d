/**
 * The auth scheme of a code connector (`code:<linkName>`): the type it builds on (`custom` by
 * default, `oauth2`, `multi`, …) with Workato's lambdas in place of that type's hooks (docs/auth/):
 *
 * | lambda | replaces |
 * | --- | --- |
 * | `acquire(connection, tools)` | `connect` and, without `refresh`, re-acquiring (custom and the other types) |
 * | `acquire(connection, code, redirectUri, verifier, tools)` | the OAuth 2.0 token exchange (or the client-credentials token) |
 * | `apply(connection, accessToken, request)` | `apply` |
 * | `refresh(connection, refreshToken, tools)` | `refresh` |
 * | `identity(connection, tools)` | the identity request |
 * | `pkce(verifier, challenge)` | the PKCE pair of the OAuth 2.0 authorization request |
 * | `selected(connection)` | `multi`'s select field |
 *
 * A lambda runs with a time limit; whatever it throws (other than a `PatchbayError`) becomes
 * `connector.code_error` naming the connector and the lambda, with the connection's secrets
 * taken out of the message.
 *
 * @module
 */
import type { z } from 'zod'
import type {
  AcquireResult,
  CodeAuth,
  CodeConnection,
  CodeConnector,
  CodeRequest,
  CodeTokens,
  CodeTools,
  IdentityTools,
  LambdaName,
} from '../connector/define.js'
import { LAMBDAS } from '../connector/define.js'
import type { FieldDefinition } from '../connector/schema.js'
import { PatchbayError, isPatchbayError } from '../errors.js'
import { setBodyField, type OutgoingRequest } from '../lib/request.js'
import { processAuthorizationResponse } from './oauth2/authorize.js'
import { calculateCodeChallenge, createCodeVerifier } from './oauth2/pkce.js'
import {
  signsRequest,
  type AuthContext,
  type AuthRegistry,
  type AuthScheme,
  type ConnectOutcome,
  type Credentials,
  type FlowState,
} from './scheme.js'

type Obj = Record<string, unknown>
type Lambdas = Partial<Record<LambdaName, (...args: never[]) => unknown>>

/** Lambdas that only make sense on one base type. */
const ONLY_ON: Partial<Record<LambdaName, string>> = { pkce: 'oauth2', selected: 'multi' }

/** Settings a lambda makes unnecessary: optional when it is given. */
const REPLACED: Record<string, Partial<Record<LambdaName, string[]>>> = {
  custom: { apply: ['apply'] },
  http_token: { acquire: ['request', 'tokenPath'] },
  oauth2: { acquire: ['tokenUrl', 'clientSecret'] },
}

export const DEFAULT_LAMBDA_TIMEOUT_MS = 30_000

export function codeSchemeType(linkName: string): string {
  return `code:${linkName}`
}

/** A code connector's auth split into its lambdas and its JSON settings. */
export function splitCodeAuth(auth: CodeAuth): { baseType: string; lambdas: Lambdas; json: Obj } {
  const baseType = typeof auth.type === 'string' ? auth.type : 'custom'
  const lambdas: Lambdas = {}
  const json: Obj = {}
  for (const [key, value] of Object.entries(auth)) {
    if (typeof value !== 'function') {
      if (key !== 'type') json[key] = value
      continue
    }
    if (!(LAMBDAS as readonly string[]).includes(key)) {
      throw new TypeError(`auth.${key} is a function, but lambdas are ${LAMBDAS.join(', ')}`)
    }
    const only = ONLY_ON[key as LambdaName]
    if (only && only !== baseType) {
      throw new TypeError(`auth.${key} needs auth.type "${only}" (it is "${baseType}")`)
    }
    lambdas[key as LambdaName] = value as (...args: never[]) => unknown
  }
  return { baseType, lambdas, json }
}

export interface CodeSchemeOptions {
  linkName: string
  /** The registry the scheme is part of, to find its base type (read lazily). */
  registry: () => AuthRegistry
}

/**
 * Creates the `code:<linkName>` scheme of one code connector. Its settings are the base type's
 * (those a lambda replaces made optional); every hook runs a lambda where there is one and the
 * base type's hook otherwise.
 */
export function createCodeScheme(connector: CodeConnector, options: CodeSchemeOptions): AuthScheme {
  const { baseType, lambdas } = splitCodeAuth(connector.auth)
  const name = connector.name
  const timeoutMs = connector.lambdaTimeoutMs ?? DEFAULT_LAMBDA_TIMEOUT_MS
  // Header, query and form names `apply` lambdas have set, for log redaction.
  const applied = { headers: new Set<string>(), query: new Set<string>(), form: new Set<string>() }
  let settingsSchema: z.ZodObject | undefined
  const replaced = Object.entries(REPLACED[baseType] ?? {}).flatMap(([lambda, keys]) =>
    lambdas[lambda as LambdaName] ? keys : [],
  )

  function base(): AuthScheme {
    const scheme = options.registry().get(baseType)
    if (!scheme || scheme.ownedBy !== undefined || baseType === codeSchemeType(options.linkName)) {
      throw new PatchbayError(
        'connector.invalid',
        `the ${name} connector builds on the auth type "${baseType}", which this server does not have`,
      )
    }
    return scheme
  }

  const isBrowserOAuth2 = (settings: Obj) =>
    baseType === 'oauth2' &&
    (settings.grantType === 'authorization_code' ||
      settings.grantType === 'authorization_code_pkce')

  /** Whether `acquire` is how credentials are (re-)acquired without a browser. */
  const acquiresDirectly = (settings: Obj) =>
    lambdas.acquire !== undefined && !isBrowserOAuth2(settings)

  /** Values that must not appear in an error message: secrets of the connection and settings. */
  function secretsOf(ctx: AuthContext | undefined): string[] {
    if (!ctx) return []
    const out: string[] = []
    const walk = (v: unknown): void => {
      if (typeof v === 'string' && v.length >= 4) out.push(v)
      else if (v && typeof v === 'object') Object.values(v).forEach(walk)
    }
    walk(ctx.credentials.values)
    const secretFields = (fields: FieldDefinition[], values: unknown): void => {
      if (!values || typeof values !== 'object') return
      for (const f of fields) {
        const v = (values as Obj)[f.name]
        if (f.type === 'password') walk(v)
        else if (f.type === 'object') secretFields(f.properties ?? [], v)
      }
    }
    let schemeFields: FieldDefinition[] = []
    try {
      schemeFields = base().connectionFields(ctx.settings, ctx.values)
    } catch {
      // incomplete settings describe no fields
    }
    secretFields([...(connector.fields ?? []), ...schemeFields] as FieldDefinition[], ctx.values)
    for (const key of base().secretSettings ?? []) walk(ctx.settings[key])
    return out.sort((a, b) => b.length - a.length)
  }

  function codeError(lambda: LambdaName, text: string, ctx: AuthContext | undefined) {
    let message = text
    for (const secret of secretsOf(ctx)) message = message.split(secret).join('[REDACTED]')
    return new PatchbayError(
      'connector.code_error',
      `the ${name} connector's ${lambda} lambda failed: ${message}`,
      { details: { connector: name, lambda } },
    )
  }

  /** Runs a lambda within the time limit; what it throws names the connector, without secrets. */
  async function run<T>(
    lambda: LambdaName,
    ctx: AuthContext | undefined,
    call: () => T,
  ): Promise<Awaited<T>> {
    let timer: NodeJS.Timeout | undefined
    const limit = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(codeError(lambda, `it did not finish within ${timeoutMs} ms`, undefined)),
        timeoutMs,
      )
      timer.unref?.()
    })
    try {
      return await Promise.race([Promise.resolve().then(call), limit])
    } catch (err) {
      if (isPatchbayError(err)) throw err
      throw codeError(lambda, err instanceof Error ? err.message : String(err), ctx)
    } finally {
      clearTimeout(timer)
    }
  }

  /** `selected` is synchronous: the connection form and validation depend on it. */
  function runSelected(ctx: AuthContext | undefined, values: Obj): string {
    try {
      const key = (lambdas.selected as (c: CodeConnection) => unknown)(Object.freeze({ ...values }))
      if (typeof key !== 'string')
        throw new TypeError(`it answered ${describe(key)}, not an option key`)
      return key
    } catch (err) {
      if (isPatchbayError(err)) throw err
      throw codeError('selected', err instanceof Error ? err.message : String(err), ctx)
    }
  }

  /** For `multi` with `selected`: the option key put where the `multi` type reads it. */
  function select(ctx: AuthContext): AuthContext {
    if (!lambdas.selected) return ctx
    const selectedBy = String(ctx.settings.selectedBy ?? 'auth_type')
    // ctx.values is this call's own copy (engine/credentials.ts), so setting it here is local.
    ctx.values[selectedBy] = runSelected(ctx, { ...ctx.values, ...ctx.credentials.values })
    return ctx
  }

  const connectionOf = (ctx: AuthContext): CodeConnection =>
    Object.freeze({ ...ctx.values, ...ctx.credentials.values })
  const tools = (ctx: AuthContext): CodeTools => ({ http: ctx.http })

  async function acquireCredentials(
    ctx: AuthContext,
    args: { code?: string; redirectUri?: string; codeVerifier?: string },
  ): Promise<Credentials> {
    const acquire = lambdas.acquire as (...a: unknown[]) => unknown
    const now = ctx.now()
    const result = await run('acquire', ctx, () =>
      baseType === 'oauth2'
        ? acquire(connectionOf(ctx), args.code, args.redirectUri, args.codeVerifier, tools(ctx))
        : acquire(connectionOf(ctx), tools(ctx)),
    )
    return credentialsFrom('acquire', result as AcquireResult, ctx, now)
  }

  /** Tokens or a hash from a lambda, as credentials merged over those acquired before. */
  function credentialsFrom(
    lambda: LambdaName,
    result: AcquireResult | CodeTokens,
    ctx: AuthContext,
    now: number,
  ): Credentials {
    let tokens: Obj
    let extra: Obj = {}
    let owner: unknown
    if (Array.isArray(result)) {
      const [t, ownerId, extraValues] = result
      tokens = (t ?? {}) as Obj
      owner = ownerId
      extra = extraValues ?? {}
    } else if (result !== null && typeof result === 'object') {
      tokens = result as Obj
    } else {
      throw codeError(lambda, `it answered ${describe(result)}, not a hash of values`, ctx)
    }
    if (
      (baseType === 'oauth2' || Array.isArray(result)) &&
      typeof tokens.access_token !== 'string'
    ) {
      throw codeError(lambda, 'it answered no access_token', ctx)
    }
    const values: Record<string, string> = { ...ctx.credentials.values }
    for (const [k, v] of [...Object.entries(tokens), ...Object.entries(extra)]) {
      if (v === undefined || v === null) continue
      values[k] = typeof v === 'string' ? v : typeof v === 'object' ? JSON.stringify(v) : String(v)
    }
    if (owner !== undefined && owner !== null) values.owner_id = String(owner)
    const expiresIn =
      seconds(tokens.expires_in) ??
      (baseType === 'oauth2' ? (seconds(ctx.settings.expiresIn) ?? 3600) : undefined)
    const refreshExpiresIn = seconds(tokens.refresh_token_expires_in)
    return {
      values,
      obtainedAt: now,
      ...(expiresIn === undefined ? {} : { expiresAt: now + expiresIn * 1000 }),
      ...(refreshExpiresIn === undefined
        ? ctx.credentials.refreshExpiresAt === undefined
          ? {}
          : { refreshExpiresAt: ctx.credentials.refreshExpiresAt }
        : { refreshExpiresAt: now + refreshExpiresIn * 1000 }),
    }
  }

  async function applyLambda(ctx: AuthContext, request: OutgoingRequest): Promise<void> {
    const basic: { user?: string; password?: string } = {}
    const wrapped: CodeRequest = {
      get url() {
        return request.url.href
      },
      get method() {
        return request.method
      },
      headers(values) {
        for (const [k, v] of Object.entries(values)) {
          request.headers[k.toLowerCase()] = String(v)
          applied.headers.add(k.toLowerCase())
        }
        return wrapped
      },
      params(values) {
        for (const [k, v] of Object.entries(values)) {
          request.url.searchParams.set(k, String(v))
          applied.query.add(k)
        }
        return wrapped
      },
      payload(values) {
        for (const [k, v] of Object.entries(values)) {
          const body = request.body
          if (body.kind === 'json' && body.value !== null && typeof body.value === 'object') {
            ;(body.value as Obj)[k] = v
          } else {
            setBodyField(request, k, typeof v === 'string' ? v : JSON.stringify(v))
          }
          applied.form.add(k)
        }
        return wrapped
      },
      user(user) {
        basic.user = String(user)
        return wrapped
      },
      password(password) {
        basic.password = String(password)
        return wrapped
      },
    }
    const token = ctx.credentials.values.access_token ?? ctx.credentials.values.token
    const apply = lambdas.apply as (
      c: CodeConnection,
      t: string | undefined,
      r: CodeRequest,
    ) => unknown
    await run('apply', ctx, () => apply(connectionOf(ctx), token, wrapped))
    if (basic.user !== undefined || basic.password !== undefined) {
      const pair = `${basic.user ?? ''}:${basic.password ?? ''}`
      request.headers['authorization'] = `Basic ${Buffer.from(pair).toString('base64')}`
      applied.headers.add('authorization')
    }
  }

  const scheme: AuthScheme = {
    type: codeSchemeType(options.linkName),
    label: `${name} (code)`,
    ownedBy: options.linkName,
    get settings(): z.ZodObject {
      if (settingsSchema) return settingsSchema
      const b = base().settings
      const relax: Record<string, z.ZodType> = {}
      for (const key of replaced) {
        const field = b.shape[key] as z.ZodType | undefined
        if (field) relax[key] = field.optional()
      }
      settingsSchema = Object.keys(relax).length ? b.extend(relax) : b
      return settingsSchema
    },
    problems(settings) {
      // Rules about settings a lambda replaced do not apply.
      return (base().problems?.(settings) ?? []).filter(
        (p) => !replaced.includes(p.path.split('.')[0]!),
      )
    },
    get secretSettings() {
      return base().secretSettings
    },
    get appendOnlySettings() {
      return base().appendOnlySettings
    },
    // The base type's callbacks are the registry's already: a code scheme adds none.
    needsBrowser(settings, values) {
      if (acquiresDirectly(settings)) return false
      return base().needsBrowser?.(settings, selectedValues(settings, values)) ?? false
    },
    connectionFields(settings, values) {
      const fields = base().connectionFields(settings, values && selectedValues(settings, values))
      if (!lambdas.selected) return fields
      const selectedBy = String(settings.selectedBy ?? 'auth_type')
      return fields.filter((f) => f.name !== selectedBy)
    },
    canRefresh(settings, values) {
      if (lambdas.refresh || acquiresDirectly(settings)) return true
      const b = base()
      return (
        Boolean(b.refresh) && b.canRefresh(settings, values && selectedValues(settings, values))
      )
    },
    async connect(ctx) {
      select(ctx)
      if (acquiresDirectly(ctx.settings)) {
        return { status: 'connected', credentials: await acquireCredentials(ctx, {}) }
      }
      const outcome = await base().connect(ctx)
      if (outcome.status === 'pending' && lambdas.pkce && isBrowserOAuth2(ctx.settings)) {
        return withPkce(ctx, outcome)
      }
      return outcome
    },
    async complete(ctx, params, flow) {
      select(ctx)
      if (lambdas.acquire && isBrowserOAuth2(ctx.settings)) {
        const code = processAuthorizationResponse(params, { expectedState: flow.state })
        return acquireCredentials(ctx, {
          code,
          ...(flow.redirectUri === undefined ? {} : { redirectUri: flow.redirectUri }),
          ...(flow.codeVerifier === undefined ? {} : { codeVerifier: flow.codeVerifier }),
        })
      }
      const b = base()
      if (!b.complete) {
        throw new PatchbayError('connection.flow_failed', `${b.label} has no browser flow`)
      }
      return b.complete(ctx, params, flow)
    },
    async apply(ctx, request) {
      select(ctx)
      if (lambdas.apply) await applyLambda(ctx, request)
      else await base().apply(ctx, request)
    },
    // Without an `apply` lambda the base type's `apply` runs, and signs if that type signs; a lambda
    // is not taken to sign, so `extra` headers go on after it, as for any type that does not.
    signsRequest: (settings, values) =>
      !lambdas.apply && signsRequest(base(), settings, selectedValues(settings, values)),
    async refresh(ctx) {
      select(ctx)
      if (lambdas.refresh) {
        const refresh = lambdas.refresh as (
          c: CodeConnection,
          r: string | undefined,
          t: CodeTools,
        ) => unknown
        const now = ctx.now()
        const tokens = await run('refresh', ctx, () =>
          refresh(connectionOf(ctx), ctx.credentials.values.refresh_token, tools(ctx)),
        )
        return credentialsFrom('refresh', tokens as CodeTokens, ctx, now)
      }
      if (acquiresDirectly(ctx.settings)) return acquireCredentials(ctx, {})
      const b = base()
      if (!b.refresh) {
        throw new PatchbayError('refresh.unsupported', `${name} credentials cannot be refreshed`)
      }
      return b.refresh(ctx)
    },
    async revoke(ctx) {
      select(ctx)
      await base().revoke?.(ctx)
    },
    redact(settings) {
      let r: ReturnType<NonNullable<AuthScheme['redact']>> = {}
      try {
        r = base().redact?.(settings) ?? {}
      } catch {
        // settings a lambda replaced (custom's `apply`) are absent: the learned names still count
      }
      return {
        headers: [...(r.headers ?? []), ...applied.headers],
        query: [...(r.query ?? []), ...applied.query],
        form: [...(r.form ?? []), ...applied.form],
      }
    },
  }

  if (lambdas.identity) {
    const identity = lambdas.identity as (c: CodeConnection, t: IdentityTools) => unknown
    scheme.identity = async (ctx) => {
      select(ctx)
      const who = await run('identity', ctx, () =>
        identity(connectionOf(ctx), {
          ...tools(ctx),
          get: (path, query) => authorizedGet(ctx, path, query),
        }),
      )
      return who === undefined || who === null || who === '' ? null : String(who)
    }
  }

  /** `GET` on the connector's base URL with this scheme's auth, for `identity`. */
  async function authorizedGet(ctx: AuthContext, path: string, query?: Record<string, string>) {
    const base = new URL(
      connector.baseUrl.replace(/\{\{\s*[\w.[\]-]+\s*\}\}/g, (t) =>
        encodeURIComponent(ctx.render(t)),
      ),
    )
    if (!base.pathname.endsWith('/')) base.pathname += '/'
    const url = /^https?:\/\//i.test(path) ? new URL(path) : new URL(path.replace(/^\/+/, ''), base)
    const allowed = new Set([
      base.origin,
      // A templated origin (`https://{{shop}}.example.com`) is left out here: fewer, never more.
      ...(connector.allowedOrigins ?? [])
        .filter((o) => !o.includes('{{'))
        .map((o) => new URL(o).origin),
    ])
    if (!allowed.has(url.origin)) {
      throw new PatchbayError(
        'request.origin_refused',
        `the ${name} connector's identity lambda may only call ${[...allowed].join(', ')}`,
      )
    }
    for (const [k, v] of Object.entries(query ?? {})) url.searchParams.set(k, v)
    const request: OutgoingRequest = { method: 'GET', url, headers: {}, body: { kind: 'none' } }
    await scheme.apply(ctx, request)
    const res = await ctx.http(request.url, { method: 'GET', headers: request.headers })
    if (res.status < 200 || res.status > 299)
      throw new Error(`GET ${url.pathname} answered HTTP ${res.status}`)
    return res.body
  }

  /** With `selected`: the values with the option key in `multi`'s select field. */
  function selectedValues(settings: Obj, values: Obj): Obj {
    if (!lambdas.selected) return values
    const selectedBy = String(settings.selectedBy ?? 'auth_type')
    try {
      return { ...values, [selectedBy]: runSelected(undefined, values) }
    } catch {
      return values // values that do not select an option yet: every option's fields, optional
    }
  }

  /** Puts the `pkce` lambda's verifier and challenge in the authorization request and the flow. */
  async function withPkce(
    ctx: AuthContext,
    outcome: Extract<ConnectOutcome, { status: 'pending' }>,
  ): Promise<ConnectOutcome> {
    const verifier = outcome.flow.codeVerifier ?? createCodeVerifier()
    const challenge = calculateCodeChallenge(verifier)
    const pkce = lambdas.pkce as (v: string, c: string) => unknown
    const result = (await run('pkce', ctx, () => pkce(verifier, challenge))) as Obj | null
    if (!result || typeof result.verifier !== 'string' || typeof result.challenge !== 'string') {
      throw codeError('pkce', 'it must answer { verifier, challenge, challenge_method? }', ctx)
    }
    const method = result.challenge_method ?? 'S256'
    if (method !== 'S256' && method !== 'plain') {
      throw codeError('pkce', 'challenge_method must be S256 or plain', ctx)
    }
    const url = new URL(outcome.authorizeUrl)
    url.searchParams.set('code_challenge', result.challenge)
    url.searchParams.set('code_challenge_method', method)
    const flow: FlowState = { ...outcome.flow, codeVerifier: result.verifier }
    return { ...outcome, authorizeUrl: url.href, flow }
  }

  return scheme
}

function seconds(value: unknown): number | undefined {
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value
  return typeof n === 'number' && Number.isFinite(n) && n > 0 ? n : undefined
}

function describe(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`
}
