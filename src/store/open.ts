/**
 * Picks the store: PostgreSQL when a `postgres://` URL is given, else SQLite in the data folder.
 *
 * @module
 */
import { join } from 'node:path'
import { createSqliteStore } from './sqlite/store.js'
import type { Store } from './store.js'

export interface OpenStoreOptions {
  dataDir: string
  databaseUrl?: string | undefined
  /** PostgreSQL schema (`PATCHBAY_DATABASE_SCHEMA`), default the role's search_path. */
  databaseSchema?: string | undefined
}

export async function openStore(options: OpenStoreOptions): Promise<Store> {
  const url = options.databaseUrl
  let store: Store
  if (url && /^postgres(ql)?:\/\//.test(url)) {
    const { createPostgresStore } = await import('./postgres/store.js')
    store = createPostgresStore({ connectionString: url, schema: options.databaseSchema })
  } else if (url) {
    throw new Error(
      'PATCHBAY_DATABASE_URL must be a postgres:// URL; leave it unset for the embedded SQLite store',
    )
  } else {
    store = createSqliteStore({ filename: join(options.dataDir, 'patchbay.db') })
  }
  await store.migrate()
  return store
}
