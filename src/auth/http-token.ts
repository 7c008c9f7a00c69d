/**
 * `http_token`: Intercom's "HTTP request" authentication token. An HTTP request to the API's auth
 * endpoint (templated with the connection's fields) answers JSON holding a token at `tokenPath`;
 * the token goes on every request as `header: prefix token`, and the request is sent again when
 * the token stops working.
 *
 * When is a token "stopped working"? When a response matches `refreshOn` (or, without it, any
 * error: a non-2xx status or a `detectOn` match; docs/pipeline.md). **An API that answers 200 to a
 * request it denied (`{ "error": "access denied" }`) is not refreshed** unless the connector's
 * `detectOn` recognises that body — a 200 is a success otherwise.
 *
 * @see https://www.intercom.com/help/en/articles/6615543-setting-up-custom-actions-authentication
 * @module
 */
import { z } from 'zod'
import { PatchbayError } from '../errors.js'
import type { HttpClient } from '../lib/http.js'
import { renderTemplate } from '../lib/template.js'
import {
  authRequestHints,
  authRequestSchema,
  sendAuthRequest,
  type AuthRequestSpec,
  refusalCode,
  refusalText,
} from './custom.js'
import {
  declaredTokenValues,
  extractValue,
  jsonPathSchema,
  keepTokenValues,
  readTokenValues,
  tokenResponseSecretsHint,
  tokenResponseValuesHint,
  tokenResponseValuesSchema,
  withTokenValues,
} from './response-values.js'
import { defineAuthScheme, type AuthContext, type Credentials } from './scheme.js'

/** The value `http_token` keeps the token under; a kept response value cannot take it. */
const RESERVED_VALUES = ['token']

export const httpTokenSettings = z
  .object({
    /** The request to the auth endpoint: `{ method, url, headers?, query?, body?, bodyType? }`. */
    request: authRequestSchema,
    /** Where the token sits in the JSON response, e.g. `data.token`. */
    tokenPath: jsonPathSchema,
    /** Where the token's lifetime in seconds sits, when the response says; e.g. `data.expires_in`. */
    expiresInPath: jsonPathSchema.optional(),
    /** Put before the token with a space, e.g. `Bearer`; none when absent. */
    prefix: z
      .string()
      .max(50)
      .regex(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]*$/, 'must be a single word such as Bearer, or empty')
      .optional(),
    header: z
      .string()
      .min(1)
      .max(100)
      .regex(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/, 'must be a valid HTTP header name')
      .default('Authorization'),
    /**
     * Other values of the token response to keep with the connection (`response-values.ts`): not
     * secrets, shown on it; `tokenResponseSecrets` for those that are. No defaults: a ready
     * connector stored before them has none.
     */
    tokenResponseValues: tokenResponseValuesSchema(RESERVED_VALUES).optional(),
    tokenResponseSecrets: tokenResponseValuesSchema(RESERVED_VALUES).optional(),
  })
  .strict()
export type HttpTokenSettings = z.infer<typeof httpTokenSettings>

/**
 * Acquires the token with `request` on connect and again on refresh; applies it as
 * `header: prefix token`. A 200 answer to a denied request is not refreshed unless `detectOn`
 * catches it (see the module comment).
 */
export const httpTokenScheme = defineAuthScheme({
  type: 'http_token',
  label: 'HTTP request token',
  settings: httpTokenSettings,
  presentation: {
    settings: {
      request: { label: 'Token request', frame: true, ...authRequestHints },
      tokenPath: {
        label: 'Token path',
        placeholder: 'data.token',
        hint: 'Where the token sits in the JSON response.',
        group: 'token',
      },
      expiresInPath: {
        label: 'Lifetime path',
        placeholder: 'data.expires_in',
        hint: "Optional: where the token's lifetime in seconds sits.",
        group: 'token',
      },
      prefix: { label: 'Token prefix', placeholder: 'Bearer', group: 'token' },
      header: { label: 'Header', placeholder: 'Authorization', group: 'token' },
      tokenResponseValues: { ...tokenResponseValuesHint, group: 'values' },
      tokenResponseSecrets: { ...tokenResponseSecretsHint, group: 'values' },
    },
    groups: {
      token: { layout: 'columns-2' },
      values: { title: 'Values from the token response', collapsed: true },
    },
    test: {
      hint: 'Sends the token request once with sample values, so you can check it and pick where the token is.',
      pick: { setting: 'tokenPath', noun: 'token' },
    },
  },
  // The request's templates read the connector's own fields.
  connectionFields: () => [],
  canRefresh: () => true,
  tokenValues: (s) => declaredTokenValues(s),
  async connect(ctx) {
    return { status: 'connected', credentials: await acquireToken(ctx, 'connection.flow_failed') }
  },
  // Values the new answer leaves out are kept (response-values.ts).
  refresh: async (ctx) =>
    keepTokenValues(ctx.credentials, await acquireToken(ctx, 'refresh.failed'), ctx.settings),
  apply(ctx, request) {
    const token = ctx.credentials.values.token
    if (!token) {
      throw new PatchbayError('connection.not_connected', 'no token has been acquired yet')
    }
    request.headers[ctx.settings.header.toLowerCase()] = headerValue(ctx.settings.prefix, token)
  },
  redact: (s) => ({ headers: [s.header.toLowerCase()] }),
  // Intercom: the token request is tested before the connector can be saved as ready.
  testBeforeReady: true,
  async test(ctx) {
    const { token, ...result } = await testTokenRequest(ctx.settings, ctx.values, ctx.http)
    const masked = token === undefined ? undefined : mask(token)
    return {
      ok: token !== undefined,
      report: {
        ...result,
        // The body as it came, but the token, and anything that looks like one, masked: when
        // `tokenPath` misses, the token is still in there somewhere.
        body: maskIn(result.body, token),
        ...(masked === undefined ? {} : { token: masked }),
      },
    }
  },
})

/** A long string without spaces that is not a URL: shown masked in a test report. */
const TOKEN_LIKE = /^(?!https?:\/\/)\S{16,}$/

function maskIn(value: unknown, token: string | undefined): unknown {
  if (typeof value === 'string') {
    if (token !== undefined && value === token) return mask(token)
    const text = token === undefined ? value : value.split(token).join(mask(token))
    return TOKEN_LIKE.test(text) ? '*****' : text
  }
  if (Array.isArray(value)) return value.map((v) => maskIn(v, token))
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, maskIn(v, token)]))
  }
  return value
}

function headerValue(prefix: string | undefined, token: string): string {
  return prefix ? `${prefix} ${token}` : token
}

async function acquireToken(
  ctx: AuthContext<HttpTokenSettings>,
  code: 'connection.flow_failed' | 'refresh.failed',
): Promise<Credentials> {
  const s = ctx.settings
  const label = 'token request'
  const res = await sendAuthRequest(ctx.http, s.request, ctx.render, { code, label }, ctx.renderUrl)
  if (res.status < 200 || res.status > 299) {
    throw new PatchbayError(refusalCode(code, res.status), refusalText(label, res.status, code), {
      details: { status: res.status, transient: res.status >= 500 || res.status === 429 },
      cause: { status: res.status, body: res.body },
    })
  }
  const token = extractValue(res.body, s.tokenPath)
  if (!token.ok) {
    throw new PatchbayError(code, `${label} (HTTP ${res.status}): no token: ${token.problem}`, {
      details: { status: res.status, tokenPath: s.tokenPath },
    })
  }
  const obtainedAt = ctx.now()
  const expiresIn = s.expiresInPath ? lifetime(res.body, s.expiresInPath) : undefined
  const kept = readTokenValues(res.body, s)
  return withTokenValues(
    {
      values: { ...kept.values, token: token.value },
      obtainedAt,
      // A lifetime the response does not state is not an error: the token is used until refused.
      ...(expiresIn === undefined ? {} : { expiresAt: obtainedAt + expiresIn * 1000 }),
    },
    kept.tokenValues,
  )
}

function lifetime(body: unknown, path: string): number | undefined {
  const found = extractValue(body, path)
  if (!found.ok) return undefined
  const seconds = Number(found.value)
  return Number.isFinite(seconds) && seconds > 0 ? seconds : undefined
}

export interface TokenRequestTest {
  /** The auth endpoint's HTTP status. */
  status: number
  /**
   * The parsed response, as it came: it may hold the token and other secrets, so the caller
   * decides what to show.
   */
  body: unknown
  /** The token found at `tokenPath`, when there is one. */
  token?: string
  tokenPath: string
  /** Why there is no token: the status, or where the path broke (never a value). */
  problem?: string
  /** The header `apply` would send, with the token masked: `Authorization: Bearer …f00d`. */
  headerPreview: string
}

/**
 * Sends the token request once and reports what came back, for the connector builder's
 * "test request" button. Templates read `values` (the connection fields being tried). Throws only
 * when the request cannot be made (`connection.invalid_values` for an unset template value,
 * `request.upstream_unreachable`); any HTTP answer is reported.
 */
export async function testTokenRequest(
  settings: HttpTokenSettings,
  values: Record<string, unknown>,
  http: HttpClient,
): Promise<TokenRequestTest> {
  const res = await sendTokenRequest(settings.request, values, http)
  const base = { status: res.status, body: res.body, tokenPath: settings.tokenPath }
  const preview = (token: string) => `${settings.header}: ${headerValue(settings.prefix, token)}`
  if (res.status < 200 || res.status > 299) {
    const problem = `the auth endpoint answered HTTP ${res.status}`
    return { ...base, problem, headerPreview: preview('(no token)') }
  }
  const found = extractValue(res.body, settings.tokenPath)
  return found.ok
    ? { ...base, token: found.value, headerPreview: preview(mask(found.value)) }
    : { ...base, problem: found.problem, headerPreview: preview('(no token)') }
}

function sendTokenRequest(
  spec: AuthRequestSpec,
  values: Record<string, unknown>,
  http: HttpClient,
) {
  return sendAuthRequest(http, spec, (template) => renderTemplate(template, values), {
    code: 'connection.invalid_values',
    label: 'token request',
  }).catch((err: unknown) => {
    if (
      err instanceof PatchbayError &&
      (err.details as { unreachable?: boolean } | undefined)?.unreachable
    ) {
      throw new PatchbayError('request.upstream_unreachable', err.message, { cause: err.cause })
    }
    throw err
  })
}

/** The last 4 characters of a long token; nothing of a short one. */
function mask(token: string): string {
  return token.length >= 16 ? `…${token.slice(-4)}` : '*****'
}
