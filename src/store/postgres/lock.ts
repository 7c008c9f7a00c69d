/**
 * Named locks on PostgreSQL session-level advisory locks.
 *
 * A lock is held by a database session, so a holder that dies (process killed, connection cut)
 * loses it the moment PostgreSQL notices the session is gone: no expiry is needed, and `ttlMs`
 * is not used. Holders in one process queue in-process first, so a key costs at most one
 * connection per process however many callers wait for it; that connection comes from a pool of
 * its own, so lock holders can never starve the queries their `fn` runs (a holder waiting for a
 * query client while every client holds a lock would deadlock).
 *
 * Writes fenced by the lock run on the lock's own session: PostgreSQL runs a session's statements
 * one after another, so the lock is released only after such a write has committed or failed. A
 * holder that dies mid-write can never leave the lock free while its write may still commit.
 *
 * @see https://www.postgresql.org/docs/current/explicit-locking.html#ADVISORY-LOCKS
 * @module
 */
import { createHash } from 'node:crypto'
import type { Pool, PoolClient } from 'pg'
import type { Locks } from '../sql/store.js'
import { dbOnClient } from './driver.js'

/**
 * The advisory-lock id for `name` in `namespace`: the first 64 bits of a SHA-256, as the signed
 * decimal string PostgreSQL reads as a BIGINT. 64 bits instead of `hashtext`'s 32 keep unrelated
 * keys from sharing a lock; namespacing by schema keeps two installations on one database apart.
 */
export function advisoryLockId(namespace: string, name: string): string {
  return createHash('sha256')
    .update(`patchbay\0${namespace}\0${name}`)
    .digest()
    .readBigInt64BE(0)
    .toString()
}

export function createAdvisoryLocks(pool: Pool, namespace: string): Locks {
  const queued = new Map<string, Promise<unknown>>()

  const holdSession: Locks['withLock'] = async (key, _ttlMs, fn) => {
    const id = advisoryLockId(namespace, key)
    const client: PoolClient = await pool.connect()
    // A checked-out client has no error listener; a session cut while fn runs (which also
    // releases the lock on the server) must not crash the process.
    let lost: Error | undefined
    const onError = (err: Error) => {
      lost = err
    }
    client.on('error', onError)
    try {
      await client.query('SELECT pg_advisory_lock($1::bigint)', [id])
    } catch (err) {
      client.off('error', onError)
      client.release(err instanceof Error ? err : true)
      throw err
    }
    try {
      return await fn({ db: dbOnClient(client) })
    } finally {
      let broken: Error | boolean | undefined = lost
      if (!broken) {
        // When the session is gone, so is the lock: nothing to undo, just drop the client.
        await client.query('SELECT pg_advisory_unlock($1::bigint)', [id]).catch(() => {
          broken = true
        })
      }
      client.off('error', onError)
      client.release(broken)
    }
  }

  return {
    async withLock(key, ttlMs, fn) {
      const previous = queued.get(key) ?? Promise.resolve()
      let done!: () => void
      const mine = new Promise<void>((resolve) => (done = resolve))
      const chained = previous.then(() => mine)
      queued.set(key, chained)
      await previous
      try {
        return await holdSession(key, ttlMs, fn)
      } finally {
        done()
        if (queued.get(key) === chained) queued.delete(key)
      }
    },
  }
}
