/**
 * OAuth 1.0a end to end (RFC 5849) against a provider on loopback that recomputes every
 * signature: the three legs through `GET /oauth1/callback`, signed requests (a GET with a query, a
 * POST form body, the connector's `extra.query`) for each signature method, a replayed callback
 * refused, revocation on delete.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestPatchbay, testStoreKinds, type TestPatchbay } from './helpers/patchbay.js'
import { startOAuth1Provider, type OAuth1Provider } from './peers/oauth1-provider.js'

describe.each(await testStoreKinds())('OAuth 1.0a on %s', (storeKind) => {
  let provider: OAuth1Provider
  let t: TestPatchbay

  beforeAll(async () => {
    provider = await startOAuth1Provider()
    t = await startTestPatchbay({ storeKind })
  })
  afterAll(async () => {
    await t.close()
    await provider.close()
  })

  async function connector(name: string, auth: Record<string, unknown> = {}) {
    const c = await t.api('POST', '/api/v1/connectors', {
      name,
      baseUrl: provider.resourceUrl,
      auth: {
        type: 'oauth1',
        consumerKey: provider.consumerKey,
        consumerSecret: provider.consumerSecret,
        requestTokenUrl: provider.requestTokenUrl,
        authorizationUrl: provider.authorizationUrl,
        accessTokenUrl: provider.accessTokenUrl,
        revokeUrl: provider.revokeUrl,
        extra: { query: { api_version: '2' } },
        ...auth,
      },
      identity: { path: 'me', valuePath: 'user_id' },
      customAction: { enabled: true },
    })
    expect(c.status, JSON.stringify(c.body)).toBe(201)
    const ready = await t.api('POST', `/api/v1/connectors/${c.body.id}/ready`)
    expect(ready.status, JSON.stringify(ready.body)).toBe(200)
    return c.body.id as string
  }

  /** Creates a connection and authorizes it the way a browser would. */
  async function authorize(connectorId: string) {
    const created = await t.api('POST', '/api/v1/connections', { connector: connectorId })
    expect(created.status, JSON.stringify(created.body)).toBe(201)
    expect(created.body.status).toBe('pending')
    const callback = await provider.approve(created.body.authorizeUrl)
    const page = await fetch(callback, { redirect: 'manual' })
    return { created: created.body, callback, page }
  }

  describe.each(['HMAC-SHA1', 'HMAC-SHA256', 'PLAINTEXT'])('signed with %s', (method) => {
    let connectionId: string
    let callback: URL

    it('connects through the three legs and /oauth1/callback', async () => {
      const id = await connector(`OAuth1 ${method}`, { signatureMethod: method })
      const before = provider.requests.length
      const flow = await authorize(id)
      callback = flow.callback
      connectionId = flow.created.id
      const authorizeUrl = new URL(flow.created.authorizeUrl)
      expect(authorizeUrl.origin + authorizeUrl.pathname).toBe(provider.authorizationUrl)
      expect(authorizeUrl.searchParams.get('oauth_token')).toMatch(/^tmp_/)
      expect(callback.origin + callback.pathname).toBe(`${t.url}/oauth1/callback`)
      expect(callback.searchParams.get('oauth_verifier')).toBeTruthy()
      expect(flow.page.status).toBe(200)
      expect(await flow.page.text()).toContain('is connected')

      const legs = provider.requests
        .slice(before)
        .map((r) => `${r.method} ${r.url.split('?')[0]} ${r.status}`)
      expect(legs).toEqual([
        'POST /oauth/request_token 200',
        'GET /oauth/authorize 302',
        'POST /oauth/access_token 200',
        'GET /api/me 200', // the identity request, signed
      ])
      const conn = await t.api('GET', `/api/v1/connections/${connectionId}`)
      expect(conn.body).toMatchObject({ status: 'connected', identity: '6253282' })
      expect(JSON.stringify(conn.body)).not.toMatch(/oauth_token|tmp_/)
    })

    it('signs a GET with a query, extra.query included', async () => {
      const res = await t.api('POST', `/api/v1/connections/${connectionId}/request`, {
        method: 'GET',
        path: 'statuses/home',
        query: { count: '5', q: 'a b&c=d', 'tilde~': '☃' },
      })
      expect(res.body, JSON.stringify(res.body)).toMatchObject({
        status: 200,
        body: { method: 'GET', path: '/api/statuses/home', user_id: '6253282' },
      })
      expect(Object.fromEntries(res.body.body.query as [string, string][])).toEqual({
        count: '5',
        q: 'a b&c=d',
        'tilde~': '☃',
        api_version: '2',
      })
      const sent = provider.requests.at(-1)!
      expect(sent.status).toBe(200)
      expect(sent.headers.authorization).toMatch(/^OAuth /)
      expect(sent.headers.authorization).toContain(`oauth_signature_method="${method}"`)
    })

    it('signs a POST with a form body', async () => {
      const res = await t.api('POST', `/api/v1/connections/${connectionId}/request`, {
        method: 'POST',
        path: 'statuses/update',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: { status: 'Hello Ladies + Gentlemen, a signed OAuth request!', lang: 'en' },
      })
      expect(res.body, JSON.stringify(res.body)).toMatchObject({
        status: 200,
        body: {
          method: 'POST',
          form: [
            ['status', 'Hello Ladies + Gentlemen, a signed OAuth request!'],
            ['lang', 'en'],
          ],
        },
      })
      expect(res.body.body.query).toEqual([['api_version', '2']])
    })

    it('refuses the replayed callback with a clear page and keeps the connection', async () => {
      const replay = await fetch(callback)
      expect(replay.status).toBe(400)
      const text = await replay.text()
      expect(text).toMatch(/Authorization failed/)
      expect(text).toMatch(/unknown, already used or expired/)
      const conn = await t.api('GET', `/api/v1/connections/${connectionId}`)
      expect(conn.body.status).toBe('connected')
      const forged = new URL(callback)
      forged.searchParams.set('oauth_token', 'tmp_forged')
      expect((await fetch(forged)).status).toBe(400)
    })
  })

  it('refuses the access-token step with a wrong verifier and says so on the connection', async () => {
    const id = await connector('OAuth1 verifier')
    const created = await t.api('POST', '/api/v1/connections', { connector: id })
    const callback = await provider.approve(created.body.authorizeUrl)
    callback.searchParams.set('oauth_verifier', 'not-the-verifier')
    const page = await fetch(callback)
    expect(page.status).toBe(400)
    expect(await page.text()).toMatch(/Authorization failed/)
    const conn = await t.api('GET', `/api/v1/connections/${created.body.id}`)
    expect(conn.body.status).toBe('error')
    expect(conn.body.statusMessage).toMatch(/verifier_invalid|401/)
  })

  it('revokes the token credentials when the connection is deleted', async () => {
    const id = await connector('OAuth1 revoke')
    const { created } = await authorize(id)
    const issued = provider.accessTokens().length
    expect((await t.api('DELETE', `/api/v1/connections/${created.id}`)).status).toBe(204)
    expect(provider.accessTokens().length).toBe(issued - 1)
    expect(provider.requests.at(-1)).toMatchObject({
      method: 'POST',
      url: '/oauth/revoke',
      status: 200,
    })
  })
})
