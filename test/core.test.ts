import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { json, startUpstream, type Upstream } from './peers/upstream.js'
import {
  startTestPatchbay,
  storeContains,
  testStoreKinds,
  type TestPatchbay,
} from './helpers/patchbay.js'

describe.each(await testStoreKinds())('on %s', (storeKind) => {
  let up: Upstream
  let other: Upstream
  let t: TestPatchbay

  beforeAll(async () => {
    up = await startUpstream()
    other = await startUpstream()
    t = await startTestPatchbay({ storeKind })
  })
  afterAll(async () => {
    await t.close()
    await up.close()
    await other.close()
  })

  async function readyConnector(body: Record<string, unknown>) {
    const created = await t.api('POST', '/api/v1/connectors', {
      baseUrl: up.url,
      customAction: { enabled: true },
      ...body,
    })
    expect(created.status, JSON.stringify(created.body)).toBe(201)
    const ready = await t.api('POST', `/api/v1/connectors/${created.body.id}/ready`)
    expect(ready.status, JSON.stringify(ready.body)).toBe(200)
    return ready.body
  }

  describe('auth types apply exactly their credentials', () => {
    it('basic sends Authorization: Basic base64(user:pass) and nothing else', async () => {
      const c = await readyConnector({ name: 'Basic API', auth: { type: 'basic' } })
      const conn = await t.api('POST', '/api/v1/connections', {
        connector: c.id,
        values: { username: 'ann', password: 's3cret-pass' },
      })
      expect(conn.status).toBe(201)
      expect(conn.body.status).toBe('connected')
      up.requests.length = 0
      const res = await t.api('POST', `/api/v1/connections/${conn.body.id}/request`, {
        method: 'GET',
        path: '/things',
        query: { a: '1' },
      })
      expect(res.status).toBe(200)
      expect(res.body).toMatchObject({ status: 200, body: { ok: true, path: '/things' } })
      expect(up.requests).toHaveLength(1)
      const r = up.requests[0]!
      expect(r.headers.authorization).toBe(
        `Basic ${Buffer.from('ann:s3cret-pass').toString('base64')}`,
      )
      expect(r.url).toBe('/things?a=1')
      expect(Object.keys(r.headers).sort()).toEqual(['authorization', 'connection', 'host'])
    })

    it('api_key puts each key in its header, query or form location', async () => {
      const c = await readyConnector({
        name: 'Keyed API',
        auth: {
          type: 'api_key',
          params: [
            { name: 'Key', key: 'X-Api-Key', in: 'header' },
            { name: 'Token', key: 'token', in: 'query' },
            { name: 'Signature', key: 'sig', in: 'form' },
          ],
        },
      })
      const conn = await t.api('POST', '/api/v1/connections', {
        connector: c.id,
        values: { 'X-Api-Key': 'hdr-key-1', token: 'qry-key-2', sig: 'frm-key-3' },
      })
      expect(conn.status, JSON.stringify(conn.body)).toBe(201)
      up.requests.length = 0
      const res = await t.api('POST', `/api/v1/connections/${conn.body.id}/request`, {
        method: 'POST',
        path: 'submit',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: { name: 'x y' },
      })
      expect(res.body.status).toBe(200)
      const r = up.requests[0]!
      expect(r.headers['x-api-key']).toBe('hdr-key-1')
      expect(r.query.get('token')).toBe('qry-key-2')
      expect(r.headers['content-type']).toBe('application/x-www-form-urlencoded')
      expect(r.body).toBe('name=x+y&sig=frm-key-3')
    })

    it('bearer uses its prefix and a custom header (Intercom text token)', async () => {
      const c = await readyConnector({
        name: 'Text token',
        auth: { type: 'bearer', prefix: 'Token', header: 'X-Access' },
      })
      const conn = await t.api('POST', '/api/v1/connections', {
        connector: c.id,
        values: { token: 'tok-abc-123' },
      })
      up.requests.length = 0
      await t.api('POST', `/api/v1/connections/${conn.body.id}/request`, { path: 'x' })
      expect(up.requests[0]!.headers['x-access']).toBe('Token tok-abc-123')
      expect(up.requests[0]!.headers.authorization).toBeUndefined()
    })
  })

  describe('the origin guard', () => {
    it('refuses an absolute URL on another origin and sends nothing', async () => {
      const c = await readyConnector({ name: 'Guarded', auth: { type: 'bearer' } })
      const conn = await t.api('POST', '/api/v1/connections', {
        connector: c.id,
        values: { token: 'guarded-token' },
      })
      const before = other.requests.length
      const res = await t.api('POST', `/api/v1/connections/${conn.body.id}/request`, {
        url: `${other.origin}/steal`,
      })
      expect(res.status).toBe(400)
      expect(res.body.error.code).toBe('request.origin_refused')
      expect(other.requests.length).toBe(before)
    })

    it('follows a 302 to another origin without the credential', async () => {
      const c = await readyConnector({ name: 'Redirected', auth: { type: 'bearer' } })
      const conn = await t.api('POST', '/api/v1/connections', {
        connector: c.id,
        values: { token: 'redirect-token' },
      })
      up.route('/hop', (_req, res) => {
        res.writeHead(302, { location: `${other.origin}/landed` })
        res.end()
      })
      other.requests.length = 0
      const res = await t.api('POST', `/api/v1/connections/${conn.body.id}/request`, {
        path: 'hop',
        headers: { cookie: 'sid=1' },
      })
      expect(res.body.status).toBe(200)
      expect(other.requests).toHaveLength(1)
      expect(other.requests[0]!.headers.authorization).toBeUndefined()
      expect(other.requests[0]!.headers.cookie).toBeUndefined()
      expect(JSON.stringify(other.requests[0]!.headers)).not.toContain('redirect-token')
    })
  })

  describe('detectOn', () => {
    it('catches an error hidden behind a 200 by regex and by title', async () => {
      const c = await readyConnector({
        name: 'Detector',
        auth: { type: 'bearer', detectOn: ['/"ok":\\s*false/', 'Access Denied'] },
      })
      const conn = await t.api('POST', '/api/v1/connections', {
        connector: c.id,
        values: { token: 'detect-token' },
      })
      up.route('/hidden', (_req, res) => json(res, 200, { ok: false, error: 'nope' }))
      up.route('/page', (_req, res) => {
        res.writeHead(200, { 'content-type': 'text/html' })
        res.end('<html><head><title>Access Denied</title></head></html>')
      })
      const a = await t.api('POST', `/api/v1/connections/${conn.body.id}/request`, {
        path: 'hidden',
      })
      expect(a.body.error.code).toBe('request.detected_error')
      const b = await t.api('POST', `/api/v1/connections/${conn.body.id}/request`, { path: 'page' })
      expect(b.body.error.code).toBe('request.detected_error')
    })
  })

  describe('secrets never leak', () => {
    it('keeps a connection secret out of answers, logs and the database file', async () => {
      const secret = 'zz-very-secret-value-4242'
      const c = await readyConnector({
        name: 'Leak check',
        auth: { type: 'api_key', params: [{ name: 'Key', key: 'key', in: 'query' }] },
      })
      const conn = await t.api('POST', '/api/v1/connections', {
        connector: c.id,
        values: { key: secret },
      })
      const res = await t.api('POST', `/api/v1/connections/${conn.body.id}/request`, {
        path: 'echo',
      })
      const got = await t.api('GET', `/api/v1/connections/${conn.body.id}`)
      const list = await t.api('GET', `/api/v1/connections?connector=${c.id}`)
      const logs = await t.api('GET', `/api/v1/logs?connection=${conn.body.id}`)
      expect(up.requests.at(-1)!.query.get('key')).toBe(secret)
      for (const body of [conn.body, res.body, got.body, list.body, logs.body])
        expect(JSON.stringify(body)).not.toContain(secret)
      expect(logs.body.items[0].url).toContain('key=[REDACTED]')
      expect(got.body.secretsSet).toEqual(['key'])
      expect(await storeContains(t, secret)).toBe(false)
      expect(await storeContains(t, conn.body.id)).toBe(true)
    })
  })
})
