/**
 * `oauth2`: OAuth 2.0 with the authorization code grant (with or without PKCE), the client
 * credentials grant or the JWT bearer grant (docs/auth/oauth2.md; RFC 7523), the client
 * authenticating with its secret or a signed JWT. The protocol steps live beside this file, one
 * request/process pair each; this file wires them to the `AuthScheme` hooks.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749
 * @see https://www.rfc-editor.org/rfc/rfc7523
 * @module
 */
import { PatchbayError } from '../../errors.js'
import type { FieldDefinition } from '../../connector/schema.js'
import { MissingTemplateValue } from '../../lib/template.js'
import { declaredTokenValues, keepTokenValues } from '../response-values.js'
import type { AuthContext, Credentials } from '../scheme.js'
import { defineAuthScheme, type FlowCallback } from '../scheme.js'
import { DEFAULT_ASSERTION_LIFETIME, jwtBearerAssertion } from './assertion.js'
import { authorizationUrl, processAuthorizationResponse, selectScopes } from './authorize.js'
import { algorithmMismatch, checkPrivateKey, type SigningKey } from './keys.js'
import { createPkcePair, createState } from './pkce.js'
import { processRefreshTokenResponse, refreshTokenGrantRequest } from './refresh.js'
import { processRevocationResponse, revocationRequest, type TokenTypeHint } from './revoke.js'
import {
  oauth2Presentation,
  oauth2Problems,
  oauth2SettingsSchema,
  PRIVATE_KEY_FIELD,
  privateKeyUse,
  usesBrowser,
  type OAuth2Settings,
} from './settings.js'
import {
  authorizationCodeGrantRequest,
  clientCredentialsGrantRequest,
  jwtBearerGrantRequest,
  processTokenResponse,
  type OAuthClient,
} from './token.js'

type Ctx = AuthContext<OAuth2Settings>

/** The redirect URI's route; the flow is stored under the `state` it echoes (RFC 6749 §4.1.2). */
export const OAUTH2_CALLBACK: FlowCallback = {
  path: '/oauth/callback',
  stateOf: (params) => params.get('state'),
}

export const oauth2Scheme = defineAuthScheme({
  type: 'oauth2',
  label: 'OAuth 2.0',
  settings: oauth2SettingsSchema,
  secretSettings: ['clientSecret', 'privateKey'],
  needsBrowser: (settings) => usesBrowser(settings.grantType),
  callbacks: [OAUTH2_CALLBACK],
  // A ready connector may ask for more scopes (its users consent to them on their next connect).
  appendOnlySettings: ['scopes'],
  presentation: oauth2Presentation,

  connectionFields(settings) {
    const fields: FieldDefinition[] = []
    if (settings.scopes.length > 0) {
      fields.push({
        name: 'scopes',
        label: 'Scopes',
        type: 'multiselect',
        optional: true,
        delimiter: settings.scopeDelimiter,
        options: settings.scopes.map((s): [string, string] => [s.name, s.value]),
        default: settings.scopes.map((s) => s.value),
        hint: 'Leave empty to ask for every scope.',
      })
    }
    if (settings.privateKeySource === 'connection' && privateKeyUse(settings) !== undefined) {
      fields.push({
        name: PRIVATE_KEY_FIELD,
        label: 'Private key',
        type: 'password',
        hint: 'PEM, from -----BEGIN PRIVATE KEY----- (or -----BEGIN RSA PRIVATE KEY-----) to the END line.',
      })
    }
    return fields
  },

  // An authorization-code token without a refresh token (GitHub style) has nothing to refresh
  // with: it is used until the API refuses it, never "refreshed" into needs_reauth. The grants
  // without a browser just ask again.
  canRefresh: (settings, _values, credentials) =>
    !usesBrowser(settings.grantType) ||
    credentials === undefined ||
    Boolean(credentials.values.refresh_token),
  problems: (settings) => oauth2Problems(settings),
  tokenValues: (settings) => declaredTokenValues(settings),

  async connect(ctx) {
    const settings = checkedSettings(ctx)
    if (!usesBrowser(settings.grantType)) {
      return { status: 'connected', credentials: await fetchToken(ctx, 'connect') }
    }
    // A key the connection gave is checked now, not after the user has been to the provider.
    if (settings.clientAuth === 'private_key_jwt') signingKey(ctx)
    const state = createState()
    const redirectUri = ctx.callbackUrl(OAUTH2_CALLBACK.path)
    const pkce = settings.grantType === 'authorization_code_pkce' ? createPkcePair() : undefined
    const url = authorizationUrl(renderUrl(ctx, 'authorizationUrl'), {
      clientId: ctx.render(settings.clientId),
      redirectUri,
      state,
      scope: scopeParam(ctx),
      codeChallenge: pkce?.codeChallenge,
      extraParams: renderParams(ctx, settings.authorizationParams),
    })
    // `complete` reads these back; the engine keeps them encrypted with the state (scheme.ts).
    const flow: Record<string, string> = { state, redirectUri }
    if (pkce) flow.codeVerifier = pkce.codeVerifier
    return { status: 'pending', authorizeUrl: url.href, state, flow }
  },

  async complete(ctx, params, flow) {
    const settings = checkedSettings(ctx)
    const code = processAuthorizationResponse(params, { expectedState: flow.state })
    const redirectUri = flow.redirectUri ?? ctx.callbackUrl(OAUTH2_CALLBACK.path)
    if (settings.grantType === 'authorization_code_pkce' && !flow.codeVerifier) {
      throw new PatchbayError('oauth.state_invalid', 'The pending flow has no PKCE code verifier.')
    }
    const now = ctx.now()
    const response = await authorizationCodeGrantRequest(
      ctx.http,
      renderUrl(ctx, 'tokenUrl'),
      oauthClient(ctx),
      code,
      redirectUri,
      { codeVerifier: flow.codeVerifier, extraParams: renderParams(ctx, settings.tokenParams) },
    )
    return processTokenResponse(response, {
      now,
      defaultExpiresIn: settings.expiresIn,
      step: 'connect',
      keep: settings,
    })
  },

  apply(ctx, request) {
    const token = ctx.credentials.values.access_token
    if (!token) {
      throw new PatchbayError('connection.not_connected', 'The connection has no access token yet.')
    }
    request.headers['authorization'] = `${ctx.settings.tokenPrefix} ${token}`
  },

  async refresh(ctx) {
    const settings = checkedSettings(ctx)
    // A new token from scratch; the kept values it does not answer again stay.
    if (!usesBrowser(settings.grantType))
      return keepTokenValues(ctx.credentials, await fetchToken(ctx, 'refresh'), settings)
    const refreshToken = ctx.credentials.values.refresh_token
    if (!refreshToken) {
      throw new PatchbayError(
        'connection.needs_reauth',
        'The provider gave no refresh token, so the expired access cannot be renewed; reconnect to authorize again.',
        { details: { reason: 'no_refresh_token' } },
      )
    }
    const now = ctx.now()
    const response = await refreshTokenGrantRequest(
      ctx.http,
      renderUrl(ctx, settings.refreshUrl === undefined ? 'tokenUrl' : 'refreshUrl'),
      oauthClient(ctx),
      refreshToken,
      { extraParams: renderParams(ctx, settings.tokenParams) },
    )
    return processRefreshTokenResponse(response, ctx.credentials, {
      now,
      defaultExpiresIn: settings.expiresIn,
      keep: settings,
    })
  },

  async revoke(ctx) {
    if (ctx.settings.revokeUrl === undefined) return
    const endpoint = renderUrl(ctx, 'revokeUrl')
    const client = oauthClient(ctx)
    // The refresh token first: revoking it ends the grant at most servers (RFC 7009 §2.1).
    const tokens: [string | undefined, TokenTypeHint][] = [
      [ctx.credentials.values.refresh_token, 'refresh_token'],
      [ctx.credentials.values.access_token, 'access_token'],
    ]
    let firstError: unknown
    for (const [token, hint] of tokens) {
      if (!token) continue
      try {
        processRevocationResponse(await revocationRequest(ctx.http, endpoint, client, token, hint))
      } catch (err) {
        firstError ??= err
      }
    }
    if (firstError !== undefined) throw firstError
  },

  redact: () => ({ headers: ['authorization'] }),
})

/** The settings, after the rules between fields (`oauth2Problems`); a broken set is refused. */
function checkedSettings(ctx: Ctx): OAuth2Settings {
  const issues = oauth2Problems(ctx.settings)
  if (issues.length > 0) {
    throw new PatchbayError(
      'connector.incomplete',
      `The OAuth 2.0 settings are incomplete: ${issues.map((i) => `auth.${i.path} ${i.rule}`).join('; ')}.`,
      { details: issues.map((i) => ({ path: `auth.${i.path}`, rule: i.rule })) },
    )
  }
  return ctx.settings
}

function oauthClient(ctx: Ctx): OAuthClient {
  const { clientId, clientSecret, clientAuth } = ctx.settings
  const jwt = clientAuth === 'private_key_jwt' || clientAuth === 'client_secret_jwt'
  return {
    clientId: ctx.render(clientId),
    clientSecret: clientSecret === undefined ? undefined : ctx.render(clientSecret),
    clientAuth,
    privateKey: clientAuth === 'private_key_jwt' ? signingKey(ctx) : undefined,
    assertion: jwt
      ? { audience: audience(ctx), lifetime: assertionLifetime(ctx), now: ctx.now }
      : undefined,
  }
}

/**
 * The private key, from the settings or the connection's `private_key`, with the algorithm and
 * `kid` to sign with. A connection's key that does not parse is its bad value (a 400 naming
 * it); the settings' key was checked when the connector was saved.
 */
function signingKey(ctx: Ctx): SigningKey {
  const { privateKeySource, privateKey, signingAlgorithm, keyId } = ctx.settings
  const fromConnection = privateKeySource === 'connection'
  const path = fromConnection ? `values.${PRIVATE_KEY_FIELD}` : 'auth.privateKey'
  const refuse = (rule: string, missing = false) =>
    new PatchbayError(
      fromConnection
        ? 'connection.invalid_values'
        : missing
          ? 'connector.incomplete'
          : 'connector.invalid',
      `${path} ${rule}`,
      { details: [{ path, rule }] },
    )
  const pem = fromConnection ? ctx.values[PRIVATE_KEY_FIELD] : privateKey
  if (typeof pem !== 'string' || pem === '') {
    throw refuse(`is required for ${privateKeyUse(ctx.settings)}`, true)
  }
  const checked = checkPrivateKey(pem)
  if (!checked.ok) throw refuse(checked.rule)
  if (signingAlgorithm !== undefined) {
    const mismatch = algorithmMismatch(checked.key, signingAlgorithm)
    if (mismatch !== undefined) throw refuse(`does not fit signingAlgorithm: ${mismatch}`)
  }
  return {
    key: checked.key,
    alg: signingAlgorithm ?? checked.alg,
    kid: keyId === undefined ? undefined : renderSetting(ctx, 'keyId'),
  }
}

/** `aud` of the JWTs: the `audience` setting, else the token URL (RFC 7523 §3, item 3). */
function audience(ctx: Ctx): string {
  return ctx.settings.audience === undefined
    ? renderUrl(ctx, 'tokenUrl')
    : renderSetting(ctx, 'audience')
}

function assertionLifetime(ctx: Ctx): number {
  return ctx.settings.assertionLifetime ?? DEFAULT_ASSERTION_LIFETIME
}

/**
 * The JWT bearer assertion's `sub`: a user to act for is optional (Google acts as the service
 * account itself without one), so a template whose connection value is not set leaves it out.
 */
function assertionSubject(ctx: Ctx): string | undefined {
  const template = ctx.settings.assertionSubject
  if (template === undefined) return undefined
  try {
    return ctx.render(template) || undefined
  } catch (err) {
    if (err instanceof MissingTemplateValue) return undefined
    throw err
  }
}

type TemplateSetting = 'keyId' | 'audience' | 'assertionIssuer'

/** A claim or header setting with the connection's values in it; a missing value is the connection's fault. */
function renderSetting(ctx: Ctx, name: TemplateSetting): string {
  const template = ctx.settings[name] ?? ''
  try {
    return ctx.render(template)
  } catch (err) {
    if (!(err instanceof MissingTemplateValue)) throw err
    const rule = `uses {{${err.key}}}, which this connection does not set`
    throw new PatchbayError('connection.invalid_values', `auth.${name} ${rule}`, {
      details: [{ path: `auth.${name}`, rule }],
    })
  }
}

type UrlSetting = 'authorizationUrl' | 'tokenUrl' | 'refreshUrl' | 'revokeUrl'

const TEMPLATE_RE = /\{\{\s*[\w.[\]-]+\s*\}\}/g

/**
 * A URL setting with the connection's `{{field}}` values in it, each percent-encoded: a value
 * cannot add a `/`, `?`, `#`, `@` or `:` and so cannot move the client secret to another host.
 */
function renderUrl(ctx: Ctx, name: UrlSetting): string {
  const template = ctx.settings[name]
  if (template === undefined) {
    throw new PatchbayError('connector.incomplete', `auth.${name} is not set.`, {
      details: [{ path: `auth.${name}`, rule: 'is required' }],
    })
  }
  const value = template.replace(TEMPLATE_RE, (t) => encodeURIComponent(ctx.render(t)))
  if (!URL.canParse(value) || !/^https?:$/.test(new URL(value).protocol)) {
    throw new PatchbayError(
      'connection.invalid_values',
      `auth.${name} does not make an http(s) URL with this connection's values.`,
      { details: [{ path: `auth.${name}`, rule: 'must render to an absolute http(s) URL' }] },
    )
  }
  return value
}

function renderParams(ctx: Ctx, params: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(params).map(([k, v]) => [k, ctx.render(v)]))
}

/** The connection's selected scopes (docs/auth/), joined with the connector's delimiter. */
function scopeParam(ctx: Ctx): string | undefined {
  const { scopes, scopeDelimiter } = ctx.settings
  const selected = selectScopes(
    scopes.map((s) => s.value),
    ctx.values.scopes,
    scopeDelimiter,
  )
  return selected.length > 0 ? selected.join(scopeDelimiter) : undefined
}

/**
 * The grants without a browser, at connect and whenever the token must be renewed: a token for
 * the client itself (RFC 6749 §4.4), or for a freshly signed assertion (RFC 7523 §2.1).
 */
async function fetchToken(ctx: Ctx, step: 'connect' | 'refresh'): Promise<Credentials> {
  const { settings } = ctx
  const now = ctx.now()
  const tokenUrl = renderUrl(ctx, 'tokenUrl')
  const client = oauthClient(ctx)
  const scope = scopeParam(ctx)
  const options = { extraParams: renderParams(ctx, settings.tokenParams), step }
  let response
  if (settings.grantType === 'jwt_bearer') {
    const inClaim = settings.scopeIn === 'claim'
    const assertion = await jwtBearerAssertion(
      {
        issuer:
          settings.assertionIssuer === undefined
            ? client.clientId
            : renderSetting(ctx, 'assertionIssuer'),
        audience: audience(ctx),
        subject: assertionSubject(ctx),
        scope: inClaim ? scope : undefined,
      },
      signingKey(ctx),
      { now, lifetime: assertionLifetime(ctx) },
    )
    response = await jwtBearerGrantRequest(ctx.http, tokenUrl, client, assertion, {
      ...options,
      scope: inClaim ? undefined : scope,
    })
  } else {
    response = await clientCredentialsGrantRequest(ctx.http, tokenUrl, client, {
      ...options,
      scope,
    })
  }
  return processTokenResponse(response, {
    now,
    defaultExpiresIn: settings.expiresIn,
    step,
    keep: settings,
  })
}

export {
  CLIENT_ASSERTION_TYPE,
  clientAssertion,
  DEFAULT_ASSERTION_LIFETIME,
  JWT_BEARER_GRANT_TYPE,
  jwtBearerAssertion,
  MAX_ASSERTION_LIFETIME,
  type AssertionOptions,
  type AssertionSigner,
  type JwtBearerClaims,
} from './assertion.js'
export {
  authorizationUrl,
  endpointUrl,
  processAuthorizationResponse,
  selectScopes,
} from './authorize.js'
export {
  isGrantDead,
  isTransient,
  providerErrorText,
  tokenEndpointFailure,
  type TokenFailure,
  type TokenStep,
} from './errors.js'
export {
  algorithmFor,
  algorithmMismatch,
  checkPrivateKey,
  SIGNING_ALGORITHMS,
  type PrivateKeyCheck,
  type SigningAlgorithm,
  type SigningKey,
} from './keys.js'
export {
  calculateCodeChallenge,
  CODE_CHALLENGE_METHOD,
  createCodeVerifier,
  createPkcePair,
  createState,
  isCodeVerifier,
  type PkcePair,
} from './pkce.js'
export { processRefreshTokenResponse, refreshTokenGrantRequest } from './refresh.js'
export { processRevocationResponse, revocationRequest, type TokenTypeHint } from './revoke.js'
export {
  CLIENT_AUTH_METHODS,
  GRANT_TYPES,
  oauth2Problems,
  oauth2SettingsSchema,
  PRIVATE_KEY_FIELD,
  PRIVATE_KEY_SOURCES,
  privateKeySchema,
  privateKeyUse,
  RESERVED_AUTHORIZATION_PARAMS,
  RESERVED_TOKEN_PARAMS,
  RESERVED_TOKEN_VALUES,
  scopeSchema,
  usesBrowser,
  type OAuth2GrantType,
  type OAuth2Settings,
} from './settings.js'
export {
  authorizationCodeGrantRequest,
  clientAuthentication,
  clientCredentialsGrantRequest,
  clientFormRequest,
  formUrlEncode,
  jwtBearerGrantRequest,
  processTokenResponse,
  tokenEndpointRequest,
  type ClientAssertionOptions,
  type ClientAuthMethod,
  type OAuthClient,
  type TokenRequestOptions,
  type TokenResponseOptions,
} from './token.js'
