/**
 * Secrets at rest: AES-256-GCM, a fresh 96-bit IV per value, the record id as
 * additional authenticated data so a ciphertext cannot be moved to another record. Several keys
 * may be loaded while a rotation runs: the first seals, any opens.
 *
 * Keys come from a {@link Keyring}. A key-file keyring (`<dataDir>/secret.key`, plus
 * `<dataDir>/secret.key.previous` while a rotation runs) re-reads its files when they change, so
 * running servers follow `patchbay secrets rotate` without a restart; an environment keyring
 * (`PATCHBAY_SECRET_KEY`, `PATCHBAY_SECRET_KEY_PREVIOUS`) changes only with a restart.
 *
 * @module
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto'
import {
  chmodSync,
  closeSync,
  fsyncSync,
  linkSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs'
import { dirname, join } from 'node:path'

const PREFIX = 'pb1'

/** The key that seals, in `<dataDir>`. */
export const KEY_FILE = 'secret.key'
/** Keys kept for reading while a rotation re-seals (one per line), in `<dataDir>`. */
export const PREVIOUS_KEY_FILE = 'secret.key.previous'
/** How often a key-file keyring looks at its files' metadata, at most (ms). */
export const KEYRING_CHECK_MS = 1000

export interface SecretBox {
  /** Identifier of the key that seals (first 8 hex digits of its SHA-256). */
  readonly keyId: string
  seal(plaintext: string, aad: string): string
  /** Opens a value sealed under any loaded key; an unknown key id first re-reads the keyring. */
  open(sealed: string, aad: string): string
  /** True when `sealed` was sealed under another key than the current one (rotation pending). */
  isStale(sealed: string): boolean
}

/**
 * Where a {@link SecretBox} gets its keys. `keys()` may return a new array when the source
 * changed; the first key seals.
 */
export interface Keyring {
  /**
   * `file`: `<dataDir>/secret.key` (rotation writes new files); `env`: `PATCHBAY_SECRET_KEY`
   * (rotation only re-seals); `static`: keys given in code.
   */
  readonly source: 'file' | 'env' | 'static'
  /** The current keys, sealing key first; re-read when the files changed (checked at most every `checkIntervalMs`). */
  keys(): readonly Buffer[]
  /** Re-reads the keys now (an unknown key id, or a rotation that just wrote the files). */
  reload(): readonly Buffer[]
}

export function keyIdOf(key: Uint8Array): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 8)
}

/** The id of the key a value was sealed under, or undefined when it is not a sealed value. */
export function sealedKeyId(sealed: string): string | undefined {
  const [prefix, id] = sealed.split('.')
  return prefix === PREFIX && id ? id : undefined
}

/** A keyring that never changes. */
export function staticKeyring(
  keys: readonly Uint8Array[],
  source: 'env' | 'static' = 'static',
): Keyring {
  if (keys.length === 0) throw new Error('a keyring needs at least one key')
  const fixed = keys.map((k) => Buffer.from(k))
  return { source, keys: () => fixed, reload: () => fixed }
}

export function createSecretBox(keys: readonly Uint8Array[] | Keyring): SecretBox {
  const keyring = isKeyring(keys) ? keys : staticKeyring(keys)
  let loaded: readonly Buffer[] = []
  let byId = new Map<string, Buffer>()
  let primary!: Buffer
  let primaryId = ''
  const use = (next: readonly Buffer[]): void => {
    if (next === loaded) return
    if (next.length === 0) throw new Error('a keyring needs at least one key')
    loaded = next
    // The sealing key wins an id clash: `Map` keeps the last value set for a key.
    byId = new Map([...next].reverse().map((k) => [keyIdOf(k), k]))
    primary = next[0]!
    primaryId = keyIdOf(primary)
  }
  use(keyring.keys())
  return {
    get keyId() {
      use(keyring.keys())
      return primaryId
    },
    seal(plaintext, aad) {
      use(keyring.keys())
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
      use(keyring.keys())
      // Another process may have rotated the key a moment ago: look at the key files again.
      if (!byId.has(id)) use(keyring.reload())
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
    isStale(sealed) {
      use(keyring.keys())
      return sealedKeyId(sealed) !== primaryId
    },
  }
}

function isKeyring(value: readonly Uint8Array[] | Keyring): value is Keyring {
  return !Array.isArray(value)
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

function envPrevious(env: NodeJS.ProcessEnv): Buffer[] {
  return (env.PATCHBAY_SECRET_KEY_PREVIOUS ?? '')
    .split(',')
    .filter((s) => s.trim())
    .map((s) => parseKey(s, 'PATCHBAY_SECRET_KEY_PREVIOUS'))
}

/**
 * Writes `text` to `file` atomically (mode 0600): a temporary file in the same folder, flushed,
 * then renamed over `file`, so a reader sees the old content or the new, never half. With
 * `exclusive`, refuses (EEXIST) when `file` exists.
 */
export function writeFileAtomic(file: string, text: string, exclusive = false): void {
  const temp = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`
  const fd = openSync(temp, 'wx', 0o600)
  try {
    writeSync(fd, text)
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
  try {
    chmodSync(temp, 0o600)
    if (exclusive) linkSync(temp, file)
    else renameSync(temp, file)
  } catch (err) {
    unlinkIfExists(temp)
    throw err
  }
  if (exclusive) unlinkIfExists(temp)
  syncFolder(dirname(file))
}

/** Makes a rename durable; best effort (not every platform can open a folder). */
function syncFolder(folder: string): void {
  try {
    const fd = openSync(folder, 'r')
    try {
      fsyncSync(fd)
    } finally {
      closeSync(fd)
    }
  } catch {
    // not supported here
  }
}

function unlinkIfExists(file: string): void {
  try {
    unlinkSync(file)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
  }
}

function encodeKeys(keys: readonly Buffer[]): string {
  return keys.map((k) => k.toString('base64') + '\n').join('')
}

function readKeyLines(file: string): Buffer[] | undefined {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw err
  }
  return text
    .split('\n')
    .filter((line) => line.trim())
    .map((line) => parseKey(line, file))
}

/** The key files' keys: `secret.key` (created, mode 0600, when missing), then `secret.key.previous`. */
export function readKeyFiles(dataDir: string): { primary: Buffer; previous: Buffer[] } {
  const file = join(dataDir, KEY_FILE)
  let primary = readKeyLines(file)
  if (!primary) {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 })
    try {
      writeFileAtomic(file, encodeKeys([randomBytes(32)]), true)
    } catch (err) {
      // Another process created it first: use theirs.
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
    }
    primary = readKeyLines(file)
  }
  chmodSync(file, 0o600)
  if (!primary || primary.length !== 1)
    throw new Error(`${file} must hold exactly one key (32 bytes in base64 or hex)`)
  // Read after the primary: a rotation writes the previous file first, so this order never
  // misses the key that sealed before the rotation (see `stageNewKey`).
  const previous = readKeyLines(join(dataDir, PREVIOUS_KEY_FILE)) ?? []
  return { primary: primary[0]!, previous }
}

/**
 * Starts a key-file rotation: keeps the current key (and any earlier ones still pending) in
 * `secret.key.previous`, then writes a new random key as `secret.key`. Both writes are atomic and
 * in this order, so a process reading the files at any moment can open every stored value.
 * Returns the new key.
 */
export function stageNewKey(dataDir: string): Buffer {
  const { primary, previous } = readKeyFiles(dataDir)
  const keep = [primary, ...previous].filter(
    (k, i, all) => all.findIndex((other) => other.equals(k)) === i,
  )
  const next = randomBytes(32)
  writeFileAtomic(join(dataDir, PREVIOUS_KEY_FILE), encodeKeys(keep))
  writeFileAtomic(join(dataDir, KEY_FILE), encodeKeys([next]))
  return next
}

/** Ends a key-file rotation: the previous keys are no longer readable by anyone. */
export function dropPreviousKeys(dataDir: string): void {
  unlinkIfExists(join(dataDir, PREVIOUS_KEY_FILE))
}

export interface KeyringOptions {
  /** How often to look at the key files' metadata, at most (ms). Default {@link KEYRING_CHECK_MS}. */
  checkIntervalMs?: number
  now?: () => number
}

/**
 * The keyring for a data folder: `PATCHBAY_SECRET_KEY` (+ `PATCHBAY_SECRET_KEY_PREVIOUS`,
 * comma-separated) when set; else `<dataDir>/secret.key` (+ `secret.key.previous`, +
 * `PATCHBAY_SECRET_KEY_PREVIOUS`), created with mode 0600 on first use and re-read whenever
 * the files change (their inode, size or mtime), looked at no more than once per
 * `checkIntervalMs`. A failed re-read keeps the keys already loaded.
 */
export function createKeyring(
  dataDir: string,
  env: NodeJS.ProcessEnv = process.env,
  options: KeyringOptions = {},
): Keyring {
  const previousFromEnv = envPrevious(env)
  if (env.PATCHBAY_SECRET_KEY)
    return staticKeyring(
      [parseKey(env.PATCHBAY_SECRET_KEY, 'PATCHBAY_SECRET_KEY'), ...previousFromEnv],
      'env',
    )
  const interval = options.checkIntervalMs ?? KEYRING_CHECK_MS
  const now = options.now ?? Date.now
  const files = [join(dataDir, KEY_FILE), join(dataDir, PREVIOUS_KEY_FILE)]
  const signature = (): string =>
    files
      .map((f) => {
        try {
          const s = statSync(f, { bigint: true })
          return `${s.ino}:${s.size}:${s.mtimeNs}`
        } catch {
          return '-'
        }
      })
      .join('|')
  const read = (): Buffer[] => {
    const { primary, previous } = readKeyFiles(dataDir)
    return [primary, ...previous, ...previousFromEnv]
  }
  let seen = signature()
  let keys = read()
  let checkedAt = now()
  const reload = (): readonly Buffer[] => {
    checkedAt = now()
    // The signature first: a change landing during the read shows up at the next check.
    const next = signature()
    try {
      keys = read()
      seen = next
    } catch {
      // A key file being replaced or broken by hand: keep sealing and opening with what we had.
    }
    return keys
  }
  return {
    source: 'file',
    keys() {
      if (now() - checkedAt < interval) return keys
      checkedAt = now()
      return signature() === seen ? keys : reload()
    },
    reload,
  }
}

/**
 * The secret keys, sealing key first: `PATCHBAY_SECRET_KEY`, else `<dataDir>/secret.key`
 * (created, mode 0600, on first use) and `secret.key.previous`; `PATCHBAY_SECRET_KEY_PREVIOUS`
 * (comma-separated) are kept for reading during a rotation.
 */
export function loadSecretKeys(dataDir: string, env: NodeJS.ProcessEnv = process.env): Buffer[] {
  return [...createKeyring(dataDir, env).keys()]
}
