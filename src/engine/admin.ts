/**
 * Admin keys: the bootstrap key (`PATCHBAY_ADMIN_KEY`, or `<dataDir>/admin.key`
 * generated on first start) and any number of named, revocable keys stored only as SHA-256
 * hashes. Keys are 256 random bits, so an unsalted hash is enough, and lookup by hash is safe:
 * its timing tells nothing about a key nobody holds.
 *
 * @module
 */
import { randomBytes, timingSafeEqual } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { adminKeyInputSchema } from '../connector/inputs.js'
import { listQuerySchema } from '../connector/schema.js'
import { invalidInput } from '../errors.js'
import { sha256 } from '../lib/digest.js'
import { writeFileAtomic } from '../store/crypto.js'
import type { AdminKeyRecord, Page, Store } from '../store/store.js'
import { newId } from './context.js'
import { toFieldIssues } from './issues.js'

export const ADMIN_KEY_FILE = 'admin.key'

export { adminKeyInputSchema } from '../connector/inputs.js'

export interface AdminKeyView {
  id: string
  name: string
  createdAt: string
  /** When it was revoked; a revoked key opens nothing. */
  revokedAt: string | null
}

export interface CreatedAdminKey extends AdminKeyView {
  /** The key itself: shown once, never stored. */
  key: string
}

function generateKey(): string {
  return `pbk_${randomBytes(32).toString('base64url')}`
}

function view(r: AdminKeyRecord): AdminKeyView {
  return {
    id: r.id,
    name: r.name,
    createdAt: new Date(r.createdAt).toISOString(),
    revokedAt: r.revokedAt === null ? null : new Date(r.revokedAt).toISOString(),
  }
}

export interface AdminKeys {
  /**
   * The bootstrap admin key: `PATCHBAY_ADMIN_KEY`, or one generated on first start into
   * `<dataDir>/admin.key` (0600). Read on every call, so a rotated file counts at once.
   */
  ensureKey(): { key: string; generated: boolean; file?: string }
  /** Whether `candidate` is the bootstrap key or an unrevoked named key (compared in constant time). */
  verify(candidate: string): Promise<boolean>
  /** Whether the key with this hex SHA-256 still opens the API (not rotated, not revoked). */
  hashStillValid(keyHash: string): Promise<boolean>
  /** A new named key; the answer is the only place the key ever appears. */
  createKey(name: string): Promise<CreatedAdminKey>
  /** Named keys, oldest first, revoked ones included; never the keys themselves. */
  listKeys(query?: {
    limit?: number | string | undefined
    cursor?: string | undefined
  }): Promise<Page<AdminKeyView>>
  /** Revokes a named key at once, in every process; false when there is no key with this id. */
  revokeKey(id: string): Promise<boolean>
  /**
   * Replaces the generated bootstrap key in `<dataDir>/admin.key` (atomically, mode 0600);
   * servers on this data folder accept only the new one from their next request. Refused when
   * the bootstrap key comes from `PATCHBAY_ADMIN_KEY`.
   */
  rotateBootstrapKey(): { key: string; file: string }
}

export function createAdminKeys(store: Store, dataDir: string, env: NodeJS.ProcessEnv): AdminKeys {
  const file = join(dataDir, ADMIN_KEY_FILE)

  const readKeyFile = (): string | undefined => {
    try {
      return readFileSync(file, 'utf8').trim() || undefined
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
      throw err
    }
  }

  function ensureKey(): { key: string; generated: boolean; file?: string } {
    if (env.PATCHBAY_ADMIN_KEY) return { key: env.PATCHBAY_ADMIN_KEY, generated: false }
    const existing = readKeyFile()
    if (existing) return { key: existing, generated: false, file }
    const key = generateKey()
    try {
      writeFileAtomic(file, key + '\n', true)
    } catch (err) {
      // Another process generated it first: theirs is the key.
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
      return { key: readKeyFile() ?? key, generated: false, file }
    }
    return { key, generated: true, file }
  }

  /** The bootstrap key's digest, hashed again only when the key changes. */
  let bootstrap: { key: string; digest: Buffer } = { key: '', digest: Buffer.alloc(0) }
  const bootstrapDigest = (): Buffer => {
    const key = ensureKey().key
    if (key !== bootstrap.key) bootstrap = { key, digest: sha256(key) }
    return bootstrap.digest
  }

  return {
    ensureKey,

    async verify(candidate: string): Promise<boolean> {
      const digest = sha256(candidate)
      if (timingSafeEqual(digest, bootstrapDigest())) return true
      const found = await store.findAdminKey(digest.toString('hex'))
      if (!found || found.revokedAt !== null) return false
      const stored = Buffer.from(found.keyHash, 'hex')
      return stored.length === digest.length && timingSafeEqual(stored, digest)
    },

    async hashStillValid(keyHash: string): Promise<boolean> {
      const digest = Buffer.from(keyHash, 'hex')
      if (digest.length !== 32) return false
      if (timingSafeEqual(digest, bootstrapDigest())) return true
      const named = await store.findAdminKey(keyHash)
      return named !== undefined && named.revokedAt === null
    },

    async createKey(name: string): Promise<CreatedAdminKey> {
      const parsed = adminKeyInputSchema.safeParse({ name }, { reportInput: true })
      if (!parsed.success) throw invalidInput(toFieldIssues(parsed.error))
      const key = generateKey()
      const record: AdminKeyRecord = {
        id: newId('ak'),
        name: parsed.data.name,
        keyHash: sha256(key).toString('hex'),
        createdAt: Date.now(),
        revokedAt: null,
      }
      await store.insertAdminKey(record)
      return { ...view(record), key }
    },

    async listKeys(
      query: { limit?: number | string | undefined; cursor?: string | undefined } = {},
    ): Promise<Page<AdminKeyView>> {
      const parsed = listQuerySchema.safeParse(query)
      if (!parsed.success) throw invalidInput(toFieldIssues(parsed.error))
      const page = await store.listAdminKeys(parsed.data)
      return { ...page, items: page.items.map(view) }
    },

    revokeKey(id: string): Promise<boolean> {
      return store.revokeAdminKey(id, Date.now())
    },

    rotateBootstrapKey(): { key: string; file: string } {
      if (env.PATCHBAY_ADMIN_KEY)
        throw new Error(
          'the bootstrap admin key comes from PATCHBAY_ADMIN_KEY, not a file: set a new value there ' +
            'and restart the servers (or use named keys: `patchbay admin-key create <name>`)',
        )
      const key = generateKey()
      writeFileAtomic(file, key + '\n')
      return { key, file }
    },
  }
}
