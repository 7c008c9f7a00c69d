/**
 * The `oauth2` connector settings (docs/auth/) and the rules that join several fields.
 *
 * zod 4 refuses `.partial()` on an object with refinements, and a draft connector is validated
 * against the partial schema, so the schema holds only per-field rules; the rules between fields
 * (a secret unless PKCE, an authorization URL unless `client_credentials`) are in
 * `oauth2Problems`, which the `ready` check and the hooks run.
 *
 * The settings added for JWTs (RFC 7523) have no schema defaults: a connector made ready before
 * them has none stored, and a default would read as a change to its frozen settings.
 *
 * @module
 */
import { z } from 'zod'
import { templatedUrl } from '../../connector/schema.js'
import type { FieldIssue } from '../../errors.js'
import { MAX_ASSERTION_LIFETIME } from './assertion.js'
import { algorithmMismatch, checkPrivateKey, SIGNING_ALGORITHMS } from './keys.js'
import type { AuthPresentation, HintCondition } from '../presentation.js'
import {
  tokenResponseSecretsHint,
  tokenResponseValuesHint,
  tokenResponseValuesSchema,
} from '../response-values.js'

export const GRANT_TYPES = [
  'authorization_code',
  'authorization_code_pkce',
  'client_credentials',
  'jwt_bearer',
] as const
export type OAuth2GrantType = (typeof GRANT_TYPES)[number]

export const CLIENT_AUTH_METHODS = [
  'body',
  'basic',
  'private_key_jwt',
  'client_secret_jwt',
  'tls_client_auth',
  'none',
] as const

/** Where the private key is kept: in the connector's settings, or in each connection's values. */
export const PRIVATE_KEY_SOURCES = ['connector', 'connection'] as const

/** The connection field that holds the private key when `privateKeySource` is `connection`. */
export const PRIVATE_KEY_FIELD = 'private_key'

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

/** The values the grant keeps under their own names; `tokenResponseValues` cannot take them. */
export const RESERVED_TOKEN_VALUES = [
  'access_token',
  'refresh_token',
  'token_type',
  'scope',
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
  'assertion',
  'client_assertion',
  'client_assertion_type',
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

/** A PEM private key that RS256 or ES256 can sign with; the rule never quotes the key. */
export const privateKeySchema = z
  .string()
  .min(1)
  .max(10_000)
  .superRefine((pem, ctx) => {
    const checked = checkPrivateKey(pem)
    if (!checked.ok) ctx.addIssue({ code: 'custom', message: checked.rule })
  })

export const oauth2SettingsSchema = z
  .object({
    grantType: z.enum(GRANT_TYPES),
    /** The client's id; for `jwt_bearer` also the assertion's default `iss`. */
    clientId: z.string().min(1).max(500),
    /**
     * Not needed for a public PKCE client (RFC 7636), `private_key_jwt` or `none`; required
     * otherwise (`oauth2Problems`).
     */
    clientSecret: z.string().min(1).max(2000).optional(),
    /**
     * RFC 6749 §2.3.1: `body` puts the credentials in the form, `basic` in HTTP Basic; RFC 7523
     * §2.2: `private_key_jwt` and `client_secret_jwt` send a signed assertion; `none` sends
     * nothing (`jwt_bearer` only); RFC 8705 §2: `tls_client_auth` sends only `client_id`, the
     * client certificate of `auth.tls` authenticating the client.
     */
    clientAuth: z.enum(CLIENT_AUTH_METHODS).default('body'),
    /** PEM; signs for `private_key_jwt` and `jwt_bearer`. A secret setting. */
    privateKey: privateKeySchema.optional(),
    /** Default `connector`: `privateKey` above; `connection`: each connection's `private_key`. */
    privateKeySource: z.enum(PRIVATE_KEY_SOURCES).optional(),
    /** Default: RS256 for an RSA key, ES256 for a P-256 key. */
    signingAlgorithm: z.enum(SIGNING_ALGORITHMS).optional(),
    /** The JWS `kid` header of JWTs signed with the private key; a template. */
    keyId: z.string().min(1).max(500).optional(),
    /** `aud` of every JWT Patchbay signs; default the token URL. A template. */
    audience: z.string().min(1).max(2000).optional(),
    /** Seconds from `iat` to `exp` of every JWT Patchbay signs; default 60. */
    assertionLifetime: z
      .number()
      .int()
      .min(10, 'must be at least 10 seconds')
      .max(MAX_ASSERTION_LIFETIME, `must be at most ${MAX_ASSERTION_LIFETIME} seconds`)
      .optional(),
    /** `jwt_bearer`: the assertion's `iss`; default `clientId`. A template. */
    assertionIssuer: z.string().min(1).max(500).optional(),
    /** `jwt_bearer`: the assertion's `sub`, the user to act for; left out when absent. A template. */
    assertionSubject: z.string().min(1).max(500).optional(),
    /** `jwt_bearer`: the scopes in the `scope` form parameter (default) or in a `scope` claim. */
    scopeIn: z.enum(['form', 'claim']).optional(),
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
    /**
     * Other values of the token response to keep with the connection, by name → JSON path
     * (Salesforce `instance_url`, Zoho `api_domain`): not secrets, shown on it and usable in the
     * base URL (`../response-values.ts`). Refreshed when a refresh answers them again.
     */
    tokenResponseValues: tokenResponseValuesSchema(RESERVED_TOKEN_VALUES).optional(),
    /** The same for values that are secrets: sealed with the tokens, never shown. */
    tokenResponseSecrets: tokenResponseValuesSchema(RESERVED_TOKEN_VALUES).optional(),
  })
  .strict()

export type OAuth2Settings = z.infer<typeof oauth2SettingsSchema>

const browserGrant: HintCondition = {
  setting: 'grantType',
  is: ['authorization_code', 'authorization_code_pkce'],
}
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
        ['jwt_bearer', 'JWT bearer (service account)'],
      ],
      hint: 'The user authorizes in the browser at the provider.',
      hintWhen: [
        {
          when: { setting: 'grantType', is: ['client_credentials'] },
          hint: 'Connects without a browser; a new token is fetched when one expires.',
        },
        {
          when: { setting: 'grantType', is: ['jwt_bearer'] },
          hint: 'Connects without a browser: Patchbay signs a JWT with the private key (RFC 7523) for each new token.',
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
        ['private_key_jwt', 'A JWT signed with the private key (private_key_jwt)'],
        ['client_secret_jwt', 'A JWT signed with the client secret (client_secret_jwt)'],
        ['tls_client_auth', 'The TLS client certificate (tls_client_auth, RFC 8705)'],
        ['none', 'None (the JWT bearer assertion identifies the client)'],
      ],
    },
    privateKey: {
      label: 'Private key (PEM)',
      widget: 'textarea',
      group: 'jwt',
      hint: 'RSA (RS256) or P-256 (ES256), unencrypted PEM; for jwt_bearer and private_key_jwt.',
    },
    privateKeySource: {
      label: 'Private key from',
      group: 'jwt',
      emptyLabel: 'This connector (default)',
      options: [
        ['connector', 'This connector'],
        ['connection', 'Each connection (a private_key field)'],
      ],
    },
    signingAlgorithm: {
      label: 'Signing algorithm',
      group: 'jwt',
      emptyLabel: 'From the key',
    },
    keyId: { label: 'Key ID (kid)', group: 'jwt', hint: 'Optional.' },
    audience: {
      label: 'Assertion audience',
      group: 'jwt',
      hint: 'Optional; the token URL when empty.',
    },
    assertionLifetime: {
      label: 'Assertion lifetime in seconds',
      group: 'jwt',
      placeholder: '60',
    },
    assertionIssuer: {
      label: 'Assertion issuer (iss)',
      group: 'jwt',
      hint: 'jwt_bearer; may use {{field}}, e.g. {{client_email}}.',
    },
    assertionSubject: {
      label: 'Assertion subject (sub)',
      group: 'jwt',
      hint: 'Optional: the user to act as.',
    },
    scopeIn: {
      label: 'Scopes go in',
      group: 'jwt',
      emptyLabel: 'The token request (default)',
      options: [
        ['form', 'The token request'],
        ['claim', 'The assertion’s scope claim (Google)'],
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
    tokenResponseValues: { ...tokenResponseValuesHint, group: 'values' },
    tokenResponseSecrets: { ...tokenResponseSecretsHint, group: 'values' },
  },
  groups: {
    client: { layout: 'columns-2' },
    more: { layout: 'columns-2' },
    advanced: { title: 'Advanced', collapsed: true, layout: 'columns-2' },
    jwt: { title: 'JWT signing', collapsed: true, layout: 'columns-2' },
    values: { title: 'Values from the token response', collapsed: true },
  },
}

/** Whether the grant sends the user's browser to the provider (docs/auth/). */
export function usesBrowser(grantType: OAuth2GrantType | undefined): boolean {
  return grantType === 'authorization_code' || grantType === 'authorization_code_pkce'
}

/** Why the settings sign with a private key, or undefined when they do not. */
export function privateKeyUse(settings: Partial<OAuth2Settings>): string | undefined {
  if (settings.grantType === 'jwt_bearer') return 'the jwt_bearer grant'
  if (settings.clientAuth === 'private_key_jwt') return 'private_key_jwt client authentication'
  return undefined
}

/**
 * The rules between fields, for complete settings (the `ready` check, and `connect`). Fields the
 * schema itself requires are the schema's to report.
 */
export function oauth2Problems(settings: Partial<OAuth2Settings>): FieldIssue[] {
  const issues: FieldIssue[] = []
  const { grantType } = settings
  if (grantType === undefined) return issues
  const clientAuth = settings.clientAuth ?? 'body'
  const noSecret = settings.clientSecret === undefined
  if (usesBrowser(grantType) && settings.authorizationUrl === undefined) {
    issues.push({ path: 'authorizationUrl', rule: `is required for the ${grantType} grant` })
  }
  if (clientAuth === 'client_secret_jwt' && noSecret) {
    issues.push({
      path: 'clientSecret',
      rule: 'is required for client_secret_jwt client authentication',
    })
  }
  // A public client (PKCE, or a JWT bearer grant's) identifies itself by its client_id alone.
  const publicClient = grantType === 'authorization_code_pkce' || grantType === 'jwt_bearer'
  if ((clientAuth === 'body' || clientAuth === 'basic') && noSecret && !publicClient) {
    issues.push({
      path: 'clientSecret',
      rule: `is required for the ${grantType} grant (only a PKCE client may go without)`,
    })
  }
  if (clientAuth === 'basic' && noSecret && publicClient) {
    issues.push({
      path: 'clientAuth',
      rule:
        grantType === 'jwt_bearer'
          ? 'cannot be basic without a clientSecret'
          : 'cannot be basic for a public PKCE client without a secret',
    })
  }
  if (clientAuth === 'none' && grantType !== 'jwt_bearer') {
    issues.push({ path: 'clientAuth', rule: 'can be none only for the jwt_bearer grant' })
  }
  issues.push(...privateKeyProblems(settings))
  const values = (settings.scopes ?? []).map((s) => s.value)
  if (new Set(values).size !== values.length) {
    issues.push({ path: 'scopes', rule: 'scope values must be unique' })
  }
  return issues
}

/** The private key: present where it is needed, absent where it is not, fit for the algorithm. */
function privateKeyProblems(settings: Partial<OAuth2Settings>): FieldIssue[] {
  const use = privateKeyUse(settings)
  const fromConnection = settings.privateKeySource === 'connection'
  if (use === undefined) {
    return settings.privateKey === undefined
      ? []
      : [
          {
            path: 'privateKey',
            rule: 'is used only by the jwt_bearer grant and private_key_jwt client authentication',
          },
        ]
  }
  if (fromConnection) {
    return settings.privateKey === undefined
      ? []
      : [
          {
            path: 'privateKey',
            rule: `must be left out when privateKeySource is connection (each connection gives its own ${PRIVATE_KEY_FIELD})`,
          },
        ]
  }
  if (settings.privateKey === undefined)
    return [{ path: 'privateKey', rule: `is required for ${use}` }]
  const checked = checkPrivateKey(settings.privateKey)
  const mismatch =
    checked.ok && settings.signingAlgorithm !== undefined
      ? algorithmMismatch(checked.key, settings.signingAlgorithm)
      : undefined
  return mismatch === undefined
    ? []
    : [{ path: 'signingAlgorithm', rule: `does not fit the key: ${mismatch}` }]
}
