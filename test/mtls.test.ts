/**
 * Mutual TLS end to end, on each store: a `node:https` API that demands a client certificate from
 * the test authority (`requestCert`, `rejectUnauthorized`), certificates made with `openssl`; the
 * certificate in the connector's settings (its key a masked secret setting) or in a connection's
 * password fields; never presented to another origin; never readable in the database; and an
 * RFC 8705 client (`tls_client_auth`) at a real authorization server (`oidc-provider`).
 */
import { createServer, type Server } from 'node:https'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { TLSSocket } from 'node:tls'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { makeTestCertificates, type TestCertificates } from './helpers/certs.js'
import {
  startTestPatchbay,
  storeContains,
  testStoreKinds,
  type TestPatchbay,
} from './helpers/patchbay.js'
import { startMtlsOidcPeer, type MtlsOidcPeer } from './peers/oidc-mtls.js'

interface Seen {
  path: string
  /** The client certificate's subject, when one was presented. */
  certificate: string | undefined
  authorization: string | undefined
}

interface TlsServer {
  origin: string
  seen: Seen[]
  route(path: string, handler: (req: IncomingMessage, res: ServerResponse) => void): void
  close(): Promise<void>
}

/** An https server on 127.0.0.1; `demand`: a client certificate from the test CA is required. */
async function startTlsServer(certs: TestCertificates, demand: boolean): Promise<TlsServer> {
  const seen: Seen[] = []
  const routes = new Map<string, (req: IncomingMessage, res: ServerResponse) => void>()
  const server: Server = createServer(
    {
      key: certs.server.key,
      cert: certs.server.cert,
      ca: [certs.ca],
      requestCert: true,
      rejectUnauthorized: demand,
    },
    (req, res) => {
      const path = new URL(req.url ?? '/', 'https://x').pathname
      const peer = (req.socket as TLSSocket).getPeerX509Certificate?.()
      seen.push({ path, certificate: peer?.subject, authorization: req.headers.authorization })
      const route = routes.get(path)
      if (route) return route(req, res)
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ path, certificate: peer?.subject ?? null }))
    },
  )
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const { port } = server.address() as AddressInfo
  return {
    origin: `https://127.0.0.1:${port}`,
    seen,
    route: (path, handler) => void routes.set(path, handler),
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections()
        server.close(() => r())
      }),
  }
}

/** A line from the middle of a PEM body: present in the key, absent from anything else. */
const keyLine = (pem: string) => pem.trim().split('\n')[1]!

const certs = makeTestCertificates()

describe.each(await testStoreKinds())('mutual TLS on %s', (storeKind) => {
  let t: TestPatchbay
  let api: TlsServer
  let other: TlsServer
  let peer: MtlsOidcPeer

  beforeAll(async () => {
    t = await startTestPatchbay({ storeKind })
    api = await startTlsServer(certs, true)
    other = await startTlsServer(certs, false)
    peer = await startMtlsOidcPeer(certs)
  })
  afterAll(async () => {
    await t.close()
    await Promise.all([api.close(), other.close(), peer.close()])
  })

  async function readyConnector(over: Record<string, unknown>) {
    const created = await t.api('POST', '/api/v1/connectors', {
      name: `TLS ${Math.random().toString(36).slice(2, 8)}`,
      baseUrl: `${api.origin}/v1/`,
      customAction: { enabled: true },
      ...over,
    })
    expect(created.status, JSON.stringify(created.body)).toBe(201)
    const ready = await t.api('POST', `/api/v1/connectors/${created.body.id}/ready`)
    expect(ready.status, JSON.stringify(ready.body)).toBe(200)
    return ready.body
  }

  async function connect(connectorId: string, values: Record<string, unknown>) {
    const conn = await t.api('POST', '/api/v1/connections', { connector: connectorId, values })
    expect(conn.status, JSON.stringify(conn.body)).toBe(201)
    return conn.body.id as string
  }

  const call = (id: string, body: Record<string, unknown>) =>
    t.api('POST', `/api/v1/connections/${id}/request`, body)

  it('fails with a clear error when the API demands a certificate and none is given', async () => {
    const c = await readyConnector({ auth: { type: 'bearer', tls: { ca: certs.ca } } })
    const id = await connect(c.id, { token: 'tok' })
    const before = api.seen.length
    const res = await call(id, { path: 'things' })
    expect(res.status).toBe(502)
    expect(res.body.error.code).toBe('request.tls_failed')
    expect(res.body.error.message).toMatch(/client certificate/)
    expect(res.body.error.message).toContain(api.origin)
    expect(api.seen.length).toBe(before)
  })

  it('hints at the certificate when the API closes the connection on one it refuses', async () => {
    const c = await readyConnector({
      auth: {
        type: 'bearer',
        tls: { cert: certs.stranger.cert, key: certs.stranger.key, ca: certs.ca },
      },
    })
    const id = await connect(c.id, { token: 'tok' })
    const before = api.seen.length
    const res = await call(id, { path: 'things' })
    expect(res.status).toBe(502)
    expect(res.body.error.message).toMatch(/refused the client certificate/)
    expect(api.seen.length).toBe(before)
  })

  it('says so when the server certificate is not trusted', async () => {
    const c = await readyConnector({ auth: { type: 'bearer' } })
    const id = await connect(c.id, { token: 'tok' })
    const res = await call(id, { path: 'things' })
    expect(res.status).toBe(502)
    expect(res.body.error.code).toBe('request.tls_failed')
    expect(res.body.error.message).toMatch(/not trusted .*auth\.tls\.ca/)
  })

  it('presents the connector’s certificate, keeps its key masked and sealed', async () => {
    const c = await readyConnector({
      auth: {
        type: 'bearer',
        tls: { cert: certs.client.cert, key: certs.client.key, ca: certs.ca },
      },
    })
    expect(c.auth.tls).toEqual({
      cert: expect.stringContaining('BEGIN CERTIFICATE'),
      key: '********',
      ca: expect.any(String),
    })
    const id = await connect(c.id, { token: 'tok-tls' })
    const res = await call(id, { path: 'things' })
    expect(res.status).toBe(200)
    expect(res.body).toMatchObject({
      status: 200,
      body: { path: '/v1/things', certificate: 'CN=patchbay-client' },
    })
    expect(api.seen.at(-1)).toMatchObject({ certificate: 'CN=patchbay-client' })
    // A change that sends the mask back keeps the key.
    const patched = await t.api('PATCH', `/api/v1/connectors/${c.id}`, { name: 'TLS renamed' })
    expect(patched.status).toBe(200)
    expect((await call(id, { path: 'again' })).body.status).toBe(200)
    expect(await storeContains(t, keyLine(certs.client.key))).toBe(false)
    const logs = await t.api('GET', `/api/v1/logs?connection=${id}&limit=5`)
    expect(JSON.stringify(logs.body)).not.toContain(keyLine(certs.client.key))
  })

  it('never presents the certificate to another origin a redirect leads to', async () => {
    const c = await readyConnector({
      auth: {
        type: 'bearer',
        tls: { cert: certs.client.cert, key: certs.client.key, ca: certs.ca },
      },
    })
    api.route('/v1/moved', (_req, res) => {
      res.writeHead(302, { location: `${other.origin}/landed` })
      res.end()
    })
    const id = await connect(c.id, { token: 'tok-redirect' })
    const res = await call(id, { path: 'moved' })
    expect(res.body).toMatchObject({ status: 200, body: { path: '/landed', certificate: null } })
    expect(other.seen.at(-1)).toEqual({
      path: '/landed',
      certificate: undefined,
      authorization: undefined,
    })
    expect(api.seen.filter((s) => s.path === '/v1/moved').at(-1)).toMatchObject({
      certificate: 'CN=patchbay-client',
    })
    // And an absolute URL on another origin is refused before anything is sent.
    const before = other.seen.length
    const refused = await call(id, { url: `${other.origin}/direct` })
    expect(refused.status).toBe(400)
    expect(refused.body.error.code).toBe('request.origin_refused')
    expect(other.seen.length).toBe(before)
  })

  it('uses a certificate and key from the connection’s password fields', async () => {
    const c = await readyConnector({
      fields: [
        { name: 'client_cert', label: 'Client certificate', type: 'password' },
        { name: 'client_key', label: 'Client key', type: 'password' },
      ],
      auth: {
        type: 'bearer',
        tls: { cert: '{{client_cert}}', key: '{{client_key}}', ca: certs.ca },
      },
    })
    const first = await connect(c.id, {
      token: 'tok-a',
      client_cert: certs.client.cert,
      client_key: certs.client.key,
    })
    // Pasted into a one-line input, a PEM loses its line breaks: it still reads.
    const flat = (pem: string) => pem.replace(/\n/g, ' ')
    const second = await connect(c.id, {
      token: 'tok-b',
      client_cert: flat(certs.second.cert),
      client_key: flat(certs.second.key),
    })
    expect((await call(first, { path: 'who' })).body.body.certificate).toBe('CN=patchbay-client')
    expect((await call(second, { path: 'who' })).body.body.certificate).toBe('CN=second-client')
    expect(await storeContains(t, keyLine(certs.client.key))).toBe(false)
    expect(await storeContains(t, keyLine(certs.second.key))).toBe(false)
    const view = await t.api('GET', `/api/v1/connections/${first}`)
    expect(view.body.secretsSet).toEqual(expect.arrayContaining(['client_cert', 'client_key']))
    expect(JSON.stringify(view.body)).not.toContain(keyLine(certs.client.key))
  })

  it('refuses a connection value that is not a usable PEM with a 400 naming the field', async () => {
    const c = await readyConnector({
      fields: [
        { name: 'client_cert', type: 'password' },
        { name: 'client_key', type: 'password' },
      ],
      auth: {
        type: 'bearer',
        tls: { cert: '{{client_cert}}', key: '{{client_key}}', ca: certs.ca },
      },
    })
    const before = (await t.api('GET', `/api/v1/connections?connector=${c.id}`)).body.items.length
    const bad = await t.api('POST', '/api/v1/connections', {
      connector: c.id,
      values: { token: 't', client_cert: certs.client.cert, client_key: 'not a key' },
    })
    expect(bad.status).toBe(400)
    expect(bad.body.error.code).toBe('connection.invalid_values')
    expect(bad.body.error.details).toEqual([
      { path: 'values.client_key', rule: expect.stringMatching(/PEM private key/) },
    ])
    const mismatched = await t.api('POST', '/api/v1/connections', {
      connector: c.id,
      values: { token: 't', client_cert: certs.client.cert, client_key: certs.second.key },
    })
    expect(mismatched.status).toBe(400)
    expect(mismatched.body.error.details).toEqual([
      { path: 'values.client_key', rule: expect.stringMatching(/not the private key/) },
    ])
    expect(JSON.stringify(mismatched.body)).not.toContain(keyLine(certs.second.key))
    const after = (await t.api('GET', `/api/v1/connections?connector=${c.id}`)).body.items.length
    expect(after).toBe(before)
  })

  it('refuses TLS settings that do not parse, naming the setting', async () => {
    const create = (tls: unknown, fields: unknown[] = []) =>
      t.api('POST', '/api/v1/connectors', {
        name: 'Bad TLS',
        baseUrl: `${api.origin}/`,
        fields,
        auth: { type: 'bearer', tls },
      })
    const cases: [unknown, unknown[], string, RegExp][] = [
      [{ cert: 'nope', key: certs.client.key }, [], 'auth.tls.cert', /PEM certificate/],
      [
        {
          cert: certs.client.cert,
          key: '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----',
        },
        [],
        'auth.tls.key',
        /PEM private key/,
      ],
      [
        { cert: certs.client.cert, key: certs.second.key },
        [],
        'auth.tls.key',
        /not the private key of cert/,
      ],
      [{ cert: certs.client.cert }, [], 'auth.tls.key', /required with cert/],
      [{ ca: 'garbage' }, [], 'auth.tls.ca', /PEM certificates/],
      [{}, [], 'auth.tls', /cert and key, or ca/],
      [
        { cert: '{{pem}}', key: '{{pem_key}}' },
        [{ name: 'pem_key', type: 'password' }],
        'auth.tls.cert',
        /not a connection field/,
      ],
      [
        { cert: '{{pem}}', key: '{{pem_key}}' },
        [
          { name: 'pem', type: 'text' },
          { name: 'pem_key', type: 'text' },
        ],
        'auth.tls.key',
        /password field/,
      ],
      [{ ca: certs.ca, bogus: 1 }, [], 'auth.tls', /bogus/],
    ]
    for (const [tls, fields, path, rule] of cases) {
      const res = await create(tls, fields)
      expect(res.status, JSON.stringify(tls)).toBe(400)
      const issue = res.body.error.details.find((d: { path: string }) => d.path === path)
      expect(issue, `${path} in ${JSON.stringify(res.body.error.details)}`).toBeDefined()
      expect(issue.rule).toMatch(rule)
      expect(JSON.stringify(res.body)).not.toContain(keyLine(certs.client.key))
    }
  })

  it('authenticates an RFC 8705 client by its certificate, and uses the bound token', async () => {
    const c = await readyConnector({
      baseUrl: `${peer.issuer}/api/`,
      auth: {
        type: 'oauth2',
        grantType: 'client_credentials',
        clientId: peer.clientId,
        clientAuth: 'tls_client_auth',
        tokenUrl: peer.tokenUrl,
        tls: { cert: certs.client.cert, key: certs.client.key, ca: certs.ca },
      },
    })
    const before = peer.tokenRequests.length
    const id = await connect(c.id, {})
    const token = peer.tokenRequests.slice(before)
    expect(token).toHaveLength(1)
    expect(token[0]).toMatchObject({
      status: 200,
      certificate: 'CN=patchbay-client',
      authorization: undefined,
      params: { grant_type: 'client_credentials', client_id: peer.clientId },
    })
    expect(Object.keys(token[0]!.params).sort()).toEqual(['client_id', 'grant_type'])
    const res = await call(id, { path: 'me' })
    expect(res.body).toMatchObject({ status: 200, body: { client_id: peer.clientId, bound: true } })
    expect(peer.resourceCalls.at(-1)).toEqual({ certificate: 'CN=patchbay-client', status: 200 })
  })

  it('fails to connect an RFC 8705 client without its certificate, saying why', async () => {
    const c = await readyConnector({
      baseUrl: `${peer.issuer}/api/`,
      auth: {
        type: 'oauth2',
        grantType: 'client_credentials',
        clientId: peer.clientId,
        clientAuth: 'tls_client_auth',
        tokenUrl: peer.tokenUrl,
        tls: { ca: certs.ca },
      },
    })
    const res = await t.api('POST', '/api/v1/connections', { connector: c.id, values: {} })
    expect(res.status).toBe(502)
    expect(res.body.error.code).toBe('request.tls_failed')
    expect(res.body.error.message).toMatch(/client certificate/)
    expect((await t.api('GET', `/api/v1/connections?connector=${c.id}`)).body.items).toEqual([])
  })
})
