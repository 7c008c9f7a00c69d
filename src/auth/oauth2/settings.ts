/**
 * The `oauth2` connector settings (SPEC §3) and the rules that join several fields.
 *
 * zod 4 refuses `.partial()` on an object with refinements, and a draft connector is validated
 * against the partial schema, so the schema holds only per-field rules; the rules between fields
 * (a secret unless PKCE, an authorization URL unless `client_credentials`) are in
 * `oauth2Problems`, which the `ready` check and the hooks run.
 *
 * @module
 */
import { z } from 'zod'
import { templatedUrl } from '../../connector/schema.js'
import type { FieldIssue } from '../../errors.js'

export const GRANT_TYPES = [
  'authorization_code',
  'authorization_code_pkce',
  'client_credentials',
] as const
export type OAuth2GrantType = (typeof GRANT_TYPES)[number]

/** Parameters Patchbay sets itself on the authorization request; extra params cannot replace them. */
export const RESERVED_AUTHORIZATION_PARAMS = [
  'response_type',
  'client_id',
  'redirect_uri',
  'state',
  'scope',
  'code_challenge',
  'code_challenge_method',
] as const

/** Parameters Patchbay sets itself on token requests; extra params cannot replace them. */
export const RESERVED_TOKEN_PARAMS = [
  'grant_type',
  'code',
  'redirect_uri',
  'code_verifier',
  'refresh_token',
  'client_id',
  'client_secret',
  'scope',
] as const

function extraParams(reserved: readonly string[]) {
  return z
    .record(z.string().min(1).max(100), z.string().max(2000))
    .superRefine((params, ctx) => {
      const keys = Object.keys(params)
      if (keys.length > 50)
        ctx.addIssue({ code: 'custom', message: 'must have at most 50 parameters' })
      for (const key of keys) {
        if (reserved.includes(key)) {
          ctx.addIssue({ code: 'custom', path: [key], message: `"${key}" is set by Patchbay` })
        }
      }
    })
    .default({})
}

export const scopeSchema = z
  .object({
    /** What the connection form shows. */
    name: z.string().min(1).max(100),
    /** What the provider expects in `scope`. */
    value: z
      .string()
      .min(1)
      .max(500)
      // RFC 6749 §3.3 scope-token: printable ASCII but space, `"` and `\`.
      .regex(/^[\x21\x23-\x5B\x5D-\x7E]+$/, 'must be printable ASCII without space, " or \\'),
  })
  .strict()

export const oauth2SettingsSchema = z
  .object({
    grantType: z.enum(GRANT_TYPES),
    clientId: z.string().min(1).max(500),
    /** Not needed for a public PKCE client (RFC 7636); required otherwise (`oauth2Problems`). */
    clientSecret: z.string().min(1).max(2000).optional(),
    /**
     * RFC 6749 §2.3.1: `body` puts the credentials in the form, `basic` in HTTP Basic;
     * RFC 8705 §2: `tls_client_auth` sends only `client_id`, the client certificate of `auth.tls`
     * authenticating the client.
     */
    clientAuth: z.enum(['body', 'basic', 'tls_client_auth']).default('body'),
    /** Required unless `client_credentials` (`oauth2Problems`). */
    authorizationUrl: templatedUrl.optional(),
    tokenUrl: templatedUrl,
    /** Default `tokenUrl`. */
    refreshUrl: templatedUrl.optional(),
    /** RFC 7009; when set, deleting a connection revokes its tokens. */
    revokeUrl: templatedUrl.optional(),
    scopes: z.array(scopeSchema).max(50, 'must have at most 50 scopes').default([]),
    scopeDelimiter: z.string().min(1).max(5).default(','),
    tokenPrefix: z
      .string()
      .min(1)
      .max(50)
      .regex(/^[A-Za-z0-9]+$/, 'must be alphanumeric, such as Bearer')
      .default('Bearer'),
    /** Seconds; used when a token response has no `expires_in`. */
    expiresIn: z
      .number()
      .int()
      .min(900, 'must be at least 900 seconds')
      .max(86_400, 'must be at most 86400 seconds')
      .default(3600),
    authorizationParams: extraParams(RESERVED_AUTHORIZATION_PARAMS),
    tokenParams: extraParams(RESERVED_TOKEN_PARAMS),
  })
  .strict()

export type OAuth2Settings = z.infer<typeof oauth2SettingsSchema>

/** Whether the grant sends the user's browser to the provider (SPEC "OAuth flows"). */
export function usesBrowser(grantType: OAuth2GrantType | undefined): boolean {
  return grantType === 'authorization_code' || grantType === 'authorization_code_pkce'
}

/**
 * The rules between fields, for complete settings (the `ready` check, and `connect`). Fields the
 * schema itself requires are the schema's to report.
 */
export function oauth2Problems(settings: Partial<OAuth2Settings>): FieldIssue[] {
  const issues: FieldIssue[] = []
  const { grantType } = settings
  if (grantType === undefined) return issues
  if (usesBrowser(grantType) && settings.authorizationUrl === undefined) {
    issues.push({ path: 'authorizationUrl', rule: `is required for the ${grantType} grant` })
  }
  if (
    grantType !== 'authorization_code_pkce' &&
    settings.clientAuth !== 'tls_client_auth' &&
    settings.clientSecret === undefined
  ) {
    issues.push({
      path: 'clientSecret',
      rule: `is required for the ${grantType} grant (only a PKCE client may go without)`,
    })
  }
  if (
    grantType === 'authorization_code_pkce' &&
    settings.clientSecret === undefined &&
    settings.clientAuth === 'basic'
  ) {
    issues.push({
      path: 'clientAuth',
      rule: 'cannot be basic for a public PKCE client without a secret',
    })
  }
  const values = (settings.scopes ?? []).map((s) => s.value)
  if (new Set(values).size !== values.length) {
    issues.push({ path: 'scopes', rule: 'scope values must be unique' })
  }
  return issues
}
