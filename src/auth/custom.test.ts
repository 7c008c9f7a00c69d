import { request as undiciRequest } from 'undici'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { isPatchbayError, type PatchbayError } from '../errors.js'
import { encodeBody, type OutgoingRequest } from '../lib/request.js'
import { startTokenServer, type TokenServer } from '../../test/peers/token-server.js'
import { customScheme, customSettings, extractValue, type CustomSettings } from './custom.js'
import type { AuthContext } from './scheme.js'
import { createTestAuthContext } from './testing.js'

const PASSWORD = 'pw-very-secret'

let server: TokenServer
const sessions = new Set<string>()
let tokenStepStatus: number | undefined
let loginBody: unknown

beforeAll(async () => {
  server = await startTokenServer()
  // Step 1: a login that answers a session id and the account.
  server.route('POST', '/login', (req) => {
    if (loginBody !== undefined) return { body: loginBody }
    if (req.form?.username !== 'ada' || req.form.password !== PASSWORD) {
      return { status: 401, body: { error: 'bad credentials' } }
    }
    const id = `sess-${sessions.size + 1}`
    sessions.add(id)
    return { body: { session: { id }, account: { id: 42, name: 'Acme' } } }
  })
  // Step 2: trades the session for an API token.
  server.route('GET', '/token', (req, srv) => {
    if (tokenStepStatus) return { status: tokenStepStatus, body: { error: 'nope' } }
    if (!sessions.has(req.headers['x-session'] ?? '') || req.query.account !== '42') {
      return { status: 403, body: { error: 'no session' } }
    }
    return { body: { data: { token: srv.issue() } } }
  })
})
afterAll(() => server.close())
beforeEach(() => {
  server.requests.length = 0
  tokenStepStatus = undefined
  loginBody = undefined
})

function twoStep(): CustomSettings {
  return customSettings.parse({
    acquire: [
      {
        method: 'POST',
        url: `${server.url}/login`,
        bodyType: 'form',
        body: { username: '{{username}}', password: '{{password}}' },
        extract: { session_id: 'session.id', account_id: 'account.id' },
      },
      {
        method: 'GET',
        url: `${server.url}/token`,
        headers: { 'X-Session': '{{session_id}}' },
        query: { account: '{{account_id}}' },
        extract: { authtoken: 'data.token' },
      },
    ],
    apply: {
      headers: { Authorization: 'Zoho-oauthtoken {{authtoken}}', 'X-Account': '{{account_id}}' },
      query: { org: '{{org}}' },
    },
  })
}

function context(
  settings: CustomSettings = twoStep(),
  values: Record<string, unknown> = { username: 'ada', password: PASSWORD, org: 'acme' },
) {
  return createTestAuthContext({ settings, values, now: () => 1_700_000_000_000 })
}

function request(method: string, path: string): OutgoingRequest {
  return { method, url: new URL(path, server.url), headers: {}, body: { kind: 'none' } }
}

async function send(req: OutgoingRequest) {
  const body = encodeBody(req)
  const res = await undiciRequest(req.url, {
    method: req.method as 'GET',
    headers: req.headers,
    ...(body === undefined ? {} : { body }),
  })
  return { status: res.statusCode, body: (await res.body.json()) as unknown }
}

async function connect(ctx: AuthContext<CustomSettings>) {
  const before = ctx.credentials
  const outcome = await customScheme.connect(ctx)
  if (outcome.status !== 'connected') throw new Error('not connected')
  // The hook leaves the context as it found it; the engine stores what it returns.
  expect(ctx.credentials).toBe(before)
  ctx.credentials = outcome.credentials
  return outcome.credentials
}

async function failure(promise: Promise<unknown>): Promise<PatchbayError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  if (!isPatchbayError(err)) throw new Error(`expected a PatchbayError, got ${String(err)}`)
  return err
}

describe('custom acquire', () => {
  it('runs the steps in order, each using what the steps before it extracted', async () => {
    const credentials = await connect(context())
    expect(credentials).toEqual({
      values: { session_id: 'sess-1', account_id: '42', authtoken: server.issued.at(-1) },
      obtainedAt: 1_700_000_000_000,
    })
    const [login, token] = server.requests
    expect(server.requests).toHaveLength(2)
    expect(login).toMatchObject({ method: 'POST', path: '/login', query: {} })
    expect(login!.headers['content-type']).toBe('application/x-www-form-urlencoded')
    expect(login!.body).toBe(`username=ada&password=${PASSWORD}`)
    expect(token).toMatchObject({
      method: 'GET',
      path: '/token',
      query: { account: '42' },
      body: '',
    })
    expect(token!.headers['x-session']).toBe('sess-1')
  })

  it('applies headers and query parameters from templates', async () => {
    const ctx = context()
    const credentials = await connect(ctx)
    const req = request('GET', '/protected/items?limit=5')
    await customScheme.apply(ctx, req)
    expect(req.headers).toEqual({
      authorization: `Zoho-oauthtoken ${credentials.values.authtoken}`,
      'x-account': '42',
    })
    expect(req.url.search).toBe('?limit=5&org=acme')
    expect(await send(req)).toEqual({ status: 200, body: { ok: true, path: '/protected/items' } })
  })

  it('runs every step again on refresh, and the retried request succeeds', async () => {
    const ctx = context()
    const before = await connect(ctx)
    server.expire()
    const stale = request('GET', '/protected/items')
    await customScheme.apply(ctx, stale)
    expect((await send(stale)).status).toBe(401)

    ctx.credentials = await customScheme.refresh!(ctx)
    const retry = request('GET', '/protected/items')
    await customScheme.apply(ctx, retry)
    expect((await send(retry)).status).toBe(200)
    expect(server.requestsTo('/login')).toHaveLength(2)
    expect(server.tokenRequests).toBe(2)
    expect(ctx.credentials.values.session_id).not.toBe(before.values.session_id)
    expect(ctx.credentials.values.authtoken).not.toBe(before.values.authtoken)
  })

  it('names the failing step and its status', async () => {
    const wrong = await failure(
      customScheme.connect(context(twoStep(), { username: 'ada', password: 'wrong-password' })),
    )
    expect(wrong.code).toBe('connection.flow_failed')
    expect(wrong.message).toBe(
      "acquire step 1 of 2 was refused (HTTP 401): check the connection's values",
    )
    expect(wrong.details).toEqual({ step: 0, status: 401, transient: false })
    expect(JSON.stringify(wrong)).not.toContain('wrong-password')

    tokenStepStatus = 503
    const second = await failure(customScheme.refresh!(context()))
    expect(second.code).toBe('refresh.failed')
    expect(second.message).toBe('acquire step 2 of 2 failed: the server answered HTTP 503')
    expect(second.details).toEqual({ step: 1, status: 503, transient: true })
    expect(server.tokenRequests).toBe(1)
  })

  it('names the step, the value and the path when an extraction finds nothing', async () => {
    loginBody = { session: {}, account: { id: 42 }, secret: 'leaky-value' }
    const err = await failure(customScheme.connect(context()))
    expect(err.code).toBe('connection.flow_failed')
    expect(err.message).toBe(
      'acquire step 1 of 2 (HTTP 200): cannot extract "session_id": nothing at "session.id": "session" has no "id" (it is empty)',
    )
    expect(err.details).toEqual({ step: 0, status: 200, extract: 'session_id', path: 'session.id' })
    expect(server.tokenRequests).toBe(0)
  })

  it('names an unset template value and the step that needed it', async () => {
    const err = await failure(customScheme.connect(context(twoStep(), { username: 'ada' })))
    expect(err.message).toBe('acquire step 1 of 2: template value "password" is not set')
    expect(err.details).toEqual({ step: 0, missing: 'password' })
    expect(server.requests).toHaveLength(0)
  })
})

describe('custom apply', () => {
  const applyOnly = () =>
    customSettings.parse({
      apply: {
        headers: { 'X-Api-Key': '{{api_key}}' },
        body: { api_token: '{{api_key}}' },
        basic: { username: '{{username}}', password: '{{password}}' },
      },
    })
  const values = { api_key: 'key-123', username: 'ada', password: PASSWORD }

  it('connects without a request when there is nothing to acquire, and cannot refresh', async () => {
    const ctx = context(applyOnly(), values)
    expect(await customScheme.connect(ctx)).toEqual({
      status: 'connected',
      credentials: { values: {}, obtainedAt: 1_700_000_000_000 },
    })
    expect(server.requests).toHaveLength(0)
    expect(customScheme.canRefresh(applyOnly())).toBe(false)
    expect(customScheme.canRefresh(twoStep())).toBe(true)
    expect((await failure(customScheme.refresh!(ctx))).code).toBe('refresh.unsupported')
  })

  it('sets body fields on JSON and form bodies, and basic credentials', async () => {
    const ctx = context(applyOnly(), values)
    const json: OutgoingRequest = {
      ...request('POST', '/x'),
      body: { kind: 'json', value: { a: 1 } },
    }
    await customScheme.apply(ctx, json)
    expect(json.body).toEqual({ kind: 'json', value: { a: 1, api_token: 'key-123' } })
    expect(json.headers).toEqual({
      'x-api-key': 'key-123',
      authorization: `Basic ${Buffer.from(`ada:${PASSWORD}`).toString('base64')}`,
    })

    const empty = request('POST', '/x')
    await customScheme.apply(ctx, empty)
    expect(empty.body).toEqual({ kind: 'form', fields: [['api_token', 'key-123']] })
  })

  it('says which template of apply lacks a value', async () => {
    const err = await failure(
      Promise.resolve().then(() =>
        customScheme.apply(context(applyOnly(), {}), request('GET', '/')),
      ),
    )
    expect(err.code).toBe('connection.invalid_values')
    expect(err.message).toBe('apply.headers.X-Api-Key: template value "api_key" is not set')
  })

  it('redacts every header, query key and body field it applies', () => {
    expect(customScheme.redact?.(applyOnly())).toEqual({
      headers: ['x-api-key', 'authorization'],
      query: [],
      form: ['api_token'],
    })
    expect(customScheme.redact?.(twoStep())).toEqual({
      headers: ['authorization', 'x-account'],
      query: ['org'],
      form: [],
    })
  })
})

describe('custom settings', () => {
  const step = { url: 'https://example.com/login', extract: { token: 'data.token' } }

  it('accepts 1..10 steps, or none at all', () => {
    const apply = { headers: { 'X-Token': '{{token}}' } }
    expect(customSettings.safeParse({ acquire: [step], apply }).success).toBe(true)
    expect(customSettings.safeParse({ apply }).success).toBe(true)
    const none = customSettings.safeParse({ acquire: [], apply })
    const eleven = customSettings.safeParse({ acquire: Array(11).fill(step), apply })
    expect(none.error?.issues[0]).toMatchObject({ path: ['acquire'] })
    expect(eleven.error?.issues[0]).toMatchObject({
      path: ['acquire'],
      message: 'has at most 10 steps',
    })
  })

  it('names bad steps, extract names and an empty apply', () => {
    const result = customSettings.safeParse({
      acquire: [{ url: 'ftp://example.com', extract: { 'bad name': 'x', ok: '' } }],
      apply: {},
    })
    expect(result.error?.issues.map((i) => i.path.join('.')).sort()).toEqual([
      'acquire.0.extract.bad name',
      'acquire.0.extract.ok',
      'acquire.0.url',
      'apply',
    ])
  })

  it('can be validated as a draft (partial)', () => {
    expect(customSettings.partial().safeParse({}).success).toBe(true)
  })
})

describe('extractValue', () => {
  it('reads strings, numbers and booleans by dotted or indexed path', () => {
    const body = { items: [{ id: 7, ok: true, name: 'x' }] }
    expect(extractValue(body, 'items[0].id')).toEqual({ ok: true, value: '7' })
    expect(extractValue(body, 'items.0.ok')).toEqual({ ok: true, value: 'true' })
    expect(extractValue(body, 'items.0.name')).toEqual({ ok: true, value: 'x' })
  })

  it('explains missing, empty and non-scalar values', () => {
    expect(extractValue({ a: { b: 'x' } }, 'a.b.c')).toEqual({
      ok: false,
      problem: 'nothing at "a.b.c": "a.b" is a string, not an object',
    })
    expect(extractValue({ a: '' }, 'a')).toEqual({
      ok: false,
      problem: '"a" is an empty string, not a string',
    })
    expect(extractValue({ a: null }, 'a')).toEqual({
      ok: false,
      problem: '"a" is null, not a string',
    })
    expect(extractValue({ a: [] }, 'a')).toEqual({
      ok: false,
      problem: '"a" is an array, not a string',
    })
  })
})
