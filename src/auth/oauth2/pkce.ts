/**
 * Proof Key for Code Exchange with the `S256` method, and the random `state` value. Exported so
 * that the engine can also serve a code connector's `pkce` hook (docs/auth/) with them.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7636
 * @module
 */
import { createHash, randomBytes } from 'node:crypto'

export const CODE_CHALLENGE_METHOD = 'S256'

/** RFC 7636 §4.1: 43..128 characters of `[A-Z] / [a-z] / [0-9] / "-" / "." / "_" / "~"`. */
const VERIFIER_RE = /^[A-Za-z0-9\-._~]{43,128}$/

export interface PkcePair {
  codeVerifier: string
  codeChallenge: string
  codeChallengeMethod: typeof CODE_CHALLENGE_METHOD
}

/**
 * A code verifier of `length` characters (default 64, i.e. 384 random bits), base64url.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7636#section-4.1
 */
export function createCodeVerifier(length = 64): string {
  if (!Number.isInteger(length) || length < 43 || length > 128) {
    throw new RangeError('"length" must be an integer from 43 to 128')
  }
  // Each base64url character carries 6 bits; draw enough bytes and cut to length.
  return randomBytes(Math.ceil((length * 3) / 4))
    .toString('base64url')
    .slice(0, length)
}

/**
 * `BASE64URL(SHA256(ASCII(code_verifier)))`.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7636#section-4.2
 */
export function calculateCodeChallenge(codeVerifier: string): string {
  if (!isCodeVerifier(codeVerifier)) {
    throw new TypeError('"codeVerifier" must be 43 to 128 unreserved characters (RFC 7636 §4.1)')
  }
  return createHash('sha256').update(codeVerifier, 'ascii').digest('base64url')
}

export function isCodeVerifier(value: unknown): value is string {
  return typeof value === 'string' && VERIFIER_RE.test(value)
}

/** A fresh verifier and its `S256` challenge. */
export function createPkcePair(length?: number): PkcePair {
  const codeVerifier = createCodeVerifier(length)
  return {
    codeVerifier,
    codeChallenge: calculateCodeChallenge(codeVerifier),
    codeChallengeMethod: CODE_CHALLENGE_METHOD,
  }
}

/**
 * An opaque `state` with 256 random bits (at least 128 are needed).
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-10.12
 */
export function createState(): string {
  return randomBytes(32).toString('base64url')
}
