import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { connectionRecord, connectorRecord, describeStoreContract } from '../store.case.js'
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
