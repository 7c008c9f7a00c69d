/**
 * Token revocation (RFC 7009), used when a connection is deleted.
 *
 * @module
 */
import { PatchbayError } from '../../errors.js'
import type { HttpClient, HttpResponse } from '../../lib/http.js'
import { providerErrorText } from './errors.js'
import { clientFormRequest, type OAuthClient } from './token.js'

export type TokenTypeHint = 'refresh_token' | 'access_token'

/**
 * Asks the server to revoke one token, with the client's authentication.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7009#section-2.1
 */
export async function revocationRequest(
  http: HttpClient,
  revocationEndpoint: string,
  client: OAuthClient,
  token: string,
  tokenTypeHint: TokenTypeHint,
): Promise<HttpResponse> {
  if (!token) throw new TypeError('"token" must be a non-empty string')
  try {
    return await clientFormRequest(http, revocationEndpoint, 'revokeUrl', client, {
      token,
      token_type_hint: tokenTypeHint,
    })
  } catch (err) {
    if (err instanceof PatchbayError || err instanceof TypeError) throw err
    throw new PatchbayError(
      'request.upstream_unreachable',
      'The revocation endpoint could not be reached.',
      { cause: err },
    )
  }
}

/**
 * A 200 means revoked, or already invalid (RFC 7009 §2.2); anything else throws
 * `oauth.provider_error` with the server's error code.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7009#section-2.2
 * @see https://www.rfc-editor.org/rfc/rfc7009#section-2.2.1
 */
export function processRevocationResponse(response: HttpResponse): void {
  if (response.status === 200) return
  const body = response.body
  const error =
    typeof body === 'object' && body !== null && 'error' in body && typeof body.error === 'string'
      ? body.error
      : undefined
  const description =
    typeof body === 'object' && body !== null && 'error_description' in body
      ? String(body.error_description)
      : undefined
  const what = error ? providerErrorText(error, description) : 'no error code'
  throw new PatchbayError(
    'oauth.provider_error',
    `The revocation endpoint answered HTTP ${response.status} (${what}).`,
    {
      details: { status: response.status, ...(error ? { error } : {}) },
      cause: { status: response.status, body: response.text },
    },
  )
}
