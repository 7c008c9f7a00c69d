/**
 * OAuth 1.0 request signing (RFC 5849 §3), one exported function per step: the request's
 * parameters are collected (§3.4.1.3.1) and normalized (§3.4.1.3.2), joined with the method and
 * the base string URI (§3.4.1.2) into the signature base string (§3.4.1.1), signed (§3.4.2–3.4.4)
 * and sent in the `Authorization` header (§3.5.1). Every name and value is encoded with §3.6.
 *
 * `HMAC-SHA256` is not in RFC 5849; it is `HMAC-SHA1` with SHA-256, as the providers that offer it
 * define it. `RSA-SHA1` is not supported. Verifying (the server's side) is in `verify.ts`.
 *
 * @see https://www.rfc-editor.org/rfc/rfc5849#section-3
 * @module
 */
import { createHmac, randomBytes } from 'node:crypto'
import { isFormType, parseForm, type OutgoingRequest } from '../../lib/request.js'

export const SIGNATURE_METHODS = ['HMAC-SHA1', 'HMAC-SHA256', 'PLAINTEXT'] as const
export type SignatureMethod = (typeof SIGNATURE_METHODS)[number]

/** Decoded name/value pairs, in order; a name may repeat. */
export type ParameterList = [string, string][]

/** The parts of a request that take part in its signature. */
export type SignableRequest = Pick<OutgoingRequest, 'method' | 'url' | 'headers' | 'body'>

/**
 * Percent-encodes a string over its UTF-8 bytes, keeping only the unreserved characters
 * `ALPHA DIGIT - . _ ~`; every other byte becomes `%XX` with uppercase hex.
 *
 * @see https://www.rfc-editor.org/rfc/rfc5849#section-3.6
 */
export function percentEncode(value: string): string {
  if (typeof value !== 'string') throw new TypeError('"value" must be a string')
  // A lone surrogate has no UTF-8 form; encoding it as U+FFFD would sign another string.
  if (/\p{Cs}/u.test(value)) throw new TypeError('"value" must be well-formed Unicode text')
  let out = ''
  for (const byte of Buffer.from(value, 'utf8')) {
    out += isUnreserved(byte)
      ? String.fromCharCode(byte)
      : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`
  }
  return out
}

function isUnreserved(byte: number): boolean {
  return (
    (byte >= 0x30 && byte <= 0x39) || // DIGIT
    (byte >= 0x41 && byte <= 0x5a) || // ALPHA upper
    (byte >= 0x61 && byte <= 0x7a) || // ALPHA lower
    byte === 0x2d || // -
    byte === 0x2e || // .
    byte === 0x5f || // _
    byte === 0x7e // ~
  )
}

/**
 * The base string URI: scheme and host in lowercase, the port only when it is not the scheme's
 * default, the path as sent; no userinfo, query or fragment.
 *
 * @see https://www.rfc-editor.org/rfc/rfc5849#section-3.4.1.2
 */
export function baseStringUri(url: URL | string): string {
  const u = toUrl(url)
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new TypeError('"url" must be an http: or https: URL')
  }
  // WHATWG URL parsing already lowercases scheme and host and drops the scheme's default port.
  return `${u.protocol}//${u.host}${u.pathname}`
}

/**
 * Collects the parameters that are signed: the query component, the protocol parameters (those of
 * the `Authorization` header, without `realm`), and the entity-body when it is
 * `application/x-www-form-urlencoded`; `oauth_signature` is left out wherever it appears. Query
 * and body are decoded as forms (`+` is a space).
 *
 * @param protocolParameters The `oauth_*` parameters sent in the `Authorization` header. Leave it
 *   empty when they travel in the query or the body (§3.5.2, §3.5.3): they are collected there.
 * @see https://www.rfc-editor.org/rfc/rfc5849#section-3.4.1.3.1
 */
export function collectParameters(
  request: Pick<SignableRequest, 'url' | 'headers' | 'body'>,
  protocolParameters: ParameterList | Record<string, string> = [],
): ParameterList {
  if (!(request.url instanceof URL)) throw new TypeError('"request.url" must be a URL')
  const query: ParameterList = [...request.url.searchParams]
  const header = toList(protocolParameters).filter(([name]) => name !== 'realm')
  return [...query, ...formBodyParameters(request), ...header].filter(
    ([name]) => name !== 'oauth_signature',
  )
}

/**
 * The body's parameters when it is a single-part form (§3.4.1.3.1): a structured `form` body, or
 * raw bytes whose content type is `application/x-www-form-urlencoded`. Other bodies are not signed.
 */
export function formBodyParameters(
  request: Pick<SignableRequest, 'headers' | 'body'>,
): ParameterList {
  const body = request.body
  if (body.kind === 'form') {
    // A form body without a content-type is sent as a form (`encodeBody`).
    const type = request.headers['content-type']
    return type === undefined || isFormType(type) ? body.fields.map(([k, v]) => [k, v]) : []
  }
  if (body.kind === 'raw') {
    return isFormType(request.headers['content-type'] ?? body.contentType)
      ? parseForm(Buffer.from(body.bytes).toString('utf8'))
      : []
  }
  return []
}

/**
 * Normalizes parameters: each name and value encoded, the pairs sorted by name and then by value
 * (ascending byte order), joined as `name=value` with `&`. Duplicates are kept.
 *
 * @see https://www.rfc-editor.org/rfc/rfc5849#section-3.4.1.3.2
 */
export function normalizeParameters(parameters: ParameterList): string {
  return parameters
    .map(([name, value]) => [percentEncode(name), percentEncode(value)] as const)
    .sort(([an, av], [bn, bv]) => compare(an, bn) || compare(av, bv))
    .map(([name, value]) => `${name}=${value}`)
    .join('&')
}

// Encoded strings are ASCII, so UTF-16 code unit order is byte order (never `localeCompare`).
function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

/**
 * The signature base string: the uppercase method, the base string URI and the normalized
 * parameters, each encoded, joined with `&`.
 *
 * @see https://www.rfc-editor.org/rfc/rfc5849#section-3.4.1.1
 */
export function signatureBaseString(
  method: string,
  url: URL | string,
  parameters: ParameterList,
): string {
  if (typeof method !== 'string' || method.length === 0) {
    throw new TypeError('"method" must be a non-empty string')
  }
  return [method.toUpperCase(), baseStringUri(url), normalizeParameters(parameters)]
    .map(percentEncode)
    .join('&')
}

/**
 * The key for HMAC and the PLAINTEXT signature: the encoded consumer secret, `&`, and the encoded
 * token secret (empty when there is no token).
 *
 * @see https://www.rfc-editor.org/rfc/rfc5849#section-3.4.2
 * @see https://www.rfc-editor.org/rfc/rfc5849#section-3.4.4
 */
export function signingKey(consumerSecret: string, tokenSecret = ''): string {
  return `${percentEncode(consumerSecret)}&${percentEncode(tokenSecret)}`
}

/**
 * Signs a base string: base64 of the HMAC keyed with `signingKey(…)` for `HMAC-SHA1` (§3.4.2) and
 * `HMAC-SHA256`; the key itself for `PLAINTEXT` (§3.4.4), which ignores the base string.
 *
 * @see https://www.rfc-editor.org/rfc/rfc5849#section-3.4.2
 * @see https://www.rfc-editor.org/rfc/rfc5849#section-3.4.4
 */
export function sign(
  method: SignatureMethod,
  baseString: string,
  consumerSecret: string,
  tokenSecret = '',
): string {
  const key = signingKey(consumerSecret, tokenSecret)
  switch (method) {
    case 'HMAC-SHA1':
      return createHmac('sha1', key).update(baseString, 'utf8').digest('base64')
    case 'HMAC-SHA256':
      return createHmac('sha256', key).update(baseString, 'utf8').digest('base64')
    case 'PLAINTEXT':
      return key
    default:
      throw new TypeError(`"signatureMethod" must be one of ${SIGNATURE_METHODS.join(', ')}`)
  }
}

/**
 * The `Authorization` header value: `OAuth`, then `realm="…"` when given (a quoted-string, not
 * percent-encoded, never signed), then each parameter as `name="value"`, both encoded, in the
 * order given, separated by `, `.
 *
 * @see https://www.rfc-editor.org/rfc/rfc5849#section-3.5.1
 */
export function authorizationHeader(
  parameters: ParameterList | Record<string, string>,
  realm?: string,
): string {
  const parts: string[] = []
  if (realm !== undefined) parts.push(`realm="${realm.replace(/["\\]/g, '\\$&')}"`)
  for (const [name, value] of toList(parameters)) {
    parts.push(`${percentEncode(name)}="${percentEncode(value)}"`)
  }
  return `OAuth ${parts.join(', ')}`
}

export interface ConsumerCredentials {
  consumerKey: string
  consumerSecret: string
}

/** Client credentials plus, after the first leg, the temporary or token credentials. */
export interface SigningCredentials extends ConsumerCredentials {
  token?: string | undefined
  tokenSecret?: string | undefined
}

export interface SignRequestOptions {
  /** Default `HMAC-SHA1`. */
  signatureMethod?: SignatureMethod
  /** `oauth_callback`, in the temporary credentials request (§2.1). */
  callback?: string
  /** `oauth_verifier`, in the token credentials request (§2.3). */
  verifier?: string
  /** Sent in the header, never signed. */
  realm?: string
  /** `oauth_version`: `'1.0'` (default, which some providers require) or `false` to omit it. */
  version?: '1.0' | false
  /** Default: 128 random bits, hex. */
  nonce?: string
  /** Seconds since the epoch; default from `now`. */
  timestamp?: string | number
  /** Epoch ms; default `Date.now`. */
  now?: () => number
}

export interface SignedRequest {
  /** The protocol parameters sent, `oauth_signature` last. */
  parameters: Record<string, string>
  /** What was signed (holds no secret). */
  baseString: string
  /** The `Authorization` header value. */
  header: string
}

/**
 * Signs a request (§3.1): builds the protocol parameters, the base string over the request's query,
 * form body and those parameters, the signature, and the `Authorization` header. The request is
 * not changed.
 *
 * @see https://www.rfc-editor.org/rfc/rfc5849#section-3.1
 */
export function signRequest(
  request: SignableRequest,
  credentials: SigningCredentials,
  options: SignRequestOptions = {},
): SignedRequest {
  const { consumerKey, consumerSecret, token, tokenSecret } = credentials
  nonEmpty(consumerKey, 'consumerKey')
  if (typeof consumerSecret !== 'string') throw new TypeError('"consumerSecret" must be a string')
  if (token !== undefined) {
    nonEmpty(token, 'token')
    if (typeof tokenSecret !== 'string') throw new TypeError('"tokenSecret" must be a string')
  }
  const method = options.signatureMethod ?? 'HMAC-SHA1'
  if (!SIGNATURE_METHODS.includes(method)) {
    throw new TypeError(`"signatureMethod" must be one of ${SIGNATURE_METHODS.join(', ')}`)
  }
  const timestamp = String(options.timestamp ?? Math.floor((options.now ?? Date.now)() / 1000))
  if (!/^\d+$/.test(timestamp)) throw new TypeError('"timestamp" must be a whole number of seconds')
  const nonce = options.nonce ?? randomBytes(16).toString('hex')
  nonEmpty(nonce, 'nonce')

  const parameters: Record<string, string> = { oauth_consumer_key: consumerKey }
  if (token !== undefined) parameters.oauth_token = token
  parameters.oauth_signature_method = method
  parameters.oauth_timestamp = timestamp
  parameters.oauth_nonce = nonce
  if (options.callback !== undefined) parameters.oauth_callback = options.callback
  if (options.verifier !== undefined) parameters.oauth_verifier = options.verifier
  if ((options.version ?? '1.0') !== false) parameters.oauth_version = '1.0'

  const baseString = signatureBaseString(
    request.method,
    request.url,
    collectParameters(request, parameters),
  )
  parameters.oauth_signature = sign(method, baseString, consumerSecret, tokenSecret ?? '')
  return { parameters, baseString, header: authorizationHeader(parameters, options.realm) }
}

function toUrl(url: URL | string): URL {
  if (url instanceof URL) return url
  try {
    return new URL(url)
  } catch {
    throw new TypeError('"url" must be a URL')
  }
}

function toList(parameters: ParameterList | Record<string, string>): ParameterList {
  return Array.isArray(parameters) ? parameters : Object.entries(parameters)
}

function nonEmpty(value: unknown, name: string): void {
  if (typeof value !== 'string' || value.length === 0) {
    throw new TypeError(`"${name}" must be a non-empty string`)
  }
}
