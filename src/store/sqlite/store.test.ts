import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describeStoreContract } from '../store.case.js'
import { createSqliteStore } from './store.js'

describeStoreContract('sqlite', async () => {
  const store = createSqliteStore({
    filename: join(mkdtempSync(join(tmpdir(), 'pb-store-')), 'patchbay.db'),
  })
  await store.migrate()
  return store
})
