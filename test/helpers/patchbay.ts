/**
 * Starts a real Patchbay server on 127.0.0.1 with a fresh data folder, and a small API client.
 */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { readFileSync } from 'node:fs'
import Database from 'better-sqlite3'
import pg from 'pg'
import { createPatchbay, type Patchbay, type PatchbayOptions } from '../../src/index.js'
import { startServer, type RunningServer } from '../../src/server/serve.js'
import { createSqliteStore } from '../../src/store/sqlite/store.js'
import type { Store } from '../../src/store/store.js'
import {
  createTestPostgresStore,
  dropTestSchema,
  postgresTestUrl,
  testSchemaName,
} from './postgres.js'

export type StoreKind = 'sqlite' | 'postgres'

/** The stores API suites run against: SQLite always, PostgreSQL when reachable (always under CI). */
export async function testStoreKinds(): Promise<StoreKind[]> {
  return (await postgresTestUrl()) ? ['sqlite', 'postgres'] : ['sqlite']
}

export interface ApiResponse<T = any> {
  status: number
  body: T
  headers: Headers
}

export interface TestPatchbay {
  pb: Patchbay
  server: RunningServer
  url: string
  adminKey: string
  dataDir: string
  /** The store the server runs on (tests read and write it directly). */
  store: Store
  /** The PostgreSQL schema, when on PostgreSQL. */
  schema: string | undefined
  api<T = any>(
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<ApiResponse<T>>
  close(): Promise<void>
}

export async function startTestPatchbay(
  options: PatchbayOptions & { storeKind?: StoreKind } = {},
): Promise<TestPatchbay> {
  const { storeKind, ...rest } = options
  options = rest
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'patchbay-test-'))
  let ownStore: Store | undefined
  let schema: string | undefined
  if (!options.store) {
    if (storeKind === 'postgres') {
      schema = testSchemaName()
      ownStore = await createTestPostgresStore({ schema })
    } else {
      ownStore = createSqliteStore({ filename: join(dataDir, 'patchbay.db') })
      await ownStore.migrate()
    }
    options = { ...options, store: ownStore }
  }
  const store = options.store!
  const adminKey = 'test-admin-key-0123456789'
  // The public URL is only known once the server listens; OAuth tests pass their own.
  const pb = await createPatchbay({
    refreshIntervalMs: 0,
    ...options,
    dataDir,
    env: {
      PATCHBAY_ADMIN_KEY: adminKey,
      PATCHBAY_ALLOW_PRIVATE_NETWORK: 'true',
      PATCHBAY_LOG_LEVEL: 'silent',
      ...options.env,
    },
  })
  const server = await startServer(pb, { port: 0 })
  if (!options.publicUrl) pb.setPublicUrl(server.url)
  const api = async (
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ) => {
    const res = await fetch(`${server.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${adminKey}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...headers,
      },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    })
    const text = await res.text()
    let parsed: unknown = text
    try {
      parsed = text ? JSON.parse(text) : null
    } catch {
      // not JSON
    }
    return { status: res.status, body: parsed as any, headers: res.headers }
  }
  return {
    pb,
    server,
    url: server.url,
    adminKey,
    dataDir,
    store,
    schema,
    api,
    async close() {
      await server.close({ graceMs: 0 })
      await pb.close()
      await ownStore?.close()
      if (schema) await dropTestSchema(schema)
    },
  }
}

/** Whether `needle` appears anywhere in the stored bytes (SQLite files, or every PostgreSQL row). */
export async function storeContains(t: TestPatchbay, needle: string): Promise<boolean> {
  if (t.store.dialect === 'sqlite') {
    return ['patchbay.db', 'patchbay.db-wal'].some((f) => {
      try {
        return readFileSync(join(t.dataDir, f)).includes(needle)
      } catch {
        return false
      }
    })
  }
  const schema = t.schema
  const client = new pg.Client({ connectionString: await postgresTestUrl() })
  await client.connect()
  try {
    if (schema) await client.query(`SET search_path TO "${schema}"`)
    const tables = await client.query<{ table_name: string }>(
      'SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()',
    )
    for (const { table_name } of tables.rows) {
      const hit = await client.query(
        `SELECT 1 FROM "${table_name}" t WHERE t::text LIKE $1 LIMIT 1`,
        [`%${needle}%`],
      )
      if (hit.rowCount) return true
    }
    return false
  } finally {
    await client.end()
  }
}

/**
 * Runs one SQL statement (`?` placeholders) on a test server's own database, behind its back:
 * the rows it answers and how many it changed.
 */
export async function runSql(
  t: Pick<TestPatchbay, 'store' | 'dataDir' | 'schema'>,
  sql: string,
  args: unknown[] = [],
): Promise<{ rows: Record<string, unknown>[]; changes: number }> {
  if (t.store.dialect === 'sqlite') {
    const db = new Database(join(t.dataDir, 'patchbay.db'))
    try {
      db.pragma('busy_timeout = 5000')
      const stmt = db.prepare(sql)
      if (stmt.reader) return { rows: stmt.all(...args) as Record<string, unknown>[], changes: 0 }
      return { rows: [], changes: stmt.run(...args).changes }
    } finally {
      db.close()
    }
  }
  const client = new pg.Client({ connectionString: await postgresTestUrl() })
  await client.connect()
  try {
    if (t.schema) await client.query(`SET search_path TO "${t.schema}"`)
    let i = 0
    const res = await client.query(
      sql.replace(/\?/g, () => `$${++i}`),
      args,
    )
    return { rows: res.rows as Record<string, unknown>[], changes: res.rowCount ?? 0 }
  } finally {
    await client.end()
  }
}
