/**
 * `patchbay secrets rotate`: every sealed value re-encrypted under a new key
 * while a server keeps serving, with key files (the server picks the new key up by itself) and
 * with environment keys (PATCHBAY_SECRET_KEY + PATCHBAY_SECRET_KEY_PREVIOUS), on both stores.
 */
import { createHash, randomBytes } from 'node:crypto'
import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createPatchbay, type Patchbay } from '../src/index.js'
import { rotateSecrets, sealedAad } from '../src/engine/rotation.js'
import {
  createKeyring,
  createSecretBox,
  keyIdOf,
  parseKey,
  sealedKeyId,
  staticKeyring,
} from '../src/store/crypto.js'
import { createSqliteStore } from '../src/store/sqlite/store.js'
import type { SealedValue, Store } from '../src/store/store.js'
import { connectionRecord, connectorRecord } from '../src/store/store.case.js'
import { startTestPatchbay, testStoreKinds, type TestPatchbay } from './helpers/patchbay.js'
import { createTestPostgresStore, dropTestSchema } from './helpers/postgres.js'
import { json, startUpstream, type Upstream } from './peers/upstream.js'

/** An API that accepts the tokens it knows, and a token endpoint for OAuth 2.0 (client credentials, PKCE). */
let up: Upstream
const validTokens = new Set(['tok-1', 'tok-2', 'tok-3', 'tok-during', 'tok-after'])
const challenges = new Set<string>()

beforeAll(async () => {
  up = await startUpstream()
  up.route('/token', (req, res) => {
    const form = new URLSearchParams(req.body)
    const grant = form.get('grant_type')
    const verifier = form.get('code_verifier') ?? ''
    const ok =
      (grant === 'client_credentials' && form.get('client_secret') === 'cc-secret') ||
      (grant === 'authorization_code' &&
        form.get('code') === 'the-code' &&
        challenges.has(createHash('sha256').update(verifier).digest('base64url')))
    if (!ok) return json(res, 400, { error: 'invalid_grant' })
    const token = `oauth-${randomBytes(8).toString('hex')}`
    validTokens.add(token)
    json(res, 200, { access_token: token, token_type: 'Bearer', expires_in: 3600 })
  })
  up.route('*', (req, res) => {
    const token = String(req.headers.authorization ?? '').replace(/^Bearer /, '')
    json(res, validTokens.has(token) ? 200 : 401, { path: req.path })
  })
})
afterAll(() => up.close())

async function allSealed(store: Store): Promise<SealedValue[]> {
  const out: SealedValue[] = []
  let cursor: string | undefined
  do {
    const page = await store.listSealed({ limit: 3, cursor })
    out.push(...page.items)
    cursor = page.nextCursor
  } while (cursor)
  return out
}

/** Connectors and connections of every sealed kind, created through the API. */
async function seed(t: TestPatchbay) {
  const ok = <T>(res: { status: number; body: T }, status = 201): T => {
    expect(res.status, JSON.stringify(res.body)).toBe(status)
    return res.body
  }
  const ready = async (body: Record<string, unknown>) => {
    const c = ok(await t.api('POST', '/api/v1/connectors', body)) as { id: string }
    ok(await t.api('POST', `/api/v1/connectors/${c.id}/ready`), 200)
    return c.id
  }
  const bearer = await ready({
    name: 'Bearer API',
    baseUrl: up.url,
    auth: { type: 'bearer', prefix: 'Bearer' },
    customAction: { enabled: true },
  })
  const clientCredentials = await ready({
    name: 'Machine API',
    baseUrl: up.url,
    auth: {
      type: 'oauth2',
      grantType: 'client_credentials',
      clientId: 'cc-client',
      clientSecret: 'cc-secret',
      tokenUrl: `${up.origin}/token`,
    },
    customAction: { enabled: true },
  })
  const pkce = await ready({
    name: 'Browser API',
    baseUrl: up.url,
    auth: {
      type: 'oauth2',
      grantType: 'authorization_code_pkce',
      clientId: 'pkce-client',
      authorizationUrl: `${up.origin}/authorize`,
      tokenUrl: `${up.origin}/token`,
    },
    customAction: { enabled: true },
  })
  const connected: string[] = []
  for (const token of ['tok-1', 'tok-2', 'tok-3']) {
    const c = ok(
      await t.api('POST', '/api/v1/connections', { connector: bearer, values: { token } }),
    )
    connected.push((c as { id: string }).id)
  }
  const cc = ok(await t.api('POST', '/api/v1/connections', { connector: clientCredentials })) as {
    id: string
    status: string
  }
  expect(cc.status).toBe('connected')
  connected.push(cc.id)
  const pending = ok(await t.api('POST', '/api/v1/connections', { connector: pkce })) as {
    id: string
    status: string
    authorizeUrl: string
  }
  expect(pending.status).toBe('pending')
  const authorize = new URL(pending.authorizeUrl)
  challenges.add(authorize.searchParams.get('code_challenge')!)
  return {
    bearer,
    connected,
    pending: { id: pending.id, state: authorize.searchParams.get('state')! },
  }
}

/** Calls every connection through the server until `stop()`; returns the answers that were not 200. */
function keepCalling(t: TestPatchbay, ids: () => string[]) {
  let stopped = false
  let calls = 0
  const failures: unknown[] = []
  const loop = (async () => {
    while (!stopped) {
      for (const id of ids()) {
        const res = await t.api('POST', `/api/v1/connections/${id}/request`, { path: 'ping' })
        calls++
        if (res.status !== 200 || res.body?.status !== 200) failures.push({ id, res: res.body })
      }
    }
  })()
  return {
    async stop() {
      stopped = true
      await loop
      return { calls, failures }
    },
  }
}

function expectUnderOnly(values: SealedValue[], newKey: Buffer, oldKey: Buffer): void {
  const fresh = createSecretBox([newKey])
  const old = createSecretBox([oldKey])
  for (const v of values) {
    expect(sealedKeyId(v.sealed), `${v.kind} ${v.id}`).toBe(keyIdOf(newKey))
    expect(() => fresh.open(v.sealed, sealedAad(v.kind, v.id))).not.toThrow()
    expect(() => old.open(v.sealed, sealedAad(v.kind, v.id))).toThrow()
  }
}

describe.each(await testStoreKinds())('secret-key rotation on %s', (storeKind) => {
  it('re-seals everything under a new key file while a running server keeps serving', async () => {
    const t = await startTestPatchbay({ storeKind })
    const secondStore = t.schema ? await createTestPostgresStore({ schema: t.schema }) : undefined
    let second: Patchbay | undefined
    try {
      const keyFile = join(t.dataDir, 'secret.key')
      const oldKey = parseKey(readFileSync(keyFile, 'utf8'), keyFile)
      const { bearer, connected, pending } = await seed(t)
      expect(await allSealed(t.store)).toHaveLength(7)

      // The CLI's way: another Patchbay on the same data folder (and database).
      second = await createPatchbay({
        dataDir: t.dataDir,
        refreshIntervalMs: 0,
        env: { PATCHBAY_LOG_LEVEL: 'silent', PATCHBAY_ADMIN_KEY: 'unused-admin-key-123' },
        ...(secondStore ? { store: secondStore } : {}),
      })
      const ids = [...connected]
      const load = keepCalling(t, () => ids)
      const rotation = second.secrets.rotate()
      // The server seals a new secret while the rotation runs, under whichever key it has.
      const during = await t.api('POST', '/api/v1/connections', {
        connector: bearer,
        values: { token: 'tok-during' },
      })
      expect(during.status).toBe(201)
      ids.push(during.body.id as string)
      const result = await rotation
      const { calls, failures } = await load.stop()
      expect(failures).toEqual([])
      expect(calls).toBeGreaterThan(ids.length)

      const newKey = parseKey(readFileSync(keyFile, 'utf8'), keyFile)
      expect(newKey.equals(oldKey)).toBe(false)
      expect(result).toEqual({
        resealed: expect.any(Number),
        alreadyCurrent: expect.any(Number),
        keyId: keyIdOf(newKey),
      })
      expect(result.resealed).toBeGreaterThanOrEqual(7)
      expect(result.resealed + result.alreadyCurrent).toBe(8)
      expect(statSync(keyFile).mode & 0o777).toBe(0o600)
      expect(readdirSync(t.dataDir).filter((f) => f.startsWith('secret.key'))).toEqual([
        'secret.key',
      ])

      // The server, started on the old key, now opens and seals under the new one.
      for (const id of ids) {
        const res = await t.api('POST', `/api/v1/connections/${id}/request`, { path: 'after' })
        expect(res.body).toMatchObject({ status: 200, body: { path: '/after' } })
      }
      const after = await t.api('POST', '/api/v1/connections', {
        connector: bearer,
        values: { token: 'tok-after' },
      })
      expect(after.status).toBe(201)
      // The pending browser flow, sealed before the rotation, completes after it.
      const callback = await fetch(`${t.url}/oauth/callback?state=${pending.state}&code=the-code`)
      expect(callback.status, await callback.text()).toBe(200)
      expect((await t.api('GET', `/api/v1/connections/${pending.id}`)).body.status).toBe(
        'connected',
      )

      const values = await allSealed(t.store)
      expect(values.map((v) => v.kind).sort()).toEqual([
        ...Array<string>(7).fill('connection'),
        'connector',
      ])
      expectUnderOnly(values, newKey, oldKey)
    } finally {
      await second?.close()
      await secondStore?.close()
      await t.close()
    }
  })

  it('re-seals under PATCHBAY_SECRET_KEY with the old key in PREVIOUS, writing no key file', async () => {
    const [oldKey, newKey] = [randomBytes(32), randomBytes(32)]
    const before = await startTestPatchbay({
      storeKind,
      env: { PATCHBAY_SECRET_KEY: oldKey.toString('base64') },
    })
    const stores: Store[] = []
    const shared = async (): Promise<Store | undefined> => {
      if (!before.schema) return undefined
      const s = await createTestPostgresStore({ schema: before.schema })
      stores.push(s)
      return s
    }
    let t: TestPatchbay | undefined
    let rotator: Patchbay | undefined
    let after: Patchbay | undefined
    try {
      const { connected, pending } = await seed(before)
      // The operator restarts the servers with both keys.
      await before.server.close({ graceMs: 0 })
      await before.pb.close()
      const bothKeys = {
        PATCHBAY_SECRET_KEY: newKey.toString('base64'),
        PATCHBAY_SECRET_KEY_PREVIOUS: oldKey.toString('hex'),
      }
      const restarted = await shared()
      t = await startTestPatchbay({
        dataDir: before.dataDir,
        env: bothKeys,
        ...(restarted ? { store: restarted } : {}),
      })
      const server = t
      const load = keepCalling(server, () => connected)
      const rotatorStore = await shared()
      rotator = await createPatchbay({
        dataDir: before.dataDir,
        refreshIntervalMs: 0,
        env: {
          ...bothKeys,
          PATCHBAY_LOG_LEVEL: 'silent',
          PATCHBAY_ADMIN_KEY: 'unused-admin-key-123',
        },
        ...(rotatorStore ? { store: rotatorStore } : {}),
      })
      const result = await rotator.secrets.rotate()
      expect(await load.stop()).toMatchObject({ failures: [] })
      expect(result).toEqual({ resealed: 7, alreadyCurrent: 0, keyId: keyIdOf(newKey) })
      expect(await rotator.secrets.rotate()).toEqual({
        resealed: 0,
        alreadyCurrent: 7,
        keyId: keyIdOf(newKey),
      })
      expect(readdirSync(before.dataDir).filter((f) => f.startsWith('secret.key'))).toEqual([])
      expectUnderOnly(await allSealed(server.store), newKey, oldKey)

      // The operator drops PREVIOUS: everything still works on the new key alone.
      const afterStore = await shared()
      after = await createPatchbay({
        dataDir: before.dataDir,
        refreshIntervalMs: 0,
        allowPrivateNetwork: true,
        env: { PATCHBAY_SECRET_KEY: newKey.toString('base64'), PATCHBAY_LOG_LEVEL: 'silent' },
        ...(afterStore ? { store: afterStore } : {}),
      })
      for (const id of connected)
        expect(await after.connections.request(id, { path: 'alone' })).toMatchObject({
          status: 200,
        })
      const done = await after.connections.complete(
        '/oauth/callback',
        new URLSearchParams({ state: pending.state, code: 'the-code' }),
      )
      expect(done.error).toBeUndefined()
      expect(done.connection?.status).toBe('connected')
    } finally {
      await after?.close()
      await rotator?.close()
      await t?.close()
      if (before.store.dialect === 'postgres') {
        for (const s of stores) await s.close()
        await before.store.close()
        await dropTestSchema(before.schema!)
      }
    }
  })
})

describe('the re-seal loop', () => {
  function fixture() {
    const store = createSqliteStore({ filename: ':memory:' })
    const [oldKey, newKey] = [randomBytes(32), randomBytes(32)]
    const oldBox = createSecretBox([oldKey])
    return { store, oldKey, newKey, oldBox }
  }

  it('re-checks a value a concurrent refresh rewrote under the old key, keeping the refresh', async () => {
    const { store, oldKey, newKey, oldBox } = fixture()
    await store.migrate()
    const c = connectorRecord()
    await store.insertConnector(c)
    const conn = connectionRecord(c.id)
    conn.secrets = oldBox.seal('{"v":"before"}', `connection:${conn.id}`)
    await store.insertConnection(conn)
    // A server still on the old key refreshes the connection just as the rotation reaches it.
    let refreshed = false
    const racing: Store = {
      ...store,
      async replaceSealed(kind, id, expected, next) {
        if (!refreshed) {
          refreshed = true
          await store.updateCredentials(conn.id, conn.credentialsVersion, {
            secrets: oldBox.seal('{"v":"refreshed"}', `connection:${conn.id}`),
            expiresAt: null,
            refreshExpiresAt: null,
            status: 'connected',
            statusMessage: null,
          })
        }
        return store.replaceSealed(kind, id, expected, next)
      },
    }
    const keyring = staticKeyring([newKey, oldKey], 'env')
    const box = createSecretBox(keyring)
    const result = await rotateSecrets({ store: racing, keyring, box, dataDir: tmpdir() })
    expect(result).toEqual({ resealed: 1, alreadyCurrent: 0, keyId: keyIdOf(newKey) })
    const after = await store.getConnection(conn.id)
    expect(after?.credentialsVersion).toBe(conn.credentialsVersion + 1)
    expect(createSecretBox([newKey]).open(after!.secrets!, `connection:${conn.id}`)).toBe(
      '{"v":"refreshed"}',
    )
    await store.close()
  })

  it('gives up after its passes while old-key writes never stop, keeping the previous key file', async () => {
    const store = createSqliteStore({ filename: ':memory:' })
    await store.migrate()
    const dataDir = mkdtempSync(join(tmpdir(), 'pb-rotate-'))
    const keyring = createKeyring(dataDir, {})
    const oldBox = createSecretBox([keyring.keys()[0]!])
    await store.insertConnector(
      connectorRecord({ id: 'x', secrets: oldBox.seal('{}', 'connector:x') }),
    )
    const stale: Store = {
      ...store,
      // Every re-seal is overwritten at once by a writer that never learns the new key.
      async replaceSealed(kind, id, expected) {
        await store.replaceSealed(kind, id, expected, oldBox.seal('{}', 'connector:x'))
        return false
      },
    }
    const box = createSecretBox(keyring)
    await expect(
      rotateSecrets({ store: stale, keyring, box, dataDir }, { graceMs: 0, maxPasses: 3 }),
    ).rejects.toThrow(/after 3 passes; the previous key is kept/)
    expect(readdirSync(dataDir).sort()).toEqual(['secret.key', 'secret.key.previous'])
    // Run again once the writer is gone: it finishes, under a newer key still.
    const result = await rotateSecrets({ store, keyring, box, dataDir }, { graceMs: 0 })
    expect(result.resealed).toBe(1)
    expect(readdirSync(dataDir)).toEqual(['secret.key'])
    await store.close()
  })

  it('stops, naming them, at values no loaded key opens', async () => {
    const { store, newKey } = fixture()
    await store.migrate()
    const stranger = createSecretBox([randomBytes(32)])
    await store.insertConnector(
      connectorRecord({ id: 'cn_lost', secrets: stranger.seal('{}', 'connector:cn_lost') }),
    )
    const keyring = staticKeyring([newKey], 'env')
    await expect(
      rotateSecrets({ store, keyring, box: createSecretBox(keyring), dataDir: tmpdir() }),
    ).rejects.toThrow(
      /1 sealed value\(s\) cannot be opened with any loaded key \(connector cn_lost\)/,
    )
    await store.close()
  })
})
