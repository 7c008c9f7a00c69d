/**
 * Secrets at rest (SPEC §7): AES-256-GCM, a fresh 96-bit IV per value, the record id as
 * additional authenticated data so a ciphertext cannot be moved to another record. Several keys
 * may be loaded while a rotation runs: the first seals, any opens.
 *
 * @module
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto'
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

const PREFIX = 'pb1'

export interface SecretBox {
  /** Identifier of the key that seals (first 8 hex digits of its SHA-256). */
  readonly keyId: string
  seal(plaintext: string, aad: string): string
  open(sealed: string, aad: string): string
  /** True when `sealed` was sealed under another key than the current one (rotation pending). */
  isStale(sealed: string): boolean
}

export function keyIdOf(key: Uint8Array): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 8)
}

export function createSecretBox(keys: Uint8Array[]): SecretBox {
  if (keys.length === 0) throw new Error('createSecretBox needs at least one key')
  const byId = new Map(keys.map((k) => [keyIdOf(k), k]))
  const primary = keys[0]!
  const primaryId = keyIdOf(primary)
  return {
    keyId: primaryId,
    seal(plaintext, aad) {
      const iv = randomBytes(12)
      const cipher = createCipheriv('aes-256-gcm', primary, iv)
      cipher.setAAD(Buffer.from(aad))
      const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()])
      const tag = cipher.getAuthTag()
      return [
        PREFIX,
        primaryId,
        iv.toString('base64url'),
        ct.toString('base64url'),
        tag.toString('base64url'),
      ].join('.')
    },
    open(sealed, aad) {
      const [prefix, id, iv, ct, tag] = sealed.split('.')
      if (prefix !== PREFIX || !id || iv === undefined || ct === undefined || tag === undefined) {
        throw new Error('not a sealed secret')
      }
      const key = byId.get(id)
      if (!key)
        throw new Error(`secret sealed under unknown key ${id}: is PATCHBAY_SECRET_KEY right?`)
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'))
      decipher.setAAD(Buffer.from(aad))
      decipher.setAuthTag(Buffer.from(tag, 'base64url'))
      return Buffer.concat([
        decipher.update(Buffer.from(ct, 'base64url')),
        decipher.final(),
      ]).toString('utf8')
    },
    isStale: (sealed) => sealed.split('.')[1] !== primaryId,
  }
}

/** Parses a 32-byte key given as base64 or hex. */
export function parseKey(text: string, source: string): Buffer {
  const t = text.trim()
  const key = /^[0-9a-fA-F]{64}$/.test(t) ? Buffer.from(t, 'hex') : Buffer.from(t, 'base64')
  if (key.byteLength !== 32) {
    throw new Error(
      `${source} must be 32 bytes in base64 or hex (make one with: openssl rand -base64 32)`,
    )
  }
  return key
}

/**
 * The secret key: `PATCHBAY_SECRET_KEY`, else `<dataDir>/secret.key`, created (mode 0600) on first
 * use. `PATCHBAY_SECRET_KEY_PREVIOUS` (comma-separated) are kept for reading during a rotation.
 */
export function loadSecretKeys(dataDir: string, env: NodeJS.ProcessEnv = process.env): Buffer[] {
  const previous = (env.PATCHBAY_SECRET_KEY_PREVIOUS ?? '')
    .split(',')
    .filter((s) => s.trim())
    .map((s) => parseKey(s, 'PATCHBAY_SECRET_KEY_PREVIOUS'))
  if (env.PATCHBAY_SECRET_KEY)
    return [parseKey(env.PATCHBAY_SECRET_KEY, 'PATCHBAY_SECRET_KEY'), ...previous]
  const file = join(dataDir, 'secret.key')
  if (!existsSync(file)) {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 })
    writeFileSync(file, randomBytes(32).toString('base64') + '\n', { mode: 0o600, flag: 'wx' })
  }
  chmodSync(file, 0o600)
  return [parseKey(readFileSync(file, 'utf8'), file), ...previous]
}
