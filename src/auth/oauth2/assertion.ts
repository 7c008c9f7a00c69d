/**
 * The JWTs Patchbay signs for a token endpoint (RFC 7523): a client assertion that authenticates
 * the client (`private_key_jwt`, `client_secret_jwt`), and the assertion of the JWT bearer grant.
 * Both are short-lived and carry a random `jti`, so a server can refuse a replay (RFC 7523 §3).
 *
 * @see https://www.rfc-editor.org/rfc/rfc7523
 * @module
 */
import { randomBytes } from 'node:crypto'
import type { JWTPayload } from 'jose'
import type { SigningKey } from './keys.js'

/** `client_assertion_type` of a JWT client assertion (RFC 7523 §2.2). */
export const CLIENT_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'

/** `grant_type` of the JWT bearer grant (RFC 7523 §2.1). */
export const JWT_BEARER_GRANT_TYPE = 'urn:ietf:params:oauth:grant-type:jwt-bearer'

/** Seconds from `iat` to `exp` unless told otherwise. */
export const DEFAULT_ASSERTION_LIFETIME = 60

/** Longest lifetime accepted: Google refuses an assertion valid for more than an hour. */
export const MAX_ASSERTION_LIFETIME = 3600

export interface AssertionOptions {
  /** Epoch ms of `iat`; default now. */
  now?: number | undefined
  /** Seconds from `iat` to `exp`, 1 to 3600; default 60. */
  lifetime?: number | undefined
}

/** What signs a client assertion: the client's private key, or HS256 over its secret. */
export type AssertionSigner = { privateKey: SigningKey } | { clientSecret: string }

/**
 * A client assertion for `private_key_jwt` (signed with the private key) or
 * `client_secret_jwt` (HS256, the client secret as the key): `iss` and `sub` are the client id,
 * `aud` the token endpoint (or the audience the server asks for), with a random `jti`, `iat` and
 * `exp`.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7523#section-2.2
 * @see https://www.rfc-editor.org/rfc/rfc7523#section-3
 * @see https://openid.net/specs/openid-connect-core-1_0.html#ClientAuthentication
 */
export function clientAssertion(
  clientId: string,
  audience: string,
  signer: AssertionSigner,
  options: AssertionOptions = {},
): Promise<string> {
  if (!clientId) throw new TypeError('"clientId" must be a non-empty string')
  const claims = timedClaims({ iss: clientId, sub: clientId }, audience, options)
  if ('privateKey' in signer) return sign(claims, signer.privateKey)
  if (!signer.clientSecret) throw new TypeError('"clientSecret" must be a non-empty string')
  return sign(claims, { alg: 'HS256', key: new TextEncoder().encode(signer.clientSecret) })
}

export interface JwtBearerClaims {
  /** `iss`: who issued the assertion (a service account's `client_email`, a consumer key). */
  issuer: string
  /** `aud`: the token endpoint, or the identifier the server asks for. */
  audience: string
  /** `sub`: the user the token is for (domain-wide delegation, a Salesforce username). */
  subject?: string | undefined
  /** A `scope` claim, for servers that read the scopes from the assertion (Google). */
  scope?: string | undefined
}

/**
 * The assertion of the JWT bearer grant, signed with the private key.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7523#section-2.1
 * @see https://www.rfc-editor.org/rfc/rfc7523#section-3
 */
export function jwtBearerAssertion(
  claims: JwtBearerClaims,
  privateKey: SigningKey,
  options: AssertionOptions = {},
): Promise<string> {
  if (!claims.issuer) throw new TypeError('"issuer" must be a non-empty string')
  const own: JWTPayload = { iss: claims.issuer }
  if (claims.subject) own.sub = claims.subject
  const payload = timedClaims(own, claims.audience, options)
  if (claims.scope) payload.scope = claims.scope
  return sign(payload, privateKey)
}

function timedClaims(
  base: JWTPayload,
  audience: string,
  options: AssertionOptions,
): JWTPayload & { iat: number; exp: number } {
  if (!audience) throw new TypeError('"audience" must be a non-empty string')
  const lifetime = options.lifetime ?? DEFAULT_ASSERTION_LIFETIME
  if (!Number.isInteger(lifetime) || lifetime < 1 || lifetime > MAX_ASSERTION_LIFETIME) {
    throw new RangeError(`"lifetime" must be an integer from 1 to ${MAX_ASSERTION_LIFETIME}`)
  }
  const iat = Math.floor((options.now ?? Date.now()) / 1000)
  return {
    ...base,
    aud: audience,
    // 128 random bits: unique enough that a server can keep the ones it saw until they expire.
    jti: randomBytes(16).toString('base64url'),
    iat,
    exp: iat + lifetime,
  }
}

async function sign(
  payload: JWTPayload,
  { key, alg, kid }: SigningKey | { alg: 'HS256'; key: Uint8Array; kid?: undefined },
): Promise<string> {
  try {
    // jose is loaded by the first assertion: most servers sign none.
    const { SignJWT } = await import('jose')
    return await new SignJWT(payload).setProtectedHeader(kid ? { alg, kid } : { alg }).sign(key)
  } catch (err) {
    // Not a transport failure: a caller must not take it for an endpoint that did not answer.
    throw new TypeError(`the ${alg} key could not sign the JWT`, { cause: err })
  }
}
