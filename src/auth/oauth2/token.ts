/**
 * The token endpoint (RFC 6749 §3.2): client authentication, the authorization-code,
 * client-credentials and JWT bearer grants, and reading the answer into `Credentials`.
 *
 * @module
 */
import { isPatchbayError } from '../../errors.js'
import type { HttpClient, HttpResponse } from '../../lib/http.js'
import { readTokenValues, withTokenValues, type TokenValueSettings } from '../response-values.js'
import type { Credentials } from '../scheme.js'
import { CLIENT_ASSERTION_TYPE, clientAssertion, JWT_BEARER_GRANT_TYPE } from './assertion.js'
import { endpointUrl } from './authorize.js'
import { tokenEndpointFailure, type TokenStep } from './errors.js'
import type { SigningKey } from './keys.js'

/**
 * How the client authenticates at the token endpoint:
 * - `body`, `basic`: the client secret in the form or in HTTP Basic (RFC 6749 §2.3.1);
 * - `private_key_jwt`, `client_secret_jwt`: a JWT client assertion (RFC 7523 §2.2; OpenID
 *   Connect Core 1.0 §9);
 * - `none`: nothing about the client at all, for a JWT bearer grant whose assertion says who is
 *   asking (RFC 7523 §2.1: client authentication is optional there).
 */
/**
 * How the client authenticates at the token endpoint: RFC 6749 §2.3.1 (`body`, `basic`), RFC 7523
 * §2.2 (`private_key_jwt`, `client_secret_jwt`), RFC 8705 §2 (`tls_client_auth`), or not at all.
 */
export type ClientAuthMethod =
  'body' | 'basic' | 'private_key_jwt' | 'client_secret_jwt' | 'tls_client_auth' | 'none'

/** The OAuth client Patchbay acts as. */
export interface OAuthClient {
  clientId: string
  /**
   * Absent for a public client, which sends only its `client_id` (RFC 6749 §2.1, §3.2.1), and for
   * `private_key_jwt`.
   */
  clientSecret?: string | undefined
  clientAuth: ClientAuthMethod
  /** `private_key_jwt`: the key the client assertion is signed with. */
  privateKey?: SigningKey | undefined
  /** Client assertions: their `aud`, lifetime and clock. */
  assertion?: ClientAssertionOptions | undefined
}

export interface ClientAssertionOptions {
  /** The assertion's `aud`; default the URL of the endpoint the request goes to. */
  audience?: string | undefined
  /** Seconds from `iat` to `exp`; default 60. */
  lifetime?: number | undefined
  /** Epoch ms; default `Date.now`. */
  now?: (() => number) | undefined
}

export interface TokenRequestOptions {
  /** The connector's `tokenParams`; they never replace the grant's own parameters. */
  extraParams?: Record<string, string> | undefined
  /** What a failure means; default `connect`. */
  step?: TokenStep | undefined
}

export interface TokenResponseOptions {
  /** Epoch ms the request was sent. */
  now: number
  /** Seconds, when the answer has no `expires_in` (the connector's `expiresIn`). */
  defaultExpiresIn: number
  step: TokenStep
  /**
   * Other values of the answer to keep (`tokenResponseValues`, `tokenResponseSecrets`): the
   * secrets beside the tokens in `values`, the others in `tokenValues`.
   */
  keep?: TokenValueSettings | undefined
}

/**
 * `application/x-www-form-urlencoded` encoding of one value (space as `+`), as RFC 6749
 * Appendix B asks for the HTTP Basic user name and password.
 */
export function formUrlEncode(value: string): string {
  return new URLSearchParams([['', value]]).toString().slice(1)
}

/**
 * Adds the client's credentials to a request to `endpoint` (token, refresh or revocation):
 * HTTP Basic with each part form-encoded, `client_id` and `client_secret` in the body, or
 * `client_id` with a signed `client_assertion`; a public client sends only its `client_id`, and
 * `none` sends nothing.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-2.3.1
 * @see https://www.rfc-editor.org/rfc/rfc7523#section-2.2
 * @see https://openid.net/specs/openid-connect-core-1_0.html#ClientAuthentication
 */
export async function clientAuthentication(
  client: OAuthClient,
  endpoint: string,
  body: URLSearchParams,
  headers: Record<string, string>,
): Promise<void> {
  if (client.clientAuth === 'none') return
  if (!client.clientId) throw new TypeError('"clientId" must be a non-empty string')
  if (client.clientAuth === 'private_key_jwt' || client.clientAuth === 'client_secret_jwt') {
    const { audience, lifetime, now } = client.assertion ?? {}
    let signer: { privateKey: SigningKey } | { clientSecret: string }
    if (client.clientAuth === 'private_key_jwt') {
      if (!client.privateKey) {
        throw new TypeError('"privateKey" is required for private_key_jwt client authentication')
      }
      signer = { privateKey: client.privateKey }
    } else {
      if (client.clientSecret === undefined) {
        throw new TypeError(
          '"clientSecret" is required for client_secret_jwt client authentication',
        )
      }
      signer = { clientSecret: client.clientSecret }
    }
    const assertion = await clientAssertion(client.clientId, audience ?? endpoint, signer, {
      lifetime,
      now: now?.(),
    })
    // The client_id too, as oauth4webapi sends it: servers may look the client up by it.
    body.set('client_id', client.clientId)
    body.set('client_assertion_type', CLIENT_ASSERTION_TYPE)
    body.set('client_assertion', assertion)
  } else if (client.clientSecret === undefined || client.clientAuth === 'tls_client_auth') {
    // RFC 8705 §2.1: with mutual TLS the request carries only `client_id`, never a secret.
    body.set('client_id', client.clientId)
  } else if (client.clientAuth === 'basic') {
    const pair = `${formUrlEncode(client.clientId)}:${formUrlEncode(client.clientSecret)}`
    headers['authorization'] = `Basic ${Buffer.from(pair).toString('base64')}`
  } else {
    body.set('client_id', client.clientId)
    body.set('client_secret', client.clientSecret)
  }
}

/** POSTs a form to an endpoint with the client's authentication; transport errors pass as is. */
export async function clientFormRequest(
  http: HttpClient,
  endpoint: string,
  endpointName: string,
  client: OAuthClient,
  params: Record<string, string>,
  extraParams?: Record<string, string>,
): Promise<HttpResponse> {
  const url = endpointUrl(endpoint, endpointName)
  const body = new URLSearchParams(extraParams)
  for (const [key, value] of Object.entries(params)) body.set(key, value)
  const headers: Record<string, string> = { accept: 'application/json' }
  await clientAuthentication(client, url.href, body, headers)
  return http(url, { method: 'POST', headers, body })
}

/**
 * A token request: a transport failure becomes the step's error (transient); a `PatchbayError`
 * from the HTTP client (its network rules) passes as is.
 */
export async function tokenEndpointRequest(
  http: HttpClient,
  endpoint: string,
  endpointName: string,
  client: OAuthClient,
  params: Record<string, string>,
  options: TokenRequestOptions = {},
): Promise<HttpResponse> {
  try {
    return await clientFormRequest(
      http,
      endpoint,
      endpointName,
      client,
      params,
      options.extraParams,
    )
  } catch (err) {
    if (isPatchbayError(err) || err instanceof TypeError) throw err
    throw tokenEndpointFailure(options.step ?? 'connect', { cause: err })
  }
}

/**
 * Exchanges an authorization code; `codeVerifier` for PKCE.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-4.1.3
 * @see https://www.rfc-editor.org/rfc/rfc7636#section-4.5
 */
export function authorizationCodeGrantRequest(
  http: HttpClient,
  tokenEndpoint: string,
  client: OAuthClient,
  code: string,
  redirectUri: string,
  options: TokenRequestOptions & { codeVerifier?: string | undefined } = {},
): Promise<HttpResponse> {
  if (!code) throw new TypeError('"code" must be a non-empty string')
  const params: Record<string, string> = {
    grant_type: 'authorization_code',
    code,
    redirect_uri: redirectUri,
  }
  if (options.codeVerifier !== undefined) params.code_verifier = options.codeVerifier
  return tokenEndpointRequest(http, tokenEndpoint, 'tokenUrl', client, params, options)
}

/**
 * Asks for a token for the client itself.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-4.4.2
 */
export function clientCredentialsGrantRequest(
  http: HttpClient,
  tokenEndpoint: string,
  client: OAuthClient,
  options: TokenRequestOptions & { scope?: string | undefined } = {},
): Promise<HttpResponse> {
  // RFC 6749 §4.4: only a confidential client may use this grant, so it must authenticate.
  if (client.clientAuth === 'none') {
    throw new TypeError('the client_credentials grant needs client authentication, not "none"')
  }
  // A confidential client only (RFC 6749 §4.4): by a secret, a signed assertion, or its
  // certificate (RFC 8705).
  if (
    client.clientSecret === undefined &&
    client.clientAuth !== 'private_key_jwt' &&
    client.clientAuth !== 'tls_client_auth'
  ) {
    throw new TypeError('"clientSecret" is required for the client_credentials grant')
  }
  const params: Record<string, string> = { grant_type: 'client_credentials' }
  if (options.scope) params.scope = options.scope
  return tokenEndpointRequest(http, tokenEndpoint, 'tokenUrl', client, params, options)
}

/**
 * Exchanges a signed JWT (`jwtBearerAssertion`) for an access token, with the client's
 * authentication when it has one: the grant lets the assertion alone say who is asking.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7523#section-2.1
 * @see https://www.rfc-editor.org/rfc/rfc7521#section-4.1
 */
export function jwtBearerGrantRequest(
  http: HttpClient,
  tokenEndpoint: string,
  client: OAuthClient,
  assertion: string,
  options: TokenRequestOptions & { scope?: string | undefined } = {},
): Promise<HttpResponse> {
  if (!assertion) throw new TypeError('"assertion" must be a non-empty string')
  const params: Record<string, string> = { grant_type: JWT_BEARER_GRANT_TYPE, assertion }
  if (options.scope) params.scope = options.scope
  return tokenEndpointRequest(http, tokenEndpoint, 'tokenUrl', client, params, options)
}

/**
 * Reads a token endpoint answer, JSON or form-encoded. An `error` answer, a non-2xx status or an
 * answer without `access_token` throws the step's error (`errors.ts`). A missing `token_type` is
 * accepted (the connector's `tokenPrefix` is what Patchbay sends); a missing `expires_in` means
 * `defaultExpiresIn`.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-5.1
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-5.2
 */
export function processTokenResponse(
  response: HttpResponse,
  options: TokenResponseOptions,
): Credentials {
  const { status } = response
  const body = isRecord(response.body) ? response.body : undefined
  const cause = { status, body: response.text }
  if (typeof body?.error === 'string') {
    const description = body.error_description
    throw tokenEndpointFailure(options.step, {
      status,
      error: body.error,
      errorDescription: typeof description === 'string' ? description : undefined,
      cause,
    })
  }
  if (status < 200 || status > 299) {
    throw tokenEndpointFailure(options.step, { status, cause })
  }
  const accessToken = body?.access_token
  if (typeof accessToken !== 'string' || accessToken === '') {
    throw tokenEndpointFailure(options.step, {
      status,
      problem: body ? 'the answer has no access_token' : 'the answer is neither JSON nor a form',
      cause,
    })
  }

  const kept = readTokenValues(body, options.keep ?? {})
  const values: Record<string, string> = { ...kept.values, access_token: accessToken }
  for (const key of ['refresh_token', 'token_type', 'scope'] as const) {
    const value = body?.[key]
    if (typeof value === 'string' && value !== '') values[key] = value
  }
  const expiresIn = seconds(body?.expires_in) ?? options.defaultExpiresIn
  const refreshExpiresIn = seconds(body?.refresh_token_expires_in)
  return withTokenValues(
    {
      values,
      expiresAt: options.now + expiresIn * 1000,
      refreshExpiresAt:
        refreshExpiresIn === undefined ? undefined : options.now + refreshExpiresIn * 1000,
      obtainedAt: options.now,
    },
    kept.tokenValues,
  )
}

/** A positive number of seconds, from a JSON number or a form string. */
function seconds(value: unknown): number | undefined {
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value
  return typeof n === 'number' && Number.isFinite(n) && n > 0 ? n : undefined
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
