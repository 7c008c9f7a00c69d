/**
 * The embedded default store on better-sqlite3. WAL mode lets several processes on one machine
 * share the file; locks are rows (`lock.ts`).
 *
 * @module
 */
import Database from 'better-sqlite3'
import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import type { Dialect } from '../sql/db.js'
import { createSqlStore } from '../sql/store.js'
import type { Store } from '../store.js'
import { createSqliteDb, watchWal } from './driver.js'
import { createSqliteLocks } from './lock.js'
import { SQLITE_MIGRATIONS } from './migrations.js'
import { createWriterThread } from './writer-thread.js'

export interface SqliteStoreOptions {
  /** Database file path, or `:memory:`. */
  filename: string
}

export function createSqliteStore(options: SqliteStoreOptions): Store {
  if (options.filename !== ':memory:') mkdirSync(dirname(options.filename), { recursive: true })
  const database = new Database(options.filename)
  database.pragma('journal_mode = WAL')
  database.pragma('busy_timeout = 5000')
  database.pragma('foreign_keys = ON')
  database.pragma('synchronous = NORMAL')
  const crossProcess = options.filename !== ':memory:'
  // A first read in WAL mode creates the -shm file the watch reads.
  database.pragma('data_version')
  const wal = crossProcess ? watchWal(options.filename) : undefined
  // Started by the first log batch: a serving process's steady writes.
  const thread = crossProcess ? createWriterThread(database, options.filename) : undefined
  const db = createSqliteDb(database, { wal, thread })
  const dialect: Dialect = {
    name: 'sqlite',
    crossProcess,
    forUpdate: '',
    forUpdateSkipLocked: '',
    uniqueViolation(err) {
      const e = err as { code?: string; message?: string }
      if (e.code !== 'SQLITE_CONSTRAINT_UNIQUE' && e.code !== 'SQLITE_CONSTRAINT_PRIMARYKEY')
        return undefined
      return /constraint failed: (\S+)/.exec(e.message ?? '')?.[1]
    },
  }
  return createSqlStore({
    db,
    dialect,
    locks: createSqliteLocks(db, crossProcess),
    migrate: () =>
      db.transaction(async (tx) => {
        const current = database.pragma('user_version', { simple: true }) as number
        for (let v = current; v < SQLITE_MIGRATIONS.length; v++) {
          const m = SQLITE_MIGRATIONS[v]!
          await tx.exec(m.sql)
          await m.data?.(tx)
          database.pragma(`user_version = ${v + 1}`)
        }
      }),
    async close() {
      await thread?.stop()
      database.close()
      wal?.close()
    },
  })
}
