/**
 * The redirection-based authorization of RFC 5849 §2, as request/process pairs: temporary
 * credentials (§2.1), resource owner authorization (§2.2) and token credentials (§2.3); plus a
 * signed revocation request for providers that have one (not part of RFC 5849).
 *
 * Every request is a `POST` with the protocol parameters in the `Authorization` header (§3.5.1).
 * Errors are `PatchbayError`s whose messages name the endpoint and the status, never a secret; the
 * upstream `{ status, body }` of a refusal is kept in `cause`.
 *
 * @see https://www.rfc-editor.org/rfc/rfc5849#section-2
 * @module
 */
import { PatchbayError, isPatchbayError } from '../../errors.js'
import type { HttpClient, HttpResponse } from '../../lib/http.js'
import {
  signRequest,
  type ConsumerCredentials,
  type SignRequestOptions,
  type SigningCredentials,
} from './signature.js'

/** How to sign the flow's requests (the callback and verifier are the flow's own inputs). */
export type FlowOptions = Omit<SignRequestOptions, 'callback' | 'verifier'>

/** A token and its shared secret: the temporary credentials, or the token credentials. */
export interface TokenPair {
  token: string
  tokenSecret: string
}

export interface TokenCredentials extends TokenPair {
  /** The other fields the provider answered with (`user_id`, `screen_name`, …). */
  extra: Record<string, string>
}

/** The connector setting that names each endpoint; used in `details.endpoint`. */
export type FlowEndpoint = 'requestTokenUrl' | 'accessTokenUrl' | 'revokeUrl'

const ENDPOINT_NAMES: Record<FlowEndpoint, string> = {
  requestTokenUrl: 'request token endpoint',
  accessTokenUrl: 'access token endpoint',
  revokeUrl: 'revocation endpoint',
}

// Token endpoints answer form-encoded bodies (§2.1, §2.3); a few answer JSON.
const ACCEPT = 'application/x-www-form-urlencoded, application/json;q=0.9, */*;q=0.8'

/**
 * Asks for temporary credentials, signed with the client credentials only and `oauth_callback`.
 *
 * @see https://www.rfc-editor.org/rfc/rfc5849#section-2.1
 */
export async function temporaryCredentialsRequest(
  http: HttpClient,
  endpoint: URL,
  client: ConsumerCredentials,
  callback: string,
  options: FlowOptions = {},
): Promise<HttpResponse> {
  if (typeof callback !== 'string' || callback.length === 0) {
    throw new TypeError('"callback" must be a URL or "oob"')
  }
  return signedPost(http, 'requestTokenUrl', endpoint, client, { ...options, callback })
}

/**
 * Reads the temporary credentials; the server must confirm the callback
 * (`oauth_callback_confirmed=true`), which also tells an OAuth 1.0a server from an OAuth 1.0 one.
 *
 * @see https://www.rfc-editor.org/rfc/rfc5849#section-2.1
 */
export function processTemporaryCredentialsResponse(response: HttpResponse): TokenPair {
  if (!isSuccess(response)) throw refused('requestTokenUrl', response)
  const fields = responseFields(response)
  const pair = tokenPair('requestTokenUrl', response, fields)
  if (fields.oauth_callback_confirmed !== 'true') {
    throw new PatchbayError(
      'oauth.provider_error',
      'the OAuth1 request token endpoint did not confirm the callback (oauth_callback_confirmed must be "true")',
      {
        details: { endpoint: 'requestTokenUrl', status: response.status },
        cause: { status: response.status, fields: Object.keys(fields) },
      },
    )
  }
  return pair
}

/**
 * The URL to send the resource owner to: the authorization endpoint with `oauth_token` added to
 * its query (which it may already have).
 *
 * @see https://www.rfc-editor.org/rfc/rfc5849#section-2.2
 */
export function authorizationUrl(endpoint: URL, temporaryToken: string): URL {
  const url = new URL(endpoint.href)
  url.searchParams.set('oauth_token', temporaryToken)
  return url
}

/**
 * Reads the callback's query: `oauth_token` must be the temporary token the flow started with,
 * and `oauth_verifier` is returned. A provider's refusal (`denied`, `oauth_problem`) fails the flow.
 *
 * @see https://www.rfc-editor.org/rfc/rfc5849#section-2.2
 */
export function processAuthorizationCallback(
  params: URLSearchParams,
  temporaryToken: string,
): string {
  if (params.has('denied') || params.has('oauth_problem')) {
    const problem = safeProblem(params.get('oauth_problem'))
    throw new PatchbayError(
      'connection.flow_failed',
      `the user did not authorize the OAuth1 connection${problem ? ` (oauth_problem=${problem})` : ''}`,
    )
  }
  const token = params.get('oauth_token')
  if (!token) {
    throw new PatchbayError('connection.flow_failed', 'the OAuth1 callback has no oauth_token')
  }
  if (token !== temporaryToken) {
    throw new PatchbayError(
      'oauth.state_invalid',
      'the OAuth1 callback oauth_token does not match the pending connection',
    )
  }
  const verifier = params.get('oauth_verifier')
  if (!verifier) {
    throw new PatchbayError('connection.flow_failed', 'the OAuth1 callback has no oauth_verifier')
  }
  return verifier
}

/**
 * Exchanges the temporary credentials and the verifier for token credentials; signed with the
 * client credentials and the temporary credentials.
 *
 * @see https://www.rfc-editor.org/rfc/rfc5849#section-2.3
 */
export async function tokenCredentialsRequest(
  http: HttpClient,
  endpoint: URL,
  client: ConsumerCredentials,
  temporary: TokenPair,
  verifier: string,
  options: FlowOptions = {},
): Promise<HttpResponse> {
  if (typeof verifier !== 'string' || verifier.length === 0) {
    throw new TypeError('"verifier" must be a non-empty string')
  }
  return signedPost(
    http,
    'accessTokenUrl',
    endpoint,
    { ...client, token: temporary.token, tokenSecret: temporary.tokenSecret },
    { ...options, verifier },
  )
}

/**
 * Reads the token credentials. A 401 means the verifier or the temporary credentials were refused,
 * and the resource owner has to authorize again (`connection.needs_reauth`).
 *
 * @see https://www.rfc-editor.org/rfc/rfc5849#section-2.3
 */
export function processTokenCredentialsResponse(response: HttpResponse): TokenCredentials {
  if (!isSuccess(response)) throw refused('accessTokenUrl', response)
  const fields = responseFields(response)
  const { token, tokenSecret } = tokenPair('accessTokenUrl', response, fields)
  const extra = Object.fromEntries(
    Object.entries(fields).filter(
      ([name]) => name !== 'oauth_token' && name !== 'oauth_token_secret',
    ),
  )
  return { token, tokenSecret, extra }
}

/** Asks the provider to revoke token credentials: a signed `POST` to its revocation endpoint. */
export async function revocationRequest(
  http: HttpClient,
  endpoint: URL,
  client: ConsumerCredentials,
  credentials: TokenPair,
  options: FlowOptions = {},
): Promise<HttpResponse> {
  return signedPost(
    http,
    'revokeUrl',
    endpoint,
    {
      ...client,
      token: credentials.token,
      tokenSecret: credentials.tokenSecret,
    },
    options,
  )
}

export function processRevocationResponse(response: HttpResponse): void {
  if (!isSuccess(response)) throw refused('revokeUrl', response)
}

async function signedPost(
  http: HttpClient,
  endpoint: FlowEndpoint,
  url: URL,
  credentials: SigningCredentials,
  options: SignRequestOptions,
): Promise<HttpResponse> {
  if (!(url instanceof URL)) throw new TypeError(`"${endpoint}" must be a URL`)
  const { header } = signRequest(
    { method: 'POST', url, headers: {}, body: { kind: 'none' } },
    credentials,
    options,
  )
  try {
    return await http(url, { method: 'POST', headers: { authorization: header, accept: ACCEPT } })
  } catch (err) {
    if (isPatchbayError(err)) throw err
    const code = (err as { code?: unknown } | null)?.code
    const timedOut = typeof code === 'string' && code.includes('TIMEOUT')
    throw new PatchbayError(
      timedOut ? 'request.timeout' : 'request.upstream_unreachable',
      `could not reach the OAuth1 ${ENDPOINT_NAMES[endpoint]} (${url.origin}${url.pathname})`,
      { details: { endpoint }, cause: err },
    )
  }
}

function isSuccess(response: HttpResponse): boolean {
  return response.status >= 200 && response.status < 300
}

/** The answer's fields: JSON when it is a JSON object, else the text read as a form. */
function responseFields(response: HttpResponse): Record<string, string> {
  const body = response.body
  if (body !== null && typeof body === 'object' && !Array.isArray(body)) {
    return Object.fromEntries(
      Object.entries(body)
        .filter(([, v]) => typeof v === 'string' || typeof v === 'number')
        .map(([k, v]) => [k, String(v)]),
    )
  }
  return Object.fromEntries(new URLSearchParams(response.text.trim()))
}

function tokenPair(
  endpoint: FlowEndpoint,
  response: HttpResponse,
  fields: Record<string, string>,
): TokenPair {
  const token = fields.oauth_token
  const tokenSecret = fields.oauth_token_secret
  const missing = [!token && 'oauth_token', tokenSecret === undefined && 'oauth_token_secret']
    .filter(Boolean)
    .join(' and ')
  if (!token || tokenSecret === undefined) {
    throw new PatchbayError(
      'oauth.provider_error',
      `the OAuth1 ${ENDPOINT_NAMES[endpoint]} answered without ${missing}`,
      {
        details: { endpoint, status: response.status },
        // The field names only: the answer may hold a token secret.
        cause: { status: response.status, fields: Object.keys(fields) },
      },
    )
  }
  return { token, tokenSecret }
}

function refused(endpoint: FlowEndpoint, response: HttpResponse): PatchbayError {
  const problem = safeProblem(responseFields(response).oauth_problem)
  const detail = `HTTP ${response.status}${problem ? `, oauth_problem=${problem}` : ''}`
  const options = {
    details: { endpoint, status: response.status, ...(problem ? { oauthProblem: problem } : {}) },
    cause: { status: response.status, body: response.body },
  }
  if (endpoint === 'accessTokenUrl' && response.status === 401) {
    return new PatchbayError(
      'connection.needs_reauth',
      `the OAuth1 access token endpoint refused the verifier or the temporary credentials (${detail}); authorize the connection again`,
      options,
    )
  }
  return new PatchbayError(
    'oauth.provider_error',
    `the OAuth1 ${ENDPOINT_NAMES[endpoint]} refused the request (${detail})`,
    options,
  )
}

/** `oauth_problem` from the Problem Reporting extension, only when it is a plain word. */
function safeProblem(value: string | null | undefined): string | undefined {
  return value && /^[A-Za-z0-9_]{1,64}$/.test(value) ? value : undefined
}
