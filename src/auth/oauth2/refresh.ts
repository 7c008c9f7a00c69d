/**
 * Refreshing an access token (RFC 6749 §6), with refresh-token rotation: a new refresh token
 * in the answer replaces the old one, else the old one stays (RFC 6749 §6, last paragraph).
 *
 * @module
 */
import type { HttpClient, HttpResponse } from '../../lib/http.js'
import { keepTokenValues, type TokenValueSettings } from '../response-values.js'
import type { Credentials } from '../scheme.js'
import { processTokenResponse, tokenEndpointRequest, type OAuthClient } from './token.js'

/**
 * Sends `grant_type=refresh_token` with the client's authentication. A transport failure throws
 * a transient `refresh.failed`.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-6
 */
export function refreshTokenGrantRequest(
  http: HttpClient,
  refreshEndpoint: string,
  client: OAuthClient,
  refreshToken: string,
  options: { extraParams?: Record<string, string> | undefined } = {},
): Promise<HttpResponse> {
  if (!refreshToken) throw new TypeError('"refreshToken" must be a non-empty string')
  return tokenEndpointRequest(
    http,
    refreshEndpoint,
    'refreshUrl',
    client,
    { grant_type: 'refresh_token', refresh_token: refreshToken },
    { extraParams: options.extraParams, step: 'refresh' },
  )
}

/**
 * Reads a refresh answer over the previous credentials. `invalid_grant` or a 400/401 throws
 * `connection.needs_reauth`; no answer, a 5xx or a 429 throws `refresh.failed` with
 * `details.transient: true`. Kept response values (`keep`) the answer has replace the previous
 * ones; those it leaves out stay.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-6
 * @see https://www.rfc-editor.org/rfc/rfc9700#section-4.14.2
 */
export function processRefreshTokenResponse(
  response: HttpResponse,
  previous: Credentials,
  options: { now: number; defaultExpiresIn: number; keep?: TokenValueSettings | undefined },
): Credentials {
  const fresh = processTokenResponse(response, { ...options, step: 'refresh' })
  const rotated = fresh.values.refresh_token !== undefined
  const merged: Credentials = {
    values: { ...previous.values, ...fresh.values },
    expiresAt: fresh.expiresAt,
    refreshExpiresAt: fresh.refreshExpiresAt ?? (rotated ? undefined : previous.refreshExpiresAt),
    obtainedAt: fresh.obtainedAt,
    tokenValues: fresh.tokenValues,
  }
  return keepTokenValues(previous, merged, options.keep ?? {})
}
