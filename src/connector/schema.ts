/**
 * One zod schema per input: they validate requests, give the types, and generate the OpenAPI
 * document. Auth settings are validated by the auth scheme the connector names (`auth/scheme.ts`).
 *
 * @module
 */
import { z } from 'zod'
import { keyMatchesCertificate, pemProblem } from '../lib/pem.js'
import { HTTP_METHODS } from './literals.js'
import {
  DESCRIPTION_MAX,
  DESCRIPTION_RE,
  DESCRIPTION_RULE,
  LINK_NAME_RE,
  LINK_NAME_RULE,
  NAME_MAX,
  NAME_RE,
  NAME_RULE,
  logoProblem,
} from './rules.js'

/** The URL a template makes with every `{{name}}` filled with a sample, or undefined. */
function probeUrl(value: string, leading: boolean): URL | undefined {
  // A template at the very start stands for an origin (`{{instance_url}}/services/`); which
  // values may do that is the connector validation's to say (engine/connector-validation.ts).
  const start = leading ? value.replace(/^\{\{\s*[\w.]+\s*\}\}(?=\/|$)/, 'https://x') : value
  const probe = start.replace(/\{\{\s*[\w.]+\s*\}\}/g, 'x')
  try {
    const url = new URL(probe)
    return /^https?:$/.test(url.protocol) ? url : undefined
  } catch {
    return undefined
  }
}

/** A URL that may hold `{{field}}` templates; it must have an http(s) scheme. */
export const templatedUrl = z.string().superRefine((value, ctx) => {
  if (!probeUrl(value, false)) {
    ctx.addIssue({ code: 'custom', message: 'must be an absolute http:// or https:// URL' })
  }
})

/**
 * `baseUrl`: a templated URL that may also start with `{{name}}`, a value kept from the token
 * response standing for the whole origin (`{{instance_url}}/services/data/v62.0/`).
 */
export const templatedBaseUrl = z.string().superRefine((value, ctx) => {
  if (!probeUrl(value, true)) {
    ctx.addIssue({ code: 'custom', message: 'must be an absolute http:// or https:// URL' })
  }
})

export const httpMethod = z
  .string()
  .transform((m) => m.toUpperCase())
  .pipe(z.enum(HTTP_METHODS))

const fieldName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must start with a letter or _ and use letters, digits and _')
  .max(64)

export const FIELD_TYPES = [
  'text',
  'password',
  'select',
  'multiselect',
  'number',
  'boolean',
  'object',
] as const

export interface FieldDefinition {
  name: string
  label?: string | undefined
  type: (typeof FIELD_TYPES)[number]
  hint?: string | undefined
  optional?: boolean | undefined
  default?: unknown
  options?: [string, string][] | undefined
  delimiter?: string | undefined
  properties?: FieldDefinition[] | undefined
}

export const fieldSchema: z.ZodType<FieldDefinition> = z.lazy(() =>
  z
    .object({
      name: fieldName,
      label: z.string().max(100).optional(),
      type: z.enum(FIELD_TYPES).default('text'),
      hint: z.string().max(500).optional(),
      optional: z.boolean().optional(),
      default: z.unknown().optional(),
      options: z
        .array(z.tuple([z.string(), z.string()]))
        .max(500)
        .optional(),
      delimiter: z.string().max(5).optional(),
      properties: z.array(fieldSchema).optional(),
    })
    .strict()
    .superRefine((f, ctx) => {
      if ((f.type === 'select' || f.type === 'multiselect') && !f.options?.length) {
        ctx.addIssue({
          code: 'custom',
          path: ['options'],
          message: `a ${f.type} field needs options`,
        })
      }
      if (f.type === 'object' && !f.properties?.length) {
        ctx.addIssue({
          code: 'custom',
          path: ['properties'],
          message: 'an object field needs properties',
        })
      }
    }),
) as z.ZodType<FieldDefinition>

/**
 * An error signal (docs/pipeline.md): an integer status, an exact body/title string, or
 * `/regex/flags`.
 */
export const signalSchema = z.union([
  z.number().int().min(100).max(599),
  z
    .string()
    .min(1)
    .max(1000)
    .superRefine((s, ctx) => {
      const m = /^\/(.+)\/([a-z]*)$/s.exec(s)
      if (!m) return
      try {
        new RegExp(m[1]!, m[2])
      } catch {
        ctx.addIssue({ code: 'custom', message: 'is not a valid regular expression' })
      }
    }),
])
export type Signal = z.infer<typeof signalSchema>

/** A `{{field}}` template standing for the whole value. */
export const WHOLE_TEMPLATE_RE = /^\{\{\s*([\w.]+)\s*\}\}$/

/** How a stored secret setting reads in answers, and what a PATCH sends back to keep it. */
const SECRET_MASK = '********'

/** PEM text of `kind`, or exactly one `{{field}}` template naming a connection field that holds it. */
function pemOrTemplate(kind: 'certificate' | 'private key' | 'certificates') {
  return z
    .string()
    .min(1)
    .max(20_000)
    .superRefine((value, ctx) => {
      if (WHOLE_TEMPLATE_RE.test(value.trim())) return
      // A masked key stands for the stored one (docs/auth/README.md#secret-settings-are-masked).
      if (kind === 'private key' && value === SECRET_MASK) return
      const problem = pemProblem(kind, value)
      if (problem) ctx.addIssue({ code: 'custom', message: problem })
    })
}

/**
 * Mutual TLS (RFC 8705 for OAuth, plain client certificates for APIs): the client certificate and
 * key the connection presents to the connector's origins and to its auth type's endpoints, and
 * the certificate authorities trusted besides the system's. `key` is a secret setting.
 */
export const clientTlsSchema = z
  .object({
    cert: pemOrTemplate('certificate').optional(),
    key: pemOrTemplate('private key').optional(),
    ca: pemOrTemplate('certificates').optional(),
  })
  .strict()
  .superRefine((tls, ctx) => {
    if ((tls.cert === undefined) !== (tls.key === undefined)) {
      const missing = tls.cert === undefined ? 'cert' : 'key'
      ctx.addIssue({
        code: 'custom',
        path: [missing],
        message: `is required with ${missing === 'cert' ? 'key' : 'cert'}`,
      })
    }
    if (tls.cert === undefined && tls.key === undefined && tls.ca === undefined)
      ctx.addIssue({ code: 'custom', message: 'needs cert and key, or ca' })
    const literal = (v: string | undefined): v is string =>
      v !== undefined && v !== SECRET_MASK && !WHOLE_TEMPLATE_RE.test(v.trim())
    if (
      literal(tls.cert) &&
      literal(tls.key) &&
      !pemProblem('certificate', tls.cert) &&
      !pemProblem('private key', tls.key) &&
      !keyMatchesCertificate(tls.cert, tls.key)
    )
      ctx.addIssue({ code: 'custom', path: ['key'], message: 'is not the private key of cert' })
  })
export type ClientTlsSettings = z.infer<typeof clientTlsSchema>

/** What every auth type accepts besides its own settings. */
export const authCommonSchema = z.object({
  type: z.string(),
  refreshOn: z.array(signalSchema).max(50).optional(),
  detectOn: z.array(signalSchema).max(50).optional(),
  extra: z
    .object({
      headers: z.record(z.string(), z.string()).optional(),
      query: z.record(z.string(), z.string()).optional(),
    })
    .strict()
    .optional(),
  tls: clientTlsSchema.optional(),
})
export type AuthCommon = z.infer<typeof authCommonSchema>
export const AUTH_COMMON_KEYS = ['type', 'refreshOn', 'detectOn', 'extra', 'tls'] as const
/** Secret settings every auth type has (paths in `auth`): sealed apart, masked in answers. */
export const AUTH_COMMON_SECRETS = ['tls.key'] as const

const headerName = z
  .string()
  .regex(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/, 'must be a valid HTTP header name')

/** RFC 9110 §5.5 field-value characters: no CR, LF, NUL or other controls; Latin-1 at most. */
export const HEADER_VALUE_RE = /^[\t\x20-\x7e\x80-\xff]*$/
export const HEADER_VALUE_RULE =
  'must be a valid HTTP header value: no control characters such as CR, LF or NUL, and no characters beyond U+00FF'
const headerValue = z.string().regex(HEADER_VALUE_RE, HEADER_VALUE_RULE)

/**
 * Text a store cannot hold as given (SQLite and PostgreSQL must behave as one): PostgreSQL
 * refuses NUL in `text` and `jsonb`, and unpaired UTF-16 surrogates in `jsonb`.
 */
const UNPAIRED_SURROGATE_RE =
  /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/
export const UNSTORABLE_RULE = 'must not contain NUL characters or unpaired surrogates'

export function isStorableText(text: string): boolean {
  return !text.includes('\0') && !UNPAIRED_SURROGATE_RE.test(text)
}

function checkStorable(value: unknown, ctx: z.RefinementCtx, path: (string | number)[]): void {
  if (typeof value === 'string') {
    if (!isStorableText(value)) ctx.addIssue({ code: 'custom', path, message: UNSTORABLE_RULE })
  } else if (Array.isArray(value)) {
    value.forEach((item, i) => checkStorable(item, ctx, [...path, i]))
  } else if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      if (!isStorableText(key))
        ctx.addIssue({ code: 'custom', path: [...path, key], message: `names ${UNSTORABLE_RULE}` })
      else checkStorable(item, ctx, [...path, key])
    }
  }
}

/** `schema`, also refusing any string or key inside the value that a store cannot hold. */
export function storable<T extends z.ZodType>(schema: T): T {
  return schema.superRefine((value, ctx) => checkStorable(value, ctx, [])) as T
}

export const actionSchema = z
  .object({
    id: z.string().max(64).optional(),
    name: z.string().min(1).max(NAME_MAX).regex(NAME_RE, NAME_RULE),
    description: z.string().max(DESCRIPTION_MAX).optional(),
    method: httpMethod,
    path: z.string().min(1).max(2000),
    query: z.record(z.string(), z.string()).optional(),
    headers: z.record(headerName, headerValue).optional(),
    body: z.unknown().optional(),
    inputs: z.array(fieldSchema).max(100).default([]),
  })
  .strict()
export type CustomAction = z.infer<typeof actionSchema> & { id: string }

export const customActionSchema = z
  .object({
    enabled: z.boolean().default(false),
    help: z
      .object({
        learnMoreUrl: z.url({ protocol: /^https?$/ }).optional(),
        learnMoreText: z.string().max(100).optional(),
        body: z.string().max(5000).optional(),
      })
      .strict()
      .optional(),
  })
  .strict()

export const breakerSettingsSchema = z
  .object({
    threshold: z.number().int().min(1).max(1000).default(5),
    cooldownSeconds: z.number().int().min(1).max(86_400).default(30),
  })
  .strict()

/** RFC 9110 §9.2.2: methods whose repetition has the effect of one request. */
export const IDEMPOTENT_METHODS = ['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE'] as const

/**
 * Retrying a 429 or 503 answer (`pipeline/retry.ts`): after `Retry-After` when the answer has
 * one, else after a bounded exponential backoff, at most `maxRetries` times and `maxWaitSeconds`
 * of waiting in all. Idempotent methods only, unless `methods` lists others or `unsafe` is true.
 */
export const retrySettingsSchema = z
  .object({
    maxRetries: z.number().int().min(0).max(10).default(2),
    maxWaitSeconds: z.number().int().min(0).max(300).default(10),
    methods: z.array(httpMethod).min(1).max(7).optional(),
    unsafe: z.boolean().optional(),
  })
  .strict()
  .superRefine((r, ctx) => {
    if (r.methods !== undefined && r.unsafe !== undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['unsafe'],
        message: 'give methods or unsafe, not both',
      })
  })
export type RetrySettings = z.infer<typeof retrySettingsSchema>

/**
 * The connector's own limit: at most `requests` per `perSeconds` to its origins, per connection,
 * counted in the store so every process shares it. A request over it waits for the next window
 * when that starts within `maxWaitSeconds`, else fails with `request.rate_limited`.
 */
export const rateLimitSchema = z
  .object({
    requests: z.number().int().min(1).max(1_000_000),
    perSeconds: z.number().int().min(1).max(86_400),
    maxWaitSeconds: z.number().int().min(0).max(300).default(10),
  })
  .strict()
export type RateLimitSettings = z.infer<typeof rateLimitSchema>

export const identitySchema = z
  .object({
    method: httpMethod.default('GET'),
    path: z.string().min(1).max(2000),
    /** Where the identity sits in the JSON response, e.g. `login` or `data.email`. */
    valuePath: z.string().min(1).max(200),
  })
  .strict()

/** An origin, which may use templates like `baseUrl` (`https://{{shop}}.myshopify.com`, `{{instance_url}}`). */
const originSchema = z.string().superRefine((s, ctx) => {
  const probe = probeUrl(s, true)
  const sample = s
    .replace(/^\{\{\s*[\w.]+\s*\}\}(?=\/|$)/, 'https://x')
    .replace(/\{\{\s*[\w.]+\s*\}\}/g, 'x')
  if (!probe || probe.origin !== sample.replace(/\/$/, '')) {
    ctx.addIssue({ code: 'custom', message: 'must be an origin such as https://api.example.com' })
  }
})

const nameSchema = z
  .string()
  .min(1, 'is required')
  .max(NAME_MAX, `must be at most ${NAME_MAX} characters`)
  .regex(NAME_RE, NAME_RULE)

const linkNameSchema = z
  .string()
  .min(1, 'is required')
  .max(NAME_MAX, `must be at most ${NAME_MAX} characters`)
  .regex(LINK_NAME_RE, LINK_NAME_RULE)

const descriptionSchema = z
  .string()
  .max(DESCRIPTION_MAX, `must be at most ${DESCRIPTION_MAX} characters`)
  .regex(DESCRIPTION_RE, DESCRIPTION_RULE)

const logoSchema = z.string().superRefine((logo, ctx) => {
  const problem = logoProblem(logo)
  if (problem) ctx.addIssue({ code: 'custom', message: problem })
})

/** The connector fields other than `auth`, whose settings each auth scheme validates. */
export const connectorBaseShape = {
  name: nameSchema,
  linkName: linkNameSchema.optional(),
  description: descriptionSchema.optional(),
  logo: logoSchema.optional(),
  baseUrl: storable(templatedBaseUrl),
  allowedOrigins: z.array(originSchema).max(20).optional(),
  fields: storable(z.array(fieldSchema).max(100)).default([]),
  auth: storable(authCommonSchema.loose()),
  customAction: storable(customActionSchema).default({ enabled: false }),
  actions: storable(z.array(actionSchema).max(200)).default([]),
  breaker: breakerSettingsSchema.optional(),
  retry: retrySettingsSchema.optional(),
  rateLimit: rateLimitSchema.optional(),
  identity: storable(identitySchema).optional(),
}

export const connectorInputSchema = z.object(connectorBaseShape).strict()
export type ConnectorInput = z.input<typeof connectorInputSchema>

/** PATCH: every field optional; `auth` is merged by the lifecycle rules. */
export const connectorPatchSchema = z
  .object({
    name: nameSchema.optional(),
    linkName: linkNameSchema.optional(),
    description: descriptionSchema.optional(),
    logo: logoSchema.nullable().optional(),
    baseUrl: storable(templatedBaseUrl).optional(),
    allowedOrigins: z.array(originSchema).max(20).optional(),
    fields: storable(z.array(fieldSchema).max(100)).optional(),
    auth: storable(authCommonSchema.loose()).optional(),
    customAction: storable(customActionSchema).optional(),
    actions: storable(z.array(actionSchema).max(200)).optional(),
    breaker: breakerSettingsSchema.optional(),
    retry: retrySettingsSchema.nullable().optional(),
    rateLimit: rateLimitSchema.nullable().optional(),
    identity: storable(identitySchema).nullable().optional(),
  })
  .strict()
export type ConnectorPatch = z.infer<typeof connectorPatchSchema>

export const connectionInputSchema = z
  .object({
    connector: storable(z.string().min(1).max(100)),
    name: storable(z.string().min(1).max(100)).optional(),
    endUser: z
      .string()
      .min(1)
      .max(200)
      .regex(/^[\w.@:+\-|]+$/, 'may use only letters, digits and . @ : + - _ |')
      .optional(),
    values: storable(z.record(z.string(), z.unknown())).default({}),
    /** Where to send the browser after an OAuth flow finishes (instead of Patchbay's own page). */
    returnUrl: storable(z.url({ protocol: /^https?$/ })).optional(),
  })
  .strict()
export type ConnectionInput = z.infer<typeof connectionInputSchema>

export const requestInputSchema = z
  .object({
    method: httpMethod.default('GET'),
    path: z.string().max(8000).optional(),
    url: z.string().max(8000).optional(),
    query: z
      .record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.array(z.string())]))
      .optional(),
    headers: z.record(headerName, headerValue).optional(),
    body: z.unknown().optional(),
    bodyEncoding: z.enum(['base64']).optional(),
  })
  .strict()
  .refine((r) => (r.path === undefined) !== (r.url === undefined), {
    message: 'give exactly one of path or url',
    path: ['path'],
  })
export type RequestInput = z.infer<typeof requestInputSchema>

export const actionRunSchema = z
  .object({
    connection: storable(z.string().min(1)),
    inputs: z.record(z.string(), z.unknown()).default({}),
  })
  .strict()

export const listQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: z.string().max(200).optional(),
})

export const reconnectInputSchema = z
  .object({
    /** Secret values typed again (empty keeps the current ones). */
    values: z.record(z.string(), z.unknown()).optional(),
    returnUrl: z.url({ protocol: /^https?$/ }).optional(),
  })
  .strict()
