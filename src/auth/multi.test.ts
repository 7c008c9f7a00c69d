import { request as undiciRequest } from 'undici'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { isPatchbayError, type PatchbayError } from '../errors.js'
import { encodeBody, type OutgoingRequest } from '../lib/request.js'
import { startTokenServer, type TokenServer } from '../../test/peers/token-server.js'
import { awsSigV4Scheme } from './aws-sigv4.js'
import { customScheme } from './custom.js'
import { httpTokenScheme } from './http-token.js'
import { createMultiScheme, createMultiSettings, type MultiSettings } from './multi.js'
import { createAuthRegistry, type AuthContext, type AuthRegistry } from './scheme.js'
import { createTestAuthContext } from './testing.js'

const registry: AuthRegistry = createAuthRegistry([
  customScheme,
  httpTokenScheme,
  awsSigV4Scheme,
  createMultiScheme(() => registry),
])
const multi = createMultiScheme(() => registry)
const multiSettings = createMultiSettings(() => registry)

let server: TokenServer
beforeAll(async () => {
  server = await startTokenServer({
    accept: (req) => {
      const body = req.json as Record<string, unknown> | undefined
      return body?.username === 'ada' && body.password === 'pw-secret'
    },
  })
})
afterAll(() => server.close())
beforeEach(() => {
  server.requests.length = 0
})

function input() {
  return {
    options: {
      api_key: {
        label: 'API key',
        type: 'custom',
        fields: [{ name: 'api_key', label: 'API key', type: 'password' }],
        apply: { headers: { 'X-Api-Key': '{{api_key}}' } },
      },
      login: {
        label: 'Username and password',
        type: 'http_token',
        fields: [
          { name: 'username', type: 'text' },
          { name: 'password', type: 'password' },
        ],
        request: {
          url: `${server.url}/token`,
          body: { username: '{{username}}', password: '{{password}}' },
        },
        tokenPath: 'data.token',
        prefix: 'Bearer',
      },
    },
  }
}

const settings = (): MultiSettings => multiSettings.parse(input())

function context(values: Record<string, unknown>): AuthContext<MultiSettings> {
  return createTestAuthContext({ settings: settings(), values, registry })
}

function request(path: string): OutgoingRequest {
  return { method: 'GET', url: new URL(path, server.url), headers: {}, body: { kind: 'none' } }
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

async function failure(promise: Promise<unknown>): Promise<PatchbayError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  if (!isPatchbayError(err)) throw new Error(`expected a PatchbayError, got ${String(err)}`)
  return err
}

describe('multi settings', () => {
  it("validates every option with its type's scheme and keeps that scheme's defaults", () => {
    const s = settings()
    expect(s.selectedBy).toBe('auth_type')
    expect(s.options.login).toMatchObject({
      label: 'Username and password',
      type: 'http_token',
      header: 'Authorization',
      request: { method: 'POST', bodyType: 'json' },
    })
    // Parsing the parsed settings again changes nothing (the engine may store and re-read them).
    expect(multi.settings.parse(s)).toEqual(s)
  })

  it("names an option's bad settings under options.<key>", () => {
    const bad = input() as { options: Record<string, Record<string, unknown>> }
    delete bad.options.login!.tokenPath
    bad.options.api_key!.apply = { headers: { 'X-Api-Key': '{{api_key}}' }, cookies: 'x' }
    bad.options.sso = { label: 'SSO', type: 'saml' }
    bad.options.nested = { label: 'Nested', type: 'multi', options: {} }
    const result = multi.settings.safeParse(bad)
    expect(result.error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`).sort()).toEqual([
      'options.api_key.apply: Unrecognized key: "cookies"',
      'options.login.tokenPath: Invalid input: expected string, received undefined',
      'options.nested.type: an option cannot itself be multi',
      'options.sso.type: unknown auth type "saml"; use one of: custom, http_token, aws_sigv4',
    ])
  })

  it('needs at least one option, and validates as a draft (partial)', () => {
    expect(multi.settings.safeParse({ options: {} }).error?.issues[0]).toMatchObject({
      path: ['options'],
      message: 'needs at least one option',
    })
    expect(multi.settings.partial().safeParse({}).success).toBe(true)
  })
})

describe('multi secret settings', () => {
  it("lists every registered type's secret settings under options.*", () => {
    const vault = { ...customScheme, type: 'vault', secretSettings: ['clientSecret', 'apiSecret'] }
    const withVault: AuthRegistry = createAuthRegistry([
      customScheme,
      vault,
      createMultiScheme(() => withVault),
    ])
    expect(createMultiScheme(() => withVault).secretSettings).toEqual([
      'options.*.clientSecret',
      'options.*.apiSecret',
    ])
  })
})

describe('multi connection fields', () => {
  it('offers the option select, then every option field marked optional', () => {
    expect(multi.connectionFields(settings())).toEqual([
      {
        name: 'auth_type',
        label: 'Authentication type',
        type: 'select',
        options: [
          ['API key', 'api_key'],
          ['Username and password', 'login'],
        ],
      },
      { name: 'api_key', label: 'API key', type: 'password', optional: true },
      { name: 'username', type: 'text', optional: true },
      { name: 'password', type: 'password', optional: true },
    ])
  })

  it("includes an option scheme's own connection fields, once, under a custom selectedBy", () => {
    const s = multiSettings.parse({
      selectedBy: 'method',
      options: {
        aws: { label: 'AWS keys', type: 'aws_sigv4', service: 'execute-api', region: 'eu-west-1' },
        sts: {
          label: 'AWS STS keys',
          type: 'aws_sigv4',
          service: 'execute-api',
          region: 'eu-west-1',
        },
      },
    })
    expect(multi.connectionFields(s).map((f) => [f.name, f.optional])).toEqual([
      ['method', undefined],
      ['accessKeyId', true],
      ['secretAccessKey', true],
      ['sessionToken', true],
    ])
  })
})

describe('multi delegation', () => {
  it('delegates to an api-key-like custom option: no token request, its header applied', async () => {
    const key = server.issue()
    const ctx = context({ auth_type: 'api_key', api_key: key })
    const outcome = await multi.connect(ctx)
    expect(outcome).toMatchObject({ status: 'connected', credentials: { values: {} } })
    const req = request('/protected/items')
    await multi.apply(ctx, req)
    expect(req.headers).toEqual({ 'x-api-key': key })
    expect(await send(req)).toEqual({ status: 200, body: { ok: true, path: '/protected/items' } })
    expect(server.tokenRequests).toBe(0)
    expect((await failure(multi.refresh!(ctx))).code).toBe('refresh.unsupported')
  })

  it('delegates to a bearer-like http_token option: token request, refresh and retry', async () => {
    const ctx = context({ auth_type: 'login', username: 'ada', password: 'pw-secret' })
    const outcome = await multi.connect(ctx)
    if (outcome.status !== 'connected') throw new Error('not connected')
    ctx.credentials = outcome.credentials
    expect(server.tokenRequests).toBe(1)
    expect(server.requests[0]!.json).toEqual({ username: 'ada', password: 'pw-secret' })

    const req = request('/protected/items')
    await multi.apply(ctx, req)
    expect(req.headers).toEqual({ authorization: `Bearer ${outcome.credentials.values.token}` })
    expect((await send(req)).status).toBe(200)

    server.expire()
    const stale = request('/protected/items')
    await multi.apply(ctx, stale)
    expect((await send(stale)).status).toBe(401)
    ctx.credentials = await multi.refresh!(ctx)
    const retry = request('/protected/items')
    await multi.apply(ctx, retry)
    expect((await send(retry)).status).toBe(200)
    expect(server.tokenRequests).toBe(2)
  })

  it("reports the selected option's own failures", async () => {
    const ctx = context({ auth_type: 'login', username: 'ada', password: 'wrong' })
    const err = await failure(multi.connect(ctx))
    expect(err.code).toBe('connection.flow_failed')
    expect(err.message).toBe("token request was refused (HTTP 401): check the connection's values")
  })

  it('refuses a connection whose selection is missing or unknown, naming the field', async () => {
    for (const values of [{}, { auth_type: 'oauth' }, { auth_type: 'toString' }]) {
      const err = await failure(multi.connect(context(values)))
      expect(err.code).toBe('connection.invalid_values')
      expect(err.details).toEqual([{ path: 'auth_type', rule: 'must be one of: api_key, login' }])
    }
  })

  it('has no browser flow to complete for options without one', async () => {
    const err = await failure(
      multi.complete!(context({ auth_type: 'login' }), new URLSearchParams(), {}),
    )
    expect(err.code).toBe('connection.flow_failed')
  })

  it('can refresh when any option can, and redacts what any option applies', () => {
    expect(multi.canRefresh(settings())).toBe(true)
    const onlyKeys = multiSettings.parse({ options: { api_key: input().options.api_key } })
    expect(multi.canRefresh(onlyKeys)).toBe(false)
    expect(multi.redact?.(settings())).toEqual({
      headers: ['x-api-key', 'authorization'],
      query: [],
      form: [],
    })
  })
})
