/**
 * The UI's server side without a browser: the session cookie's flags, the origin rule for
 * state-changing requests made with it, sign-out, and the headers the UI is served with.
 */
import { createHash } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createUi, UI_SECURITY_HEADERS } from '../../src/server/ui.js'
import { startTestPatchbay, storeContains, type TestPatchbay } from '../helpers/patchbay.js'
import { ensureWebBuilt } from './helpers.js'

const CSP =
  "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

const connector = {
  name: 'Cookie API',
  baseUrl: 'http://127.0.0.1:9/',
  auth: { type: 'bearer' },
}

describe('the UI session', () => {
  let t: TestPatchbay
  let cookie: string
  let setCookie: string

  beforeAll(async () => {
    await ensureWebBuilt()
    t = await startTestPatchbay()
    const res = await fetch(`${t.url}/ui/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: t.url },
      body: JSON.stringify({ adminKey: t.adminKey }),
    })
    expect(res.status).toBe(201)
    setCookie = res.headers.get('set-cookie') ?? ''
    cookie = setCookie.split(';')[0]!
  })
  afterAll(async () => {
    await t.close()
  })

  const withCookie = (
    path: string,
    init: RequestInit & { headers?: Record<string, string> } = {},
  ) => fetch(`${t.url}${path}`, { ...init, headers: { cookie, ...init.headers } })

  it('signs in with the admin key into an HttpOnly, SameSite=Strict cookie of 256 random bits', () => {
    expect(setCookie).toMatch(/^patchbay_session=[A-Za-z0-9_-]{43,};/)
    expect(setCookie).toMatch(/; HttpOnly/)
    expect(setCookie).toMatch(/; SameSite=Strict/)
    expect(setCookie).toMatch(/; Path=\//)
    expect(setCookie).toMatch(/; Max-Age=\d+/)
    expect(setCookie).not.toMatch(/; Secure/) // plain http on loopback
  })

  it('keeps sessions in the database as a hash, never the id itself', async () => {
    const id = cookie.split('=')[1]!
    const hash = createHash('sha256').update(id).digest('hex')
    const stored = await t.store.getUiSession(hash)
    expect(stored?.expiresAt).toBeGreaterThan(Date.now())
    expect(await storeContains(t, id)).toBe(false)
  })

  it('refuses a wrong admin key and sets no cookie', async () => {
    const res = await fetch(`${t.url}/ui/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ adminKey: 'not-the-key' }),
    })
    expect(res.status).toBe(401)
    expect(res.headers.get('set-cookie')).toBeNull()
    expect((await res.json()).error.code).toBe('auth.unauthorized')
  })

  it('refuses a sign-in form posted from another origin', async () => {
    const res = await fetch(`${t.url}/ui/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: 'https://evil.example' },
      body: JSON.stringify({ adminKey: t.adminKey }),
    })
    expect(res.status).toBe(403)
    expect(res.headers.get('set-cookie')).toBeNull()
  })

  it('reads the API with the cookie alone', async () => {
    const res = await withCookie('/api/v1/connectors')
    expect(res.status).toBe(200)
    expect((await withCookie('/ui/session')).status).toBe(200)
    expect((await fetch(`${t.url}/ui/session`)).status).toBe(401)
    expect((await fetch(`${t.url}/api/v1/connectors`)).status).toBe(401)
  })

  it('refuses a state-changing request with the cookie from another origin, and writes nothing', async () => {
    const attempts: Record<string, string>[] = [
      { origin: 'https://evil.example' },
      { origin: 'null' },
      { 'sec-fetch-site': 'cross-site' },
      { 'sec-fetch-site': 'same-site' },
      { referer: 'https://evil.example/page' },
      {}, // no Origin, Sec-Fetch-Site or Referer at all
    ]
    for (const headers of attempts) {
      const res = await withCookie('/api/v1/connectors', {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify(connector),
      })
      expect(res.status, JSON.stringify(headers)).toBe(403)
      expect((await res.json()).error.code).toBe('auth.forbidden_origin')
    }
    const del = await withCookie('/api/v1/connectors/nope', {
      method: 'DELETE',
      headers: { origin: 'https://evil.example' },
    })
    expect(del.status).toBe(403)
    const proxy = await withCookie('/proxy/co_x/anything', {
      method: 'POST',
      headers: { origin: 'https://evil.example' },
      body: 'x',
    })
    expect(proxy.status).toBe(403)
    expect((await t.api('GET', '/api/v1/connectors')).body.items).toHaveLength(0)
  })

  it('refuses even a read with the cookie when the browser says it comes from another site', async () => {
    for (const site of ['cross-site', 'same-site']) {
      const res = await withCookie('/api/v1/connectors', { headers: { 'sec-fetch-site': site } })
      expect(res.status, site).toBe(403)
    }
    const own = await withCookie('/api/v1/connectors', {
      headers: { 'sec-fetch-site': 'same-origin' },
    })
    expect(own.status).toBe(200)
  })

  it('accepts a state-changing request with the cookie from its own origin', async () => {
    const byOrigin = await withCookie('/api/v1/connectors', {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: t.url },
      body: JSON.stringify(connector),
    })
    expect(byOrigin.status).toBe(201)
    const bySite = await withCookie('/api/v1/connectors', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'sec-fetch-site': 'same-origin' },
      body: JSON.stringify({ ...connector, name: 'Cookie API 2' }),
    })
    expect(bySite.status).toBe(201)
  })

  it('keeps accepting the admin key as a bearer token, from anywhere', async () => {
    const res = await t.api(
      'POST',
      '/api/v1/connectors',
      { ...connector, name: 'Bearer API' },
      { origin: 'https://elsewhere.example' },
    )
    expect(res.status).toBe(201)
  })

  it('signs out: the cookie is cleared and the session no longer works', async () => {
    const other = await fetch(`${t.url}/ui/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: t.url },
      body: JSON.stringify({ adminKey: t.adminKey }),
    })
    const otherCookie = other.headers.get('set-cookie')!.split(';')[0]!
    const cross = await fetch(`${t.url}/ui/session`, {
      method: 'DELETE',
      headers: { cookie: otherCookie, origin: 'https://evil.example' },
    })
    expect(cross.status).toBe(403)
    const res = await fetch(`${t.url}/ui/session`, {
      method: 'DELETE',
      headers: { cookie: otherCookie, origin: t.url },
    })
    expect(res.status).toBe(204)
    expect(res.headers.get('set-cookie')).toMatch(/^patchbay_session=; Max-Age=0/)
    const after = await fetch(`${t.url}/api/v1/connectors`, { headers: { cookie: otherCookie } })
    expect(after.status).toBe(401)
    // The first session is untouched.
    expect((await withCookie('/api/v1/connectors')).status).toBe(200)
  })

  it('ends a session when the named admin key that opened it is revoked', async () => {
    const created = await t.api('POST', '/api/v1/admin-keys', { name: 'ui-test' })
    expect(created.status, JSON.stringify(created.body)).toBe(201)
    const res = await fetch(`${t.url}/ui/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: t.url },
      body: JSON.stringify({ adminKey: created.body.key }),
    })
    expect(res.status).toBe(201)
    const named = res.headers.get('set-cookie')!.split(';')[0]!
    const read = () => fetch(`${t.url}/api/v1/connectors`, { headers: { cookie: named } })
    expect((await read()).status).toBe(200)
    expect((await t.api('DELETE', `/api/v1/admin-keys/${created.body.id}`)).status).toBe(204)
    expect((await read()).status).toBe(401)
  })

  it('serves the app shell with the CSP, no-cache, and the SPA fallback for page paths', async () => {
    for (const path of ['/', '/connectors', '/connectors/cn_123', '/logs?x=1']) {
      const res = await fetch(`${t.url}${path}`)
      expect(res.status, path).toBe(200)
      expect(res.headers.get('content-type')).toMatch(/^text\/html/)
      expect(res.headers.get('content-security-policy')).toBe(CSP)
      expect(res.headers.get('x-content-type-options')).toBe('nosniff')
      expect(res.headers.get('referrer-policy')).toBe('no-referrer')
      expect(res.headers.get('cache-control')).toBe('no-cache')
      expect(await res.text()).toMatch(/<div id="root"><\/div>/)
    }
    expect(UI_SECURITY_HEADERS['content-security-policy']).toBe(CSP)
  })

  it('caches hashed assets for a year and answers 404 for missing ones', async () => {
    const html = await (await fetch(t.url)).text()
    const asset = /src="(\/assets\/[^"]+\.js)"/.exec(html)![1]!
    const res = await fetch(`${t.url}${asset}`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/javascript/)
    expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable')
    expect(res.headers.get('content-security-policy')).toBe(CSP)
    expect((await fetch(`${t.url}/assets/nope-123.js`)).status).toBe(404)
    expect((await fetch(`${t.url}/assets/..%2f..%2fpackage.json`)).status).toBe(404)
  })

  it('leaves API and flow paths to the API: unknown ones answer JSON 404, not the app', async () => {
    const res = await t.api('GET', '/api/v1/nope')
    expect(res.status).toBe(404)
    expect(res.headers.get('content-type')).toMatch(/json/)
    expect((await fetch(`${t.url}/oauth/nope`)).headers.get('content-type')).toMatch(/json/)
  })

  it('describes the auth types in the OpenAPI document where the builder reads them', async () => {
    const doc = (await t.api('GET', '/api/v1/openapi.json')).body
    const variants = doc.components.schemas.ConnectorInput.properties.auth.oneOf as {
      properties: { type: { enum?: string[]; const?: string } }
    }[]
    const types = variants.map((v) => v.properties.type.const ?? v.properties.type.enum?.[0])
    expect(types).toEqual(expect.arrayContaining(['basic', 'api_key', 'oauth2', 'multi']))
  })

  it('says to run npm run build when the UI is not built', async () => {
    const ui = createUi(t.pb, { distDir: '/nonexistent/patchbay-web-dist/' })
    const res = await ui.routes.request('/connectors')
    expect(res.status).toBe(503)
    expect(await res.text()).toContain('npm run build')
    expect(res.headers.get('content-security-policy')).toBe(CSP)
  })
})

describe('the UI session behind https', () => {
  let t: TestPatchbay
  beforeAll(async () => {
    t = await startTestPatchbay({ publicUrl: 'https://patchbay.example' })
  })
  afterAll(async () => {
    await t.close()
  })

  it('marks the cookie Secure (with the __Host- prefix) and accepts the public origin', async () => {
    const res = await fetch(`${t.url}/ui/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: 'https://patchbay.example' },
      body: JSON.stringify({ adminKey: t.adminKey }),
    })
    expect(res.status).toBe(201)
    const setCookie = res.headers.get('set-cookie')!
    expect(setCookie).toMatch(/^__Host-patchbay_session=/)
    expect(setCookie).toMatch(/; Secure/)
    expect(setCookie).toMatch(/; HttpOnly/)
    expect(setCookie).toMatch(/; SameSite=Strict/)
    const cookie = setCookie.split(';')[0]!
    const created = await fetch(`${t.url}/api/v1/connectors`, {
      method: 'POST',
      headers: {
        cookie,
        origin: 'https://patchbay.example',
        'content-type': 'application/json',
      },
      body: JSON.stringify(connector),
    })
    expect(created.status).toBe(201)
  })
})
