import { createHash, randomBytes } from 'node:crypto'
import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startOidcPeer, type OidcPeer } from './oidc.js'

const REDIRECT_URI = 'http://127.0.0.1:4567/oauth/callback'

let peer: OidcPeer
beforeAll(async () => {
  peer = await startOidcPeer({ accessTokenTtl: 120 })
})
afterAll(() => peer.close())

async function post(
  url: string,
  form: Record<string, string>,
  headers: Record<string, string> = {},
) {
  const res = await request(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(form).toString(),
  })
  const text = await res.body.text()
  return { status: res.statusCode, body: (text ? JSON.parse(text) : {}) as Record<string, unknown> }
}

function basic(id: string, secret: string): string {
  return `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`
}

async function callResource(token: string) {
  const res = await request(peer.resourceUrl, { headers: { authorization: `Bearer ${token}` } })
  return {
    status: res.statusCode,
    wwwAuthenticate: res.headers['www-authenticate'],
    body: (await res.body.json()) as Record<string, unknown>,
  }
}

function authorizeUrl(clientId: string, extra: Record<string, string> = {}): string {
  const url = new URL(peer.authorizationUrl)
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: clientId,
    redirect_uri: REDIRECT_URI,
    scope: 'openid api:read',
    state: randomBytes(16).toString('base64url'),
    ...extra,
  }).toString()
  return url.href
}

/** Runs the browser part and the code exchange for the `client_secret_basic` client. */
async function basicClientTokens() {
  const { clientId, clientSecret } = peer.clients.basic
  const callback = await peer.follow(authorizeUrl(clientId))
  const code = callback.searchParams.get('code')!
  return post(
    peer.tokenUrl,
    { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI },
    { authorization: basic(clientId, clientSecret) },
  )
}

describe('the oidc-provider test peer', () => {
  it('runs the authorization code flow for a client_secret_basic client', async () => {
    const url = authorizeUrl(peer.clients.basic.clientId, { state: 'abc123' })
    const callback = await peer.follow(url)
    expect(callback.origin + callback.pathname).toBe(REDIRECT_URI)
    expect(callback.searchParams.get('state')).toBe('abc123')
    expect(callback.searchParams.get('code')).toBeTruthy()

    const before = peer.counters.tokenRequestsByGrant.authorization_code ?? 0
    const { clientId, clientSecret } = peer.clients.basic
    const token = await post(
      peer.tokenUrl,
      {
        grant_type: 'authorization_code',
        code: callback.searchParams.get('code')!,
        redirect_uri: REDIRECT_URI,
      },
      { authorization: basic(clientId, clientSecret) },
    )
    expect(token.status).toBe(200)
    expect(token.body).toMatchObject({
      token_type: 'Bearer',
      expires_in: 120,
      scope: 'openid api:read',
    })
    expect(typeof token.body.access_token).toBe('string')
    expect(typeof token.body.refresh_token).toBe('string')
    expect(peer.counters.tokenRequestsByGrant.authorization_code).toBe(before + 1)
    expect(peer.tokenRequestLog.at(-1)).toMatchObject({
      grantType: 'authorization_code',
      authorization: basic(clientId, clientSecret),
      status: 200,
    })
  })

  it('records where a client_secret_post client put its credentials', async () => {
    const { clientId, clientSecret } = peer.clients.post
    const callback = await peer.follow(authorizeUrl(clientId))
    const token = await post(peer.tokenUrl, {
      grant_type: 'authorization_code',
      code: callback.searchParams.get('code')!,
      redirect_uri: REDIRECT_URI,
      client_id: clientId,
      client_secret: clientSecret,
    })
    expect(token.status).toBe(200)
    const record = peer.tokenRequestLog.at(-1)!
    expect(record.authorization).toBeUndefined()
    expect(record.params).toMatchObject({ client_id: clientId, client_secret: clientSecret })
  })

  it('refuses a wrong client secret with invalid_client', async () => {
    const { clientId } = peer.clients.basic
    const callback = await peer.follow(authorizeUrl(clientId))
    const token = await post(
      peer.tokenUrl,
      {
        grant_type: 'authorization_code',
        code: callback.searchParams.get('code')!,
        redirect_uri: REDIRECT_URI,
      },
      { authorization: basic(clientId, 'wrong') },
    )
    expect(token.status).toBe(401)
    expect(token.body.error).toBe('invalid_client')
  })

  it('requires PKCE from the public client and accepts a matching verifier', async () => {
    const { clientId } = peer.clients.pkce
    const withoutPkce = await peer.follow(authorizeUrl(clientId))
    expect(withoutPkce.searchParams.get('error')).toBe('invalid_request')

    const verifier = randomBytes(32).toString('base64url')
    const challenge = createHash('sha256').update(verifier).digest('base64url')
    const callback = await peer.follow(
      authorizeUrl(clientId, { code_challenge: challenge, code_challenge_method: 'S256' }),
    )
    const token = await post(peer.tokenUrl, {
      grant_type: 'authorization_code',
      code: callback.searchParams.get('code')!,
      redirect_uri: REDIRECT_URI,
      client_id: clientId,
      code_verifier: verifier,
    })
    expect(token.status).toBe(200)
    expect(typeof token.body.refresh_token).toBe('string')
  })

  it('sends error=access_denied to the client when the user refuses', async () => {
    const callback = await peer.follow(authorizeUrl(peer.clients.post.clientId, { state: 's1' }), {
      deny: true,
    })
    expect(callback.searchParams.get('error')).toBe('access_denied')
    expect(callback.searchParams.get('state')).toBe('s1')
  })

  it('rotates refresh tokens and refuses a used one with invalid_grant', async () => {
    const first = await basicClientTokens()
    const { clientId, clientSecret } = peer.clients.basic
    const auth = { authorization: basic(clientId, clientSecret) }
    const oldRefresh = first.body.refresh_token as string

    const refreshed = await post(
      peer.tokenUrl,
      { grant_type: 'refresh_token', refresh_token: oldRefresh },
      auth,
    )
    expect(refreshed.status).toBe(200)
    const newRefresh = refreshed.body.refresh_token as string
    expect(newRefresh).toBeTruthy()
    expect(newRefresh).not.toBe(oldRefresh)
    expect((await callResource(refreshed.body.access_token as string)).status).toBe(200)
    expect(peer.counters.refreshTokensPresented.at(-1)).toBe(oldRefresh)

    const reused = await post(
      peer.tokenUrl,
      { grant_type: 'refresh_token', refresh_token: oldRefresh },
      auth,
    )
    expect(reused.status).toBe(400)
    expect(reused.body.error).toBe('invalid_grant')
  })

  it('issues client_credentials tokens that the resource accepts', async () => {
    const { clientId, clientSecret } = peer.clients.clientCredentials
    const before = peer.counters.tokenRequestsByGrant.client_credentials ?? 0
    const token = await post(peer.tokenUrl, {
      grant_type: 'client_credentials',
      client_id: clientId,
      client_secret: clientSecret,
      scope: 'api:read api:write',
    })
    expect(token.status).toBe(200)
    expect(token.body).toMatchObject({ token_type: 'Bearer', scope: 'api:read api:write' })
    expect(token.body.refresh_token).toBeUndefined()
    expect(peer.counters.tokenRequestsByGrant.client_credentials).toBe(before + 1)

    const me = await callResource(token.body.access_token as string)
    expect(me).toMatchObject({
      status: 200,
      body: { sub: null, client_id: clientId, scope: 'api:read api:write' },
    })
  })

  it('answers the resource with the token owner and 401 invalid_token for a bad token', async () => {
    const tokens = await basicClientTokens()
    const calls = peer.counters.resourceCalls
    const me = await callResource(tokens.body.access_token as string)
    expect(me).toMatchObject({
      status: 200,
      body: { sub: 'alice', client_id: peer.clients.basic.clientId, scope: 'openid api:read' },
    })

    const bad = await callResource('not-a-token')
    expect(bad.status).toBe(401)
    expect(bad.wwwAuthenticate).toBe('Bearer error="invalid_token"')
    expect(peer.counters.resourceCalls).toBe(calls + 2)
  })

  it('revokes a refresh token (RFC 7009) and with it the grant', async () => {
    const tokens = await basicClientTokens()
    const { clientId, clientSecret } = peer.clients.basic
    const auth = { authorization: basic(clientId, clientSecret) }
    const revoked = await post(
      peer.revocationUrl,
      { token: tokens.body.refresh_token as string, token_type_hint: 'refresh_token' },
      auth,
    )
    expect(revoked.status).toBe(200)

    const refresh = await post(
      peer.tokenUrl,
      { grant_type: 'refresh_token', refresh_token: tokens.body.refresh_token as string },
      auth,
    )
    expect(refresh.body.error).toBe('invalid_grant')
    expect((await callResource(tokens.body.access_token as string)).status).toBe(401)
  })

  it('revokes a grant from the test side', async () => {
    const tokens = await basicClientTokens()
    await peer.revokeGrant(tokens.body.refresh_token as string)
    expect((await callResource(tokens.body.access_token as string)).status).toBe(401)
    const { clientId, clientSecret } = peer.clients.basic
    const refresh = await post(
      peer.tokenUrl,
      { grant_type: 'refresh_token', refresh_token: tokens.body.refresh_token as string },
      { authorization: basic(clientId, clientSecret) },
    )
    expect(refresh.body.error).toBe('invalid_grant')
  })

  it('expires access tokens after the configured lifetime', async () => {
    const short = await startOidcPeer({ accessTokenTtl: 1 })
    try {
      const { clientId, clientSecret } = short.clients.clientCredentials
      const res = await request(short.tokenUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'client_credentials',
          client_id: clientId,
          client_secret: clientSecret,
        }).toString(),
      })
      const body = (await res.body.json()) as { access_token: string; expires_in: number }
      expect(body.expires_in).toBe(1)
      const deadline = Date.now() + 5000
      let status = 200
      while (status === 200 && Date.now() < deadline) {
        const me = await request(short.resourceUrl, {
          headers: { authorization: `Bearer ${body.access_token}` },
        })
        await me.body.dump()
        status = me.statusCode
        if (status === 200) await new Promise((r) => setTimeout(r, 100))
      }
      expect(status).toBe(401)
    } finally {
      await short.close()
    }
  })
})
