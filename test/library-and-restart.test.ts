import { mkdtempSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createPatchbay, isPatchbayError } from '../src/index.js'
import { json, startUpstream, type Upstream } from './peers/upstream.js'

let up: Upstream
beforeAll(async () => {
  up = await startUpstream()
  up.route('*', (req, res) =>
    json(res, req.headers.authorization === 'Bearer persisted-token' ? 200 : 401, {
      path: req.path,
    }),
  )
})
afterAll(() => up.close())

describe('the library and restarts', () => {
  it('gives the same operations in-process, typed, and keeps everything across a restart', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'pb-lib-'))
    const first = await createPatchbay({ dataDir, refreshIntervalMs: 0, allowPrivateNetwork: true })
    const connector = await first.connectors.create({
      name: 'Lib',
      baseUrl: up.url,
      auth: { type: 'bearer' },
      customAction: { enabled: true },
    })
    await first.connectors.ready(connector.id)
    const conn = await first.connections.create({
      connector: 'lib',
      values: { token: 'persisted-token' },
    })
    expect(conn.status).toBe('connected')
    await first.close()
    expect(statSync(join(dataDir, 'secret.key')).mode & 0o777).toBe(0o600)

    const second = await createPatchbay({
      dataDir,
      refreshIntervalMs: 0,
      allowPrivateNetwork: true,
    })
    try {
      expect((await second.connectors.get('lib')).stage).toBe('ready')
      const res = await second.connections.request(conn.id, { path: 'after-restart' })
      expect(res).toMatchObject({ status: 200, body: { path: '/after-restart' } })
      expect((await second.logs.list({ connection: conn.id })).items).toHaveLength(1)
    } finally {
      await second.close()
    }
  })

  it('refuses to open secrets sealed under another key, and says which setting to check', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'pb-lib-'))
    const a = await createPatchbay({
      dataDir,
      refreshIntervalMs: 0,
      env: { PATCHBAY_SECRET_KEY: Buffer.alloc(32, 1).toString('base64') },
    })
    const c = await a.connectors.create({
      name: 'Keyed',
      baseUrl: up.url,
      auth: { type: 'bearer' },
      customAction: { enabled: true },
    })
    await a.connectors.ready(c.id)
    const conn = await a.connections.create({
      connector: c.id,
      values: { token: 'persisted-token' },
    })
    await a.close()
    // It would start and fail every call; it refuses to start instead.
    const err = await createPatchbay({
      dataDir,
      refreshIntervalMs: 0,
      env: { PATCHBAY_SECRET_KEY: Buffer.alloc(32, 2).toString('base64') },
    }).catch((e: unknown) => e)
    expect(err).toMatchObject({ code: 'secret_key.mismatch' })
    expect(String((err as Error).message)).toMatch(/from PATCHBAY_SECRET_KEY/)
    // The right key still opens everything.
    const again = await createPatchbay({
      dataDir,
      refreshIntervalMs: 0,
      allowPrivateNetwork: true,
      env: { PATCHBAY_SECRET_KEY: Buffer.alloc(32, 1).toString('base64') },
    })
    try {
      expect(await again.connections.request(conn.id, { path: 'x' })).toMatchObject({
        status: 200,
      })
    } finally {
      await again.close()
    }
  })

  it('refuses a malformed secret key with a clear message', async () => {
    const err = await createPatchbay({
      dataDir: mkdtempSync(join(tmpdir(), 'pb-lib-')),
      env: { PATCHBAY_SECRET_KEY: 'short' },
    }).catch((e: unknown) => e)
    expect(String((err as Error).message)).toMatch(/PATCHBAY_SECRET_KEY must be 32 bytes/)
  })

  it('throws typed errors with stable codes', async () => {
    const pb = await createPatchbay({
      dataDir: mkdtempSync(join(tmpdir(), 'pb-lib-')),
      refreshIntervalMs: 0,
    })
    try {
      const err = await pb.connectors
        .create({ name: '!bad', baseUrl: 'nope', auth: { type: 'bearer' } })
        .catch((e: unknown) => e)
      expect(isPatchbayError(err, 'input.invalid')).toBe(true)
      expect(JSON.parse(JSON.stringify(err))).toEqual({
        code: 'input.invalid',
        message: expect.stringContaining('name'),
        details: [
          { path: 'name', rule: expect.stringContaining('must start with') },
          { path: 'baseUrl', rule: 'must be an absolute http:// or https:// URL' },
        ],
      })
    } finally {
      await pb.close()
    }
  })
})
