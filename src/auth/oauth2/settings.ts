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
import type { AuthPresentation, HintCondition } from '../presentation.js'

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

/** RFC 6749 §3.3 scope-token: printable ASCII but space, `"` and `\`. */
const SCOPE_VALUE_RULE = 'must be printable ASCII without space, " or \\'

export const scopeSchema = z
  .object({
    /** What the connection form shows. */
    name: z.string().min(1).max(100),
    /** What the provider expects in `scope`. */
    value: z
      .string()
      .min(1)
      .max(500)
      .regex(/^[\x21\x23-\x5B\x5D-\x7E]+$/, SCOPE_VALUE_RULE),
  })
  .strict()

export const oauth2SettingsSchema = z
  .object({
    grantType: z.enum(GRANT_TYPES),
    clientId: z.string().min(1).max(500),
    /** Not needed for a public PKCE client (RFC 7636); required otherwise (`oauth2Problems`). */
    clientSecret: z.string().min(1).max(2000).optional(),
    /** RFC 6749 §2.3.1: `body` puts the credentials in the form, `basic` in HTTP Basic. */
    clientAuth: z.enum(['body', 'basic']).default('body'),
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

const browserGrant: HintCondition = { setting: 'grantType', not: ['client_credentials'] }
const pkceGrant: HintCondition = { setting: 'grantType', is: ['authorization_code_pkce'] }

/** The connector builder's form (presentation.ts). */
export const oauth2Presentation: AuthPresentation = {
  initial: { grantType: 'authorization_code' },
  settings: {
    grantType: {
      label: 'Grant type',
      emptyLabel: 'Choose a grant type',
      options: [
        ['authorization_code', 'Authorization code'],
        ['authorization_code_pkce', 'Authorization code with PKCE'],
        ['client_credentials', 'Client credentials'],
      ],
      hint: 'The user authorizes in the browser at the provider.',
      hintWhen: [
        {
          when: { setting: 'grantType', is: ['client_credentials'] },
          hint: 'Connects without a browser; a new token is fetched when one expires.',
        },
      ],
    },
    clientId: { label: 'Client ID', group: 'client' },
    clientSecret: {
      label: 'Client secret',
      group: 'client',
      required: { setting: 'grantType', not: ['authorization_code_pkce'] },
      hintWhen: [{ when: pkceGrant, hint: 'Optional for a public PKCE client.' }],
    },
    clientAuth: {
      label: 'Client authentication',
      emptyLabel: 'In the request body (default)',
      options: [
        ['body', 'In the request body'],
        ['basic', 'HTTP Basic'],
      ],
    },
    authorizationUrl: {
      label: 'Authorization URL',
      widget: 'url',
      required: true,
      visibleWhen: browserGrant,
    },
    tokenUrl: { label: 'Token URL', widget: 'url' },
    refreshUrl: {
      label: 'Refresh URL',
      widget: 'url',
      hint: 'Optional; the token URL when empty.',
      group: 'more',
    },
    revokeUrl: {
      label: 'Revoke URL',
      widget: 'url',
      hint: 'Optional (RFC 7009); deleting a connection revokes its tokens.',
      group: 'more',
    },
    scopes: {
      label: 'Scopes',
      widget: 'scopes',
      hint: 'Scopes are edited in the Scopes tab.',
      order: 3,
      settings: {
        name: { placeholder: 'Read contacts' },
        value: { placeholder: 'contacts.read', patternRule: SCOPE_VALUE_RULE },
      },
    },
    scopeDelimiter: {
      label: 'Scope delimiter',
      placeholder: ',',
      hint: 'Joins the selected scopes. Default a comma; many providers want a space.',
    },
    tokenPrefix: {
      label: 'Token prefix',
      placeholder: 'Bearer',
      hint: 'Default Bearer; sent as Authorization: <prefix> <token>.',
      group: 'advanced',
      order: 2,
    },
    expiresIn: {
      label: 'Token lifetime in seconds',
      placeholder: '3600',
      hint: 'Default 3600; used when the token response has no expires_in (900–86400).',
      group: 'advanced',
      order: 1,
    },
    authorizationParams: {
      label: 'Extra authorization parameters',
      hint: 'Added to the authorization URL, e.g. access_type=offline.',
      visibleWhen: browserGrant,
    },
    tokenParams: {
      label: 'Extra token parameters',
      hint: 'Added to token requests, e.g. audience.',
    },
  },
  groups: {
    client: { layout: 'columns-2' },
    more: { layout: 'columns-2' },
    advanced: { title: 'Advanced', collapsed: true, layout: 'columns-2' },
  },
}

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
  if (grantType !== 'authorization_code_pkce' && settings.clientSecret === undefined) {
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
