import Database from 'better-sqlite3'
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { createLockOwner, lockOwnerIsGone } from './lock-owner.js'
import { createSqliteStore } from './store.js'

/** The pid of a process that has exited (and been reaped). */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' })
  await new Promise((r) => child.once('exit', r))
  return child.pid!
}

function withPid(owner: string, pid: number): string {
  const parts = owner.split('|')
  parts[3] = String(pid)
  return parts.join('|')
}

describe('SQLite lock owners', () => {
  const dir = mkdtempSync(join(tmpdir(), 'patchbay-lock-owner-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it('judges gone only a process of this host and PID namespace that has exited', async () => {
    const mine = createLockOwner()
    expect(lockOwnerIsGone(mine)).toBe(false)
    const dead = withPid(mine, await deadPid())
    expect(lockOwnerIsGone(dead)).toBe(true)
    const elsewhere = dead.split('|')
    elsewhere[1] = 'another-host'
    expect(lockOwnerIsGone(elsewhere.join('|'))).toBe(false)
    const otherNamespace = dead.split('|')
    otherNamespace[2] = 'pid:[1]'
    expect(lockOwnerIsGone(otherNamespace.join('|'))).toBe(false)
    expect(lockOwnerIsGone('0b8e4c1e-legacy-uuid-owner')).toBe(false)
    expect(lockOwnerIsGone(withPid(mine, 1))).toBe(false) // alive (init), whoever owns it
  })

  it('takes over at once a lock whose holder was killed, instead of waiting for its expiry', async () => {
    const file = join(dir, 'patchbay.db')
    const store = createSqliteStore({ filename: file })
    await store.migrate()
    const db = new Database(file)
    try {
      db.prepare('INSERT INTO locks (key, owner, expires_at) VALUES (?, ?, ?)').run(
        'refresh:killed',
        withPid(createLockOwner(), await deadPid()),
        Date.now() + 60_000,
      )
      db.prepare('INSERT INTO locks (key, owner, expires_at) VALUES (?, ?, ?)').run(
        'refresh:alive',
        withPid(createLockOwner(), 1),
        Date.now() + 60_000,
      )
      const started = Date.now()
      expect(await store.withLock('refresh:killed', 60_000, async () => 'ran')).toBe('ran')
      expect(Date.now() - started).toBeLessThan(2_000)
      expect(
        db.prepare('SELECT COUNT(*) AS n FROM locks WHERE key = ?').get('refresh:killed'),
      ).toEqual({ n: 0 })
      // A live holder keeps its lock until it lets go or the row expires.
      let ran = false
      db.exec(`CREATE TABLE attempts (key TEXT);
        CREATE TRIGGER attempt BEFORE INSERT ON locks BEGIN INSERT INTO attempts VALUES (NEW.key); END;`)
      const waiting = store.withLock('refresh:alive', 60_000, async () => (ran = true))
      const tried = () => db.prepare('SELECT COUNT(*) AS n FROM attempts').get() as { n: number }
      for (const deadline = Date.now() + 5_000; tried().n < 3 && Date.now() < deadline;)
        await new Promise((r) => setTimeout(r, 5))
      expect(tried().n).toBeGreaterThanOrEqual(3) // it tried, found the holder alive, and waits
      expect(ran).toBe(false)
      db.prepare('DELETE FROM locks WHERE key = ?').run('refresh:alive')
      await waiting
      expect(ran).toBe(true)
    } finally {
      db.close()
      await store.close()
    }
  })
})
