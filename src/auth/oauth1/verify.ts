/**
 * The server's side of RFC 5849 §3: reading the protocol parameters a request carries (§3.5) and
 * verifying its signature (§3.2) by recomputing it with the signing steps of `signature.ts`. Used
 * by the test provider; Patchbay itself only signs.
 *
 * @see https://www.rfc-editor.org/rfc/rfc5849#section-3.2
 * @module
 */
import { timingSafeEqual } from 'node:crypto'
import {
  SIGNATURE_METHODS,
  collectParameters,
  formBodyParameters,
  sign,
  signatureBaseString,
  type ParameterList,
  type SignableRequest,
  type SignatureMethod,
} from './signature.js'

/**
 * Parses an `Authorization: OAuth …` header: `realm` (unquoted) and the other parameters (decoded).
 * Answers `undefined` when the header uses another scheme; throws a `TypeError` when it is
 * malformed.
 *
 * @see https://www.rfc-editor.org/rfc/rfc5849#section-3.5.1
 */
export function parseAuthorizationHeader(
  header: string,
): { realm?: string; parameters: ParameterList } | undefined {
  const scheme = /^\s*OAuth(?:\s+|$)/i.exec(header)
  if (!scheme) return undefined
  const rest = header.slice(scheme[0].length).trimEnd()
  const pair = /\s*([^\s=,"]+)\s*=\s*"((?:[^"\\]|\\.)*)"\s*(?:,|$)/y
  const parameters: ParameterList = []
  let realm: string | undefined
  while (pair.lastIndex < rest.length) {
    const m = pair.exec(rest)
    if (!m) throw new TypeError('the OAuth Authorization header is malformed')
    const [, name, value] = m as unknown as [string, string, string]
    if (name === 'realm') realm = value.replace(/\\(.)/g, '$1')
    else parameters.push([percentDecode(name), percentDecode(value)])
  }
  return realm === undefined ? { parameters } : { realm, parameters }
}

function percentDecode(value: string): string {
  try {
    return decodeURIComponent(value)
  } catch {
    throw new TypeError('the OAuth Authorization header holds a malformed percent-encoding')
  }
}

/** Why a request was refused, in the words of the OAuth Problem Reporting extension. */
export type OAuthProblem =
  | 'parameter_absent'
  | 'parameter_rejected'
  | 'version_rejected'
  | 'signature_method_rejected'
  | 'timestamp_refused'
  | 'signature_invalid'

export type ProtocolParametersResult =
  | {
      ok: true
      /** The protocol parameters, `oauth_signature` included. */
      parameters: Record<string, string>
      realm?: string
      /** Where they were sent (§3.5). */
      source: 'header' | 'body' | 'query'
    }
  | { ok: false; problem: OAuthProblem; reason: string }

/**
 * Reads a request's protocol parameters from the `Authorization` header (§3.5.1), else the form
 * body (§3.5.2), else the query (§3.5.3). A parameter sent twice is refused (§3.5).
 *
 * @see https://www.rfc-editor.org/rfc/rfc5849#section-3.5
 */
export function readProtocolParameters(
  request: Pick<SignableRequest, 'url' | 'headers' | 'body'>,
): ProtocolParametersResult {
  let list: ParameterList
  let source: 'header' | 'body' | 'query'
  let realm: string | undefined
  const header = request.headers['authorization']
  const parsed = header === undefined ? undefined : safeParseHeader(header)
  if (parsed instanceof TypeError) {
    return { ok: false, problem: 'parameter_rejected', reason: parsed.message }
  }
  if (parsed) {
    list = parsed.parameters
    realm = parsed.realm
    source = 'header'
  } else {
    const body = formBodyParameters(request).filter(([name]) => name.startsWith('oauth_'))
    const query = [...request.url.searchParams].filter(([name]) => name.startsWith('oauth_'))
    ;[list, source] = body.length > 0 ? [body, 'body'] : [query, 'query']
  }
  const parameters: Record<string, string> = {}
  for (const [name, value] of list) {
    if (Object.hasOwn(parameters, name)) {
      return { ok: false, problem: 'parameter_rejected', reason: `"${name}" is sent twice` }
    }
    parameters[name] = value
  }
  return realm === undefined
    ? { ok: true, parameters, source }
    : { ok: true, parameters, realm, source }
}

function safeParseHeader(header: string): ReturnType<typeof parseAuthorizationHeader> | TypeError {
  try {
    return parseAuthorizationHeader(header)
  } catch (err) {
    return err as TypeError
  }
}

export interface VerifySecrets {
  consumerSecret: string
  /** Empty or absent for the temporary credentials request. */
  tokenSecret?: string | undefined
}

export interface VerifyRequestOptions {
  /** Accepted methods; default all of `SIGNATURE_METHODS`. */
  signatureMethods?: readonly SignatureMethod[]
  /** Refuse a timestamp further than this from `now` (seconds); default: no check. */
  maxSkewSeconds?: number
  now?: () => number
}

export type VerifyResult =
  | { valid: true; parameters: Record<string, string>; signatureMethod: SignatureMethod }
  | { valid: false; problem: OAuthProblem; reason: string }

/**
 * Verifies a signed request as a server does (§3.2): reads the protocol parameters, checks the
 * required ones, recomputes the signature with the given secrets and compares it in constant time.
 * Nonce reuse and whether the consumer key and token are known are the caller's checks
 * (`readProtocolParameters` tells which secrets to look up).
 *
 * @see https://www.rfc-editor.org/rfc/rfc5849#section-3.2
 */
export function verifyRequest(
  request: SignableRequest,
  secrets: VerifySecrets,
  options: VerifyRequestOptions = {},
): VerifyResult {
  const read = readProtocolParameters(request)
  if (!read.ok) return { valid: false, problem: read.problem, reason: read.reason }
  const p = read.parameters
  const method = p.oauth_signature_method as SignatureMethod | undefined
  const required = ['oauth_consumer_key', 'oauth_signature_method', 'oauth_signature']
  // §3.1: timestamp and nonce MAY be omitted with PLAINTEXT.
  if (method !== 'PLAINTEXT') required.push('oauth_timestamp', 'oauth_nonce')
  const absent = required.filter((name) => p[name] === undefined)
  if (absent.length > 0) {
    return { valid: false, problem: 'parameter_absent', reason: `missing ${absent.join(', ')}` }
  }
  if (p.oauth_version !== undefined && p.oauth_version !== '1.0') {
    return { valid: false, problem: 'version_rejected', reason: 'oauth_version must be 1.0' }
  }
  const accepted = options.signatureMethods ?? SIGNATURE_METHODS
  if (method === undefined || !accepted.includes(method)) {
    return {
      valid: false,
      problem: 'signature_method_rejected',
      reason: `oauth_signature_method must be one of ${accepted.join(', ')}`,
    }
  }
  if (options.maxSkewSeconds !== undefined && p.oauth_timestamp !== undefined) {
    const now = Math.floor((options.now ?? Date.now)() / 1000)
    const ts = /^\d+$/.test(p.oauth_timestamp) ? Number(p.oauth_timestamp) : Number.NaN
    if (!(Math.abs(now - ts) <= options.maxSkewSeconds)) {
      return {
        valid: false,
        problem: 'timestamp_refused',
        reason: 'oauth_timestamp is out of range',
      }
    }
  }
  const signed = collectParameters(request, read.source === 'header' ? p : [])
  const baseString = signatureBaseString(request.method, request.url, signed)
  const expected = sign(method, baseString, secrets.consumerSecret, secrets.tokenSecret ?? '')
  if (!constantTimeEqual(expected, p.oauth_signature ?? '')) {
    return { valid: false, problem: 'signature_invalid', reason: 'the signature does not match' }
  }
  return { valid: true, parameters: p, signatureMethod: method }
}

function constantTimeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8')
  const y = Buffer.from(b, 'utf8')
  return x.length === y.length && timingSafeEqual(x, y)
}
