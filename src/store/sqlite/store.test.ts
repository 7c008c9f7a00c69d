import Database from 'better-sqlite3'
import { mkdtempSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import {
  connectionRecord,
  connectorRecord,
  describeStoreContract,
  logRecord,
} from '../store.case.js'
import { watchWal } from './driver.js'
import { createSqliteStore } from './store.js'
import { createWriterThread } from './writer-thread.js'

/** A file store in a folder of its own, migrated. */
async function open() {
  const filename = join(mkdtempSync(join(tmpdir(), 'pb-store-')), 'patchbay.db')
  const store = createSqliteStore({ filename })
  await store.migrate()
  return { filename, store }
}

describeStoreContract('sqlite', async () => (await open()).store)

describe('sqlite: call states kept between writes', () => {
  it('answers a write by another connection to the same file at the next read', async () => {
    const { filename, store: a } = await open()
    const b = createSqliteStore({ filename })
    try {
      const c = connectorRecord()
      await a.insertConnector(c)
      const r = connectionRecord(c.id)
      await a.insertConnection(r)
      expect(await a.getCallState(r.id, 'k')).toMatchObject({
        status: 'connected',
        breaker: undefined,
      })
      expect(await a.getCallState(r.id, 'k')).toMatchObject({ status: 'connected' })

      await b.updateConnection(r.id, { status: 'needs_reauth', statusMessage: 'revoked' })
      expect(await a.getCallState(r.id, 'k')).toMatchObject({
        status: 'needs_reauth',
        statusMessage: 'revoked',
      })
      await b.updateBreaker('k', (x) => ({ ...x, state: 'open', failures: 5 }))
      expect((await a.getCallState(r.id, 'k'))?.breaker).toMatchObject({
        state: 'open',
        failures: 5,
      })
      await b.deleteConnection(r.id)
      expect(await a.getCallState(r.id, 'k')).toBeUndefined()
    } finally {
      await b.close()
      await a.close()
    }
  })
})

describe('sqlite: the WAL watch', () => {
  it('changes its mark on every commit by any connection, and on nothing else', () => {
    const filename = join(mkdtempSync(join(tmpdir(), 'pb-store-')), 'patchbay.db')
    const a = new Database(filename)
    a.pragma('journal_mode = WAL')
    a.exec('CREATE TABLE t (v INTEGER)')
    const b = new Database(filename)
    const watch = watchWal(filename)!
    try {
      const first = watch.mark()
      expect(first).toBeTypeOf('number')
      a.prepare('SELECT count(*) FROM t').get()
      b.prepare('SELECT count(*) FROM t').get()
      expect(watch.mark()).toBe(first)
      b.exec('INSERT INTO t VALUES (1)')
      const second = watch.mark()
      expect(second).not.toBe(first)
      expect(watch.mark()).toBe(second)
      a.exec('INSERT INTO t VALUES (2)')
      const third = watch.mark()
      expect(third).not.toBe(second)
      // The checkpointer's passive checkpoint changes nothing a reader sees; the write after
      // it may start the WAL over.
      b.pragma('wal_checkpoint(PASSIVE)')
      a.exec('BEGIN; SELECT 1; COMMIT')
      expect(watch.mark()).toBe(third)
      b.exec('INSERT INTO t VALUES (3)')
      expect(watch.mark()).not.toBe(third)
      a.exec('BEGIN; INSERT INTO t VALUES (4)')
      const during = watch.mark()
      a.exec('COMMIT')
      expect(watch.mark()).not.toBe(during)
    } finally {
      watch.close()
      b.close()
      a.close()
    }
  })

  it('is not there for a file without a -shm', () => {
    expect(watchWal(join(mkdtempSync(join(tmpdir(), 'pb-store-')), 'none.db'))).toBeUndefined()
  })
})

describe('sqlite: WAL checkpoints', () => {
  it('moves checkpoints off the serving connection once logs are written', async () => {
    const { filename, store } = await open()
    const probe = new Database(filename, { readonly: true })
    try {
      const before = statSync(filename).size
      await store.appendLogs(
        Array.from({ length: 500 }, () => logRecord({ detail: { body: 'x'.repeat(1000) } })),
      )
      // Nothing on the serving connection copies the WAL into the file; the thread does.
      for (let i = 0; i < 100 && statSync(filename).size <= before + 400_000; i++)
        await new Promise((r) => setTimeout(r, 50))
      expect(statSync(filename).size).toBeGreaterThan(before + 400_000)
      expect(probe.prepare('SELECT count(*) FROM logs').pluck().get()).toBe(500)
    } finally {
      probe.close()
      await store.close()
    }
  })
})

describe('sqlite: log batches on the writer thread', () => {
  it('are written off the event loop: a batch waiting for the write lock blocks no call', async () => {
    const { filename, store } = await open()
    const other = new Database(filename)
    try {
      await store.appendLogs([logRecord()]) // the thread is up
      other.exec('BEGIN IMMEDIATE')
      let written = false
      const batch = store.appendLogs([logRecord(), logRecord()]).then(() => (written = true))
      // The serving connection's own busy wait would hold this timer back until the lock went.
      const ticks = await new Promise<number>((resolve) => {
        let n = 0
        const timer = setInterval(() => {
          if (++n === 5) {
            clearInterval(timer)
            resolve(n)
          }
        }, 20)
      })
      expect(ticks).toBe(5)
      expect(written).toBe(false)
      expect(await store.getConnection('none')).toBeUndefined()
      other.exec('COMMIT')
      await batch
      expect((await store.listLogs({ limit: 10 })).items).toHaveLength(3)
    } finally {
      other.close()
      await store.close()
    }
  })

  it('are all or nothing, and a refused batch fails with the database error', async () => {
    const { filename, store } = await open()
    try {
      const first = logRecord()
      await store.appendLogs([first])
      await expect(store.appendLogs([logRecord(), { ...first }])).rejects.toMatchObject({
        code: 'SQLITE_CONSTRAINT_UNIQUE',
      })
      await store.appendLogs([logRecord()])
      const probe = new Database(filename, { readonly: true })
      expect(probe.prepare('SELECT count(*) FROM logs').pluck().get()).toBe(2)
      probe.close()
    } finally {
      await store.close()
    }
  })

  it('go back to the serving connection once the thread has died', async () => {
    const database = new Database(':memory:')
    // The thread cannot open a file in a folder that does not exist: it dies at start.
    const thread = createWriterThread(database, join(tmpdir(), `pb-missing-${Date.now()}`, 'x.db'))
    thread.start()
    expect(database.pragma('wal_autocheckpoint', { simple: true })).toBe(0)
    await expect(thread.run([{ sql: 'SELECT 1', args: [] }])).rejects.toThrow()
    thread.start()
    expect(thread.run([{ sql: 'SELECT 1', args: [] }])).toBeUndefined()
    expect(database.pragma('wal_autocheckpoint', { simple: true })).toBe(1000)
    await thread.stop()
    database.close()
  })

  it('sent before close() are written before the store closes', async () => {
    const { filename, store } = await open()
    await store.appendLogs([logRecord()])
    const last = store.appendLogs(Array.from({ length: 200 }, () => logRecord()))
    await store.close()
    await last
    const probe = new Database(filename, { readonly: true })
    expect(probe.prepare('SELECT count(*) FROM logs').pluck().get()).toBe(201)
    probe.close()
  })
})

describe('sqlite: log indexes', () => {
  it('hold only the entries with an action, MCP key or tool, and filtered lists use them', async () => {
    const { filename, store } = await open()
    const probe = new Database(filename, { readonly: true })
    try {
      await store.appendLogs([
        ...Array.from({ length: 5 }, () => logRecord()),
        logRecord({ actionId: 'ac_1' }),
        logRecord({ mcpKeyId: 'mk_1', tool: 'call_api' }),
      ])
      const entries = (index: string) =>
        probe
          .prepare("SELECT sum(ncell) FROM dbstat WHERE name = ? AND pagetype = 'leaf'")
          .pluck()
          .get(index)
      expect(entries('logs_connector')).toBe(7)
      expect(entries('logs_action')).toBe(1)
      expect(entries('logs_mcp_key')).toBe(1)
      expect(entries('logs_tool')).toBe(1)
      const plan = (where: string) =>
        probe
          .prepare(`EXPLAIN QUERY PLAN SELECT * FROM logs WHERE ${where} ORDER BY seq DESC LIMIT 5`)
          .all()
          .map((r) => (r as { detail: string }).detail)
          .join('; ')
      expect(plan("action_id = 'ac_1'")).toContain('USING INDEX logs_action')
      expect(plan("mcp_key_id = 'mk_1'")).toContain('USING INDEX logs_mcp_key')
      expect(plan("tool = 'call_api'")).toContain('USING INDEX logs_tool')
      expect((await store.listLogs({ limit: 10, actionId: 'ac_1' })).items).toHaveLength(1)
      expect((await store.listLogs({ limit: 10, tool: 'call_api' })).items).toHaveLength(1)
    } finally {
      probe.close()
      await store.close()
    }
  })
})
