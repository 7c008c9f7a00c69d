/**
 * Admin keys: named, revocable keys besides the bootstrap key, through the
 * API on both stores; rotating the generated bootstrap key.
 */
import { readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  startTestPatchbay,
  storeContains,
  testStoreKinds,
  type TestPatchbay,
} from './helpers/patchbay.js'

const bearer = (key: string) => ({ authorization: `Bearer ${key}` })

describe.each(await testStoreKinds())('admin keys on %s', (storeKind) => {
  let t: TestPatchbay
  beforeAll(async () => {
    t = await startTestPatchbay({ storeKind })
  })
  afterAll(() => t.close())

  it('creates a named key that works, lists it without the key, and refuses it once revoked', async () => {
    const created = await t.api('POST', '/api/v1/admin-keys', { name: 'ci deploy_bot-1' })
    expect(created.status, JSON.stringify(created.body)).toBe(201)
    expect(created.body).toEqual({
      id: expect.stringMatching(/^ak_/),
      name: 'ci deploy_bot-1',
      key: expect.stringMatching(/^pbk_[A-Za-z0-9_-]{43}$/),
      createdAt: expect.any(String),
      revokedAt: null,
    })
    const { id, key } = created.body as { id: string; key: string }

    const used = await t.api('GET', '/api/v1/connectors', undefined, bearer(key))
    expect(used.status).toBe(200)

    const list = await t.api('GET', '/api/v1/admin-keys', undefined, bearer(key))
    expect(list.status).toBe(200)
    const listed = (list.body.items as { id: string }[]).find((k) => k.id === id)
    expect(listed).toEqual({
      id,
      name: 'ci deploy_bot-1',
      createdAt: created.body.createdAt,
      revokedAt: null,
    })
    expect(JSON.stringify(list.body)).not.toContain(key)
    // Stored as its SHA-256 only.
    expect(await storeContains(t, key)).toBe(false)

    expect((await t.api('DELETE', `/api/v1/admin-keys/${id}`)).status).toBe(204)
    const refused = await t.api('GET', '/api/v1/connectors', undefined, bearer(key))
    expect(refused.status).toBe(401)
    expect(refused.body.error.code).toBe('auth.unauthorized')
    const after = await t.api('GET', '/api/v1/admin-keys')
    expect(
      (after.body.items as { id: string; revokedAt: string | null }[]).find((k) => k.id === id),
    ).toMatchObject({ revokedAt: expect.any(String) })
    // Revoking again changes nothing; an unknown id is a 404 naming it.
    expect((await t.api('DELETE', `/api/v1/admin-keys/${id}`)).status).toBe(204)
    const unknown = await t.api('DELETE', '/api/v1/admin-keys/ak_nope')
    expect(unknown.status).toBe(404)
    expect(unknown.body.error.details).toEqual([{ path: 'id', rule: expect.any(String) }])

    // The bootstrap key is untouched by all this.
    expect((await t.api('GET', '/api/v1/connectors')).status).toBe(200)
  })

  it('accepts several named keys at once, each revocable on its own', async () => {
    const a = (await t.api('POST', '/api/v1/admin-keys', { name: 'a' })).body as {
      id: string
      key: string
    }
    const b = (await t.api('POST', '/api/v1/admin-keys', { name: 'b' })).body as {
      id: string
      key: string
    }
    expect(a.key).not.toBe(b.key)
    expect(
      (await t.api('DELETE', `/api/v1/admin-keys/${a.id}`, undefined, bearer(b.key))).status,
    ).toBe(204)
    expect((await t.api('GET', '/api/v1/logs', undefined, bearer(a.key))).status).toBe(401)
    expect((await t.api('GET', '/api/v1/logs', undefined, bearer(b.key))).status).toBe(200)
    // A revoked key cannot sign in to the web UI either.
    const signIn = (adminKey: string) =>
      fetch(`${t.url}/ui/session`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', origin: t.url },
        body: JSON.stringify({ adminKey }),
      })
    expect((await signIn(a.key)).status).toBe(401)
    expect((await signIn(b.key)).status).toBe(201)
  })

  it('lists keys in pages', async () => {
    for (const name of ['p1', 'p2', 'p3']) await t.api('POST', '/api/v1/admin-keys', { name })
    const first = await t.api('GET', '/api/v1/admin-keys?limit=2')
    expect(first.body.items).toHaveLength(2)
    expect(first.body.nextCursor).toEqual(expect.any(String))
    const next = await t.api(
      'GET',
      `/api/v1/admin-keys?limit=2&cursor=${encodeURIComponent(first.body.nextCursor as string)}`,
    )
    expect(next.body.items).toHaveLength(2)
    expect(next.body.items[0].id).not.toBe(first.body.items[1].id)
    expect((await t.api('GET', '/api/v1/admin-keys?limit=0')).status).toBe(400)
  })

  it.each([
    [{}, 'is required'],
    [{ name: '' }, 'letters'],
    [{ name: 'x'.repeat(51) }, 'letters'],
    [{ name: 'no/slashes' }, 'letters'],
    [{ name: ' padded' }, 'letters'],
    [{ name: 7 }, 'must be a string'],
  ])('refuses a bad name %j with a 400 naming the field', async (body, rule) => {
    const res = await t.api('POST', '/api/v1/admin-keys', body)
    expect(res.status).toBe(400)
    expect(res.body.error.code).toBe('input.invalid')
    expect(res.body.error.details).toEqual([{ path: 'name', rule: expect.stringContaining(rule) }])
  })

  it('refuses unknown fields and malformed JSON', async () => {
    const extra = await t.api('POST', '/api/v1/admin-keys', { name: 'ok', scope: 'all' })
    expect(extra.status).toBe(400)
    const broken = await t.api('POST', '/api/v1/admin-keys', '{"name":')
    expect(broken.status).toBe(400)
    expect(broken.body.error.code).toBe('input.malformed_json')
  })

  it('needs an admin key to manage admin keys', async () => {
    const res = await fetch(`${t.url}/api/v1/admin-keys`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer pbk_guess' },
      body: JSON.stringify({ name: 'sneaky' }),
    })
    expect(res.status).toBe(401)
  })

  it('documents the routes in the OpenAPI document', async () => {
    const doc = (await t.api('GET', '/api/v1/openapi.json')).body as {
      paths: Record<string, Record<string, unknown>>
    }
    expect(Object.keys(doc.paths['/admin-keys']!)).toEqual(expect.arrayContaining(['get', 'post']))
    expect(Object.keys(doc.paths['/admin-keys/{id}']!)).toContain('delete')
  })
})

describe('the bootstrap admin key', () => {
  it('rotates the generated admin.key file, and running servers take the new key at once', async () => {
    const t = await startTestPatchbay({ env: { PATCHBAY_ADMIN_KEY: '' } })
    try {
      const first = t.pb.admin.ensureKey()
      expect(first.file).toBe(join(t.dataDir, 'admin.key'))
      expect((await t.api('GET', '/api/v1/logs', undefined, bearer(first.key))).status).toBe(200)
      const named = (
        await t.api('POST', '/api/v1/admin-keys', { name: 'survives' }, bearer(first.key))
      ).body as { key: string }

      const { key, file } = t.pb.admin.rotateBootstrapKey()
      expect(key).not.toBe(first.key)
      expect(readFileSync(file, 'utf8').trim()).toBe(key)
      expect(statSync(file).mode & 0o777).toBe(0o600)
      expect((await t.api('GET', '/api/v1/logs', undefined, bearer(first.key))).status).toBe(401)
      expect((await t.api('GET', '/api/v1/logs', undefined, bearer(key))).status).toBe(200)
      expect((await t.api('GET', '/api/v1/logs', undefined, bearer(named.key))).status).toBe(200)
    } finally {
      await t.close()
    }
  })

  it('refuses to rotate a bootstrap key that comes from PATCHBAY_ADMIN_KEY', async () => {
    const t = await startTestPatchbay()
    try {
      expect(() => t.pb.admin.rotateBootstrapKey()).toThrow(/PATCHBAY_ADMIN_KEY/)
      expect((await t.api('GET', '/api/v1/logs')).status).toBe(200)
    } finally {
      await t.close()
    }
  })
})
