/**
 * The SQLite driver on better-sqlite3: one connection, statements prepared once, and an async
 * transaction that keeps every other caller out until it ends.
 *
 * better-sqlite3 is synchronous, but a transaction's callback awaits between its statements, and
 * other callers' statements would run on the same connection in those gaps, inside the
 * transaction. So while a transaction is open, statements from outside it wait for it to end;
 * outside a transaction they run at once.
 *
 * @module
 */
import type Database from 'better-sqlite3'
import { closeSync, openSync, readSync } from 'node:fs'
import type { Db } from '../sql/db.js'
import type { WriterThread } from './writer-thread.js'

const HEADER = 48

/**
 * Commits by any connection to a WAL-mode file, seen without a query. Every commit rewrites the
 * WAL-index header at the start of the `-shm` file: two 48-byte copies, the second first, then
 * the first (https://sqlite.org/walformat.html, "The WAL-Index Header"). Reading both in one
 * pread and finding them equal is how SQLite's own readers know they hold a whole header; a new
 * header means something was committed. `PRAGMA data_version` tells the same by opening a read
 * transaction, which takes SQLite's read lock, and was the largest single cost of a call.
 */
export interface WalWatch {
  /** Changes after every commit; undefined when the header is being written or cannot be read. */
  mark(): number | undefined
  close(): void
}

export function watchWal(filename: string): WalWatch | undefined {
  let fd: number
  try {
    fd = openSync(`${filename}-shm`, 'r')
  } catch {
    return undefined
  }
  const now = Buffer.alloc(2 * HEADER)
  const seen = Buffer.alloc(HEADER)
  let generation = 0
  return {
    mark() {
      if (readSync(fd, now, 0, now.length, 0) !== now.length) return undefined
      // isInit (byte 12) is 0 while a connection rebuilds the index after a crash.
      if (now[12] !== 1 || now.compare(now, HEADER, 2 * HEADER, 0, HEADER) !== 0) return undefined
      if (now.compare(seen, 0, HEADER, 0, HEADER) !== 0) {
        now.copy(seen, 0, 0, HEADER)
        generation++
      }
      return generation
    },
    close: () => closeSync(fd),
  }
}

/** SQLite binds no booleans or undefined; they go in as 1/0 and NULL. */
const bindable = (args: readonly unknown[]): unknown[] =>
  args.map((v) => (typeof v === 'boolean' ? Number(v) : v === undefined ? null : v))

/**
 * @param file - for a database file: its WAL watch, when it has one (write marks come from it
 *   instead of `PRAGMA data_version`), and its writer thread (`runAside` writes go there).
 */
export function createSqliteDb(
  database: Database.Database,
  file: { wal?: WalWatch | undefined; thread?: WriterThread | undefined } = {},
): Db {
  const { wal, thread } = file
  // A small fixed set of SQL texts (filters included): preparing on every call was a measurable
  // share of a call's cost.
  const prepared = new Map<string, Database.Statement>()
  const prepareOnce = (sql: string): Database.Statement => {
    let stmt = prepared.get(sql)
    if (!stmt) {
      stmt = database.prepare(sql)
      prepared.set(sql, stmt)
    }
    return stmt
  }

  // data_version changes when another connection commits; this connection's own writes it does
  // not see, so they are counted here.
  const dataVersion = database.prepare('PRAGMA data_version').pluck()
  let ownWrites = 0
  const prepare = (sql: string): Database.Statement => {
    const stmt = prepareOnce(sql)
    if (!stmt.readonly) ownWrites++
    return stmt
  }

  const direct: Db = {
    all: <R>(sql: string, args: readonly unknown[] = []) =>
      Promise.resolve(prepare(sql).all(...bindable(args)) as R[]),
    get: <R>(sql: string, args: readonly unknown[] = []) =>
      Promise.resolve(prepare(sql).get(...bindable(args)) as R | undefined),
    run: (sql, args = []) => {
      const stmt = prepare(sql)
      // A statement with RETURNING is a reader; run() would refuse it.
      if (stmt.reader) return Promise.resolve(stmt.all(...bindable(args)).length)
      return Promise.resolve(stmt.run(...bindable(args)).changes)
    },
    exec: (sql) => {
      ownWrites++
      database.exec(sql)
      return Promise.resolve()
    },
    transaction: (fn) => fn(direct),
  }

  /** The open transaction's end, while one is open. */
  let open: Promise<unknown> | undefined
  /** Transactions waiting for their turn. */
  let queue: Promise<unknown> = Promise.resolve()

  const outside =
    <A extends unknown[], R>(f: (...a: A) => Promise<R>) =>
    async (...a: A): Promise<R> => {
      while (open) await open.catch(() => {})
      return f(...a)
    }

  const db: Db = {
    all: outside(direct.all) as Db['all'],
    get: outside(direct.get) as Db['get'],
    run: outside(direct.run),
    exec: outside(direct.exec),
    writeMark: () => {
      if (open) return undefined
      if (wal) {
        const generation = wal.mark()
        return generation === undefined ? undefined : `w${generation}`
      }
      return `${dataVersion.get() as number}:${ownWrites}`
    },
    transaction<T>(fn: (tx: Db) => Promise<T>): Promise<T> {
      const turn = queue.then(async () => {
        while (open) await open.catch(() => {})
        // IMMEDIATE takes the database's write lock before the first read, so two processes'
        // read-modify-writes cannot interleave (busy_timeout makes the other wait).
        database.exec('BEGIN IMMEDIATE')
        const run = (async () => {
          try {
            const result = await fn(direct)
            database.exec('COMMIT')
            return result
          } catch (err) {
            if (database.inTransaction) database.exec('ROLLBACK')
            throw err
          }
        })()
        open = run
        try {
          return await run
        } finally {
          open = undefined
        }
      })
      queue = turn.catch(() => {})
      return turn
    },
  }
  if (thread) {
    db.runAside = (statements) => {
      thread.start()
      return (
        thread.run(statements) ??
        db.transaction(async (tx) => {
          for (const { sql, args } of statements) await tx.run(sql, args)
        })
      )
    }
  }
  return db
}
