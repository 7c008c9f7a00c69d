import { describe, expect, it } from 'vitest'
import type { CodeConnector, CodeRequest, IdentityTools } from '../connector/define.js'
import { defineConnector, isCodeConnector } from '../connector/define.js'
import { isPatchbayError } from '../errors.js'
import type { OutgoingRequest } from '../lib/request.js'
import { createBuiltinRegistry } from './builtin.js'
import { codeSchemeType, createCodeScheme, splitCodeAuth } from './code.js'
import type { AuthRegistry, AuthScheme } from './scheme.js'
import { createTestAuthContext } from './testing.js'

function schemeOf(connector: CodeConnector): { scheme: AuthScheme; registry: AuthRegistry } {
  const scheme = createCodeScheme(connector, { linkName: 'x', registry: () => registry })
  const registry = createBuiltinRegistry([scheme as AuthScheme<never>])
  return { scheme, registry }
}

function contextFor(
  scheme: AuthScheme,
  registry: AuthRegistry,
  settings: Record<string, unknown>,
  values: Record<string, unknown> = {},
) {
  return createTestAuthContext({
    settings: scheme.settings.parse(settings) as Record<string, unknown>,
    values,
    registry,
    publicUrl: 'http://127.0.0.1:4000',
  })
}

const request = (
  url = 'https://api.example.com/v1/things?a=1',
  method = 'GET',
): OutgoingRequest => ({
  method,
  url: new URL(url),
  headers: {},
  body: { kind: 'none' },
})

async function failure(promise: Promise<unknown>) {
  try {
    await promise
  } catch (err) {
    return err
  }
  throw new Error('expected a failure')
}

describe('defineConnector', () => {
  it('marks what it returns, typed for editors', () => {
    const c = defineConnector({
      name: 'Typed',
      baseUrl: 'https://api.example.com/',
      auth: {
        type: 'custom',
        apply(connection, accessToken, req) {
          req.headers({ 'X-Key': String(connection.key), 'X-Token': accessToken ?? '' })
        },
      },
    })
    expect(isCodeConnector(c)).toBe(true)
    expect(isCodeConnector({ ...c })).toBe(false)
    expect(codeSchemeType('acme')).toBe('code:acme')
  })

  it('refuses unknown lambdas and lambdas of another type', () => {
    expect(() => splitCodeAuth({ type: 'custom', apply() {}, sign: () => 1 } as never)).toThrow(
      /auth\.sign is a function, but lambdas are acquire, apply/,
    )
    expect(() => splitCodeAuth({ type: 'custom', pkce: () => ({}) } as never)).toThrow(
      /auth\.pkce needs auth\.type "oauth2"/,
    )
  })
})

describe('a custom code auth', () => {
  const connector = (auth: Record<string, unknown>, extra: Partial<CodeConnector> = {}) =>
    defineConnector({
      name: 'Acme',
      baseUrl: 'https://api.example.com/v1/',
      fields: [{ name: 'key', type: 'password' }],
      auth: { type: 'custom', ...auth },
      ...extra,
    })

  it('needs no apply setting when apply is a lambda', () => {
    const { scheme } = schemeOf(connector({ apply() {} }))
    expect(scheme.settings.safeParse({}).success).toBe(true)
    const { scheme: plain } = schemeOf(connector({}))
    expect(plain.settings.safeParse({}).success).toBe(false)
  })

  it('lets apply set headers, params, payload fields and basic auth, reading url and method', async () => {
    const seen: string[] = []
    const { scheme, registry } = schemeOf(
      connector({
        apply(c: Record<string, unknown>, token: string | undefined, r: CodeRequest) {
          seen.push(`${r.method} ${r.url}`)
          r.headers({ 'X-Key': String(c.key), 'X-Token': String(token) }).params({
            sig: 'abc',
            n: 2,
          })
          r.payload({ tenant: 'acme', count: 3 }).user('ann').password('pw')
          seen.push(r.url)
        },
      }),
    )
    const ctx = contextFor(scheme, registry, {}, { key: 'k-1' })
    ctx.credentials = { values: { access_token: 'at-1' } }
    const json = request('https://api.example.com/v1/things?a=1', 'POST')
    json.body = { kind: 'json', value: { name: 'x' } }
    await scheme.apply(ctx, json)
    expect(seen).toEqual([
      'POST https://api.example.com/v1/things?a=1',
      'https://api.example.com/v1/things?a=1&sig=abc&n=2',
    ])
    expect(json.headers).toEqual({
      'x-key': 'k-1',
      'x-token': 'at-1',
      authorization: `Basic ${Buffer.from('ann:pw').toString('base64')}`,
    })
    expect(json.body).toEqual({ kind: 'json', value: { name: 'x', tenant: 'acme', count: 3 } })
    const empty = request()
    await scheme.apply(ctx, empty)
    expect(empty.body).toEqual({
      kind: 'form',
      fields: [
        ['tenant', 'acme'],
        ['count', '3'],
      ],
    })
    expect(scheme.redact?.({})).toEqual({
      headers: ['x-key', 'x-token', 'authorization'],
      query: ['sig', 'n'],
      form: ['tenant', 'count'],
    })
  })

  it('merges what acquire answers into the acquired values, and re-runs it without refresh', async () => {
    let n = 0
    const { scheme, registry } = schemeOf(
      connector({
        acquire: (c: Record<string, unknown>) => ({
          session: `s-${++n}`,
          seen: c.key,
          expires_in: 60,
          nested: { a: 1 },
        }),
        apply() {},
      }),
    )
    const ctx = contextFor(scheme, registry, {}, { key: 'k-1' })
    const outcome = await scheme.connect(ctx)
    expect(outcome).toMatchObject({
      status: 'connected',
      credentials: { values: { session: 's-1', seen: 'k-1', expires_in: '60', nested: '{"a":1}' } },
    })
    const creds = outcome.status === 'connected' ? outcome.credentials : undefined
    expect(creds!.expiresAt! - creds!.obtainedAt!).toBe(60_000)
    expect(scheme.canRefresh({}, {})).toBe(true)
    ctx.credentials = { values: { ...creds!.values, kept: 'yes' } }
    expect((await scheme.refresh!(ctx)).values).toMatchObject({ session: 's-2', kept: 'yes' })
  })

  it('turns a throw into connector.code_error naming the connector and lambda, secrets removed', async () => {
    const { scheme, registry } = schemeOf(
      connector({
        apply(c: Record<string, unknown>, token: string | undefined) {
          throw new Error(`no luck with ${String(c.key)} / ${String(token)}`)
        },
        refresh() {
          throw 'a string'
        },
      }),
    )
    const ctx = contextFor(scheme, registry, {}, { key: 'secret-key-1' })
    ctx.credentials = { values: { access_token: 'secret-token-2' } }
    const err = await failure(Promise.resolve(scheme.apply(ctx, request())))
    expect(isPatchbayError(err, 'connector.code_error')).toBe(true)
    expect((err as Error).message).toBe(
      "the Acme connector's apply lambda failed: no luck with [REDACTED] / [REDACTED]",
    )
    expect((err as { details: unknown }).details).toEqual({ connector: 'Acme', lambda: 'apply' })
    const r = await failure(scheme.refresh!(ctx))
    expect((r as Error).message).toBe("the Acme connector's refresh lambda failed: a string")
  })

  it('bounds a lambda that never settles', async () => {
    const { scheme, registry } = schemeOf(
      connector({ acquire: () => new Promise(() => {}), apply() {} }, { lambdaTimeoutMs: 50 }),
    )
    const err = await failure(scheme.connect(contextFor(scheme, registry, {})))
    expect((err as Error).message).toBe(
      "the Acme connector's acquire lambda failed: it did not finish within 50 ms",
    )
  })

  it('answers identity from the identity lambda, which may GET through the auth', async () => {
    const calls: string[] = []
    const { scheme, registry } = schemeOf(
      connector({
        apply(c: Record<string, unknown>, _t: unknown, r: CodeRequest) {
          r.headers({ 'X-Key': String(c.key) })
        },
        async identity(_c: unknown, tools: IdentityTools) {
          const me = (await tools.get('me', { fields: 'email' })) as { email: string }
          return me.email
        },
      }),
    )
    const ctx = contextFor(scheme, registry, {}, { key: 'k-9' })
    ctx.http = (url, init) => {
      calls.push(`${String(url)} ${JSON.stringify(init?.headers)}`)
      return Promise.resolve({
        status: 200,
        headers: {},
        text: '',
        body: { email: 'ann@example.com' },
      })
    }
    expect(await scheme.identity!(ctx)).toBe('ann@example.com')
    expect(calls).toEqual(['https://api.example.com/v1/me?fields=email {"x-key":"k-9"}'])
    await expect(
      (async () => {
        const other = schemeOf(
          connector({
            apply() {},
            identity: (_c: unknown, tools: IdentityTools) =>
              tools.get('https://evil.example.net/me'),
          }),
        )
        await other.scheme.identity!(contextFor(other.scheme, other.registry, {}))
      })(),
    ).rejects.toMatchObject({ code: 'request.origin_refused' })
  })
})

describe('an oauth2 code auth', () => {
  const settings = {
    grantType: 'authorization_code',
    clientId: 'client-1',
    clientSecret: 'secret-1',
    authorizationUrl: 'https://auth.example.com/authorize',
  }

  it('replaces the PKCE pair and the token exchange with pkce and acquire', async () => {
    const got: unknown[] = []
    const { scheme, registry } = schemeOf(
      defineConnector({
        name: 'OAuth code',
        baseUrl: 'https://api.example.com/',
        auth: {
          type: 'oauth2',
          pkce: (verifier, challenge) => {
            got.push({ verifier: verifier.length, challenge: challenge.length })
            return {
              verifier: 'v'.repeat(50),
              challenge: 'custom-challenge',
              challenge_method: 'plain',
            }
          },
          acquire: (connection, code, redirectUri, verifier) => {
            got.push({ code, redirectUri, verifier: verifier?.length })
            return [
              {
                access_token: 'at-1',
                refresh_token: 'rt-1',
                expires_in: 120,
                refresh_token_expires_in: 600,
              },
              'owner-7',
              { instance_url: 'https://eu.example.com' },
            ]
          },
          refresh: (_c, refreshToken) => ({ access_token: `at-for-${refreshToken}` }),
        },
      }),
    )
    // No tokenUrl nor clientSecret needed: acquire replaces the exchange.
    const { clientSecret: _secret, ...withoutSecret } = settings
    expect(scheme.problems!(scheme.settings.parse(withoutSecret) as never)).toEqual([])
    const ctx = contextFor(scheme, registry, settings)
    const outcome = await scheme.connect(ctx)
    if (outcome.status !== 'pending') throw new Error('expected a browser flow')
    const url = new URL(outcome.authorizeUrl)
    expect(url.searchParams.get('code_challenge')).toBe('custom-challenge')
    expect(url.searchParams.get('code_challenge_method')).toBe('plain')
    expect(outcome.flow.codeVerifier).toBe('v'.repeat(50))
    const params = new URLSearchParams({ code: 'code-1', state: outcome.state })
    const creds = await scheme.complete!(ctx, params, outcome.flow)
    expect(got).toEqual([
      { verifier: 64, challenge: 43 },
      { code: 'code-1', redirectUri: 'http://127.0.0.1:4000/oauth/callback', verifier: 50 },
    ])
    expect(creds.values).toEqual({
      access_token: 'at-1',
      refresh_token: 'rt-1',
      expires_in: '120',
      refresh_token_expires_in: '600',
      owner_id: 'owner-7',
      instance_url: 'https://eu.example.com',
    })
    expect(creds.expiresAt! - creds.obtainedAt!).toBe(120_000)
    expect(creds.refreshExpiresAt! - creds.obtainedAt!).toBe(600_000)
    ctx.credentials = creds
    const refreshed = await scheme.refresh!(ctx)
    expect(refreshed.values).toMatchObject({ access_token: 'at-for-rt-1', refresh_token: 'rt-1' })
    // Without expires_in, the connector's expiresIn (default 3600 s) applies.
    expect(refreshed.expiresAt! - refreshed.obtainedAt!).toBe(3_600_000)
    expect(refreshed.refreshExpiresAt).toBe(creds.refreshExpiresAt)
    const applied = request()
    await scheme.apply(ctx, applied)
    expect(applied.headers.authorization).toBe('Bearer at-1')
  })

  it('refuses an acquire answer without an access token', async () => {
    const { scheme, registry } = schemeOf(
      defineConnector({
        name: 'OAuth cc',
        baseUrl: 'https://api.example.com/',
        auth: { type: 'oauth2', acquire: () => [{ token: 'x' }, null, null] },
      }),
    )
    const err = await failure(
      scheme.connect(
        contextFor(scheme, registry, { ...settings, grantType: 'client_credentials' }),
      ),
    )
    expect((err as Error).message).toMatch(
      /OAuth cc connector's acquire lambda failed: it answered no access_token/,
    )
  })
})

describe('a multi code auth', () => {
  const { scheme, registry } = schemeOf(
    defineConnector({
      name: 'Multi code',
      baseUrl: 'https://api.example.com/',
      fields: [{ name: 'use_basic', type: 'boolean', optional: true }],
      auth: {
        type: 'multi',
        selected: (connection) => (connection.use_basic === true ? 'basic' : 'key'),
      },
    }),
  )
  const settings = {
    options: {
      key: { label: 'Key', type: 'bearer' },
      basic: { label: 'Basic', type: 'basic' },
    },
  }

  it('lets selected choose the option: fields and apply follow it, with no select field', async () => {
    const parsed = scheme.settings.parse(settings) as Record<string, unknown>
    expect(scheme.connectionFields(parsed, { use_basic: true }).map((f) => f.name)).toEqual([
      'username',
      'password',
    ])
    expect(scheme.connectionFields(parsed, {}).map((f) => f.name)).toEqual(['token'])
    const ctx = contextFor(scheme, registry, settings, {
      use_basic: true,
      username: 'ann',
      password: 'pw',
    })
    const r = request()
    await scheme.apply(ctx, r)
    expect(r.headers.authorization).toBe(`Basic ${Buffer.from('ann:pw').toString('base64')}`)
    const bearer = contextFor(scheme, registry, settings, { token: 't-1' })
    const r2 = request()
    await scheme.apply(bearer, r2)
    expect(r2.headers.authorization).toBe('Bearer t-1')
  })
})
