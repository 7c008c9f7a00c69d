import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { request as undiciRequest } from 'undici'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { isPatchbayError, type PatchbayError } from '../errors.js'
import { createHttpClient } from '../lib/http-client.js'
import { encodeBody, type OutgoingRequest } from '../lib/request.js'
import {
  startTokenServer,
  type RecordedRequest,
  type TokenServer,
} from '../../test/peers/token-server.js'
import {
  httpTokenScheme,
  httpTokenSettings,
  testTokenRequest,
  type HttpTokenSettings,
} from './http-token.js'
import type { AuthContext } from './scheme.js'
import { createTestAuthContext } from './testing.js'

const SECRET = 's3cr3t-client-value'
const NOW = 1_700_000_000_000

const bodyOf = (req: RecordedRequest) => (req.json ?? req.form ?? {}) as Record<string, unknown>

let server: TokenServer
beforeAll(async () => {
  server = await startTokenServer({
    accept: (req) => bodyOf(req).client_secret === SECRET,
  })
})
afterAll(() => server.close())
beforeEach(() => {
  server.requests.length = 0
})

function settings(overrides: Record<string, unknown> = {}) {
  return httpTokenSettings.parse({
    request: {
      method: 'POST',
      url: `${server.url}/token`,
      headers: { 'X-Client': '{{client_id}}' },
      body: {
        client_id: '{{client_id}}',
        client_secret: '{{client_secret}}',
        scope: 'read',
        ttl: 60,
      },
    },
    tokenPath: 'data.token',
    expiresInPath: 'data.expires_in',
    prefix: 'Bearer',
    ...overrides,
  })
}

function context(
  s = settings(),
  values: Record<string, unknown> = { client_id: 'cid-1', client_secret: SECRET },
) {
  return createTestAuthContext({ settings: s, values, now: () => NOW })
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

/**
 * What the pipeline does (docs/pipeline.md): apply, send, and on a 401 refresh once and retry once.
 */
async function callWithRefresh(ctx: AuthContext<HttpTokenSettings>, path: string) {
  const attempt = async () => {
    const req = request('GET', path)
    await httpTokenScheme.apply(ctx, req)
    return send(req)
  }
  const first = await attempt()
  if (first.status !== 401) return { ...first, refreshed: false }
  ctx.credentials = await httpTokenScheme.refresh!(ctx)
  return { ...(await attempt()), refreshed: true }
}

async function failure(promise: Promise<unknown>): Promise<PatchbayError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  if (!isPatchbayError(err)) throw new Error(`expected a PatchbayError, got ${String(err)}`)
  return err
}

describe('http_token', () => {
  it('sends the configured request and keeps the token found at tokenPath', async () => {
    const outcome = await httpTokenScheme.connect(context())
    expect(outcome).toEqual({
      status: 'connected',
      credentials: {
        values: { token: server.issued.at(-1) },
        obtainedAt: NOW,
        expiresAt: NOW + 3600_000,
      },
    })
    expect(server.requests).toHaveLength(1)
    const sent = server.requests[0]!
    expect(sent).toMatchObject({ method: 'POST', path: '/token', query: {} })
    expect(sent.headers).toMatchObject({
      'x-client': 'cid-1',
      'content-type': 'application/json',
      accept: 'application/json',
    })
    expect(sent.json).toEqual({ client_id: 'cid-1', client_secret: SECRET, scope: 'read', ttl: 60 })
  })

  it('sends a form body when bodyType is form', async () => {
    const s = settings()
    await httpTokenScheme.connect(context({ ...s, request: { ...s.request, bodyType: 'form' } }))
    const sent = server.requests[0]!
    expect(sent.headers['content-type']).toBe('application/x-www-form-urlencoded')
    expect(sent.body).toBe(`client_id=cid-1&client_secret=${SECRET}&scope=read&ttl=60`)
  })

  it('applies the token as "header: prefix token"', async () => {
    const ctx = context()
    ctx.credentials = { values: { token: 'abc123' } }
    const req = request('GET', '/protected/items')
    await httpTokenScheme.apply(ctx, req)
    expect(req.headers).toEqual({ authorization: 'Bearer abc123' })

    const bare = context(settings({ prefix: undefined, header: 'X-Auth-Token' }))
    bare.credentials = { values: { token: 'abc123' } }
    const other = request('GET', '/protected/items')
    await httpTokenScheme.apply(bare, other)
    expect(other.headers).toEqual({ 'x-auth-token': 'abc123' })
    expect(httpTokenScheme.redact?.(bare.settings)).toEqual({ headers: ['x-auth-token'] })
  })

  it('refuses to apply before a token was acquired', async () => {
    const err = await failure(
      Promise.resolve().then(() => httpTokenScheme.apply(context(), request('GET', '/'))),
    )
    expect(err.code).toBe('connection.not_connected')
  })

  it('re-sends the token request when the token expires, and the retry succeeds', async () => {
    const ctx = context()
    const outcome = await httpTokenScheme.connect(ctx)
    if (outcome.status !== 'connected') throw new Error('not connected')
    ctx.credentials = outcome.credentials
    const first = ctx.credentials.values.token

    expect(await callWithRefresh(ctx, '/protected/items')).toMatchObject({
      status: 200,
      refreshed: false,
    })
    expect(server.tokenRequests).toBe(1)

    server.expire()
    const again = await callWithRefresh(ctx, '/protected/items')
    expect(again).toEqual({
      status: 200,
      body: { ok: true, path: '/protected/items' },
      refreshed: true,
    })
    expect(server.tokenRequests).toBe(2)
    expect(ctx.credentials.values.token).not.toBe(first)
    expect(server.requestsTo('/protected/items').map((r) => r.headers.authorization)).toEqual([
      `Bearer ${first}`,
      `Bearer ${first}`,
      `Bearer ${ctx.credentials.values.token}`,
    ])
  })

  it('fails with the status, never the secret, when the auth endpoint refuses', async () => {
    const bad = { client_id: 'cid-1', client_secret: 'wrong-secret-value' }
    const err = await failure(httpTokenScheme.connect(context(settings(), bad)))
    expect(err.code).toBe('connection.flow_failed')
    expect(err.message).toBe("token request was refused (HTTP 401): check the connection's values")
    expect(err.details).toEqual({ status: 401, transient: false })
    expect(JSON.stringify(err)).not.toContain('wrong-secret-value')

    // Refused on refresh, the credentials are dead: the user must reconnect.
    const refresh = await failure(httpTokenScheme.refresh!(context(settings(), bad)))
    expect(refresh.code).toBe('connection.needs_reauth')
    expect(refresh.message).toContain('HTTP 401')
  })

  it('says where the token path broke and which keys were there, never the values', async () => {
    server.failNext({ body: { token: 'leaked-token-value-123', expires: 5 } })
    const top = await failure(httpTokenScheme.connect(context()))
    expect(top.code).toBe('connection.flow_failed')
    expect(top.message).toBe(
      'token request (HTTP 200): no token: nothing at "data.token": the response has no "data" (its keys: token, expires)',
    )
    expect(top.details).toEqual({ status: 200, tokenPath: 'data.token' })

    server.failNext({ body: { data: { access: 'leaked-token-value-123' } } })
    const nested = await failure(httpTokenScheme.refresh!(context()))
    expect(nested.code).toBe('refresh.failed')
    expect(nested.message).toContain('"data" has no "token" (its keys: access)')

    server.failNext({ body: { data: { token: { value: 'leaked-token-value-123' } } } })
    const object = await failure(httpTokenScheme.connect(context()))
    expect(object.message).toContain('"data.token" is an object, not a string')

    server.failNext({ body: 'leaked-token-value-123' })
    const text = await failure(httpTokenScheme.connect(context()))
    expect(text.message).toContain('the response is not JSON')

    for (const err of [top, nested, object, text]) {
      expect(`${err.message} ${JSON.stringify(err)}`).not.toContain('leaked-token-value-123')
    }
  })

  it('names an unset template value', async () => {
    const err = await failure(httpTokenScheme.connect(context(settings(), { client_id: 'cid-1' })))
    expect(err.code).toBe('connection.flow_failed')
    expect(err.message).toBe('token request: template value "client_secret" is not set')
    expect(server.requests).toHaveLength(0)
  })

  it('fails clearly when the auth endpoint cannot be reached', async () => {
    const closed = createServer()
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve))
    const port = (closed.address() as AddressInfo).port
    await new Promise((resolve) => closed.close(resolve))
    const s = settings()
    const err = await failure(
      httpTokenScheme.connect(
        context({ ...s, request: { ...s.request, url: `http://127.0.0.1:${port}/token` } }),
      ),
    )
    expect(err.code).toBe('connection.flow_failed')
    expect(err.message).toBe(
      `token request: could not reach http://127.0.0.1:${port} (ECONNREFUSED)`,
    )
  })

  it('keeps no expiry when the response states none', async () => {
    server.failNext({ body: { data: { token: 'tok-without-expiry' } } })
    const outcome = await httpTokenScheme.connect(context())
    expect(outcome).toEqual({
      status: 'connected',
      credentials: { values: { token: 'tok-without-expiry' }, obtainedAt: NOW },
    })
  })

  it('is refreshable and adds no connection fields of its own', () => {
    expect(httpTokenScheme.canRefresh(settings())).toBe(true)
    expect(httpTokenScheme.connectionFields(settings())).toEqual([])
  })

  it('validates its settings', () => {
    expect(
      httpTokenSettings.parse({
        request: { url: 'https://{{sub}}.example.com/auth' },
        tokenPath: 'token',
      }),
    ).toEqual({
      request: { method: 'POST', url: 'https://{{sub}}.example.com/auth', bodyType: 'json' },
      tokenPath: 'token',
      header: 'Authorization',
    })
    const bad = httpTokenSettings.safeParse({
      request: { method: 'FETCH', url: 'example.com/token' },
      tokenPath: '',
      prefix: 'Bearer token',
    })
    expect(bad.error?.issues.map((i) => i.path.join('.')).sort()).toEqual([
      'prefix',
      'request.method',
      'request.url',
      'tokenPath',
    ])
  })
})

describe('testTokenRequest', () => {
  const http = createHttpClient()
  const values = { client_id: 'cid-1', client_secret: SECRET }

  it('reports the response, the token and a masked header preview', async () => {
    const result = await testTokenRequest(settings(), values, http)
    const token = server.issued.at(-1)!
    expect(result).toEqual({
      status: 200,
      body: { data: { token, expires_in: 3600 } },
      token,
      tokenPath: 'data.token',
      headerPreview: `Authorization: Bearer …${token.slice(-4)}`,
    })
  })

  it('reports where the path broke when there is no token', async () => {
    server.failNext({ body: { access_token: 'abc' } })
    const result = await testTokenRequest(settings(), values, http)
    expect(result).toEqual({
      status: 200,
      body: { access_token: 'abc' },
      tokenPath: 'data.token',
      problem: 'nothing at "data.token": the response has no "data" (its keys: access_token)',
      headerPreview: 'Authorization: Bearer (no token)',
    })
  })

  it('reports a refusal with its status and body', async () => {
    const result = await testTokenRequest(
      settings({ header: 'X-Token', prefix: undefined }),
      { ...values, client_secret: 'nope' },
      http,
    )
    expect(result).toEqual({
      status: 401,
      body: { error: 'invalid_client' },
      tokenPath: 'data.token',
      problem: 'the auth endpoint answered HTTP 401',
      headerPreview: 'X-Token: (no token)',
    })
  })

  it('throws for an unset template value', async () => {
    const err = await failure(testTokenRequest(settings(), { client_id: 'x' }, http))
    expect(err.code).toBe('connection.invalid_values')
  })
})
