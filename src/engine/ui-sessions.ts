/**
 * Web UI sessions: signing in with an admin key opens one, and the cookie holds only its random id
 * (its SHA-256 is stored, with the hash of the admin key that opened it). Any process sharing the
 * database accepts it; revoking or rotating that key ends it.
 *
 * @module
 */
import { randomBytes } from 'node:crypto'
import { PatchbayError } from '../errors.js'
import { sha256Hex } from '../lib/digest.js'
import type { Store } from '../store/store.js'
import type { AdminKeys } from './admin.js'

export interface UiSessions {
  /** Opens a session for a valid admin key; `auth.unauthorized` otherwise. */
  open(adminKey: string): Promise<{ id: string; expiresAt: number }>
  /** Whether the session is open: not expired, not signed out, its admin key still valid. */
  valid(id: string): Promise<boolean>
  /** Signs out. */
  close(id: string): Promise<void>
}

export function createUiSessions(
  store: Store,
  admin: AdminKeys,
  now: () => number,
  ttlSeconds: number,
): UiSessions {
  return {
    async open(adminKey) {
      if (!adminKey || !(await admin.verify(adminKey))) {
        throw new PatchbayError(
          'auth.unauthorized',
          'that is not the admin key (printed at first start, saved in the data folder as admin.key, or PATCHBAY_ADMIN_KEY)',
        )
      }
      const id = randomBytes(32).toString('base64url')
      const createdAt = now()
      const expiresAt = createdAt + ttlSeconds * 1000
      await store.insertUiSession({
        idHash: sha256Hex(id),
        keyHash: sha256Hex(adminKey),
        createdAt,
        expiresAt,
      })
      return { id, expiresAt }
    },

    async valid(id) {
      const session = await store.getUiSession(sha256Hex(id))
      if (!session || session.expiresAt <= now()) return false
      return admin.hashStillValid(session.keyHash)
    },

    async close(id) {
      await store.deleteUiSession(sha256Hex(id))
    },
  }
}
