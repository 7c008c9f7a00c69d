/**
 * `oauth2`: OAuth 2.0 with the authorization code grant (with or without PKCE) or the client
 * credentials grant (SPEC §3, "OAuth flows"). The protocol steps live beside this file, one
 * request/process pair each; this file wires them to the `AuthScheme` hooks.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749
 * @module
 */
import { PatchbayError } from '../../errors.js'
import type { FieldDefinition } from '../../connector/schema.js'
import type { AuthContext, Credentials } from '../scheme.js'
import { defineAuthScheme } from '../scheme.js'
import { authorizationUrl, processAuthorizationResponse, selectScopes } from './authorize.js'
import { createPkcePair, createState } from './pkce.js'
import { processRefreshTokenResponse, refreshTokenGrantRequest } from './refresh.js'
import { processRevocationResponse, revocationRequest, type TokenTypeHint } from './revoke.js'
import {
  oauth2Presentation,
  oauth2Problems,
  oauth2SettingsSchema,
  usesBrowser,
  type OAuth2Settings,
} from './settings.js'
import {
  authorizationCodeGrantRequest,
  clientCredentialsGrantRequest,
  processTokenResponse,
  type OAuthClient,
} from './token.js'

type Ctx = AuthContext<OAuth2Settings>

export const oauth2Scheme = defineAuthScheme({
  type: 'oauth2',
  label: 'OAuth 2.0',
  settings: oauth2SettingsSchema,
  secretSettings: ['clientSecret'],
  presentation: oauth2Presentation,

  connectionFields(settings) {
    if (settings.scopes.length === 0) return []
    const field: FieldDefinition = {
      name: 'scopes',
      label: 'Scopes',
      type: 'multiselect',
      optional: true,
      delimiter: settings.scopeDelimiter,
      options: settings.scopes.map((s): [string, string] => [s.name, s.value]),
      default: settings.scopes.map((s) => s.value),
      hint: 'Leave empty to ask for every scope.',
    }
    return [field]
  },

  // An authorization-code token without a refresh token (GitHub style) has nothing to refresh
  // with: it is used until the API refuses it, never "refreshed" into needs_reauth.
  canRefresh: (settings, _values, credentials) =>
    settings.grantType === 'client_credentials' ||
    credentials === undefined ||
    Boolean(credentials.values.refresh_token),
  problems: (settings) => oauth2Problems(settings),

  async connect(ctx) {
    const settings = checkedSettings(ctx)
    if (!usesBrowser(settings.grantType)) {
      return { status: 'connected', credentials: await fetchClientCredentialsToken(ctx, 'connect') }
    }
    const state = createState()
    const redirectUri = ctx.callbackUrl('/oauth/callback')
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
    return { status: 'pending', authorizeUrl: url.href, state, flow, callback: 'oauth' }
  },

  async complete(ctx, params, flow) {
    const settings = checkedSettings(ctx)
    const code = processAuthorizationResponse(params, { expectedState: flow.state })
    const redirectUri = flow.redirectUri ?? ctx.callbackUrl('/oauth/callback')
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
    if (!usesBrowser(settings.grantType)) return fetchClientCredentialsToken(ctx, 'refresh')
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
  return {
    clientId: ctx.render(clientId),
    clientSecret: clientSecret === undefined ? undefined : ctx.render(clientSecret),
    clientAuth,
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

/** The connection's selected scopes (SPEC "OAuth flows"), joined with the connector's delimiter. */
function scopeParam(ctx: Ctx): string | undefined {
  const { scopes, scopeDelimiter } = ctx.settings
  const selected = selectScopes(
    scopes.map((s) => s.value),
    ctx.values.scopes,
    scopeDelimiter,
  )
  return selected.length > 0 ? selected.join(scopeDelimiter) : undefined
}

/** RFC 6749 §4.4: a token for the client itself, at connect and whenever it must be renewed. */
async function fetchClientCredentialsToken(
  ctx: Ctx,
  step: 'connect' | 'refresh',
): Promise<Credentials> {
  const now = ctx.now()
  const response = await clientCredentialsGrantRequest(
    ctx.http,
    renderUrl(ctx, 'tokenUrl'),
    oauthClient(ctx),
    {
      scope: scopeParam(ctx),
      extraParams: renderParams(ctx, ctx.settings.tokenParams),
      step,
    },
  )
  return processTokenResponse(response, { now, defaultExpiresIn: ctx.settings.expiresIn, step })
}

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
  GRANT_TYPES,
  oauth2Problems,
  oauth2SettingsSchema,
  RESERVED_AUTHORIZATION_PARAMS,
  RESERVED_TOKEN_PARAMS,
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
  processTokenResponse,
  tokenEndpointRequest,
  type OAuthClient,
  type TokenRequestOptions,
  type TokenResponseOptions,
} from './token.js'
