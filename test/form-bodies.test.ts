/**
 * Body fields that auth adds — `api_key` in `form`, `custom` `apply.body` — and OAuth 1.0a's signed
 * form parameters, on every body a caller can send. A urlencoded body is a form whether it arrives
 * as an object, a string, base64 bytes or through `/proxy`: it is parsed, the field goes last and
 * the other fields keep their order. A body that cannot take a field is a 400 that says why, the
 * upstream is never called and the breaker does not count it. A loopback upstream records the
 * exact bytes it received.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestPatchbay, testStoreKinds, type TestPatchbay } from './helpers/patchbay.js'
import { startOAuth1Provider, type OAuth1Provider } from './peers/oauth1-provider.js'
import { startUpstream, type Upstream } from './peers/upstream.js'

const FORM = 'application/x-www-form-urlencoded'
const KEY = 'frm-key-7c1d9e'

describe.each(await testStoreKinds())('auth body fields on %s', (storeKind) => {
  let up: Upstream
  let provider: OAuth1Provider
  let t: TestPatchbay
  let keyed: string
  let actionId: string

  beforeAll(async () => {
    up = await startUpstream()
    provider = await startOAuth1Provider()
    t = await startTestPatchbay({ storeKind })
    const c = await readyConnector({
      name: 'Form keyed',
      auth: { type: 'api_key', params: [{ name: 'Key', key: 'k2', in: 'form' }] },
      // One counted failure would open it: the refusals below must not count.
      breaker: { threshold: 1, cooldownSeconds: 600 },
      actions: [
        {
          name: 'Post a note',
          method: 'POST',
          path: 'notes',
          headers: { 'Content-Type': FORM },
          body: 'b=2&note={{input.note}}',
          inputs: [{ name: 'note', type: 'text' }],
        },
      ],
    })
    actionId = c.actions[0].id
    keyed = await connect(c.id, { k2: KEY })
  })
  afterAll(async () => {
    await t.close()
    await provider.close()
    await up.close()
  })

  async function readyConnector(body: Record<string, unknown>) {
    const created = await t.api('POST', '/api/v1/connectors', {
      baseUrl: up.url,
      customAction: { enabled: true },
      ...body,
    })
    expect(created.status, JSON.stringify(created.body)).toBe(201)
    const ready = await t.api('POST', `/api/v1/connectors/${created.body.id}/ready`)
    expect(ready.status, JSON.stringify(ready.body)).toBe(200)
    return ready.body
  }

  async function connect(connector: string, values: Record<string, unknown>) {
    const conn = await t.api('POST', '/api/v1/connections', { connector, values })
    expect(conn.status, JSON.stringify(conn.body)).toBe(201)
    return conn.body.id as string
  }

  /** One ad-hoc request; what the upstream received, or the refusal. */
  async function send(connection: string, request: Record<string, unknown>) {
    const before = up.requests.length
    const res = await t.api('POST', `/api/v1/connections/${connection}/request`, {
      method: 'POST',
      path: 'submit',
      ...request,
    })
    return { res, received: up.requests.slice(before) }
  }

  describe('api_key in form', () => {
    it('adds the key to a urlencoded string body, after the fields the caller sent', async () => {
      const { res, received } = await send(keyed, {
        headers: { 'content-type': FORM },
        body: 'a=1',
      })
      expect(res.status, JSON.stringify(res.body)).toBe(200)
      expect(res.body.status).toBe(200)
      expect(received).toHaveLength(1)
      expect(received[0]!.headers['content-type']).toBe(FORM)
      expect(received[0]!.body).toBe(`a=1&k2=${KEY}`)
    })

    it('keeps the fields in their order, replaces one of its own name, and reads any case', async () => {
      const { res, received } = await send(keyed, {
        headers: { 'Content-Type': 'Application/X-WWW-Form-Urlencoded; charset=UTF-8' },
        body: 'z=last+one&k2=forged&a=%C3%A9&z=again',
      })
      expect(res.body.status, JSON.stringify(res.body)).toBe(200)
      expect(received[0]!.headers['content-type']).toBe(
        'Application/X-WWW-Form-Urlencoded; charset=UTF-8',
      )
      expect(received[0]!.body).toBe(`z=last+one&a=%C3%A9&z=again&k2=${KEY}`)
    })

    it('reads a base64 body with a form content-type as a form', async () => {
      const { res, received } = await send(keyed, {
        headers: { 'content-type': FORM },
        body: Buffer.from('q=x%20y').toString('base64'),
        bodyEncoding: 'base64',
      })
      expect(res.body.status, JSON.stringify(res.body)).toBe(200)
      expect(received[0]!.body).toBe(`q=x+y&k2=${KEY}`)
    })

    it('sends the same bytes through /proxy as through the ad-hoc request', async () => {
      const before = up.requests.length
      const res = await fetch(`${t.url}/proxy/${keyed}/submit`, {
        method: 'POST',
        headers: { authorization: `Bearer ${t.adminKey}`, 'content-type': FORM },
        body: 'a=1',
      })
      expect(res.status).toBe(200)
      await res.arrayBuffer()
      const received = up.requests.slice(before)
      expect(received).toHaveLength(1)
      expect(received[0]!.body).toBe(`a=1&k2=${KEY}`)
    })

    it('adds the key to a saved action whose body is a urlencoded string', async () => {
      const before = up.requests.length
      const res = await t.api('POST', `/api/v1/actions/${actionId}/run`, {
        connection: keyed,
        inputs: { note: 'hello' },
      })
      expect(res.status, JSON.stringify(res.body)).toBe(200)
      expect(res.body.status).toBe(200)
      const received = up.requests.slice(before)
      expect(received).toHaveLength(1)
      expect(received[0]!.path).toBe('/notes')
      expect(received[0]!.body).toBe(`b=2&note=hello&k2=${KEY}`)
    })

    it.each([
      ['a JSON array', { body: [1, 2] }, 'a JSON array'],
      [
        'a JSON string',
        { headers: { 'content-type': 'application/json' }, body: 'a=1' },
        'a JSON string',
      ],
      [
        'text',
        { headers: { 'content-type': 'text/plain' }, body: 'a=1' },
        'a body of type text/plain',
      ],
      [
        'binary bytes',
        {
          headers: { 'content-type': 'application/octet-stream' },
          body: Buffer.from([0, 1, 2, 255]).toString('base64'),
          bodyEncoding: 'base64',
        },
        'a body of type application/octet-stream',
      ],
    ])('refuses %s with a 400 that says why, and sends nothing', async (_, request, what) => {
      const { res, received } = await send(keyed, request)
      expect(res.status, JSON.stringify(res.body)).toBe(400)
      expect(res.body.error).toEqual({
        code: 'request.invalid',
        message: `the connector's auth adds the field "k2" to the request body, and ${what} has no fields: send a form (content-type: ${FORM}) or a JSON object instead`,
        details: [
          {
            path: 'body',
            rule: `must be a form (${FORM}) or a JSON object: the connector's auth adds the field "k2" to it`,
          },
        ],
      })
      expect(JSON.stringify(res.body)).not.toContain(KEY)
      expect(received).toHaveLength(0)
    })

    it('refuses a bodiless request whose content-type has no fields', async () => {
      const { res, received } = await send(keyed, { headers: { 'content-type': 'text/csv' } })
      expect(res.status, JSON.stringify(res.body)).toBe(400)
      expect(res.body.error.code).toBe('request.invalid')
      expect(res.body.error.details).toEqual([
        {
          path: 'headers.content-type',
          rule: `must be ${FORM} or JSON, or absent: the connector's auth adds the body field "k2"`,
        },
      ])
      expect(received).toHaveLength(0)
    })

    it('refuses a text body through /proxy with the same 400', async () => {
      const before = up.requests.length
      const res = await fetch(`${t.url}/proxy/${keyed}/submit`, {
        method: 'POST',
        headers: { authorization: `Bearer ${t.adminKey}`, 'content-type': 'text/plain' },
        body: 'a=1',
      })
      expect(res.status).toBe(400)
      const body = (await res.json()) as { error: { code: string; message: string } }
      expect(body.error.code).toBe('request.invalid')
      expect(body.error.message).toContain('a body of type text/plain has no fields')
      expect(up.requests.length).toBe(before)
    })

    it('adds the key to a JSON object and a bodiless JSON request as a string property', async () => {
      const obj = await send(keyed, { body: { a: 1, k2: 'forged' } })
      expect(obj.res.body.status, JSON.stringify(obj.res.body)).toBe(200)
      expect(obj.received[0]!.body).toBe(`{"a":1,"k2":"${KEY}"}`)
      const empty = await send(keyed, { headers: { 'content-type': 'application/json' } })
      expect(empty.res.body.status, JSON.stringify(empty.res.body)).toBe(200)
      expect(empty.received[0]!.headers['content-type']).toBe('application/json')
      expect(empty.received[0]!.body).toBe(`{"k2":"${KEY}"}`)
    })

    it('did not count the refusals against the breaker, and logged each one as a 400', async () => {
      // threshold 1: one counted failure would have opened it, and this call would be a 503.
      const { res } = await send(keyed, { headers: { 'content-type': FORM }, body: 'ok=1' })
      expect(res.status, JSON.stringify(res.body)).toBe(200)
      const logs = await t.api('GET', `/api/v1/logs?connection=${keyed}&limit=100`)
      const refused = (logs.body.items as { error: string | null; breakerState: string }[]).filter(
        (e) => e.error?.startsWith('request.invalid:'),
      )
      expect(refused).toHaveLength(6)
      expect(refused.every((e) => e.breakerState === 'closed')).toBe(true)
      expect(JSON.stringify(logs.body)).not.toContain(KEY)
    })
  })

  describe('custom apply.body', () => {
    it('adds its fields to a urlencoded string body, and refuses a JSON array with a 400', async () => {
      const c = await readyConnector({
        name: 'Form custom',
        fields: [{ name: 'api_token', label: 'API token', type: 'password' }],
        auth: {
          type: 'custom',
          apply: { body: { token: '{{api_token}}', client: 'patchbay' } },
        },
      })
      const id = await connect(c.id, { api_token: 'tok-5f0a' })
      const ok = await send(id, { headers: { 'content-type': FORM }, body: 'x=1&y=2' })
      expect(ok.res.body.status, JSON.stringify(ok.res.body)).toBe(200)
      expect(ok.received[0]!.body).toBe('x=1&y=2&token=tok-5f0a&client=patchbay')

      const refused = await send(id, { body: [{ x: 1 }] })
      expect(refused.res.status).toBe(400)
      expect(refused.res.body.error.code).toBe('request.invalid')
      expect(refused.res.body.error.message).toContain('"token"')
      expect(refused.received).toHaveLength(0)
    })
  })

  describe('oauth1', () => {
    it('signs the fields of a urlencoded string body with extra.query, and the provider verifies it', async () => {
      const c = await t.api('POST', '/api/v1/connectors', {
        name: 'Form OAuth1',
        baseUrl: provider.resourceUrl,
        auth: {
          type: 'oauth1',
          consumerKey: provider.consumerKey,
          consumerSecret: provider.consumerSecret,
          requestTokenUrl: provider.requestTokenUrl,
          authorizationUrl: provider.authorizationUrl,
          accessTokenUrl: provider.accessTokenUrl,
          extra: { query: { api_version: '2' }, headers: { 'X-Client': 'patchbay' } },
        },
        customAction: { enabled: true },
      })
      expect(c.status, JSON.stringify(c.body)).toBe(201)
      expect((await t.api('POST', `/api/v1/connectors/${c.body.id}/ready`)).status).toBe(200)
      const created = await t.api('POST', '/api/v1/connections', { connector: c.body.id })
      const callback = await provider.approve(created.body.authorizeUrl)
      expect((await fetch(callback, { redirect: 'manual' })).status).toBe(200)

      const before = provider.requests.length
      const res = await t.api('POST', `/api/v1/connections/${created.body.id}/request`, {
        method: 'POST',
        path: 'statuses/update',
        headers: { 'content-type': FORM },
        body: 'status=Hello+Ladies+%2B+Gentlemen&include_entities=true',
      })
      expect(res.body, JSON.stringify(res.body)).toMatchObject({
        status: 200,
        body: {
          method: 'POST',
          query: [['api_version', '2']],
          form: [
            ['status', 'Hello Ladies + Gentlemen'],
            ['include_entities', 'true'],
          ],
        },
      })
      const sent = provider.requests.slice(before)
      expect(sent).toHaveLength(1)
      expect(sent[0]!.status).toBe(200)
      expect(sent[0]!.url).toBe('/api/statuses/update?api_version=2')
      expect(sent[0]!.headers['x-client']).toBe('patchbay')
      expect(sent[0]!.body).toBe('status=Hello+Ladies+%2B+Gentlemen&include_entities=true')
    })
  })
})
