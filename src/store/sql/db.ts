/**
 * The thin driver each dialect provides, and the capabilities the shared SQL branches on. SQL is
 * written once with `?` placeholders; a driver binds them its own way (`$1…` on PostgreSQL).
 *
 * @module
 */

export type Row = Record<string, unknown>

/** One statement with its arguments, for writes handed over whole (`Db.runAside`). */
export interface Statement {
  sql: string
  args: unknown[]
}

export interface Db {
  all<R = Row>(sql: string, args?: readonly unknown[]): Promise<R[]>
  get<R = Row>(sql: string, args?: readonly unknown[]): Promise<R | undefined>
  /** Runs a statement; answers the number of rows it changed. */
  run(sql: string, args?: readonly unknown[]): Promise<number>
  /** Runs several statements without arguments (migrations). */
  exec(sql: string): Promise<void>
  /**
   * Runs `fn` in one transaction that holds the rows it reads (see `Dialect.forUpdate`); commits
   * when it resolves, rolls back when it throws. Inside, `tx` is the only way to the database.
   */
  transaction<T>(fn: (tx: Db) => Promise<T>): Promise<T>
  /**
   * A mark that differs after any write to the database, by this connection or any other, where
   * the driver can tell cheaply (SQLite's WAL-index header); undefined where it cannot, or while a
   * transaction is open. Equal marks mean a read answers what it answered before.
   */
  writeMark?(): string | undefined
  /**
   * Runs writes whose rows nothing in this process reads before the promise resolves (call
   * logs) in one transaction, off the event loop where the driver can (SQLite's writer thread).
   */
  runAside?(statements: Statement[]): Promise<void>
}

/** What the shared SQL needs to know about a dialect, as capabilities, never as a name. */
export interface Dialect {
  readonly name: string
  readonly crossProcess: boolean
  /**
   * Appended to a SELECT inside `transaction` to lock the rows it reads: `FOR UPDATE` where rows
   * are locked one by one (PostgreSQL); empty where a transaction holds the whole database's write
   * lock from its start (SQLite `BEGIN IMMEDIATE`).
   */
  readonly forUpdate: string
  /** Like `forUpdate`, skipping rows another transaction holds (a queue's claim). */
  readonly forUpdateSkipLocked: string
  /** The `table.column` a unique-constraint violation names, or undefined for any other error. */
  uniqueViolation(err: unknown): string | undefined
}

/**
 * One schema version: DDL for the dialect, and optionally a data step written once for every
 * dialect, run in the same transaction.
 */
export interface Migration {
  sql: string
  data?: (tx: Db) => Promise<void>
}

/** Placeholders for a list: `(?, ?, ?)`. */
export function placeholders(count: number): string {
  return `(${Array.from({ length: count }, () => '?').join(', ')})`
}
