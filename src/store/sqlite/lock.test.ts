import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { connectionRecord, connectorRecord } from '../store.case.js'
import type { CredentialsUpdate, Store } from '../store.js'
import { createSqliteStore } from './store.js'

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void
  const promise = new Promise<void>((r) => (resolve = r))
  return { promise, resolve }
}

const credentials = (secrets: string): CredentialsUpdate => ({
  secrets,
  expiresAt: null,
  refreshExpiresAt: null,
  status: 'connected',
  statusMessage: null,
})

/*
 * Refresh fencing on SQLite, where a lock is a row with an expiry: holder A pauses past its lock's
 * expiry (a long GC pause, a stopped VM) while B takes the lock over. A's fenced write names the
 * credentials version it read — still the current one — yet changes nothing, because the row no
 * longer names A; B's write then goes through. Without the fence A would overwrite the
 * credentials while B was refreshing with the refresh token A had used.
 */
describe('SQLite lock fencing', () => {
  let dir: string
  let a: Store
  let b: Store

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'patchbay-fence-'))
    // Two stores on one file: two holders, as two processes would be.
    a = createSqliteStore({ filename: join(dir, 'patchbay.db') })
    await a.migrate()
    b = createSqliteStore({ filename: join(dir, 'patchbay.db') })
  })
  afterEach(async () => {
    await a.close()
    await b.close()
    rmSync(dir, { recursive: true, force: true })
  })

  it('commits nothing for a holder whose lock lapsed and was taken over', async () => {
    const c = connectorRecord()
    await a.insertConnector(c)
    const conn = connectionRecord(c.id, { secrets: 'pb1.before' })
    await a.insertConnection(conn)
    const key = `refresh:${conn.id}`
    const bHolds = deferred()
    const aTried = deferred()
    let bWrite: Promise<number | undefined> | undefined

    const aOutcome = await a.withLock(key, 100, async (lockA) => {
      // A pauses: B waits out A's 100 ms, then takes the lock over.
      bWrite = b.withLock(key, 60_000, async (lockB) => {
        bHolds.resolve()
        await aTried.promise
        return lockB.updateCredentials(conn.id, 1, credentials('pb1.from-b'))
      })
      await bHolds.promise
      const whileB = await lockA.updateCredentials(conn.id, 1, credentials('pb1.from-a'))
      const untouched = await a.getConnection(conn.id)
      aTried.resolve()
      const bVersion = await bWrite
      const afterB = await lockA.updateCredentials(conn.id, 2, credentials('pb1.from-a'))
      return { whileB, untouched, bVersion, afterB }
    })

    expect(aOutcome.whileB).toBeUndefined()
    expect(aOutcome.untouched).toMatchObject({ secrets: 'pb1.before', credentialsVersion: 1 })
    expect(aOutcome.bVersion).toBe(2)
    expect(aOutcome.afterB).toBeUndefined()
    expect(await b.getConnection(conn.id)).toMatchObject({
      secrets: 'pb1.from-b',
      credentialsVersion: 2,
    })
    // The same write by the holder of the lock goes through.
    expect(
      await a.withLock(key, 60_000, (lock) =>
        lock.updateCredentials(conn.id, 2, credentials('pb1.again')),
      ),
    ).toBe(3)
  })
})
