/**
 * Upgrading from schema version 2, where connect sessions, end users and UI sessions were JSON rows
 * in `meta`: databases written by that version (test/fixtures/schema-v2/) open with today's code,
 * and nothing is lost — the UI session still signs in, the live connect session still opens the
 * connect page, the ended one still says it ended, end users keep their email and display name,
 * and saved actions are found by id.
 */
import { copyFileSync, mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CONNECT_SESSION_HEADER } from '../src/server/connect.js'
import { runSql, startTestPatchbay, testStoreKinds, type TestPatchbay } from './helpers/patchbay.js'
import { createTestPostgresStore, postgresTestUrl, testSchemaName } from './helpers/postgres.js'

const FIXTURES = join(import.meta.dirname, 'fixtures', 'schema-v2')
const env = {
  PATCHBAY_ADMIN_KEY: 'fixture-admin-key-0123456789',
  PATCHBAY_SECRET_KEY: Buffer.alloc(32, 7).toString('base64'),
}

interface Fixture {
  connectorId: string
  connectionId: string
  actionId: string
  liveSession: { id: string; token: string }
  endedSession: { id: string; token: string }
  uiCookie: string
}

/** The API with the fixture's admin key (the UI session was opened with it). */
async function api(t: TestPatchbay, path: string): Promise<{ status: number; body: any }> {
  const res = await fetch(`${t.url}${path}`, {
    headers: { authorization: `Bearer ${env.PATCHBAY_ADMIN_KEY}` },
  })
  return { status: res.status, body: await res.json() }
}

/** A server on a copy of the fixture database of this kind, migrated by starting it. */
async function open(kind: 'sqlite' | 'postgres'): Promise<TestPatchbay> {
  const dataDir = mkdtempSync(join(tmpdir(), 'patchbay-upgrade-'))
  if (kind === 'sqlite') {
    copyFileSync(join(FIXTURES, 'sqlite.db'), join(dataDir, 'patchbay.db'))
    return startTestPatchbay({ dataDir, storeKind: 'sqlite', env })
  }
  const schema = testSchemaName()
  const dump = readFileSync(join(FIXTURES, 'postgres.sql'), 'utf8').replaceAll(
    'pb_fixture_v2',
    schema,
  )
  const client = new pg.Client({ connectionString: await postgresTestUrl() })
  await client.connect()
  try {
    await client.query(dump)
  } finally {
    await client.end()
  }
  const store = await createTestPostgresStore({ schema })
  const t = await startTestPatchbay({ dataDir, store, env })
  return {
    ...t,
    schema,
    async close() {
      await t.close()
      await store.close()
    },
  }
}

for (const kind of await testStoreKinds()) {
  describe(`upgrading a schema-v2 database on ${kind}`, () => {
    const fixture = JSON.parse(readFileSync(join(FIXTURES, `${kind}.json`), 'utf8')) as Fixture
    let t: TestPatchbay

    beforeAll(async () => {
      t = await open(kind)
    })
    afterAll(async () => {
      await t?.close()
    })

    it('moves every record out of meta', async () => {
      const { rows } = await runSql(t, 'SELECT key FROM meta ORDER BY key')
      // What is left is the secret-key check the first start wrote (engine/key-check.ts).
      expect(rows).toEqual([{ key: 'secret_key_check' }])
      expect((await runSql(t, 'SELECT id FROM connect_sessions ORDER BY id')).rows).toHaveLength(2)
      expect((await runSql(t, 'SELECT key_hash FROM ui_sessions')).rows).toHaveLength(1)
      expect((await runSql(t, 'SELECT id FROM end_users')).rows).toEqual([{ id: 'user_ada' }])
    })

    it('keeps the UI session signed in', async () => {
      const res = await fetch(`${t.url}/ui/session`, { headers: { cookie: fixture.uiCookie } })
      expect(res.status).toBe(200)
      expect(await res.json()).toEqual({ signedIn: true })
      const connectors = await fetch(`${t.url}/api/v1/connectors`, {
        headers: { cookie: fixture.uiCookie },
      })
      expect(connectors.status).toBe(200)
    })

    it('keeps the live connect session open and the ended one ended', async () => {
      const page = await fetch(`${t.url}/connect/api/session`, {
        headers: { [CONNECT_SESSION_HEADER]: fixture.liveSession.token },
      })
      expect(page.status).toBe(200)
      expect(await page.json()).toMatchObject({
        id: fixture.liveSession.id,
        endUser: { id: 'user_ada', displayName: 'Ada Lovelace' },
        allowedOrigin: 'https://app.example.com',
        connectors: [{ id: fixture.connectorId, name: 'Fixture API' }],
      })
      const ended = await fetch(`${t.url}/connect/api/session`, {
        headers: { [CONNECT_SESSION_HEADER]: fixture.endedSession.token },
      })
      expect(ended.status).toBe(401)
      expect(await ended.json()).toMatchObject({
        error: { code: 'connect_session.expired', details: { reason: 'ended' } },
      })
      const live = await api(t, '/api/v1/connect-sessions')
      expect(live.body.items).toEqual([
        expect.objectContaining({
          id: fixture.liveSession.id,
          endUser: { id: 'user_ada', email: 'ada@example.com', displayName: 'Ada Lovelace' },
          connectors: [fixture.connectorId],
        }),
      ])
    })

    it('keeps end users with what they gave, and their connections', async () => {
      const users = await api(t, '/api/v1/end-users')
      expect(users.status).toBe(200)
      expect(
        users.body.items.map((u: any) => [u.id, u.email, u.displayName, u.connections.length]),
      ).toEqual([
        ['user_ada', 'ada@example.com', 'Ada Lovelace', 1],
        ['user_bob', null, null, 1],
      ])
    })

    it('finds saved actions by id and opens the connections’ secrets', async () => {
      const action = await api(t, `/api/v1/actions/${fixture.actionId}`)
      expect(action.status).toBe(200)
      expect(action.body).toMatchObject({ name: 'List notes', connectorId: fixture.connectorId })
      const connection = await api(t, `/api/v1/connections/${fixture.connectionId}`)
      expect(connection.body).toMatchObject({ status: 'connected', secretsSet: ['X-Api-Key'] })
    })
  })
}
