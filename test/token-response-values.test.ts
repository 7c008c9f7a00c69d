/**
 * Values kept from the token response (`tokenResponseValues`) end to end: Salesforce-style
 * connections whose token answers name different instance URLs each call their own upstream (and
 * only it), a refresh that answers a new `instance_url` moves the connection, a refresh that leaves
 * it out keeps it; the same for `http_token` and `custom`; the network policy still decides which
 * addresses an instance URL may reach; the connector's settings are checked with 400s.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  startTestPatchbay,
  storeContains,
  testStoreKinds,
  type TestPatchbay,
} from './helpers/patchbay.js'
import { startOidcPeer, type OidcPeer } from './peers/oidc.js'
import { startTokenServer, type TokenServer } from './peers/token-server.js'
import { json, startUpstream, type Upstream } from './peers/upstream.js'

const SIGNATURE = { alice: 'sig-alice-7f3a91c0d2', bob: 'sig-bob-1e8b44a5f6' }

/** An instance: answers 200 to any request and records it. */
async function instance(host: string): Promise<Upstream> {
  const up = await startUpstream(host)
  up.route('*', (req, res) => json(res, 200, { instance: host, path: req.path }))
  return up
}

const bearer = (up: Upstream, i = -1) => String(up.requests.at(i)?.headers.authorization)

describe.each(await testStoreKinds())('token-response values on %s', (storeKind) => {
  let peer: OidcPeer
  let a: Upstream
  let b: Upstream
  let c: Upstream
  let t: TestPatchbay
  /** What the provider adds to each account's next token answers. */
  const extras = new Map<string, Record<string, unknown> | undefined>()
  let connectorId: string
  let actionId: string

  beforeAll(async () => {
    ;[a, b, c] = await Promise.all([
      instance('127.0.0.1'),
      instance('127.0.0.2'),
      instance('127.0.0.3'),
    ])
    peer = await startOidcPeer({
      accessTokenTtl: 3600,
      tokenResponseExtras: ({ accountId }) => extras.get(accountId ?? ''),
    })
    t = await startTestPatchbay({ storeKind })
    const client = peer.clients.basic
    const created = await t.api('POST', '/api/v1/connectors', {
      name: 'Instance CRM',
      baseUrl: '{{instance_url}}/services/data/v62.0/',
      auth: {
        type: 'oauth2',
        grantType: 'authorization_code',
        clientId: client.clientId,
        clientSecret: client.clientSecret,
        clientAuth: 'basic',
        authorizationUrl: peer.authorizationUrl,
        tokenUrl: peer.tokenUrl,
        scopes: [
          { name: 'OpenID', value: 'openid' },
          { name: 'Offline', value: 'offline_access' },
        ],
        scopeDelimiter: ' ',
        tokenResponseValues: { instance_url: 'instance_url', org_id: 'org.id' },
        tokenResponseSecrets: { signature: 'signature' },
        extra: { headers: { 'X-Org-Id': '{{org_id}}', 'X-Signature': '{{signature}}' } },
      },
      customAction: { enabled: true },
      actions: [{ name: 'Org limits', method: 'GET', path: 'orgs/{{org_id}}/limits' }],
    })
    expect(created.status, JSON.stringify(created.body)).toBe(201)
    connectorId = created.body.id
    actionId = created.body.actions[0].id
    const ready = await t.api('POST', `/api/v1/connectors/${connectorId}/ready`)
    expect(ready.status, JSON.stringify(ready.body)).toBe(200)
  })
  afterAll(async () => {
    await t.close()
    await peer.close()
    await Promise.all([a.close(), b.close(), c.close()])
  })

  /** Connects `account` through the browser flow; answers the connection view. */
  async function connect(account: 'alice' | 'bob') {
    const created = await t.api('POST', '/api/v1/connections', { connector: connectorId })
    expect(created.status, JSON.stringify(created.body)).toBe(201)
    const callback = await peer.follow(created.body.authorizeUrl, { accountId: account })
    expect((await fetch(callback)).status).toBe(200)
    const view = await t.api('GET', `/api/v1/connections/${created.body.id}`)
    expect(view.body.status).toBe('connected')
    return view.body
  }

  const call = (id: string, body: Record<string, unknown>) =>
    t.api('POST', `/api/v1/connections/${id}/request`, { method: 'GET', ...body })

  let alice: string
  let bob: string

  it('calls each connection’s own instance, from its token answer, and no other', async () => {
    extras.set('alice', { instance_url: a.origin, org: { id: '00DA' }, signature: SIGNATURE.alice })
    extras.set('bob', {
      instance_url: `${b.origin}/`,
      org: { id: '00DB' },
      signature: SIGNATURE.bob,
    })
    const aliceView = await connect('alice')
    const bobView = await connect('bob')
    alice = aliceView.id
    bob = bobView.id
    // Shown on the connection, but never the value kept as a secret.
    expect(aliceView.tokenValues).toEqual({ instance_url: a.origin, org_id: '00DA' })
    expect(bobView.tokenValues).toEqual({ instance_url: `${b.origin}/`, org_id: '00DB' })
    expect(JSON.stringify(aliceView)).not.toContain(SIGNATURE.alice)

    const one = await call(alice, { path: 'sobjects' })
    expect(one.status, JSON.stringify(one.body)).toBe(200)
    expect(one.body.body).toEqual({ instance: '127.0.0.1', path: '/services/data/v62.0/sobjects' })
    const two = await call(bob, { path: 'sobjects' })
    expect(two.body.body).toEqual({ instance: '127.0.0.2', path: '/services/data/v62.0/sobjects' })

    expect(a.requests).toHaveLength(1)
    expect(b.requests).toHaveLength(1)
    expect(c.requests).toHaveLength(0)
    const [toA] = a.requests
    const [toB] = b.requests
    expect(toA!.headers.host).toBe(new URL(a.origin).host)
    expect(toB!.headers.host).toBe(new URL(b.origin).host)
    expect(toA!.headers.authorization).toMatch(/^Bearer \S+$/)
    expect(toB!.headers.authorization).toMatch(/^Bearer \S+$/)
    expect(toA!.headers.authorization).not.toBe(toB!.headers.authorization)
    // The kept values fill the auth `extra` templates: the public one and the secret one.
    expect(toA!.headers['x-org-id']).toBe('00DA')
    expect(toA!.headers['x-signature']).toBe(SIGNATURE.alice)
    expect(toB!.headers['x-org-id']).toBe('00DB')
    expect(toB!.headers['x-signature']).toBe(SIGNATURE.bob)
  })

  it('fills saved actions with the kept values', async () => {
    const run = await t.api('POST', `/api/v1/actions/${actionId}/run`, { connection: alice })
    expect(run.status, JSON.stringify(run.body)).toBe(200)
    expect(a.requests.at(-1)!.path).toBe('/services/data/v62.0/orgs/00DA/limits')
    expect(b.requests).toHaveLength(1)
  })

  it('sends no credentials to another connection’s instance', async () => {
    const before = b.requests.length
    const refused = await call(alice, { url: `${b.origin}/services/data/v62.0/sobjects` })
    expect(refused.status).toBe(400)
    expect(refused.body.error.code).toBe('request.origin_refused')
    expect(b.requests).toHaveLength(before)
  })

  it('keeps the secret value sealed: not in the database as text, nor in the logs', async () => {
    expect(await storeContains(t, SIGNATURE.alice)).toBe(false)
    const logs = await t.api('GET', `/api/v1/logs?connection=${alice}`)
    expect(JSON.stringify(logs.body)).not.toContain(SIGNATURE.alice)
    expect(JSON.stringify(logs.body)).toContain(`${a.origin}/services/data/v62.0/sobjects`)
  })

  it('moves the connection when a refresh answers a new instance_url', async () => {
    const oldToken = bearer(a)
    extras.set('alice', { instance_url: c.origin })
    const refreshed = await t.api('POST', `/api/v1/connections/${alice}/refresh`)
    expect(refreshed.status, JSON.stringify(refreshed.body)).toBe(200)
    // Replaced where answered, kept where not (org_id; the secret signature).
    expect(refreshed.body.tokenValues).toEqual({ instance_url: c.origin, org_id: '00DA' })
    const before = a.requests.length
    const moved = await call(alice, { path: 'sobjects' })
    expect(moved.body.body).toEqual({
      instance: '127.0.0.3',
      path: '/services/data/v62.0/sobjects',
    })
    expect(a.requests).toHaveLength(before)
    expect(c.requests).toHaveLength(1)
    const toC = c.requests[0]!
    expect(toC.headers.host).toBe(new URL(c.origin).host)
    expect(toC.headers.authorization).toMatch(/^Bearer \S+$/)
    expect(toC.headers.authorization).not.toBe(oldToken)
    expect(toC.headers['x-signature']).toBe(SIGNATURE.alice)
    // The old instance is another origin now.
    const old = await call(alice, { url: `${a.origin}/services/data/v62.0/sobjects` })
    expect(old.body.error.code).toBe('request.origin_refused')
    expect(a.requests).toHaveLength(before)
    // Bob's connection did not move.
    await call(bob, { path: 'sobjects' })
    expect(b.requests).toHaveLength(2)
  })

  it('keeps the instance when a refresh does not answer one', async () => {
    extras.set('alice', undefined)
    const refreshed = await t.api('POST', `/api/v1/connections/${alice}/refresh`)
    expect(refreshed.status).toBe(200)
    expect(refreshed.body.tokenValues).toEqual({ instance_url: c.origin, org_id: '00DA' })
    await call(alice, { path: 'limits' })
    expect(c.requests.at(-1)!.path).toBe('/services/data/v62.0/limits')
    expect(c.requests.at(-1)!.headers['x-signature']).toBe(SIGNATURE.alice)
  })

  it('refuses a token answer without the instance URL, leaving no connection behind', async () => {
    extras.set('carol', { org: { id: '00DC' } })
    const before = (await t.api('GET', `/api/v1/connections?connector=${connectorId}`)).body.items
    const created = await t.api('POST', '/api/v1/connections', { connector: connectorId })
    const callback = await peer.follow(created.body.authorizeUrl, { accountId: 'carol' })
    const page = await fetch(callback)
    expect(page.status).toBe(400)
    expect(await page.text()).toContain('instance_url')
    const view = await t.api('GET', `/api/v1/connections/${created.body.id}`)
    expect(view.body.status).toBe('error')
    expect(view.body.statusMessage).toMatch(/\{\{instance_url\}\}.*token response/)
    expect(view.body.tokenValues).toEqual({})
    expect(before.length + 1).toBe(
      (await t.api('GET', `/api/v1/connections?connector=${connectorId}`)).body.items.length,
    )
  })

  describe('http_token and custom', () => {
    let server: TokenServer
    /** What the next answers of the token endpoints name as their region. */
    const region = { url: '' }

    beforeAll(async () => {
      server = await startTokenServer({
        tokenBody: (token) => ({
          data: { token },
          ...(region.url
            ? { account: { api_url: region.url, id: 'acct-1', files_url: `${c.origin}/` } }
            : {}),
        }),
      })
      server.route('POST', '/session', (_req, s) => ({
        body: {
          session: s.issue(),
          ...(region.url ? { links: { api: region.url } } : {}),
        },
      }))
    })
    afterAll(() => server.close())

    async function readyConnector(body: Record<string, unknown>): Promise<string> {
      const created = await t.api('POST', '/api/v1/connectors', body)
      expect(created.status, JSON.stringify(created.body)).toBe(201)
      if (created.body.testRequired) {
        const tested = await t.api('POST', `/api/v1/connectors/${created.body.id}/test-token`, {
          values: {},
        })
        expect(tested.body.ok, JSON.stringify(tested.body)).toBe(true)
      }
      const ready = await t.api('POST', `/api/v1/connectors/${created.body.id}/ready`)
      expect(ready.status, JSON.stringify(ready.body)).toBe(200)
      return created.body.id
    }

    async function connectAndCall(connector: string, expectAt: Upstream) {
      const created = await t.api('POST', '/api/v1/connections', { connector })
      expect(created.status, JSON.stringify(created.body)).toBe(201)
      const before = expectAt.requests.length
      const res = await call(created.body.id, { path: 'me' })
      expect(res.status, JSON.stringify(res.body)).toBe(200)
      expect(expectAt.requests).toHaveLength(before + 1)
      return { id: created.body.id as string, view: created.body, sent: expectAt.requests.at(-1)! }
    }

    it('http_token: the token request’s answer names the API host, refreshed with the token', async () => {
      const id = await readyConnector({
        name: 'Regional token API',
        baseUrl: '{{api_url}}/v2/',
        allowedOrigins: ['{{files_url}}'],
        auth: {
          type: 'http_token',
          request: { method: 'POST', url: `${server.url}/token` },
          tokenPath: 'data.token',
          prefix: 'Bearer',
          tokenResponseValues: {
            api_url: 'account.api_url',
            account_id: 'account.id',
            files_url: 'account.files_url',
          },
        },
        customAction: { enabled: true },
      })
      region.url = a.origin
      const { id: connection, view, sent } = await connectAndCall(id, a)
      expect(view.tokenValues).toEqual({
        api_url: a.origin,
        account_id: 'acct-1',
        files_url: `${c.origin}/`,
      })
      expect(sent.path).toBe('/v2/me')
      expect(sent.headers.authorization).toBe(`Bearer ${server.issued.at(-1)}`)
      // The allowed origin the token answer named takes the credentials too; another does not.
      const toFiles = await call(connection, { url: `${c.origin}/files/report.pdf` })
      expect(toFiles.status, JSON.stringify(toFiles.body)).toBe(200)
      expect(c.requests.at(-1)!.path).toBe('/files/report.pdf')
      expect(c.requests.at(-1)!.headers.authorization).toBe(`Bearer ${server.issued.at(-1)}`)
      const elsewhere = await call(connection, { url: `${b.origin}/v2/me` })
      expect(elsewhere.body.error.code).toBe('request.origin_refused')

      region.url = b.origin
      const refreshed = await t.api('POST', `/api/v1/connections/${connection}/refresh`)
      expect(refreshed.body.tokenValues).toEqual({
        api_url: b.origin,
        account_id: 'acct-1',
        files_url: `${c.origin}/`,
      })
      const before = b.requests.length
      await call(connection, { path: 'me' })
      expect(b.requests).toHaveLength(before + 1)
      expect(b.requests.at(-1)!.headers.authorization).toBe(`Bearer ${server.issued.at(-1)}`)
      expect(b.requests.at(-1)!.headers.host).toBe(new URL(b.origin).host)
    })

    it('custom: an acquire step’s answer names the API host', async () => {
      region.url = c.origin
      const id = await readyConnector({
        name: 'Session API',
        baseUrl: '{{api}}/rest/',
        auth: {
          type: 'custom',
          acquire: [
            {
              method: 'POST',
              url: `${server.url}/session`,
              extract: { session: 'session' },
              tokenResponseValues: { api: 'links.api' },
            },
          ],
          apply: { headers: { 'X-Session': '{{session}}' } },
        },
        customAction: { enabled: true },
      })
      const { view, sent } = await connectAndCall(id, c)
      expect(view.tokenValues).toEqual({ api: c.origin })
      expect(sent.path).toBe('/rest/me')
      expect(sent.headers['x-session']).toBe(server.issued.at(-1))
      expect(JSON.stringify(view)).not.toContain(server.issued.at(-1))
    })
  })
})

describe('token-response values and the network policy', () => {
  let server: TokenServer
  let api: Upstream
  let t: TestPatchbay
  const answer: { extra: Record<string, unknown> } = { extra: {} }
  let connectorId: string

  beforeAll(async () => {
    server = await startTokenServer({
      tokenBody: (token) => ({ access_token: token, expires_in: 3600, ...answer.extra }),
    })
    api = await instance('127.0.0.1')
    // Private networks refused, but for the token endpoint and one API the operator allows.
    t = await startTestPatchbay({
      allowPrivateNetwork: false,
      allowEndpoints: [new URL(server.url).host, new URL(api.origin).host],
    })
    const created = await t.api('POST', '/api/v1/connectors', {
      name: 'Instance service',
      baseUrl: '{{instance_url}}/api/',
      auth: {
        type: 'oauth2',
        grantType: 'client_credentials',
        clientId: 'svc',
        clientSecret: 'svc-secret-0123456789',
        tokenUrl: `${server.url}/token`,
        tokenResponseValues: { instance_url: 'instance_url' },
      },
      customAction: { enabled: true },
    })
    expect(created.status, JSON.stringify(created.body)).toBe(201)
    connectorId = created.body.id
    expect((await t.api('POST', `/api/v1/connectors/${connectorId}/ready`)).status).toBe(200)
  })
  afterAll(async () => {
    await t.close()
    await api.close()
    await server.close()
  })

  const connections = async () =>
    (await t.api('GET', `/api/v1/connections?connector=${connectorId}`)).body.items.length

  async function connectWith(instanceUrl: unknown) {
    answer.extra = instanceUrl === undefined ? {} : { instance_url: instanceUrl }
    return t.api('POST', '/api/v1/connections', { connector: connectorId })
  }

  it('calls an instance URL the policy allows', async () => {
    const created = await connectWith(api.origin)
    expect(created.status, JSON.stringify(created.body)).toBe(201)
    const res = await t.api('POST', `/api/v1/connections/${created.body.id}/request`, {
      method: 'GET',
      path: 'ping',
    })
    expect(res.status).toBe(200)
    expect(api.requests.at(-1)!.path).toBe('/api/ping')
    expect(api.requests.at(-1)!.headers.authorization).toBe(`Bearer ${server.issued.at(-1)}`)
  })

  it.each([
    ['a loopback address', 'http://127.0.0.2:9', /127\.0\.0\.2 is a loopback address/],
    ['a private address', 'http://10.1.2.3', /10\.1\.2\.3 is a private address/],
    ['a metadata address', 'http://169.254.169.254', /never calls/],
  ])('refuses to call %s a token answer names, by the network policy', async (_what, url, why) => {
    const created = await connectWith(url)
    expect(created.status, JSON.stringify(created.body)).toBe(201)
    const calls = api.requests.length
    const res = await t.api('POST', `/api/v1/connections/${created.body.id}/request`, {
      method: 'GET',
      path: 'ping',
    })
    expect(res.status).toBe(400)
    expect(res.body.error.code).toBe('request.network_refused')
    expect(res.body.error.message).toMatch(why)
    expect(api.requests).toHaveLength(calls)
  })

  it.each([
    ['with a user name and password', 'https://user:pass@api.example.com', 'must be an http(s)'],
    ['with a query', 'https://api.example.com/?x=1', 'must be an http(s)'],
    ['that is not http(s)', 'file:///etc/passwd', 'must be an http(s)'],
    ['that is not a URL', 'acme', 'must be an http(s)'],
    ['that is missing', undefined, 'was not in the token response'],
  ])('refuses an instance URL %s when connecting, writing nothing', async (_what, url, rule) => {
    const before = await connections()
    const created = await connectWith(url)
    expect(created.status).toBe(502)
    expect(created.body.error).toMatchObject({
      code: 'connection.flow_failed',
      details: [{ path: 'tokenValues.instance_url', rule: expect.stringContaining(rule) }],
    })
    expect(JSON.stringify(created.body)).not.toContain(server.issued.at(-1))
    expect(await connections()).toBe(before)
  })

  it('refuses the calls of a connection a refresh pointed at a URL with credentials', async () => {
    const created = await connectWith(api.origin)
    expect(created.status).toBe(201)
    answer.extra = { instance_url: `http://user:pass@${new URL(api.origin).host}` }
    expect((await t.api('POST', `/api/v1/connections/${created.body.id}/refresh`)).status).toBe(200)
    const calls = api.requests.length
    const res = await t.api('POST', `/api/v1/connections/${created.body.id}/request`, {
      method: 'GET',
      path: 'ping',
    })
    expect(res.status).toBe(400)
    expect(res.body.error).toMatchObject({
      code: 'connection.invalid_values',
      details: [{ path: 'tokenValues.instance_url' }],
    })
    expect(api.requests).toHaveLength(calls)
  })
})

describe('token-response values in the connector settings', () => {
  let t: TestPatchbay
  beforeAll(async () => {
    t = await startTestPatchbay()
  })
  afterAll(() => t.close())

  const oauth2 = (more: Record<string, unknown> = {}) => ({
    type: 'oauth2',
    grantType: 'client_credentials',
    clientId: 'c',
    clientSecret: 's',
    tokenUrl: 'https://login.example.com/token',
    ...more,
  })

  async function refused(body: Record<string, unknown>) {
    const res = await t.api('POST', '/api/v1/connectors', { name: 'Checked', ...body })
    expect(res.status, JSON.stringify(res.body)).toBe(400)
    expect(res.body.error.code).toBe('input.invalid')
    return res.body.error.details as { path: string; rule: string }[]
  }

  it('accepts an instance URL standing for the origin of the base URL and an allowed origin', async () => {
    const res = await t.api('POST', '/api/v1/connectors', {
      name: 'Accepted',
      baseUrl: '{{instance_url}}/services/data/',
      allowedOrigins: ['{{content_url}}', 'https://{{tenant}}.files.example.com'],
      fields: [{ name: 'tenant', type: 'text' }],
      auth: oauth2({
        tokenResponseValues: { instance_url: 'instance_url', content_url: 'urls.content' },
      }),
    })
    expect(res.status, JSON.stringify(res.body)).toBe(201)
    expect((await t.api('DELETE', `/api/v1/connectors/${res.body.id}`)).status).toBe(204)
  })

  it('refuses a base URL that uses a value nothing provides', async () => {
    expect(await refused({ baseUrl: 'https://{{tenant}}.example.com/', auth: oauth2() })).toEqual([
      { path: 'baseUrl', rule: 'uses {{tenant}}, which is not a connection field' },
    ])
    expect(
      await refused({
        baseUrl: '{{instance_url}}/api/',
        auth: oauth2({ tokenResponseValues: { api_domain: 'api_domain' } }),
      }),
    ).toEqual([
      {
        path: 'baseUrl',
        rule: 'uses {{instance_url}}, which is not a connection field or a value kept from the token response',
      },
      {
        path: 'baseUrl',
        rule: 'starts with {{instance_url}}: only a value kept from the token response (tokenResponseValues) can stand for the origin; a connection field fills a part of it, as in https://{{instance_url}}.example.com/',
      },
    ])
  })

  it('refuses a connection field standing for the origin, and a secret value in a URL', async () => {
    const details = await refused({
      baseUrl: '{{host}}/api/',
      allowedOrigins: ['https://{{signature}}.example.com'],
      fields: [{ name: 'host', type: 'text' }],
      auth: oauth2({ tokenResponseSecrets: { signature: 'signature' } }),
    })
    expect(details).toEqual([
      {
        path: 'baseUrl',
        rule: 'starts with {{host}}: only a value kept from the token response (tokenResponseValues) can stand for the origin; a connection field fills a part of it, as in https://{{host}}.example.com/',
      },
      {
        path: 'allowedOrigins.0',
        rule: 'uses {{signature}}, a secret value of the token response: a URL is shown and logged, so keep it in tokenResponseValues instead',
      },
    ])
  })

  it('refuses names that are taken, repeated, or not names, and paths that name nothing', async () => {
    const details = await refused({
      baseUrl: 'https://api.example.com/',
      fields: [{ name: 'region', type: 'text' }],
      auth: oauth2({
        tokenResponseValues: {
          access_token: 'x',
          region: 'region',
          org: 'org.id',
          'bad-name': 'y',
        },
        tokenResponseSecrets: { org: 'org.secret', empty: '' },
      }),
    })
    expect(details).toEqual(
      expect.arrayContaining([
        {
          path: 'auth.tokenResponseValues.bad-name',
          rule: 'is not a valid name: it must start with a letter or _ and use letters, digits and _',
        },
        { path: 'auth.tokenResponseSecrets.empty', rule: 'must name a value, such as data.token' },
      ]),
    )
    const names = await refused({
      baseUrl: 'https://api.example.com/',
      fields: [{ name: 'region', type: 'text' }],
      auth: oauth2({
        tokenResponseValues: { access_token: 'x', region: 'region', org: 'org.id' },
        tokenResponseSecrets: { org: 'org.secret' },
      }),
    })
    expect(names).toEqual([
      {
        path: 'auth.tokenResponseValues.access_token',
        rule: 'is a name this auth type keeps for itself (access_token, refresh_token, token_type, scope); pick another',
      },
    ])
    const collisions = await refused({
      baseUrl: 'https://api.example.com/',
      fields: [{ name: 'region', type: 'text' }],
      auth: oauth2({
        tokenResponseValues: { region: 'region', org: 'org.id' },
        tokenResponseSecrets: { org: 'org.secret' },
      }),
    })
    expect(collisions).toEqual([
      {
        path: 'auth.tokenResponseValues.region',
        rule: 'is also a connection field: {{region}} would be ambiguous; pick another name',
      },
      {
        path: 'auth.tokenResponseSecrets.org',
        rule: 'keeps "org" a second time; each value has one name',
      },
    ])
  })

  it('refuses an http_token value named token, and a custom value that is also extracted', async () => {
    expect(
      await refused({
        baseUrl: 'https://api.example.com/',
        auth: {
          type: 'http_token',
          request: { url: 'https://api.example.com/token' },
          tokenPath: 'token',
          tokenResponseValues: { token: 'token' },
        },
      }),
    ).toEqual([
      {
        path: 'auth.tokenResponseValues.token',
        rule: 'is a name this auth type keeps for itself (token); pick another',
      },
    ])
    expect(
      await refused({
        baseUrl: 'https://api.example.com/',
        auth: {
          type: 'custom',
          acquire: [
            { url: 'https://api.example.com/a', extract: { sid: 'sid' } },
            { url: 'https://api.example.com/b', tokenResponseValues: { sid: 'x' } },
          ],
          apply: { headers: { 'X-Sid': '{{sid}}' } },
        },
      }),
    ).toEqual([
      {
        path: 'auth.acquire.1.tokenResponseValues.sid',
        rule: 'is also an extracted (secret) value; keep "sid" in one of the two',
      },
    ])
    expect((await t.api('GET', '/api/v1/connectors')).body.items).toEqual([])
  })
})
