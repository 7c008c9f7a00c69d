import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startOAuth1Provider, type OAuth1Provider } from '../../../test/peers/oauth1-provider.js'
import { PatchbayError } from '../../errors.js'
import { encodeBody, type OutgoingRequest } from '../../lib/request.js'
import type { AuthContext, FlowState } from '../scheme.js'
import { createTestAuthContext } from '../testing.js'
import {
  SIGNATURE_METHODS,
  authorizationHeader,
  oauth1Scheme,
  oauth1Settings,
  parseAuthorizationHeader,
  type OAuth1Settings,
  type SignatureMethod,
} from './index.js'

const PUBLIC_URL = 'https://patchbay.example'

function settingsFor(
  provider: OAuth1Provider,
  signatureMethod: SignatureMethod = 'HMAC-SHA1',
  overrides: Record<string, unknown> = {},
): OAuth1Settings {
  return oauth1Settings.parse({
    consumerKey: provider.consumerKey,
    consumerSecret: provider.consumerSecret,
    requestTokenUrl: provider.requestTokenUrl,
    authorizationUrl: provider.authorizationUrl,
    accessTokenUrl: provider.accessTokenUrl,
    revokeUrl: provider.revokeUrl,
    signatureMethod,
    ...overrides,
  })
}

function contextFor(
  settings: OAuth1Settings,
  extra: { values?: Record<string, unknown>; now?: () => number } = {},
): AuthContext<OAuth1Settings> {
  return createTestAuthContext({ settings, publicUrl: PUBLIC_URL, ...extra })
}

/** connect → the user approves → complete; answers the context with its credentials set. */
async function connectThrough(
  provider: OAuth1Provider,
  ctx: AuthContext<OAuth1Settings>,
): Promise<AuthContext<OAuth1Settings>> {
  const outcome = await oauth1Scheme.connect(ctx)
  if (outcome.status !== 'pending') throw new Error('expected a pending connection')
  const callback = await provider.approve(outcome.authorizeUrl)
  ctx.credentials = await oauth1Scheme.complete!(ctx, callback.searchParams, outcome.flow)
  return ctx
}

async function pendingFlow(
  provider: OAuth1Provider,
  ctx: AuthContext<OAuth1Settings>,
): Promise<{ flow: FlowState; params: URLSearchParams }> {
  const outcome = await oauth1Scheme.connect(ctx)
  if (outcome.status !== 'pending') throw new Error('expected a pending connection')
  const callback = await provider.approve(outcome.authorizeUrl)
  return { flow: outcome.flow, params: callback.searchParams }
}

async function send(request: OutgoingRequest): Promise<{ status: number; body: unknown }> {
  const body = encodeBody(request)
  const res = await fetch(request.url, {
    method: request.method,
    headers: request.headers,
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : new Uint8Array(body) }),
  })
  const text = await res.text()
  const type = res.headers.get('content-type') ?? ''
  return { status: res.status, body: type.includes('json') ? (JSON.parse(text) as unknown) : text }
}

function headerParams(request: { headers: Record<string, string> }): Record<string, string> {
  const parsed = parseAuthorizationHeader(request.headers['authorization'] ?? '')
  if (!parsed) throw new Error('no OAuth Authorization header')
  return Object.fromEntries(parsed.parameters)
}

async function rejection(promise: Promise<unknown>): Promise<PatchbayError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(err).toBeInstanceOf(PatchbayError)
  return err as PatchbayError
}

function expectNoSecret(err: PatchbayError, secrets: string[]): void {
  const shown = `${err.message} ${JSON.stringify(err)}`
  for (const secret of secrets) expect(shown).not.toContain(secret)
}

describe.each(SIGNATURE_METHODS)(
  'oauth1 with %s against a provider that checks every signature',
  (method) => {
    let provider: OAuth1Provider
    let ctx: AuthContext<OAuth1Settings>

    beforeAll(async () => {
      provider = await startOAuth1Provider()
      ctx = await connectThrough(provider, contextFor(settingsFor(provider, method)))
    })
    afterAll(() => provider.close())

    it('connects: request token → authorize → callback with oauth_verifier → access token', async () => {
      const fresh = contextFor(settingsFor(provider, method))
      const outcome = await oauth1Scheme.connect(fresh)
      expect(outcome).toMatchObject({ status: 'pending' })
      if (outcome.status !== 'pending') return

      const requestToken = provider.requests.at(-1)!
      expect(requestToken).toMatchObject({
        method: 'POST',
        url: '/oauth/request_token',
        status: 200,
      })
      const sent = headerParams(requestToken)
      expect(sent.oauth_callback).toBe(`${PUBLIC_URL}/oauth1/callback`)
      expect(sent.oauth_signature_method).toBe(method)
      expect(sent.oauth_token).toBeUndefined()

      // The callback carries oauth_token, not state: the temporary token is the state.
      const authorize = new URL(outcome.authorizeUrl)
      expect(`${authorize.origin}${authorize.pathname}`).toBe(provider.authorizationUrl)
      expect(authorize.searchParams.get('oauth_token')).toBe(outcome.state)
      expect(outcome.flow).toEqual({
        oauth_token: outcome.state,
        oauth_token_secret: expect.any(String),
      })

      const callback = await provider.approve(outcome.authorizeUrl)
      expect(`${callback.origin}${callback.pathname}`).toBe(`${PUBLIC_URL}/oauth1/callback`)
      expect(callback.searchParams.get('oauth_token')).toBe(outcome.state)

      const credentials = await oauth1Scheme.complete!(fresh, callback.searchParams, outcome.flow)
      const accessToken = provider.requests.at(-1)!
      expect(accessToken).toMatchObject({ method: 'POST', url: '/oauth/access_token', status: 200 })
      expect(headerParams(accessToken)).toMatchObject({
        oauth_token: outcome.state,
        oauth_verifier: callback.searchParams.get('oauth_verifier'),
        oauth_signature_method: method,
      })
      expect(credentials.values).toEqual({
        oauth_token: expect.any(String),
        oauth_token_secret: expect.any(String),
        user_id: '6253282',
        screen_name: 'patchbay_test',
      })
      expect(credentials.values.oauth_token).not.toBe(outcome.state)
      expect(credentials.expiresAt).toBeUndefined()
      expect(provider.accessTokens()).toContain(credentials.values.oauth_token)
    })

    it('signs a GET with query parameters, and the provider accepts it', async () => {
      const request: OutgoingRequest = {
        method: 'GET',
        url: new URL(
          `${provider.resourceUrl}photos?file=vacation.jpg&size=original&tag=a b&tag=ü~*`,
        ),
        headers: { accept: 'application/json' },
        body: { kind: 'none' },
      }
      await oauth1Scheme.apply(ctx, request)
      expect(request.headers['authorization']).toMatch(/^OAuth /)
      expect(headerParams(request).oauth_token).toBe(ctx.credentials.values.oauth_token)

      const res = await send(request)
      expect(res).toEqual({
        status: 200,
        body: {
          method: 'GET',
          path: '/api/photos',
          query: [
            ['file', 'vacation.jpg'],
            ['size', 'original'],
            ['tag', 'a b'],
            ['tag', 'ü~*'],
          ],
          form: null,
          user_id: '6253282',
        },
      })
    })

    it('signs a POST with a form body (its fields signed), and the provider accepts it', async () => {
      const fields: [string, string][] = [
        ['status', 'Hello Ladies + Gentlemen, a signed OAuth request!'],
        ['status', 'twice'],
        ['empty', ''],
      ]
      const request: OutgoingRequest = {
        method: 'POST',
        url: new URL(`${provider.resourceUrl}statuses/update.json?include_entities=true`),
        headers: {},
        body: { kind: 'form', fields },
      }
      await oauth1Scheme.apply(ctx, request)
      const res = await send(request)
      expect(res.status).toBe(200)
      expect(res.body).toMatchObject({ method: 'POST', form: fields })
    })

    it('signs a POST with a JSON body, which is not signed, and the provider accepts it', async () => {
      const request: OutgoingRequest = {
        method: 'POST',
        url: new URL(`${provider.resourceUrl}items`),
        headers: {},
        body: { kind: 'json', value: { name: 'x' } },
      }
      await oauth1Scheme.apply(ctx, request)
      expect((await send(request)).status).toBe(200)
    })

    it('is refused when its signature is tampered with', async () => {
      const request: OutgoingRequest = {
        method: 'GET',
        url: new URL(`${provider.resourceUrl}me`),
        headers: {},
        body: { kind: 'none' },
      }
      await oauth1Scheme.apply(ctx, request)
      const params = headerParams(request)
      // Same length, one character changed.
      const signature = params.oauth_signature!
      const forged = `${signature.startsWith('A') ? 'B' : 'A'}${signature.slice(1)}`
      request.headers['authorization'] = authorizationHeader({ ...params, oauth_signature: forged })
      expect((await send(request)).status).toBe(401)
      expect(provider.requests.at(-1)).toMatchObject({ status: 401, problem: 'signature_invalid' })
    })

    // PLAINTEXT signs nothing of the request (RFC 5849 §3.4.4): it relies on TLS for integrity.
    const signsContent = method !== 'PLAINTEXT'

    it(`is ${signsContent ? 'refused' : 'not detected (PLAINTEXT)'} when a query parameter or form field changes after signing`, async () => {
      const status = signsContent ? 401 : 200
      const get: OutgoingRequest = {
        method: 'GET',
        url: new URL(`${provider.resourceUrl}transfer?amount=1`),
        headers: {},
        body: { kind: 'none' },
      }
      await oauth1Scheme.apply(ctx, get)
      get.url.searchParams.set('amount', '1000')
      expect((await send(get)).status).toBe(status)
      if (signsContent)
        expect(provider.requests.at(-1)).toMatchObject({ problem: 'signature_invalid' })

      const post: OutgoingRequest = {
        method: 'POST',
        url: new URL(`${provider.resourceUrl}transfer`),
        headers: {},
        body: { kind: 'form', fields: [['amount', '1']] },
      }
      await oauth1Scheme.apply(ctx, post)
      post.body = { kind: 'form', fields: [['amount', '1000']] }
      expect((await send(post)).status).toBe(status)
      if (signsContent)
        expect(provider.requests.at(-1)).toMatchObject({ problem: 'signature_invalid' })
    })

    it('is refused when the same signed request is replayed (nonce reuse)', async () => {
      const request: OutgoingRequest = {
        method: 'GET',
        url: new URL(`${provider.resourceUrl}me`),
        headers: {},
        body: { kind: 'none' },
      }
      await oauth1Scheme.apply(ctx, request)
      expect((await send(request)).status).toBe(200)
      expect((await send(request)).status).toBe(401)
      expect(provider.requests.at(-1)).toMatchObject({ problem: 'nonce_used' })
    })
  },
)

describe('oauth1 flow failures', () => {
  let provider: OAuth1Provider
  beforeAll(async () => {
    provider = await startOAuth1Provider()
  })
  afterAll(() => provider.close())

  it('fails with connection.needs_reauth and a clear message when the verifier is wrong', async () => {
    const ctx = contextFor(settingsFor(provider))
    const { flow, params } = await pendingFlow(provider, ctx)
    params.set('oauth_verifier', 'not-the-verifier')

    const err = await rejection(oauth1Scheme.complete!(ctx, params, flow))
    expect(err.code).toBe('connection.needs_reauth')
    expect(err.message).toBe(
      'the OAuth1 access token endpoint refused the verifier or the temporary credentials (HTTP 401, oauth_problem=verifier_invalid); authorize the connection again',
    )
    expect(err.details).toEqual({
      endpoint: 'accessTokenUrl',
      status: 401,
      oauthProblem: 'verifier_invalid',
    })
    expect(err.cause).toMatchObject({ status: 401 })
    expectNoSecret(err, [provider.consumerSecret, flow.oauth_token_secret!])
    expect(provider.requests.at(-1)).toMatchObject({ url: '/oauth/access_token', status: 401 })
  })

  it('refuses a callback for another oauth_token before calling the provider', async () => {
    const ctx = contextFor(settingsFor(provider))
    const { flow, params } = await pendingFlow(provider, ctx)
    params.set('oauth_token', 'someone-elses-token')
    const count = provider.requests.length

    const err = await rejection(oauth1Scheme.complete!(ctx, params, flow))
    expect(err.code).toBe('oauth.state_invalid')
    expect(provider.requests).toHaveLength(count)
  })

  it('fails the flow when the callback has no verifier or the user denied access', async () => {
    const ctx = contextFor(settingsFor(provider))
    const { flow, params } = await pendingFlow(provider, ctx)
    params.delete('oauth_verifier')
    const missing = await rejection(oauth1Scheme.complete!(ctx, params, flow))
    expect(missing).toMatchObject({
      code: 'connection.flow_failed',
      message: 'the OAuth1 callback has no oauth_verifier',
    })

    const denied = new URLSearchParams({ denied: flow.oauth_token! })
    expect(await rejection(oauth1Scheme.complete!(ctx, denied, flow))).toMatchObject({
      code: 'connection.flow_failed',
      message: 'the user did not authorize the OAuth1 connection',
    })
  })

  it('fails with oauth.provider_error, without the secret, when the consumer secret is wrong', async () => {
    const wrongSecret = 'wrong-consumer-secret'
    const ctx = contextFor(settingsFor(provider, 'HMAC-SHA1', { consumerSecret: wrongSecret }))
    const err = await rejection(oauth1Scheme.connect(ctx))
    expect(err.code).toBe('oauth.provider_error')
    expect(err.message).toBe(
      'the OAuth1 request token endpoint refused the request (HTTP 401, oauth_problem=signature_invalid)',
    )
    expectNoSecret(err, [wrongSecret, provider.consumerSecret])
  })

  it('refuses a provider that does not confirm the callback (OAuth 1.0 without "a")', async () => {
    const legacy = await startOAuth1Provider({ confirmCallback: false })
    try {
      const err = await rejection(oauth1Scheme.connect(contextFor(settingsFor(legacy))))
      expect(err.code).toBe('oauth.provider_error')
      expect(err.message).toContain('oauth_callback_confirmed')
      expectNoSecret(err, [legacy.consumerSecret])
      // The answer held a token secret: only field names are kept.
      expect(err.cause).toEqual({
        status: 200,
        fields: ['oauth_token', 'oauth_token_secret'],
      })
    } finally {
      await legacy.close()
    }
  })

  it('fails with request.upstream_unreachable when the endpoint cannot be reached', async () => {
    const gone = await startOAuth1Provider()
    await gone.close()
    const err = await rejection(oauth1Scheme.connect(contextFor(settingsFor(gone))))
    expect(err.code).toBe('request.upstream_unreachable')
    expect(err.message).toBe(
      `could not reach the OAuth1 request token endpoint (${gone.url}/oauth/request_token)`,
    )
  })
})

describe('oauth1 connections', () => {
  let provider: OAuth1Provider
  beforeAll(async () => {
    provider = await startOAuth1Provider()
  })
  afterAll(() => provider.close())

  it('revokes with a signed POST to revokeUrl, after which the token is refused', async () => {
    const ctx = await connectThrough(provider, contextFor(settingsFor(provider)))
    const token = ctx.credentials.values.oauth_token!
    await oauth1Scheme.revoke!(ctx)
    expect(provider.requests.at(-1)).toMatchObject({
      method: 'POST',
      url: '/oauth/revoke',
      status: 200,
    })
    expect(headerParams(provider.requests.at(-1)!).oauth_token).toBe(token)
    expect(provider.accessTokens()).not.toContain(token)

    const request: OutgoingRequest = {
      method: 'GET',
      url: new URL(`${provider.resourceUrl}me`),
      headers: {},
      body: { kind: 'none' },
    }
    await oauth1Scheme.apply(ctx, request)
    expect((await send(request)).status).toBe(401)
    expect(provider.requests.at(-1)).toMatchObject({ problem: 'token_rejected' })
  })

  it('does not call the provider to revoke when there is no revokeUrl', async () => {
    const settings = settingsFor(provider)
    delete settings.revokeUrl
    const ctx = await connectThrough(provider, contextFor(settings))
    const count = provider.requests.length
    await oauth1Scheme.revoke!(ctx)
    expect(provider.requests).toHaveLength(count)
  })

  it('takes the timestamp from the context clock', async () => {
    const at = Date.now()
    const ctx = await connectThrough(provider, contextFor(settingsFor(provider), { now: () => at }))
    const request: OutgoingRequest = {
      method: 'GET',
      url: new URL(`${provider.resourceUrl}me`),
      headers: {},
      body: { kind: 'none' },
    }
    await oauth1Scheme.apply(ctx, request)
    expect(headerParams(request).oauth_timestamp).toBe(String(Math.floor(at / 1000)))
    expect(ctx.credentials.obtainedAt).toBe(at)
  })

  it('renders {{field}} templates in its URLs from the connection values', async () => {
    const host = new URL(provider.url).host
    const settings = settingsFor(provider, 'HMAC-SHA1', {
      requestTokenUrl: 'http://{{oauth_host}}/oauth/request_token',
      authorizationUrl: 'http://{{oauth_host}}/oauth/authorize',
      accessTokenUrl: 'http://{{oauth_host}}/oauth/access_token',
    })
    const ctx = await connectThrough(
      provider,
      contextFor(settings, { values: { oauth_host: host } }),
    )
    expect(ctx.credentials.values.oauth_token).toBeTruthy()

    const err = await rejection(oauth1Scheme.connect(contextFor(settings)))
    expect(err).toMatchObject({
      code: 'connection.invalid_values',
      details: [{ path: 'values.oauth_host', rule: 'is required' }],
    })
  })

  it('refuses to sign for a connection without token credentials', async () => {
    const request: OutgoingRequest = {
      method: 'GET',
      url: new URL(`${provider.resourceUrl}me`),
      headers: {},
      body: { kind: 'none' },
    }
    const err = await rejection(
      Promise.resolve().then(() => oauth1Scheme.apply(contextFor(settingsFor(provider)), request)),
    )
    expect(err.code).toBe('connection.not_connected')
    expect(request.headers['authorization']).toBeUndefined()
  })
})

describe('oauth1 settings', () => {
  const base = {
    consumerKey: 'ck',
    consumerSecret: 'cs',
    requestTokenUrl: 'https://api.example.com/oauth/request_token',
    authorizationUrl: 'https://api.example.com/oauth/authorize',
    accessTokenUrl: 'https://api.example.com/oauth/access_token',
  }

  it('defaults to HMAC-SHA1 and refuses other methods and URLs without a scheme', () => {
    expect(oauth1Settings.parse(base)).toMatchObject({ signatureMethod: 'HMAC-SHA1' })
    expect(oauth1Scheme.settings.safeParse({ ...base, signatureMethod: 'RSA-SHA1' }).success).toBe(
      false,
    )
    const noScheme = oauth1Scheme.settings.safeParse({ ...base, accessTokenUrl: 'api.example.com' })
    expect(noScheme.error?.issues[0]).toMatchObject({
      path: ['accessTokenUrl'],
      message: 'must be an absolute http:// or https:// URL',
    })
  })

  it('keeps the consumer secret secret, redacts the header and cannot refresh', () => {
    const settings = oauth1Settings.parse(base)
    expect(oauth1Scheme.secretSettings).toEqual(['consumerSecret'])
    expect(oauth1Scheme.redact?.(settings)).toEqual({ headers: ['authorization'] })
    expect(oauth1Scheme.canRefresh(settings)).toBe(false)
    expect(oauth1Scheme.connectionFields(settings)).toEqual([])
    expect(oauth1Scheme.type).toBe('oauth1')
  })
})
