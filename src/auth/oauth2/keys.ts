/**
 * The private keys that sign Patchbay's JWTs (`private_key_jwt` client assertions and JWT bearer
 * grants): a PEM in, a key object and its JWS algorithm out. RS256 wants an RSA key of at least
 * 2048 bits (RFC 7518 §3.3), ES256 a key on P-256 (RFC 7518 §3.4).
 *
 * A rule this module reports never quotes the key: it ends up in API answers and logs.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7518#section-3.1
 * @module
 */
import { createPrivateKey, type KeyObject } from 'node:crypto'

export const SIGNING_ALGORITHMS = ['RS256', 'ES256'] as const
export type SigningAlgorithm = (typeof SIGNING_ALGORITHMS)[number]

/** A private key ready to sign, with the JWS header values that go with it. */
export interface SigningKey {
  key: KeyObject
  alg: SigningAlgorithm
  /** The JWS `kid` header (RFC 7515 §4.1.4), for servers that pick the key by it. */
  kid?: string | undefined
}

export type PrivateKeyCheck =
  { ok: true; key: KeyObject; alg: SigningAlgorithm } | { ok: false; rule: string }

/** RFC 7468 §2: `-----BEGIN <label>-----`, base64 lines, `-----END <label>-----`. */
const PEM_BLOCK_RE = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g
const PRIVATE_LABELS = new Set(['PRIVATE KEY', 'RSA PRIVATE KEY', 'EC PRIVATE KEY'])

const NOT_PEM =
  'must be a PEM private key: "-----BEGIN PRIVATE KEY-----" (PKCS#8) or "-----BEGIN RSA PRIVATE KEY-----" (PKCS#1)'

/**
 * Reads a PEM private key: PKCS#8 (`BEGIN PRIVATE KEY`), PKCS#1 (`BEGIN RSA PRIVATE KEY`) or
 * SEC 1 (`BEGIN EC PRIVATE KEY`), unencrypted. Line breaks may be lost (a pasted single line) or
 * written as `\n` (a key copied out of a JSON file): the base64 body is re-wrapped first. Text
 * around the block, or a certificate after it, is ignored. The algorithm follows from the key:
 * RS256 for RSA, ES256 for P-256.
 */
export function checkPrivateKey(pem: string): PrivateKeyCheck {
  const text = pem.replace(/\\r\\n|\\n|\\r/g, '\n')
  const blocks = [...text.matchAll(PEM_BLOCK_RE)]
  const block = blocks.find((b) => PRIVATE_LABELS.has(b[1]!))
  if (!block) {
    const labels = blocks.map((b) => b[1]!)
    if (labels.includes('ENCRYPTED PRIVATE KEY')) return refused(ENCRYPTED)
    if (labels.some((l) => /PUBLIC KEY|CERTIFICATE/.test(l))) {
      return refused(`${NOT_PEM}; this is a public key or a certificate`)
    }
    return refused(NOT_PEM)
  }
  const [, label, body = ''] = block
  // RFC 1421 headers (`Proc-Type: 4,ENCRYPTED`) mark a PKCS#1 key encrypted with a passphrase.
  if (body.includes(':')) return refused(ENCRYPTED)
  const base64 = body.replace(/\s+/g, '')
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(base64)) return refused(`${NOT_PEM}; its body is not base64`)
  const lines = base64.match(/.{1,64}/g) ?? []
  let key: KeyObject
  try {
    key = createPrivateKey({
      key: `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`,
      format: 'pem',
    })
  } catch {
    return refused(`${NOT_PEM}; it does not parse as one`)
  }
  const alg = algorithmFor(key)
  if (alg === undefined) return refused(unsupported(key))
  return { ok: true, key, alg }
}

/** The algorithm a key signs with, or undefined for a key neither RS256 nor ES256 can use. */
export function algorithmFor(key: KeyObject): SigningAlgorithm | undefined {
  const details = key.asymmetricKeyDetails
  if (key.asymmetricKeyType === 'rsa' && (details?.modulusLength ?? 0) >= 2048) return 'RS256'
  if (key.asymmetricKeyType === 'ec' && details?.namedCurve === 'prime256v1') return 'ES256'
  return undefined
}

/** Why `alg` cannot sign with `key`, or undefined when it can. */
export function algorithmMismatch(key: KeyObject, alg: SigningAlgorithm): string | undefined {
  const own = algorithmFor(key)
  if (own === alg) return undefined
  return `${alg} needs ${alg === 'RS256' ? 'an RSA key' : 'an EC key on P-256'}, and the private key is ${describe(key)}`
}

const ENCRYPTED =
  'must not be encrypted with a passphrase; export it without one (openssl pkcs8 -topk8 -nocrypt)'

function refused(rule: string): PrivateKeyCheck {
  return { ok: false, rule }
}

function unsupported(key: KeyObject): string {
  if (key.asymmetricKeyType === 'rsa') {
    return 'must be an RSA key of at least 2048 bits for RS256 (RFC 7518 §3.3)'
  }
  if (key.asymmetricKeyType === 'ec') {
    return 'must be an EC key on the P-256 curve for ES256 (RFC 7518 §3.4)'
  }
  return `must be an RSA key (RS256) or an EC key on P-256 (ES256), not ${describe(key)}`
}

/** RFC 7518 §6.2.1.1 names for the curves Node reports by their OpenSSL names. */
const CURVE_NAMES: Record<string, string> = {
  prime256v1: 'P-256',
  secp384r1: 'P-384',
  secp521r1: 'P-521',
}

function describe(key: KeyObject): string {
  const type = key.asymmetricKeyType ?? 'unknown'
  if (type === 'rsa') return `an RSA key of ${key.asymmetricKeyDetails?.modulusLength ?? 0} bits`
  if (type === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve ?? 'unknown'
    return `an EC key on ${CURVE_NAMES[curve] ?? curve}`
  }
  return `a key of type ${type}`
}
