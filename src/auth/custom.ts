/**
 * `custom`: Workato's `custom_auth` without code. `acquire` is 1..10 HTTP requests run in order,
 * each extracting values from its JSON response into the connection (`{{name}}` for the steps
 * after it and for `apply`); `apply` puts templated headers, query parameters, body fields and
 * HTTP Basic credentials on every request. Re-acquiring (refresh) runs the steps again.
 *
 * This module also holds what `http_token` shares with it: the auth-request settings, sending one,
 * and reading a value out of the response without ever echoing a secret.
 *
 * @see https://docs.workato.com/developing-connectors/sdk/sdk-reference/connection/authorization.html
 * @module
 */
import { z } from 'zod'
import { httpMethod, templatedUrl } from '../connector/schema.js'
import { PatchbayError, type ErrorCode } from '../errors.js'
import type { HttpClient, HttpRequestInit, HttpResponse } from '../lib/http.js'
import { setBodyField } from '../lib/request.js'
import { MissingTemplateValue } from '../lib/template.js'
import type { HintSet } from './presentation.js'
import {
  extractValue,
  jsonPathSchema,
  readTokenValues,
  tokenResponseValuesHint,
  tokenResponseValuesSchema,
  valueNameSchema,
  withTokenValues,
} from './response-values.js'
import {
  defineAuthScheme,
  type AuthContext,
  type Credentials,
  type TokenValueDeclaration,
} from './scheme.js'

export { extractValue, jsonPathSchema, type Extracted } from './response-values.js'

const headerName = z
  .string()
  .regex(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/, 'must be a valid HTTP header name')
  .max(100)

const templated = z.string().max(4000)

/** An HTTP request to an auth endpoint; every string may hold `{{name}}` templates. */
export const authRequestShape = {
  method: httpMethod.default('POST'),
  url: templatedUrl,
  headers: z.record(headerName, templated).optional(),
  /** Query parameters, encoded for you: the place for secrets that go in the URL. */
  query: z.record(z.string().min(1).max(200), templated).optional(),
  /** Body fields; numbers and booleans stay typed in a JSON body. */
  body: z
    .record(z.string().min(1).max(200), z.union([templated, z.number(), z.boolean()]))
    .optional(),
  bodyType: z.enum(['json', 'form']).default('json'),
}
export const authRequestSchema = z.object(authRequestShape).strict()

/** The builder's hints for an auth request's settings; labels follow the request's own prefix. */
export const authRequestHints = {
  settings: {
    method: {
      label: 'method',
      emptyLabel: 'POST (default)',
      options: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'].map((m) => [m, m] as const),
      group: 'line',
    },
    url: { label: 'URL', widget: 'url', hint: 'May use {{field}} templates.', group: 'line' },
    headers: { label: 'headers' },
    query: { label: 'query parameters' },
    body: { label: 'body fields' },
    bodyType: {
      label: 'body type',
      emptyLabel: 'JSON (default)',
      options: [
        ['json', 'JSON'],
        ['form', 'Form (x-www-form-urlencoded)'],
      ],
    },
  },
  groups: { line: { layout: 'narrow-wide' } },
} satisfies HintSet
export type AuthRequestSpec = z.infer<typeof authRequestSchema>

const stepSchema = z
  .object({
    ...authRequestShape,
    /** `{ name: 'json.path' }`: where each value sits in the step's JSON response. */
    extract: z.record(valueNameSchema, jsonPathSchema).default({}),
    /**
     * Values of the step's response that are not secrets (an instance URL, an account id): kept
     * with the connection like `extract`, shown on it, and usable in the base URL
     * (`response-values.ts`). No default: a ready connector stored before it has none.
     */
    tokenResponseValues: tokenResponseValuesSchema().optional(),
  })
  .strict()
export type AcquireStep = z.infer<typeof stepSchema>

export const customSettings = z
  .object({
    acquire: z
      .array(stepSchema)
      .min(1, 'needs at least one step, or leave acquire out')
      .max(10, 'has at most 10 steps')
      .superRefine((steps, ctx) => {
        // A value is a secret (`extract`) or not (`tokenResponseValues`), never both.
        const extracted = new Set(steps.flatMap((s) => Object.keys(s.extract)))
        steps.forEach((step, i) => {
          for (const name of Object.keys(step.tokenResponseValues ?? {})) {
            if (extracted.has(name))
              ctx.addIssue({
                code: 'custom',
                path: [i, 'tokenResponseValues', name],
                message: `is also an extracted (secret) value; keep "${name}" in one of the two`,
              })
          }
        })
      })
      .optional(),
    apply: z
      .object({
        headers: z.record(headerName, templated).optional(),
        query: z.record(z.string().min(1).max(200), templated).optional(),
        body: z.record(z.string().min(1).max(200), templated).optional(),
        basic: z.object({ username: templated, password: templated }).strict().optional(),
      })
      .strict()
      .refine(
        (a) =>
          Object.keys(a.headers ?? {}).length +
            Object.keys(a.query ?? {}).length +
            Object.keys(a.body ?? {}).length >
            0 || a.basic !== undefined,
        'must apply at least one header, query parameter, body field or basic credential',
      ),
  })
  .strict()
export type CustomSettings = z.infer<typeof customSettings>

export const customScheme = defineAuthScheme({
  type: 'custom',
  label: 'Custom authentication',
  settings: customSettings,
  presentation: {
    settings: {
      acquire: {
        label: 'Acquire steps',
        itemLabel: 'Step',
        newItem: { method: 'POST', url: '' },
        group: 'acquire',
        settings: {
          ...authRequestHints.settings,
          extract: {
            label: 'extracted values',
            keyLabel: 'Name',
            valueLabel: 'JSON path',
            hint: 'Secrets, e.g. authtoken = data.token.',
          },
          tokenResponseValues: {
            ...tokenResponseValuesHint,
            label: 'values that are not secrets',
            hint: 'Shown on the connection and usable in the base URL, e.g. instance_url = instance_url.',
          },
        },
        groups: authRequestHints.groups,
      },
      apply: {
        label: 'Apply',
        group: 'apply',
        settings: {
          headers: { label: 'headers' },
          query: { label: 'query parameters' },
          body: { label: 'body fields' },
          basic: {
            label: 'HTTP Basic',
            prefix: 'Basic',
            toggle: 'Send HTTP Basic credentials',
            newItem: { username: '', password: '' },
            settings: {
              username: { label: 'username', group: 'credentials' },
              password: { label: 'password', group: 'credentials' },
            },
            groups: { credentials: { layout: 'columns-2' } },
          },
        },
      },
    },
    groups: {
      acquire: {
        title: 'Acquire steps',
        hint: 'Requests run in order when connecting (and again to refresh); each extracts values from its JSON response, usable as {{name}} afterwards.',
      },
      apply: {
        title: 'Apply',
        hint: 'What goes on every request; values may use {{name}} templates.',
      },
    },
  },
  // Templates read the connector's own fields; custom adds none.
  connectionFields: () => [],
  canRefresh: (s) => (s.acquire?.length ?? 0) > 0,
  tokenValues: (s) =>
    (s.acquire ?? []).flatMap((step, i): TokenValueDeclaration[] =>
      Object.keys(step.tokenResponseValues ?? {}).map((name) => ({
        name,
        secret: false,
        path: `acquire.${i}.tokenResponseValues.${name}`,
      })),
    ),
  async connect(ctx) {
    return { status: 'connected', credentials: await runAcquire(ctx, 'connection.flow_failed') }
  },
  async refresh(ctx) {
    if (!ctx.settings.acquire?.length) {
      throw new PatchbayError(
        'refresh.unsupported',
        'this custom auth has no acquire steps to re-run',
      )
    }
    return runAcquire(ctx, 'refresh.failed')
  },
  apply(ctx, request) {
    const a = ctx.settings.apply
    const render = (template: string, where: string): string => {
      try {
        return ctx.render(template)
      } catch (err) {
        throw templateError(err, 'connection.invalid_values', `apply.${where}`)
      }
    }
    for (const [name, template] of Object.entries(a.headers ?? {})) {
      request.headers[name.toLowerCase()] = render(template, `headers.${name}`)
    }
    for (const [key, template] of Object.entries(a.query ?? {})) {
      request.url.searchParams.set(key, render(template, `query.${key}`))
    }
    for (const [key, template] of Object.entries(a.body ?? {})) {
      setBodyField(request, key, render(template, `body.${key}`))
    }
    if (a.basic) {
      const user = render(a.basic.username, 'basic.username')
      const pass = render(a.basic.password, 'basic.password')
      request.headers['authorization'] =
        `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`
    }
  },
  redact: (s) => ({
    headers: [
      ...Object.keys(s.apply.headers ?? {}).map((h) => h.toLowerCase()),
      ...(s.apply.basic ? ['authorization'] : []),
    ],
    query: Object.keys(s.apply.query ?? {}),
    form: Object.keys(s.apply.body ?? {}),
  }),
})

/** Runs the acquire steps in order; each sees the connection's values and what earlier steps extracted. */
async function runAcquire(
  ctx: AuthContext<CustomSettings>,
  code: 'connection.flow_failed' | 'refresh.failed',
): Promise<Credentials> {
  const steps = ctx.settings.acquire ?? []
  const before = ctx.credentials
  // A refresh starts from the values acquired before, so a step can use e.g. a refresh token.
  const acquired: Record<string, string> = { ...before.values }
  // Values that are not secrets, kept from before unless a step answers them again.
  const kept: Record<string, string> = {}
  for (const step of steps)
    for (const name of Object.keys(step.tokenResponseValues ?? {}))
      if (before.tokenValues?.[name] !== undefined) kept[name] = before.tokenValues[name]
  const obtainedAt = ctx.now()
  try {
    for (const [index, step] of steps.entries()) {
      // `ctx.render` reads `ctx.credentials` when called: pointing it at the values acquired so far
      // lets later steps use them with the engine's own template scope (multiselect joins…).
      ctx.credentials = { ...before, values: { ...acquired }, tokenValues: { ...kept } }
      const label = `acquire step ${index + 1} of ${steps.length}`
      const res = await sendAuthRequest(
        ctx.http,
        step,
        ctx.render,
        { code, label, details: { step: index } },
        ctx.renderUrl,
      )
      if (res.status < 200 || res.status > 299) {
        throw new PatchbayError(
          refusalCode(code, res.status),
          refusalText(label, res.status, code),
          {
            details: {
              step: index,
              status: res.status,
              transient: res.status >= 500 || res.status === 429,
            },
            cause: { status: res.status, body: res.body },
          },
        )
      }
      for (const [name, path] of Object.entries(step.extract)) {
        const found = extractValue(res.body, path)
        if (!found.ok) {
          throw new PatchbayError(
            code,
            `${label} (HTTP ${res.status}): cannot extract "${name}": ${found.problem}`,
            { details: { step: index, status: res.status, extract: name, path } },
          )
        }
        acquired[name] = found.value
      }
      Object.assign(
        kept,
        readTokenValues(res.body, { tokenResponseValues: step.tokenResponseValues }).tokenValues,
      )
    }
  } finally {
    ctx.credentials = before
  }
  return withTokenValues({ values: acquired, obtainedAt }, kept)
}

export interface AuthRequestErrorContext {
  code: ErrorCode
  /** Names the request in messages: `token request`, `acquire step 2 of 3`. */
  label: string
  details?: Record<string, unknown>
}

/**
 * Renders and sends one auth request. A template naming an unset value, or an endpoint that cannot
 * be reached, throws `PatchbayError(error.code)`; any HTTP answer is returned for the caller to judge.
 */
export async function sendAuthRequest(
  http: HttpClient,
  spec: AuthRequestSpec,
  render: (template: string) => string,
  error: AuthRequestErrorContext,
  /** Renders the URL with values percent-encoded (AuthContext.renderUrl); default `render`. */
  renderUrl: (template: string) => string = render,
): Promise<HttpResponse> {
  let url: URL
  const init: HttpRequestInit = { method: spec.method }
  try {
    url = new URL(renderUrl(spec.url))
    for (const [key, value] of Object.entries(spec.query ?? {})) {
      url.searchParams.set(key, render(value))
    }
    const headers: Record<string, string> = {}
    for (const [name, value] of Object.entries(spec.headers ?? {})) headers[name] = render(value)
    init.headers = headers
    if (spec.body) {
      const fields = Object.entries(spec.body).map(
        ([k, v]) => [k, typeof v === 'string' ? render(v) : v] as const,
      )
      init.body =
        spec.bodyType === 'form'
          ? new URLSearchParams(fields.map(([k, v]) => [k, String(v)]))
          : Object.fromEntries(fields)
    }
  } catch (err) {
    if (err instanceof MissingTemplateValue) {
      throw templateError(err, error.code, error.label, error.details)
    }
    // Only `new URL` throws otherwise; the rendered URL may hold secrets, so it is not shown.
    throw new PatchbayError(error.code, `${error.label}: the URL is not valid once rendered`, {
      details: { ...error.details },
    })
  }
  if (!/^https?:$/.test(url.protocol)) {
    throw new PatchbayError(error.code, `${error.label}: the URL must be http:// or https://`, {
      details: { ...error.details },
    })
  }
  try {
    return await http(url, init)
  } catch (err) {
    if (err instanceof PatchbayError) throw err // the engine's network rules
    const reason = (err as { code?: unknown }).code ?? (err as Error).name
    throw new PatchbayError(
      error.code,
      `${error.label}: could not reach ${url.origin} (${String(reason)})`,
      { details: { ...error.details, unreachable: true }, cause: err },
    )
  }
}

function templateError(
  err: unknown,
  code: ErrorCode,
  where: string,
  details: Record<string, unknown> = {},
): unknown {
  if (!(err instanceof MissingTemplateValue)) return err
  return new PatchbayError(code, `${where}: template value "${err.key}" is not set`, {
    details: { ...details, missing: err.key },
  })
}

/**
 * A refresh the auth endpoint refuses (400, 401, 403) will not work by trying again: the
 * connection's credentials are dead, so it needs the user. Other failures are transient.
 */
export function refusalCode<C extends string>(
  code: C,
  status: number,
): C | 'connection.needs_reauth' {
  return code === 'refresh.failed' && [400, 401, 403].includes(status)
    ? 'connection.needs_reauth'
    : code
}

export function refusalText(label: string, status: number, code: string): string {
  if (![400, 401, 403].includes(status))
    return `${label} failed: the server answered HTTP ${status}`
  return code === 'refresh.failed'
    ? `${label} was refused (HTTP ${status}): the connection's credentials no longer work; reconnect it`
    : `${label} was refused (HTTP ${status}): check the connection's values`
}
