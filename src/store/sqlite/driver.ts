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
import type { Db } from '../sql/db.js'

/** SQLite binds no booleans or undefined; they go in as 1/0 and NULL. */
const bindable = (args: readonly unknown[]): unknown[] =>
  args.map((v) => (typeof v === 'boolean' ? Number(v) : v === undefined ? null : v))

export function createSqliteDb(database: Database.Database): Db {
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

  return {
    all: outside(direct.all) as Db['all'],
    get: outside(direct.get) as Db['get'],
    run: outside(direct.run),
    exec: outside(direct.exec),
    writeMark: () => (open ? undefined : `${dataVersion.get() as number}:${ownWrites}`),
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
}
