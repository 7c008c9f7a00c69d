/**
 * `http_token` (Intercom's HTTP-request token) through the API: the test request that shows the
 * answer with the token masked, the ready gate it opens for the settings tested, the CLI command,
 * and the documented limit: an API that answers 200 to a denied request is not refreshed unless
 * `detectOn` recognises the answer.
 */
import { Writable } from 'node:stream'
import { Command } from 'commander'
import { pino } from 'pino'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { registerResourceCommands } from '../src/cli/commands/resources.js'
import { startTestPatchbay, testStoreKinds, type TestPatchbay } from './helpers/patchbay.js'
import { startTokenServer, type TokenServer } from './peers/token-server.js'

const PASSWORD = 'pw-token-secret-5519'

describe.each(await testStoreKinds())('http_token on %s', (storeKind) => {
  let server: TokenServer
  let t: TestPatchbay
  const logLines: string[] = []

  beforeAll(async () => {
    server = await startTokenServer({
      accept: (req) => (req.json as { password?: string } | undefined)?.password === PASSWORD,
    })
    server.route('POST', '/echo-token', (req, s) => ({
      body: { data: { token: s.issue() }, echo: req.json },
    }))
    const logger = pino(
      { level: 'trace' },
      new Writable({
        write(chunk: Buffer, _enc, done) {
          logLines.push(chunk.toString('utf8'))
          done()
        },
      }),
    )
    t = await startTestPatchbay({ storeKind, logger })
  })
  afterAll(async () => {
    await t.close()
    await server.close()
  })

  async function draft(auth: Record<string, unknown> = {}, name = 'Token API') {
    const res = await t.api('POST', '/api/v1/connectors', {
      name,
      baseUrl: `${server.url}/protected/`,
      fields: [
        { name: 'username', type: 'text' },
        { name: 'password', type: 'password' },
      ],
      auth: {
        type: 'http_token',
        request: {
          method: 'POST',
          url: `${server.url}/token`,
          body: { username: '{{username}}', password: '{{password}}' },
        },
        tokenPath: 'data.token',
        expiresInPath: 'data.expires_in',
        prefix: 'Bearer',
        ...auth,
      },
      customAction: { enabled: true },
    })
    expect(res.status, JSON.stringify(res.body)).toBe(201)
    return res.body as { id: string; linkName: string; testRequired: boolean }
  }

  const values = { username: 'ann', password: PASSWORD }

  it('refuses ready until a test request of the current settings succeeds', async () => {
    const c = await draft()
    expect(c.testRequired).toBe(true)
    const early = await t.api('POST', `/api/v1/connectors/${c.id}/ready`)
    expect(early.status).toBe(409)
    expect(early.body.error.code).toBe('connector.incomplete')
    expect(early.body.error.message).toMatch(/test request/)
    expect(early.body.error.message).toContain(`/api/v1/connectors/${c.id}/test-token`)

    const before = server.tokenRequests
    const test = await t.api('POST', `/api/v1/connectors/${c.id}/test-token`, { values })
    expect(test.status, JSON.stringify(test.body)).toBe(200)
    expect(server.tokenRequests - before).toBe(1)
    const token = server.issued.at(-1)!
    const masked = `…${token.slice(-4)}`
    expect(test.body).toEqual({
      ok: true,
      status: 200,
      body: { data: { token: masked, expires_in: 3600 } },
      token: masked,
      tokenPath: 'data.token',
      headerPreview: `Authorization: Bearer ${masked}`,
    })
    expect(JSON.stringify(test.body)).not.toContain(token)
    expect((await t.api('GET', `/api/v1/connectors/${c.id}`)).body.testRequired).toBe(false)

    const ready = await t.api('POST', `/api/v1/connectors/${c.id}/ready`)
    expect(ready.status, JSON.stringify(ready.body)).toBe(200)
    expect(ready.body.stage).toBe('ready')

    // The raw token is in no answer, log entry or server log line.
    const logs = await t.api('GET', '/api/v1/logs?limit=100')
    expect(JSON.stringify(logs.body)).not.toContain(token)
    expect(logLines.join('\n')).not.toContain(token)
    expect(logLines.join('\n')).not.toContain(PASSWORD)
    expect(logLines.some((l) => l.includes('test-token'))).toBe(true)
  })

  it('asks for a new test when the settings change in draft, not when only the name does', async () => {
    const c = await draft({}, 'Token API 2')
    expect((await t.api('POST', `/api/v1/connectors/${c.id}/test-token`, { values })).body.ok).toBe(
      true,
    )
    const renamed = await t.api('PATCH', `/api/v1/connectors/${c.id}`, { name: 'Token API two' })
    expect(renamed.body.testRequired).toBe(false)
    const changed = await t.api('PATCH', `/api/v1/connectors/${c.id}`, {
      auth: { ...(renamed.body.auth as object), prefix: 'Token' },
    })
    expect(changed.status, JSON.stringify(changed.body)).toBe(200)
    expect(changed.body.testRequired).toBe(true)
    const refused = await t.api('POST', `/api/v1/connectors/${c.id}/ready`)
    expect(refused.status).toBe(409)
    expect(refused.body.error.code).toBe('connector.incomplete')
    const again = await t.api('POST', `/api/v1/connectors/${c.id}/test-token`, { values })
    expect(again.body.headerPreview).toMatch(/^Authorization: Token …/)
    expect((await t.api('POST', `/api/v1/connectors/${c.id}/ready`)).status).toBe(200)
  })

  it('reports a refused token request or a wrong tokenPath without opening the gate', async () => {
    const c = await draft({}, 'Token API 3')
    const refused = await t.api('POST', `/api/v1/connectors/${c.id}/test-token`, {
      values: { username: 'ann', password: 'wrong-password-0000' },
    })
    expect(refused.status).toBe(200)
    expect(refused.body).toMatchObject({
      ok: false,
      status: 401,
      body: { error: 'invalid_client' },
      problem: 'the auth endpoint answered HTTP 401',
      headerPreview: 'Authorization: Bearer (no token)',
    })
    expect(refused.body.token).toBeUndefined()
    const badPath = await draft({ tokenPath: 'data.access_token' }, 'Token API 4')
    const missing = await t.api('POST', `/api/v1/connectors/${badPath.id}/test-token`, { values })
    expect(missing.body).toMatchObject({ ok: false, status: 200 })
    expect(missing.body.problem).toMatch(/"data" has no "access_token".*token, expires_in/)
    // The token the endpoint issued is masked even when the path does not find it.
    const issued = server.issued.at(-1)!
    expect(missing.body.body).toEqual({ data: { token: '*****', expires_in: 3600 } })
    expect(JSON.stringify(missing.body)).not.toContain(issued)
    for (const id of [c.id, badPath.id]) {
      expect((await t.api('POST', `/api/v1/connectors/${id}/ready`)).status).toBe(409)
    }
  })

  it('names a template value the request needs and was not given', async () => {
    const c = await draft({}, 'Token API 5')
    const res = await t.api('POST', `/api/v1/connectors/${c.id}/test-token`, {
      values: { username: 'ann' },
    })
    expect(res.status).toBe(400)
    expect(res.body.error.code).toBe('connection.invalid_values')
    expect(res.body.error.message).toContain('password')
    const unknown = await t.api('POST', `/api/v1/connectors/${c.id}/test-token`, {
      values: { ...values, nope: 1 },
    })
    expect(unknown.status).toBe(400)
  })

  it('masks secrets the auth endpoint echoes back', async () => {
    const c = await draft(
      { request: { url: `${server.url}/echo-token`, body: { password: '{{password}}' } } },
      'Echo token',
    )
    const res = await t.api('POST', `/api/v1/connectors/${c.id}/test-token`, { values })
    expect(res.body.ok).toBe(true)
    expect(res.body.body.echo).toEqual({ password: '*****' })
    expect(JSON.stringify(res.body)).not.toContain(PASSWORD)
  })

  it('refuses a test request for a type that has none', async () => {
    const res = await t.api('POST', '/api/v1/connectors', {
      name: 'No test',
      baseUrl: server.url,
      auth: { type: 'bearer' },
    })
    const test = await t.api('POST', `/api/v1/connectors/${res.body.id}/test-token`, { values: {} })
    expect(test.status).toBe(400)
    expect(test.body.error.code).toBe('connector.invalid')
  })

  it('does not refresh when the API answers 200 to a denied request, unless detectOn catches it', async () => {
    // An API that says "access denied" with a 200: the token is never re-acquired for it.
    const lax = await startTokenServer({ deniedStatus: 200 })
    try {
      const connect = async (auth: Record<string, unknown>, name: string) => {
        const c = await t.api('POST', '/api/v1/connectors', {
          name,
          baseUrl: `${lax.url}/protected/`,
          auth: {
            type: 'http_token',
            request: { url: `${lax.url}/token` },
            tokenPath: 'data.token',
            prefix: 'Bearer',
            ...auth,
          },
          customAction: { enabled: true },
        })
        await t.api('POST', `/api/v1/connectors/${c.body.id}/test-token`, { values: {} })
        expect((await t.api('POST', `/api/v1/connectors/${c.body.id}/ready`)).status).toBe(200)
        const conn = await t.api('POST', '/api/v1/connections', { connector: c.body.id })
        expect(conn.body.status).toBe('connected')
        return conn.body.id as string
      }

      const plain = await connect({}, 'Lax API')
      lax.expire()
      let before = lax.tokenRequests
      const denied = await t.api('POST', `/api/v1/connections/${plain}/request`, { path: 'x' })
      expect(denied.body).toMatchObject({
        status: 200,
        refreshed: false,
        body: { error: 'invalid_token' },
      })
      expect(lax.tokenRequests - before).toBe(0)

      const detecting = await connect({ detectOn: ['/invalid_token/'] }, 'Lax API detected')
      lax.expire()
      before = lax.tokenRequests
      const fixed = await t.api('POST', `/api/v1/connections/${detecting}/request`, { path: 'x' })
      expect(fixed.body).toMatchObject({ status: 200, refreshed: true, body: { ok: true } })
      expect(lax.tokenRequests - before).toBe(1)
    } finally {
      await lax.close()
    }
  })
})

describe('patchbay connector test-token', () => {
  let server: TokenServer
  let t: TestPatchbay
  const out: string[] = []

  beforeAll(async () => {
    server = await startTokenServer()
    t = await startTestPatchbay()
    vi.stubEnv('PATCHBAY_URL', t.url)
    vi.stubEnv('PATCHBAY_ADMIN_KEY', t.adminKey)
  })
  afterEach(() => {
    out.length = 0
    process.exitCode = undefined
  })
  afterAll(async () => {
    vi.unstubAllEnvs()
    await t.close()
    await server.close()
  })

  async function cli(args: string[]): Promise<string> {
    out.length = 0
    const program = new Command().option('--json').exitOverride()
    registerResourceCommands(program)
    const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      out.push(String(chunk))
      return true
    })
    try {
      await program.parseAsync(['node', 'patchbay', ...args])
    } finally {
      write.mockRestore()
    }
    return out.join('')
  }

  it('shows the status, the masked token and the header, and exits 1 when there is no token', async () => {
    const c = await t.api('POST', '/api/v1/connectors', {
      name: 'Cli token',
      baseUrl: `${server.url}/protected/`,
      fields: [{ name: 'user', type: 'text' }],
      auth: {
        type: 'http_token',
        request: { url: `${server.url}/token`, body: { user: '{{user}}' } },
        tokenPath: 'data.token',
        prefix: 'Bearer',
      },
    })
    const text = await cli(['connector', 'test-token', c.body.linkName, '-v', 'user=ann'])
    const token = server.issued.at(-1)!
    expect(text).toContain('HTTP 200')
    expect(text).toContain(`token at data.token: …${token.slice(-4)}`)
    expect(text).toContain(`header: Authorization: Bearer …${token.slice(-4)}`)
    expect(text).not.toContain(token)
    expect(process.exitCode).toBeUndefined()
    expect((await t.api('POST', `/api/v1/connectors/${c.body.id}/ready`)).status).toBe(200)

    server.failNext({ status: 403, body: { error: 'forbidden' } })
    const failed = await cli(['--json', 'connector', 'test-token', c.body.id, '-v', 'user=ann'])
    expect(JSON.parse(failed)).toMatchObject({ ok: false, status: 403 })
    expect(process.exitCode).toBe(1)
  })
})
