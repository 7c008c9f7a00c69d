/**
 * The authorization request and the redirect back from it (RFC 6749 §4.1.1–4.1.2), with PKCE
 * (RFC 7636 §4.3) and the scopes a connection selected.
 *
 * @module
 */
import { PatchbayError } from '../../errors.js'
import { providerErrorText } from './errors.js'
import { CODE_CHALLENGE_METHOD } from './pkce.js'

export interface AuthorizationRequest {
  clientId: string
  redirectUri: string
  state: string
  /** The selected scope values, joined with the connector's delimiter; omitted when empty. */
  scope?: string | undefined
  /** The `S256` challenge, for PKCE. */
  codeChallenge?: string | undefined
  /** The connector's `authorizationParams`; they never replace the parameters above. */
  extraParams?: Record<string, string> | undefined
}

/**
 * The URL to send the user's browser to. Query parameters already in `authorizationEndpoint`
 * are kept (RFC 6749 §3.1).
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-4.1.1
 * @see https://www.rfc-editor.org/rfc/rfc7636#section-4.3
 */
export function authorizationUrl(
  authorizationEndpoint: string,
  request: AuthorizationRequest,
): URL {
  const url = endpointUrl(authorizationEndpoint, 'authorizationUrl')
  if (!request.clientId) throw new TypeError('"clientId" must be a non-empty string')
  if (!request.state) throw new TypeError('"state" must be a non-empty string')
  endpointUrl(request.redirectUri, 'redirectUri')
  for (const [key, value] of Object.entries(request.extraParams ?? {})) {
    url.searchParams.set(key, value)
  }
  url.searchParams.set('response_type', 'code')
  url.searchParams.set('client_id', request.clientId)
  url.searchParams.set('redirect_uri', request.redirectUri)
  url.searchParams.set('state', request.state)
  if (request.scope) url.searchParams.set('scope', request.scope)
  else url.searchParams.delete('scope')
  if (request.codeChallenge) {
    url.searchParams.set('code_challenge', request.codeChallenge)
    url.searchParams.set('code_challenge_method', CODE_CHALLENGE_METHOD)
  }
  return url
}

/**
 * Reads the redirect back to `/oauth/callback`: the authorization code, or the provider's error
 * as `oauth.provider_error`. When `expectedState` is given, `state` must match it.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-4.1.2
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-4.1.2.1
 */
export function processAuthorizationResponse(
  params: URLSearchParams,
  options: { expectedState?: string | undefined } = {},
): string {
  if (options.expectedState !== undefined && params.get('state') !== options.expectedState) {
    throw new PatchbayError('oauth.state_invalid', 'The callback state does not match the flow.')
  }
  const error = params.get('error')
  if (error !== null) {
    const text = providerErrorText(error, params.get('error_description') ?? undefined)
    throw new PatchbayError(
      'oauth.provider_error',
      `The authorization server refused the authorization (${text}).`,
      { details: { error } },
    )
  }
  const code = params.get('code')
  if (!code) {
    throw new PatchbayError(
      'oauth.provider_error',
      'The authorization server redirected back without a code or an error.',
    )
  }
  return code
}

/**
 * The scope values a connection asks for: the ones it selected (an array, or a string joined
 * with `delimiter`); every scope of the connector when it selected none. A value the connector
 * does not list is refused.
 */
export function selectScopes(available: string[], selected: unknown, delimiter: string): string[] {
  if (selected === undefined || selected === null || selected === '') return available
  const values = Array.isArray(selected)
    ? selected.map(String)
    : String(selected)
        .split(delimiter)
        .map((s) => s.trim())
        .filter((s) => s !== '')
  if (values.length === 0) return available
  const known = new Set(available)
  const unknown = values.filter((v) => !known.has(v))
  if (unknown.length > 0) {
    throw new PatchbayError(
      'connection.invalid_values',
      `scopes: ${unknown.map((v) => `"${v}"`).join(', ')} is not a scope of this connector`,
      { details: [{ path: 'values.scopes', rule: 'must be scopes of this connector' }] },
    )
  }
  return [...new Set(values)]
}

/** Parses an endpoint, naming the setting when it is not an http(s) URL. */
export function endpointUrl(value: string, name: string): URL {
  let url: URL | undefined
  try {
    url = new URL(value)
  } catch {
    url = undefined
  }
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:')) {
    throw new TypeError(`"${name}" must be an http:// or https:// URL`)
  }
  return url
}
