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
import { createSqliteStore } from './store.js'

describeStoreContract('sqlite', async () => {
  const store = createSqliteStore({
    filename: join(mkdtempSync(join(tmpdir(), 'pb-store-')), 'patchbay.db'),
  })
  await store.migrate()
  return store
})

describe('sqlite: call states kept between writes', () => {
  it('answers a write by another connection to the same file at the next read', async () => {
    const filename = join(mkdtempSync(join(tmpdir(), 'pb-store-')), 'patchbay.db')
    const a = createSqliteStore({ filename })
    await a.migrate()
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

describe('sqlite: WAL checkpoints', () => {
  it('moves checkpoints off the serving connection once logs are written', async () => {
    const filename = join(mkdtempSync(join(tmpdir(), 'pb-store-')), 'patchbay.db')
    const store = createSqliteStore({ filename })
    await store.migrate()
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
