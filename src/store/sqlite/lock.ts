/**
 * Named locks on SQLite: a row per held lock, with an expiry so a dead holder cannot block others
 * for long, and a holder whose process died on this machine is taken over at once
 * (`lock-owner.ts`). A write fenced by the lock (`HeldLock`) commits only while the row still
 * names this holder.
 *
 * @module
 */
import type { Db } from '../sql/db.js'
import type { Locks } from '../sql/store.js'
import { createLockOwner, lockOwnerIsGone } from './lock-owner.js'

export function createSqliteLocks(db: Db, crossProcess: boolean): Locks {
  const owner = createLockOwner()
  const held = new Map<string, Promise<unknown>>()

  async function take(key: string, ttlMs: number): Promise<void> {
    for (let delay = 5; ; delay = Math.min(delay * 2, 50)) {
      const now = Date.now()
      const taken = await db.run(
        `INSERT INTO locks (key, owner, expires_at) VALUES (?, ?, ?)
         ON CONFLICT (key) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
         WHERE locks.expires_at < ?`,
        [key, owner, now + ttlMs, now],
      )
      if (taken === 1) return
      // A holder killed on this machine never deletes its row: take the lock over at once instead
      // of waiting out the expiry. Compare-and-set on the dead owner, so of several waiters
      // exactly one gets it.
      const found = await db.get<{ owner: string }>('SELECT owner FROM locks WHERE key = ?', [key])
      if (
        found &&
        lockOwnerIsGone(found.owner) &&
        (await db.run('UPDATE locks SET owner = ?, expires_at = ? WHERE key = ? AND owner = ?', [
          owner,
          now + ttlMs,
          key,
          found.owner,
        ])) === 1
      )
        return
      await new Promise((r) => setTimeout(r, delay))
    }
  }

  return {
    async withLock(key, ttlMs, fn) {
      // In-process: chain holders of the same key; across processes: a lock row with an expiry.
      const previous = held.get(key) ?? Promise.resolve()
      let release!: () => void
      const mine = new Promise<void>((r) => (release = r))
      const chained = previous.then(() => mine)
      held.set(key, chained)
      await previous
      try {
        if (!crossProcess) return await fn({ db })
        await take(key, ttlMs)
        try {
          return await fn({
            db,
            condition: {
              sql: 'EXISTS (SELECT 1 FROM locks WHERE key = ? AND owner = ?)',
              args: [key, owner],
            },
          })
        } finally {
          await db.run('DELETE FROM locks WHERE key = ? AND owner = ?', [key, owner])
        }
      } finally {
        release()
        if (held.get(key) === chained) held.delete(key)
      }
    },

    purge(now, batch) {
      return db.run(
        'DELETE FROM locks WHERE key IN (SELECT key FROM locks WHERE expires_at < ? LIMIT ?)',
        [now, batch],
      )
    },
  }
}
