import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startOidcPeer, type OidcPeer, type OidcPeerClient } from '../../../test/peers/oidc.js'
import { isPatchbayError, type PatchbayError } from '../../errors.js'
import type { OutgoingRequest } from '../../lib/request.js'
import type { AuthContext, ConnectOutcome, Credentials } from '../scheme.js'
import { createTestAuthContext } from '../testing.js'
import {
  calculateCodeChallenge,
  oauth2Scheme,
  oauth2SettingsSchema,
  type OAuth2Settings,
} from './index.js'

const PUBLIC_URL = 'http://127.0.0.1:4321'
const REDIRECT_URI = `${PUBLIC_URL}/oauth/callback`

let peer: OidcPeer
beforeAll(async () => {
  peer = await startOidcPeer({ accessTokenTtl: 300 })
})
afterAll(() => peer.close())

function settingsFor(
  grantType: OAuth2Settings['grantType'],
  client: OidcPeerClient,
  extra: Record<string, unknown> = {},
): OAuth2Settings {
  return oauth2SettingsSchema.parse({
    grantType,
    clientId: client.clientId,
    clientSecret: client.clientSecret,
    clientAuth: client.tokenEndpointAuthMethod === 'client_secret_basic' ? 'basic' : 'body',
    authorizationUrl: peer.authorizationUrl,
    tokenUrl: peer.tokenUrl,
    revokeUrl: peer.revocationUrl,
    scopes: [
      { name: 'Read', value: 'api:read' },
      { name: 'Write', value: 'api:write' },
    ],
    scopeDelimiter: ' ',
    ...extra,
  })
}

function contextFor(settings: OAuth2Settings, values: Record<string, unknown> = {}) {
  return createTestAuthContext({ settings, values, publicUrl: PUBLIC_URL })
}

function pending(outcome: ConnectOutcome) {
  if (outcome.status !== 'pending') throw new Error('expected a pending outcome')
  return outcome
}

/** connect → the browser at the peer → complete, as the engine would run them. */
async function connectThroughBrowser(ctx: AuthContext<OAuth2Settings>) {
  const outcome = pending(await oauth2Scheme.connect(ctx))
  const callback = await peer.follow(outcome.authorizeUrl)
  const credentials = await oauth2Scheme.complete!(ctx, callback.searchParams, outcome.flow)
  ctx.credentials = credentials
  return { outcome, callback, credentials }
}

/** Calls the peer's protected resource with the scheme's `apply`. */
async function callResource(ctx: AuthContext<OAuth2Settings>, credentials?: Credentials) {
  const req: OutgoingRequest = {
    method: 'GET',
    url: new URL(peer.resourceUrl),
    headers: {},
    body: { kind: 'none' },
  }
  await oauth2Scheme.apply({ ...ctx, credentials: credentials ?? ctx.credentials }, req)
  const res = await request(req.url, { headers: req.headers })
  return { status: res.statusCode, body: (await res.body.json()) as Record<string, unknown> }
}

async function failure(promise: Promise<unknown>): Promise<PatchbayError> {
  const err: unknown = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  if (!isPatchbayError(err)) throw new Error(`expected a PatchbayError, got ${String(err)}`)
  return err
}

describe('oauth2 against oidc-provider', () => {
  it('connects with the authorization code grant and client_secret_basic', async () => {
    const { clientId, clientSecret } = peer.clients.basic
    const ctx = contextFor(settingsFor('authorization_code', peer.clients.basic))
    const { outcome, credentials } = await connectThroughBrowser(ctx)

    const url = new URL(outcome.authorizeUrl)
    expect(url.origin + url.pathname).toBe(peer.authorizationUrl)
    expect(Object.fromEntries(url.searchParams)).toEqual({
      response_type: 'code',
      client_id: clientId,
      redirect_uri: REDIRECT_URI,
      state: outcome.state,
      scope: 'api:read api:write',
    })
    expect(outcome.state).toMatch(/^[\w-]{43,}$/)
    expect(oauth2Scheme.callbacks?.map((c) => c.path)).toEqual(['/oauth/callback'])

    const sent = peer.tokenRequestLog.at(-1)!
    expect(sent.params).toEqual({
      grant_type: 'authorization_code',
      code: expect.any(String) as string,
      redirect_uri: REDIRECT_URI,
    })
    const basic = Buffer.from(`${clientId}:${clientSecret}`).toString('base64')
    expect(sent.authorization).toBe(`Basic ${basic}`)

    expect(credentials.values.access_token).toBeTruthy()
    expect(credentials.values.refresh_token).toBeTruthy()
    expect(credentials.obtainedAt).toBeTypeOf('number')
    expect(credentials.expiresAt).toBe(credentials.obtainedAt! + 300_000)
    expect(await callResource(ctx)).toEqual({
      status: 200,
      body: { sub: 'alice', client_id: clientId, scope: 'api:read api:write' },
    })
  })

  it('connects with client_secret_post, sending the credentials in the body', async () => {
    const { clientId, clientSecret } = peer.clients.post
    const ctx = contextFor(settingsFor('authorization_code', peer.clients.post))
    await connectThroughBrowser(ctx)
    const sent = peer.tokenRequestLog.at(-1)!
    expect(sent.authorization).toBeUndefined()
    expect(sent.params).toEqual({
      grant_type: 'authorization_code',
      code: expect.any(String) as string,
      redirect_uri: REDIRECT_URI,
      client_id: clientId,
      client_secret: clientSecret,
    })
    expect((await callResource(ctx)).status).toBe(200)
  })

  it('connects a public client with PKCE (S256) and no secret', async () => {
    const ctx = contextFor(settingsFor('authorization_code_pkce', peer.clients.pkce))
    const { outcome } = await connectThroughBrowser(ctx)
    const verifier = outcome.flow.codeVerifier!
    expect(verifier.length).toBeGreaterThanOrEqual(43)
    expect(verifier.length).toBeLessThanOrEqual(128)
    const url = new URL(outcome.authorizeUrl)
    expect(url.searchParams.get('code_challenge')).toBe(calculateCodeChallenge(verifier))
    expect(url.searchParams.get('code_challenge_method')).toBe('S256')

    const sent = peer.tokenRequestLog.at(-1)!
    expect(sent.authorization).toBeUndefined()
    expect(sent.params).toEqual({
      grant_type: 'authorization_code',
      code: expect.any(String) as string,
      redirect_uri: REDIRECT_URI,
      code_verifier: verifier,
      client_id: peer.clients.pkce.clientId,
    })
    expect((await callResource(ctx)).body.client_id).toBe(peer.clients.pkce.clientId)
  })

  it('asks only for the scopes the connection selected', async () => {
    const ctx = contextFor(settingsFor('authorization_code', peer.clients.basic), {
      scopes: ['api:read'],
    })
    const { outcome } = await connectThroughBrowser(ctx)
    expect(new URL(outcome.authorizeUrl).searchParams.get('scope')).toBe('api:read')
    expect((await callResource(ctx)).body.scope).toBe('api:read')
  })

  it('connects with client_credentials without a browser', async () => {
    const { clientId, clientSecret } = peer.clients.clientCredentials
    const ctx = contextFor(settingsFor('client_credentials', peer.clients.clientCredentials))
    const outcome = await oauth2Scheme.connect(ctx)
    if (outcome.status !== 'connected') throw new Error('expected connected')
    expect(peer.tokenRequestLog.at(-1)!.params).toEqual({
      grant_type: 'client_credentials',
      scope: 'api:read api:write',
      client_id: clientId,
      client_secret: clientSecret,
    })
    expect(await callResource(ctx, outcome.credentials)).toEqual({
      status: 200,
      body: { sub: null, client_id: clientId, scope: 'api:read api:write' },
    })

    // Its "refresh" is a new token.
    const before = peer.counters.tokenRequestsByGrant.client_credentials ?? 0
    const renewed = await oauth2Scheme.refresh!({ ...ctx, credentials: outcome.credentials })
    expect(peer.counters.tokenRequestsByGrant.client_credentials).toBe(before + 1)
    expect(renewed.values.access_token).not.toBe(outcome.credentials.values.access_token)
    expect((await callResource(ctx, renewed)).status).toBe(200)
  })

  it('refreshes with rotation: the new refresh token replaces the old, which the server then refuses', async () => {
    const ctx = contextFor(settingsFor('authorization_code', peer.clients.basic))
    const { credentials: first } = await connectThroughBrowser(ctx)
    const refreshed = await oauth2Scheme.refresh!(ctx)

    expect(peer.counters.refreshTokensPresented.at(-1)).toBe(first.values.refresh_token)
    expect(peer.tokenRequestLog.at(-1)!.params).toEqual({
      grant_type: 'refresh_token',
      refresh_token: first.values.refresh_token,
    })
    expect(refreshed.values.refresh_token).toBeTruthy()
    expect(refreshed.values.refresh_token).not.toBe(first.values.refresh_token)
    expect(refreshed.values.access_token).not.toBe(first.values.access_token)
    expect((await callResource(ctx, refreshed)).status).toBe(200)

    const err = await failure(oauth2Scheme.refresh!({ ...ctx, credentials: first }))
    expect(err.code).toBe('connection.needs_reauth')
    expect(err.message).toMatch(/invalid_grant/)
  })

  it('refreshes a PKCE public client with only its client_id', async () => {
    const ctx = contextFor(settingsFor('authorization_code_pkce', peer.clients.pkce))
    const { credentials } = await connectThroughBrowser(ctx)
    const refreshed = await oauth2Scheme.refresh!(ctx)
    expect(peer.tokenRequestLog.at(-1)!.params).toEqual({
      grant_type: 'refresh_token',
      refresh_token: credentials.values.refresh_token,
      client_id: peer.clients.pkce.clientId,
    })
    expect(refreshed.values.refresh_token).not.toBe(credentials.values.refresh_token)
  })

  it('turns a revoked refresh token into needs_reauth', async () => {
    const ctx = contextFor(settingsFor('authorization_code', peer.clients.post))
    const { credentials } = await connectThroughBrowser(ctx)
    await peer.revokeGrant(credentials.values.refresh_token!)
    const err = await failure(oauth2Scheme.refresh!(ctx))
    expect(err.code).toBe('connection.needs_reauth')
    expect(err.message).toMatch(/reconnect/)
    expect(err.details).toMatchObject({ status: 400, error: 'invalid_grant' })
  })

  it('needs reauthorization, without asking the server, when there is no refresh token', async () => {
    const ctx = contextFor(settingsFor('authorization_code', peer.clients.basic))
    ctx.credentials = { values: { access_token: 'expired' } }
    const before = peer.counters.tokenRequests
    const err = await failure(oauth2Scheme.refresh!(ctx))
    expect(err.code).toBe('connection.needs_reauth')
    expect(peer.counters.tokenRequests).toBe(before)
  })

  it('revokes both tokens so that the server refuses them', async () => {
    const ctx = contextFor(settingsFor('authorization_code', peer.clients.basic))
    const { credentials } = await connectThroughBrowser(ctx)
    await oauth2Scheme.revoke!(ctx)
    expect((await callResource(ctx, credentials)).status).toBe(401)
    expect((await failure(oauth2Scheme.refresh!(ctx))).code).toBe('connection.needs_reauth')
  })

  it('reports error=access_denied from the provider without leaking the secret', async () => {
    const ctx = contextFor(settingsFor('authorization_code', peer.clients.post))
    const outcome = pending(await oauth2Scheme.connect(ctx))
    const callback = await peer.follow(outcome.authorizeUrl, { deny: true })
    const before = peer.counters.tokenRequests
    const err = await failure(oauth2Scheme.complete!(ctx, callback.searchParams, outcome.flow))
    expect(err.code).toBe('oauth.provider_error')
    expect(err.message).toContain('access_denied')
    expect(err.message).toContain('The user denied the request')
    expect(JSON.stringify(err)).not.toContain(peer.clients.post.clientSecret)
    expect(peer.counters.tokenRequests).toBe(before)
  })

  it('refuses a callback whose state is not the flow’s', async () => {
    const ctx = contextFor(settingsFor('authorization_code', peer.clients.post))
    const outcome = pending(await oauth2Scheme.connect(ctx))
    const callback = await peer.follow(outcome.authorizeUrl)
    const err = await failure(
      oauth2Scheme.complete!(ctx, callback.searchParams, { ...outcome.flow, state: 'other' }),
    )
    expect(err.code).toBe('oauth.state_invalid')
  })

  it('fails the flow when the code is exchanged twice', async () => {
    const ctx = contextFor(settingsFor('authorization_code', peer.clients.basic))
    const { outcome, callback } = await connectThroughBrowser(ctx)
    const err = await failure(oauth2Scheme.complete!(ctx, callback.searchParams, outcome.flow))
    expect(err.code).toBe('connection.flow_failed')
    expect(err.details).toMatchObject({ status: 400, error: 'invalid_grant', transient: false })
  })
})
