/**
 * Every process on one database must hold the key its secrets are sealed under (README,
 * "Operations"). Real `patchbay serve` processes, on both stores: one whose key cannot open
 * what the database holds refuses to start, naming `PATCHBAY_SECRET_KEY` or its key file, instead
 * of starting and failing every call; and one left on the old key after another process rotated
 * it says so on `GET /readyz` (503, with the reason).
 */
import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { testStoreKinds, type StoreKind } from './helpers/patchbay.js'
import { dropTestSchema, postgresTestUrl, testSchemaName } from './helpers/postgres.js'
import {
  DIST_MAIN,
  requireBuild,
  startServerProcess,
  stopAll,
  type ServerProcess,
} from './helpers/processes.js'
import { json, startUpstream, type Upstream } from './peers/upstream.js'

const run = promisify(execFile)
const databaseUrl = await postgresTestUrl()
const key = () => randomBytes(32).toString('base64')

describe.each(await testStoreKinds())('the secret-key check on %s', (kind: StoreKind) => {
  const adminKey = `key-check-admin-${randomBytes(8).toString('hex')}`
  const processes: ServerProcess[] = []
  const schemas: string[] = []
  let up: Upstream

  /** A fresh database: a data folder, and on PostgreSQL a schema of its own. */
  function database(): Record<string, string> {
    const dataDir = mkdtempSync(join(tmpdir(), 'patchbay-keycheck-'))
    if (kind === 'sqlite') return { PATCHBAY_DATA_DIR: dataDir }
    const schema = testSchemaName()
    schemas.push(schema)
    return {
      PATCHBAY_DATA_DIR: dataDir,
      PATCHBAY_DATABASE_URL: databaseUrl!,
      PATCHBAY_DATABASE_SCHEMA: schema,
    }
  }

  async function start(env: Record<string, string>, name: string): Promise<ServerProcess> {
    const p = await startServerProcess({
      adminKey,
      name,
      env: { PATCHBAY_ALLOW_PRIVATE_NETWORK: 'true', ...env },
    })
    processes.push(p)
    return p
  }

  /** A connection with a secret token through `p`; returns a function that calls through it. */
  async function connection(p: ServerProcess) {
    const c = await p.api('POST', '/api/v1/connectors', {
      name: `Keyed ${randomBytes(3).toString('hex')}`,
      baseUrl: up.url,
      auth: { type: 'bearer' },
      customAction: { enabled: true },
    })
    expect(c.status, JSON.stringify(c.body)).toBe(201)
    expect((await p.api('POST', `/api/v1/connectors/${c.body.id}/ready`)).status).toBe(200)
    const conn = await p.api('POST', '/api/v1/connections', {
      connector: c.body.id,
      values: { token: 'the-token' },
    })
    expect(conn.status, JSON.stringify(conn.body)).toBe(201)
    return (via: ServerProcess) =>
      via.api('POST', `/api/v1/connections/${conn.body.id}/request`, { path: 'ping' })
  }

  beforeAll(async () => {
    requireBuild()
    up = await startUpstream()
    up.route('*', (req, res) =>
      json(res, req.headers.authorization === 'Bearer the-token' ? 200 : 401, { ok: true }),
    )
  })
  afterAll(async () => {
    await stopAll(processes)
    await up?.close()
    for (const s of schemas) await dropTestSchema(s)
  })

  it('refuses to start a process whose key cannot open the database’s secrets, naming the setting', async () => {
    const db = database()
    const first = await start({ ...db, PATCHBAY_SECRET_KEY: key() }, 'first')
    const call = await connection(first)

    const other = start({ ...db, PATCHBAY_SECRET_KEY: key() }, 'another key')
    await expect(other).rejects.toThrow(/exited before it was ready/)
    const message = String(await other.catch((err: unknown) => err))
    expect(message).toMatch(/secret key cannot open the secrets already in the database/)
    expect(message).toMatch(/from PATCHBAY_SECRET_KEY/)
    expect(message).toMatch(/Every process on one database must use the same key/)

    // Without PATCHBAY_SECRET_KEY, a process uses (or makes) its data folder's key file.
    const fileDir = kind === 'sqlite' ? db.PATCHBAY_DATA_DIR! : database().PATCHBAY_DATA_DIR!
    const withFile = start({ ...db, PATCHBAY_DATA_DIR: fileDir }, 'key file')
    const fileMessage = String(await withFile.catch((err: unknown) => err))
    expect(fileMessage).toMatch(/exited before it was ready/)
    expect(fileMessage).toContain(`from the key file ${join(fileDir, 'secret.key')}`)
    expect(fileMessage).not.toContain('the-token')

    // The first process is not disturbed.
    expect((await call(first)).body).toMatchObject({ status: 200 })
    expect((await fetch(`${first.url}/readyz`)).status).toBe(200)
  }, 120_000)

  it('answers 503 on /readyz, with the reason, once another process rotated the key away', async () => {
    const db = database()
    const [oldKey, newKey] = [key(), key()]
    const stale = await start({ ...db, PATCHBAY_SECRET_KEY: oldKey }, 'stale')
    const call = await connection(stale)
    const both = { ...db, PATCHBAY_SECRET_KEY: newKey, PATCHBAY_SECRET_KEY_PREVIOUS: oldKey }
    const current = await start(both, 'current')
    expect((await call(current)).body).toMatchObject({ status: 200 })

    const rotated = await run(process.execPath, [DIST_MAIN, 'secrets', 'rotate', '--json'], {
      env: { PATH: process.env.PATH ?? '', PATCHBAY_LOG_LEVEL: 'silent', ...both },
    })
    expect(JSON.parse(rotated.stdout)).toMatchObject({ resealed: 1, alreadyCurrent: 0 })

    const ready = await fetch(`${stale.url}/readyz`)
    expect(ready.status).toBe(503)
    const body = (await ready.json()) as { status: string; reason: string }
    expect(body.status).toBe('unavailable')
    expect(body.reason).toMatch(/sealed under key [0-9a-f]{8}, which this process does not hold/)
    expect(body.reason).toMatch(/Restart this process with the current PATCHBAY_SECRET_KEY/)
    expect((await fetch(`${stale.url}/healthz`)).status).toBe(200)
    expect((await fetch(`${current.url}/readyz`)).status).toBe(200)
    expect((await call(current)).body).toMatchObject({ status: 200 })

    // Restarted on the old key alone, it would not start at all.
    await expect(start({ ...db, PATCHBAY_SECRET_KEY: oldKey }, 'old key')).rejects.toThrow(
      /PATCHBAY_SECRET_KEY/,
    )
  }, 120_000)
})
