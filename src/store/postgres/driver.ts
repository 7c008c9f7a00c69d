/**
 * The PostgreSQL driver on `pg`: `?` placeholders become `$1…`, JSON columns come back as text
 * (the shared row mappers parse them, as on SQLite) and BIGINT columns as numbers.
 *
 * @module
 */
import pg from 'pg'
import type { CustomTypesConfig, PoolClient } from 'pg'
import type { Db, Row } from '../sql/db.js'

const INT8_OID = 20
const JSON_OID = 114
const JSONB_OID = 3802

/**
 * BIGINT columns hold epoch milliseconds, counts and log sequence numbers: all safe integers.
 * JSON stays text, so both dialects hand the row mappers the same thing.
 */
export const types: CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    format !== 'binary' && oid === INT8_OID
      ? (value: string) => Number(value)
      : format !== 'binary' && (oid === JSON_OID || oid === JSONB_OID)
        ? (value: string) => value
        : pg.types.getTypeParser(oid, format as 'text')) as CustomTypesConfig['getTypeParser'],
}

const numbered = new Map<string, string>()

/** `a = ? AND b = ?` → `a = $1 AND b = $2` (no `?` appears in Patchbay's SQL otherwise). */
function toNumbered(sql: string): string {
  let out = numbered.get(sql)
  if (out === undefined) {
    let i = 0
    out = sql.replace(/\?/g, () => `$${++i}`)
    numbered.set(sql, out)
  }
  return out
}

interface Queryable {
  query(sql: string, args?: unknown[]): Promise<{ rows: Row[]; rowCount: number | null }>
}

function dbOn(q: Queryable, transaction: Db['transaction']): Db {
  return {
    async all<R>(sql: string, args: readonly unknown[] = []) {
      return (await q.query(toNumbered(sql), [...args])).rows as R[]
    },
    async get<R>(sql: string, args: readonly unknown[] = []) {
      return (await q.query(toNumbered(sql), [...args])).rows[0] as R | undefined
    },
    async run(sql, args = []) {
      return (await q.query(toNumbered(sql), [...args])).rowCount ?? 0
    },
    async exec(sql) {
      await q.query(sql)
    },
    transaction,
  }
}

/**
 * Runs `fn` in a transaction on one client; rolls back when it throws. A failed ROLLBACK means the
 * session is broken: `onBroken` hears it, and the original error is thrown.
 */
export async function inTransaction<T>(
  client: PoolClient,
  fn: (tx: Db) => Promise<T>,
  onBroken: (err: Error) => void = () => {},
): Promise<T> {
  // Nested transactions run inside the outer one.
  const tx: Db = dbOn(client as unknown as Queryable, (inner) => inner(tx))
  await client.query('BEGIN')
  try {
    const result = await fn(tx)
    await client.query('COMMIT')
    return result
  } catch (err) {
    await client.query('ROLLBACK').catch((e: unknown) => {
      onBroken(e instanceof Error ? e : new Error(String(e)))
    })
    throw err
  }
}

/** A `Db` on one checked-out client (the session that holds an advisory lock). */
export function dbOnClient(client: PoolClient): Db {
  return dbOn(client as unknown as Queryable, (fn) => inTransaction(client, fn))
}

export function createPostgresDb(pool: pg.Pool): Db {
  return dbOn(pool as unknown as Queryable, async (fn) => {
    const client = await pool.connect()
    // Checked-out clients have no error listener; a broken connection rejects the query anyway.
    let broken: Error | undefined
    const onError = (err: Error) => {
      broken = err
    }
    client.on('error', onError)
    try {
      return await inTransaction(client, fn, (err) => (broken ??= err))
    } finally {
      client.off('error', onError)
      client.release(broken)
    }
  })
}
