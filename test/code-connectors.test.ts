/**
 * Code connectors end to end: a `defineConnector` file written to a temporary folder, loaded by
 * the server at start, connected, and called against a loopback upstream that checks what the
 * `apply` lambda put on the request; `refresh` on a 401, `identity` on the connection, errors and
 * hangs inside lambdas answered as `connector.code_error` while the server keeps serving.
 */
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestPatchbay, testStoreKinds, type TestPatchbay } from './helpers/patchbay.js'
import { json, startUpstream } from './peers/upstream.js'

const INDEX = pathToFileURL(join(import.meta.dirname, '..', 'src', 'index.ts')).href
const PASSWORD = 'pw-very-secret-7731'

/** The connector file, as an operator would write it. */
function connectorSource(upstreamUrl: string, name = 'Code CRM'): string {
  return `
import { defineConnector } from '${INDEX}'

export default defineConnector({
  name: '${name}',
  linkName: 'code_crm',
  baseUrl: '${upstreamUrl}api/',
  fields: [
    { name: 'username', label: 'User', type: 'text' },
    { name: 'password', label: 'Password', type: 'password' },
  ],
  auth: {
    type: 'custom',
    async acquire(connection, { http }) {
      const res = await http('${upstreamUrl}session', {
        method: 'POST',
        body: { username: connection.username, password: connection.password },
      })
      if (res.status !== 200) throw new Error('login refused for password ' + connection.password)
      return { access_token: res.body.session, refresh_token: res.body.refresh, email: res.body.email }
    },
    apply(connection, accessToken, request) {
      if (request.url.includes('/boom')) {
        throw new Error('apply exploded holding ' + accessToken + ' and ' + connection.password)
      }
      if (request.url.includes('/hang')) return new Promise(() => {})
      request
        .headers({ 'X-Session': accessToken, 'X-Seen': request.method + ' ' + request.url })
        .params({ sig: 'sig-' + connection.username })
      if (request.method === 'POST') request.payload({ tenant: 'acme', count: 3 })
      request.user(connection.username).password(connection.password)
    },
    async refresh(connection, refreshToken, { http }) {
      const res = await http('${upstreamUrl}refresh', { method: 'POST', body: { refresh_token: refreshToken } })
      if (res.status !== 200) throw new Error('refresh refused')
      return { access_token: res.body.session, refresh_token: res.body.refresh, expires_in: 3600, refresh_token_expires_in: 7200 }
    },
    identity: (connection) => connection.email,
    refreshOn: [401],
  },
  customAction: { enabled: true },
  actions: [{ name: 'List things', method: 'GET', path: 'things' }],
  lambdaTimeoutMs: 1500,
})
`
}

/** Sessions, refresh tokens, and an API that checks everything `apply` must have set. */
async function startCrm() {
  const up = await startUpstream()
  const live = new Set<string>()
  const refreshTokens = new Set<string>()
  const counts = { session: 0, refresh: 0 }
  let n = 0
  const issue = () => {
    const session = `sess_${++n}_${Math.random().toString(36).slice(2)}`
    const refresh = `ref_${n}_${Math.random().toString(36).slice(2)}`
    live.add(session)
    refreshTokens.add(refresh)
    return { session, refresh, email: 'ann@example.com' }
  }
  up.route('/session', (req, res) => {
    counts.session++
    const body = JSON.parse(req.body) as { username: string; password: string }
    if (body.password !== PASSWORD) return json(res, 401, { error: 'bad password' })
    json(res, 200, issue())
  })
  up.route('/refresh', (req, res) => {
    counts.refresh++
    const { refresh_token } = JSON.parse(req.body) as { refresh_token: string }
    if (!refreshTokens.delete(refresh_token)) return json(res, 400, { error: 'invalid_grant' })
    json(res, 200, issue())
  })
  up.route('*', (req, res) => {
    const basic = `Basic ${Buffer.from(`ann:${PASSWORD}`).toString('base64')}`
    const problems: string[] = []
    if (!live.has(String(req.headers['x-session']))) problems.push('session')
    if (req.headers.authorization !== basic) problems.push('basic')
    if (req.query.get('sig') !== 'sig-ann') problems.push('sig')
    if (req.method === 'POST') {
      const body = JSON.parse(req.body || '{}') as Record<string, unknown>
      if (body.tenant !== 'acme' || body.count !== 3) problems.push('payload')
    }
    if (problems.length) return json(res, 401, { error: 'denied', problems })
    json(res, 200, { ok: true, path: req.path, seen: req.headers['x-seen'], body: req.body })
  })
  return Object.assign(up, { live, counts })
}

describe.each(await testStoreKinds())('code connectors on %s', (storeKind) => {
  let up: Awaited<ReturnType<typeof startCrm>>
  let dir: string
  let t: TestPatchbay
  let connectionId: string

  beforeAll(async () => {
    up = await startCrm()
    dir = mkdtempSync(join(tmpdir(), 'patchbay-connectors-'))
    writeFileSync(join(dir, 'crm.mjs'), connectorSource(up.url))
    writeFileSync(join(dir, 'README.txt'), 'not a connector: ignored')
    t = await startTestPatchbay({ storeKind, connectorsDir: dir })
  })
  afterAll(async () => {
    await t.close()
    await up.close()
  })

  const call = (body: Record<string, unknown>) =>
    t.api('POST', `/api/v1/connections/${connectionId}/request`, body)

  it('loads the file as a ready connector managed by code', async () => {
    expect(t.pb.codeConnectors).toEqual(['code_crm'])
    const c = await t.api('GET', '/api/v1/connectors/code_crm')
    expect(c.status).toBe(200)
    expect(c.body).toMatchObject({
      name: 'Code CRM',
      linkName: 'code_crm',
      stage: 'ready',
      source: 'code',
      auth: { type: 'code:code_crm', refreshOn: [401] },
      missing: [],
    })
    expect(c.body.connectionFields.map((f: { name: string }) => f.name)).toEqual([
      'username',
      'password',
    ])
    expect(JSON.stringify(c.body)).not.toMatch(/function|acquire|=>/)
  })

  it('connects by running acquire, and shows the identity lambda’s answer', async () => {
    const res = await t.api('POST', '/api/v1/connections', {
      connector: 'code_crm',
      values: { username: 'ann', password: PASSWORD },
    })
    expect(res.status, JSON.stringify(res.body)).toBe(201)
    expect(res.body).toMatchObject({ status: 'connected', identity: 'ann@example.com' })
    expect(res.body.secretsSet).toEqual(['password'])
    expect(up.counts.session).toBe(1)
    connectionId = res.body.id
    const got = await t.api('GET', `/api/v1/connections/${connectionId}`)
    expect(got.body.identity).toBe('ann@example.com')
    expect(JSON.stringify(got.body)).not.toContain(PASSWORD)
  })

  it('sends what apply set: headers, query, a body field and basic auth, having seen the URL and method', async () => {
    const get = await call({ method: 'GET', path: 'things', query: { page: '2' } })
    expect(get.status).toBe(200)
    expect(get.body, JSON.stringify(get.body)).toMatchObject({ status: 200, body: { ok: true } })
    const sent = up.requests.at(-1)!
    expect(sent.path).toBe('/api/things')
    expect(sent.query.get('page')).toBe('2')
    expect(sent.query.get('sig')).toBe('sig-ann')
    // apply read the URL before it added `sig`, and the method.
    expect(get.body.body.seen).toBe(`GET ${up.origin}/api/things?page=2`)

    const post = await call({ method: 'POST', path: 'things', body: { name: 'x' } })
    expect(post.body, JSON.stringify(post.body)).toMatchObject({ status: 200 })
    expect(JSON.parse(up.requests.at(-1)!.body)).toEqual({ name: 'x', tenant: 'acme', count: 3 })
    expect(post.body.body.seen).toBe(`POST ${up.origin}/api/things`)
  })

  it('keeps what apply set out of the logs', async () => {
    const logs = await t.api('GET', `/api/v1/logs?connection=${connectionId}&limit=5`)
    const text = JSON.stringify(logs.body)
    expect(text).not.toContain(PASSWORD)
    for (const session of up.live) expect(text).not.toContain(session)
    expect(text).toContain('sig=[REDACTED]')
  })

  it('refreshes with the refresh lambda on a 401 and retries once', async () => {
    up.live.clear()
    const before = { ...up.counts }
    const res = await call({ method: 'GET', path: 'things' })
    expect(res.body, JSON.stringify(res.body)).toMatchObject({ status: 200, refreshed: true })
    expect(up.counts.refresh - before.refresh).toBe(1)
    expect(up.counts.session - before.session).toBe(0)
    const conn = await t.api('GET', `/api/v1/connections/${connectionId}`)
    expect(Date.parse(conn.body.expiresAt)).toBeGreaterThan(Date.now())
    expect(Date.parse(conn.body.refreshExpiresAt)).toBeGreaterThan(Date.now())
    const logs = await t.api('GET', `/api/v1/logs?connection=${connectionId}&limit=5`)
    expect(logs.body.items.map((l: { kind: string }) => l.kind)).toContain('refresh')
  })

  it('answers an error thrown by apply as a 502 connector.code_error naming the connector, without secrets', async () => {
    const res = await call({ method: 'GET', path: 'boom' })
    expect(res.status).toBe(502)
    expect(res.body.error.code).toBe('connector.code_error')
    expect(res.body.error.message).toContain('Code CRM')
    expect(res.body.error.message).toContain('apply')
    expect(res.body.error.message).toContain('[REDACTED]')
    expect(res.body.error.message).not.toContain(PASSWORD)
    for (const session of up.live) expect(res.body.error.message).not.toContain(session)
    // The server keeps serving.
    const next = await call({ method: 'GET', path: 'things' })
    expect(next.body.status).toBe(200)
    expect((await fetch(`${t.url}/healthz`)).status).toBe(200)
  })

  it('bounds a lambda that never settles with its time limit', async () => {
    const started = Date.now()
    const res = await call({ method: 'GET', path: 'hang' })
    expect(res.status).toBe(502)
    expect(res.body.error).toMatchObject({
      code: 'connector.code_error',
      message: expect.stringMatching(/Code CRM.*apply.*did not finish within 1500 ms/),
    })
    expect(Date.now() - started).toBeLessThan(10_000)
    await t.api('POST', `/api/v1/connections/${connectionId}/breaker/reset`)
  })

  it('reports a failing acquire on connect as connector.code_error without the password', async () => {
    const res = await t.api('POST', '/api/v1/connections', {
      connector: 'code_crm',
      values: { username: 'ann', password: 'wrong-password-123' },
    })
    expect(res.status).toBe(502)
    expect(res.body.error.code).toBe('connector.code_error')
    expect(res.body.error.message).toMatch(/Code CRM.*acquire/)
    expect(res.body.error.message).not.toContain('wrong-password-123')
  })

  it('refuses to change or delete it through the API (409), and to reuse its auth type', async () => {
    const patch = await t.api('PATCH', '/api/v1/connectors/code_crm', { description: 'x' })
    expect(patch.status).toBe(409)
    expect(patch.body.error.code).toBe('connector.managed_by_code')
    expect(patch.body.error.message).toMatch(/managed by code/)
    const del = await t.api('DELETE', '/api/v1/connectors/code_crm')
    expect(del.status).toBe(409)
    expect(del.body.error.code).toBe('connector.managed_by_code')
    for (const auth of [
      { type: 'code:code_crm' },
      { type: 'multi', options: { a: { label: 'A', type: 'code:code_crm' } } },
    ]) {
      const copy = await t.api('POST', '/api/v1/connectors', {
        name: 'Copycat',
        baseUrl: 'https://elsewhere.example.com/',
        auth,
      })
      expect(copy.status, JSON.stringify(copy.body)).toBe(400)
      expect(JSON.stringify(copy.body.error.details)).toContain('belongs to a code connector')
    }
    const openapi = await t.api('GET', '/api/v1/openapi.json')
    expect(JSON.stringify(openapi.body)).not.toContain('code:code_crm')
  })

  it('runs saved actions of the code connector', async () => {
    const c = await t.api('GET', '/api/v1/connectors/code_crm')
    const run = await t.api('POST', `/api/v1/actions/${c.body.actions[0].id}/run`, {
      connection: connectionId,
    })
    expect(run.body, JSON.stringify(run.body)).toMatchObject({ status: 200 })
  })

  it('upserts by link name when a server starts again with a changed file', async () => {
    const before = await t.api('GET', '/api/v1/connectors/code_crm')
    writeFileSync(join(dir, 'crm.mjs'), connectorSource(up.url, 'Code CRM v2'))
    const again = await startTestPatchbay({
      store: t.store,
      dataDir: t.dataDir,
      connectorsDir: dir,
    })
    try {
      const after = await again.api('GET', '/api/v1/connectors/code_crm')
      expect(after.body).toMatchObject({
        id: before.body.id,
        name: 'Code CRM v2',
        stage: 'ready',
        connectionCount: before.body.connectionCount,
      })
      expect(after.body.actions[0].id).toBe(before.body.actions[0].id)
      const res = await again.api('POST', `/api/v1/connections/${connectionId}/request`, {
        path: 'things',
      })
      expect(res.body.status).toBe(200)
    } finally {
      await again.close()
    }
  })
})

describe('code connector files', () => {
  it('stop the start with the file named when one does not export a connector', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'patchbay-connectors-'))
    writeFileSync(join(dir, 'broken.js'), 'export default 42\n')
    await expect(startTestPatchbay({ connectorsDir: dir })).rejects.toThrow(
      /broken\.js: must default-export defineConnector/,
    )
  })

  it('stop the start when a lambda is unknown or belongs to another type', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'patchbay-connectors-'))
    writeFileSync(
      join(dir, 'x.mjs'),
      `export default { name: 'X', baseUrl: 'https://x.example.com/', auth: { type: 'custom', selected: () => 'a', apply() {} } }\n`,
    )
    await expect(startTestPatchbay({ connectorsDir: dir })).rejects.toThrow(
      /x\.mjs: auth\.selected needs auth\.type "multi"/,
    )
  })
})
