import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestPatchbay, testStoreKinds, type TestPatchbay } from './helpers/patchbay.js'
import { json, startUpstream, type Upstream } from './peers/upstream.js'

describe.each(await testStoreKinds())('custom actions on %s', (storeKind) => {
  let t: TestPatchbay
  let up: Upstream
  let connectorId: string
  let connectionId: string
  let actionId: string

  beforeAll(async () => {
    t = await startTestPatchbay({ storeKind })
    up = await startUpstream()
    up.route('/v1/me', (req, res) =>
      req.headers['x-api-key'] === 'k-123'
        ? json(res, 200, { data: { email: 'ann@acme.test' } })
        : json(res, 401, { error: 'bad key' }),
    )
    const c = await t.api('POST', '/api/v1/connectors', {
      name: 'Acme',
      baseUrl: `${up.origin}/v1/`,
      auth: { type: 'api_key', params: [{ name: 'Key', key: 'X-Api-Key', in: 'header' }] },
      identity: { path: 'me', valuePath: 'data.email' },
      customAction: { enabled: true },
      actions: [
        {
          name: 'Create contact',
          method: 'POST',
          path: 'lists/{{input.list}}/contacts',
          query: { notify: '{{input.notify}}' },
          headers: { 'X-Trace': 'trace-{{input.list}}' },
          body: { email: '{{input.email}}', age: '{{input.age}}', tags: ['{{input.tag}}'] },
          inputs: [
            { name: 'list', type: 'text' },
            { name: 'email', type: 'text' },
            { name: 'age', type: 'number' },
            { name: 'notify', type: 'boolean', default: false },
            {
              name: 'tag',
              type: 'select',
              options: [
                ['VIP', 'vip'],
                ['Lead', 'lead'],
              ],
            },
          ],
        },
      ],
    })
    expect(c.status, JSON.stringify(c.body)).toBe(201)
    connectorId = c.body.id
    actionId = c.body.actions[0].id
    await t.api('POST', `/api/v1/connectors/${connectorId}/ready`)
    const conn = await t.api('POST', '/api/v1/connections', {
      connector: connectorId,
      values: { 'X-Api-Key': 'k-123' },
    })
    connectionId = conn.body.id
    expect(conn.body.identity).toBe('ann@acme.test')
  })
  afterAll(async () => {
    await t.close()
    await up.close()
  })

  it('runs a saved action with typed inputs rendered into path, query, headers and body', async () => {
    up.requests.length = 0
    const res = await t.api('POST', `/api/v1/actions/${actionId}/run`, {
      connection: connectionId,
      inputs: { list: 'a b/c', email: 'x@y.test', age: '42', tag: 'vip' },
    })
    expect(res.status, JSON.stringify(res.body)).toBe(200)
    expect(res.body).toMatchObject({
      status: 200,
      action: { id: actionId, name: 'Create contact' },
    })
    const r = up.requests[0]!
    expect(r.method).toBe('POST')
    expect(r.path).toBe('/v1/lists/a%20b%2Fc/contacts')
    expect(r.query.get('notify')).toBe('false')
    expect(r.headers['x-trace']).toBe('trace-a b/c')
    expect(r.headers['x-api-key']).toBe('k-123')
    expect(JSON.parse(r.body)).toEqual({ email: 'x@y.test', age: 42, tags: ['vip'] })
    const logs = await t.api('GET', `/api/v1/logs?action=${actionId}`)
    expect(logs.body.items).toHaveLength(1)
    expect(logs.body.items[0]).toMatchObject({ actionId, status: 200, method: 'POST' })
  })

  it('refuses bad inputs naming each one, without calling the upstream', async () => {
    up.requests.length = 0
    const res = await t.api('POST', `/api/v1/actions/${actionId}/run`, {
      connection: connectionId,
      inputs: { list: 'l', age: 'old', tag: 'nope' },
    })
    expect(res.status).toBe(400)
    expect(res.body.error.code).toBe('action.invalid_inputs')
    expect(res.body.error.details.map((d: { path: string }) => d.path).sort()).toEqual([
      'inputs.age',
      'inputs.email',
      'inputs.tag',
    ])
    expect(up.requests).toHaveLength(0)
  })

  it('answers 404 for an unknown action', async () => {
    const res = await t.api('POST', '/api/v1/actions/act_nope/run', { connection: connectionId })
    expect(res.status).toBe(404)
    expect(res.body.error.code).toBe('action.not_found')
  })

  it('streams through the transparent proxy with auth applied and the admin key stripped', async () => {
    up.route('/v1/big', (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'x-upstream': 'yes' })
      let sent = 0
      const chunk = Buffer.alloc(64 * 1024, 7)
      const write = (): void => {
        while (sent < 16) {
          sent++
          if (!res.write(chunk)) {
            res.once('drain', write)
            return
          }
        }
        res.end()
      }
      write()
    })
    up.requests.length = 0
    const res = await fetch(`${t.url}/proxy/${connectionId}/big?x=1`, {
      headers: { authorization: `Bearer ${t.adminKey}`, 'x-custom': 'c' },
    })
    expect(res.status).toBe(200)
    expect(res.headers.get('x-upstream')).toBe('yes')
    const bytes = Buffer.from(await res.arrayBuffer())
    expect(bytes.byteLength).toBe(16 * 64 * 1024)
    expect(bytes.every((b) => b === 7)).toBe(true)
    const r = up.requests[0]!
    expect(r.url).toBe('/v1/big?x=1')
    expect(r.headers['x-api-key']).toBe('k-123')
    expect(r.headers['x-custom']).toBe('c')
    expect(r.headers.authorization).toBeUndefined()
    expect(JSON.stringify(r.headers)).not.toContain(t.adminKey)
  })

  it('proxies a POST body and the upstream status as they are', async () => {
    up.route('/v1/echo', (req, res) =>
      json(res, 418, { got: req.body, type: req.headers['content-type'] }),
    )
    const res = await fetch(`${t.url}/proxy/${connectionId}/echo`, {
      method: 'POST',
      headers: { 'x-patchbay-key': t.adminKey, 'content-type': 'text/plain' },
      body: 'hello body',
    })
    expect(res.status).toBe(418)
    expect(await res.json()).toEqual({ got: 'hello body', type: 'text/plain' })
  })

  it('refuses the proxy without the admin key', async () => {
    const res = await fetch(`${t.url}/proxy/${connectionId}/me`)
    expect(res.status).toBe(401)
  })

  it('returns binary bodies base64-encoded in the ad-hoc envelope', async () => {
    up.route('/v1/png', (_req, res) => {
      res.writeHead(200, { 'content-type': 'image/png' })
      res.end(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 1, 2, 255]))
    })
    const res = await t.api('POST', `/api/v1/connections/${connectionId}/request`, { path: 'png' })
    expect(res.body).toMatchObject({
      status: 200,
      bodyEncoding: 'base64',
      body: Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 1, 2, 255]).toString('base64'),
    })
  })

  it('tests a connection with its identity request', async () => {
    const ok = await t.api('POST', `/api/v1/connections/${connectionId}/test`)
    expect(ok.body).toEqual({
      ok: true,
      status: 200,
      identity: 'ann@acme.test',
      message: 'the connection works',
    })
    const bad = await t.api('POST', '/api/v1/connections', {
      connector: connectorId,
      values: { 'X-Api-Key': 'wrong' },
    })
    const failed = await t.api('POST', `/api/v1/connections/${bad.body.id}/test`)
    expect(failed.body).toMatchObject({ ok: false, status: 401 })
  })

  it('refuses custom actions when the connector does not enable them', async () => {
    const c = await t.api('POST', '/api/v1/connectors', {
      name: 'Closed',
      baseUrl: up.url,
      auth: { type: 'bearer' },
    })
    await t.api('POST', `/api/v1/connectors/${c.body.id}/ready`)
    const conn = await t.api('POST', '/api/v1/connections', {
      connector: c.body.id,
      values: { token: 't' },
    })
    const res = await t.api('POST', `/api/v1/connections/${conn.body.id}/request`, { path: 'x' })
    expect(res.status).toBe(409)
    expect(res.body.error.code).toBe('connector.custom_action_disabled')
    const proxied = await fetch(`${t.url}/proxy/${conn.body.id}/x`, {
      headers: { authorization: `Bearer ${t.adminKey}` },
    })
    expect(proxied.status).toBe(409)
  })

  it('answers 502 with the error shape when the upstream cannot be reached', async () => {
    const c = await t.api('POST', '/api/v1/connectors', {
      name: 'Gone',
      baseUrl: 'http://127.0.0.1:9/',
      auth: { type: 'bearer' },
      customAction: { enabled: true },
    })
    await t.api('POST', `/api/v1/connectors/${c.body.id}/ready`)
    const conn = await t.api('POST', '/api/v1/connections', {
      connector: c.body.id,
      values: { token: 't' },
    })
    const res = await t.api('POST', `/api/v1/connections/${conn.body.id}/request`, { path: 'x' })
    expect(res.status).toBe(502)
    expect(res.body.error.code).toBe('request.upstream_unreachable')
  })

  it('serves an OpenAPI document generated from the request schemas', async () => {
    const res = await fetch(`${t.url}/api/v1/openapi.json`)
    const doc = (await res.json()) as any
    expect(doc.openapi).toBe('3.0.3')
    expect(Object.keys(doc.paths)).toContain('/connections/{id}/request')
    const variants = doc.components.schemas.ConnectorInput.properties.auth.oneOf.map(
      (v: any) => v.properties.type.enum?.[0] ?? v.properties.type.const,
    )
    expect(variants).toEqual(expect.arrayContaining(['basic', 'api_key', 'bearer']))
    expect(doc.components.schemas.ConnectorInput.properties.name.maxLength).toBe(50)
  })
})
