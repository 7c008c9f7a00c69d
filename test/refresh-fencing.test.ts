/**
 * Refresh fencing end to end, on PostgreSQL (docs/concepts.md#refresh): two Patchbays on one
 * schema and a real token endpoint that rotates refresh tokens. A refreshes — the token endpoint
 * answers — and A's credentials write waits behind a row lock a third session holds; A's process
 * then dies (its lock session's socket is cut, it sends nothing more) while its backend still runs
 * the write. B, asked to refresh the same connection meanwhile, waits for the lock until A's write
 * has committed, and then uses A's new tokens instead of refreshing again: the refresh token is
 * presented exactly once. (`src/store/postgres/store.test.ts` proves the same at the store, and
 * says why writing on another connection would let B in early.)
 */
import { randomBytes } from 'node:crypto'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createPatchbay, type Patchbay } from '../src/index.js'
import { advisoryLockId } from '../src/store/postgres/lock.js'
import type { Store } from '../src/store/store.js'
import {
  createKillablePostgresStore,
  createTestPostgresStore,
  dropTestSchema,
  postgresTestUrl,
  testSchemaName,
  type KillablePostgresStore,
} from './helpers/postgres.js'
import { pollUntil } from './helpers/processes.js'
import { startTokenServer, type TokenServer } from './peers/token-server.js'

const url = await postgresTestUrl()

describe.skipIf(!url)('refresh fencing across two Patchbays on PostgreSQL', () => {
  const schema = testSchemaName()
  const secretKeys = [randomBytes(32)]
  let tokens: TokenServer
  let storeB: Store
  let a: KillablePostgresStore
  let pbA: Patchbay
  let pbB: Patchbay
  let admin: pg.Client
  /** Refresh tokens presented to the token endpoint, in order. */
  const presented: string[] = []

  const open = (store: Store) =>
    createPatchbay({
      store,
      secretKeys,
      dataDir: mkdtempSync(join(tmpdir(), 'patchbay-fence-')),
      allowPrivateNetwork: true,
      refreshIntervalMs: 0,
      purgeIntervalMs: 0,
      webhook: false,
      env: { PATCHBAY_LOG_LEVEL: 'silent' },
    })

  beforeAll(async () => {
    tokens = await startTokenServer()
    const used = new Set<string>()
    tokens.route('POST', '/token', (req, server) => {
      const form = req.form ?? {}
      if (form.grant_type === 'refresh_token') {
        const rt = form.refresh_token ?? ''
        presented.push(rt)
        // Rotating refresh tokens: each works once.
        if (used.has(rt) || !rt.startsWith('rt_'))
          return { status: 400, body: { error: 'invalid_grant' } }
        used.add(rt)
      } else if (form.grant_type !== 'authorization_code' || form.code !== 'the-code') {
        return { status: 400, body: { error: 'invalid_grant' } }
      }
      const access = server.issue()
      return {
        body: {
          access_token: access,
          token_type: 'Bearer',
          expires_in: 3600,
          refresh_token: `rt_${access}`,
        },
      }
    })
    storeB = await createTestPostgresStore({ schema })
    a = await createKillablePostgresStore(schema)
    pbA = await open(a.store)
    pbB = await open(storeB)
    admin = new pg.Client({ connectionString: url })
    await admin.connect()
  })

  afterAll(async () => {
    await admin?.end()
    await pbA?.close()
    await pbB?.close()
    await a?.store.close()
    await storeB?.close()
    await tokens?.close()
    await dropTestSchema(schema)
  })

  it('presents the refresh token once when the refreshing process dies mid-write', async () => {
    const connector = await pbB.connectors.create({
      name: 'Fenced',
      baseUrl: `${tokens.url}/protected/`,
      auth: {
        type: 'oauth2',
        grantType: 'authorization_code',
        clientId: 'fence-client',
        clientSecret: 'fence-secret',
        authorizationUrl: `${tokens.url}/authorize`,
        tokenUrl: `${tokens.url}/token`,
      },
      customAction: { enabled: true },
    })
    await pbB.connectors.ready(connector.id)
    const pending = await pbB.connections.create({ connector: connector.id })
    const state = new URL(pending.authorizeUrl!).searchParams.get('state')!
    const done = await pbB.connections.complete(
      '/oauth/callback',
      new URLSearchParams({ state, code: 'the-code' }),
    )
    expect(done.connection?.status).toBe('connected')
    const id = pending.id
    const [firstAccess] = tokens.issued

    // A third session holds the row (polled from another: a transaction sees frozen statistics).
    const row = new pg.Client({ connectionString: url })
    await row.connect()
    let bRefresh: ReturnType<Patchbay['connections']['refresh']>
    try {
      await row.query('BEGIN')
      await row.query(`SELECT * FROM "${schema}".connections WHERE id = $1 FOR UPDATE`, [id])
      const aRefresh = pbA.connections.refresh(id).catch((err: unknown) => err)
      // A got its new tokens and waits to write them.
      await pollUntil('A to refresh', () => presented.length === 1)
      await pollUntil('A to wait for the row', async () => {
        const { rows } = await admin.query(
          `SELECT 1 FROM pg_stat_activity
           WHERE wait_event_type = 'Lock' AND query LIKE 'UPDATE connections SET secrets%'`,
        )
        return rows.length === 1
      })
      a.kill()

      let bDone = false
      bRefresh = pbB.connections.refresh(id)
      bRefresh.then(
        () => (bDone = true),
        () => (bDone = true),
      )
      const lockId = BigInt(advisoryLockId(schema, `refresh:${id}`))
      await pollUntil('B to wait for the refresh lock (or to be done)', async () => {
        if (bDone || presented.length > 1) return true
        const { rows } = await admin.query(
          `SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND NOT granted
             AND classid = $1 AND objid = $2 AND objsubid = 1`,
          [String(BigInt.asUintN(32, lockId >> 32n)), String(BigInt.asUintN(32, lockId))],
        )
        return rows.length === 1
      })
      expect(presented, "B refreshed before A's write committed").toHaveLength(1)
      expect(bDone).toBe(false)
      await row.query('COMMIT')
      // A never hears how its write ended.
      expect(String(await aRefresh)).toMatch(/killed|terminated|closed/i)
    } finally {
      await row.end()
    }

    const after = await bRefresh
    expect(after.status).toBe('connected')
    expect(presented).toEqual([`rt_${firstAccess}`])
    expect(tokens.requestsTo('/token')).toHaveLength(2) // the code exchange, one refresh
    // B calls with the access token A's refresh got.
    const newAccess = tokens.issued[1]!
    const call = await pbB.connections.request(id, { path: 'me' })
    expect(call.status).toBe(200)
    expect(tokens.requestsTo('/protected/me').at(-1)?.headers.authorization).toBe(
      `Bearer ${newAccess}`,
    )
    expect(presented).toHaveLength(1)
  })
})
