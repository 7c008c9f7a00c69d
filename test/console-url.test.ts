/**
 * The action console's "Resolved URL" (`web/src/lib/resolved-url.ts`) is the URL the server
 * calls: the same template function and scope fill the base URL (multiselects joined, objects as
 * JSON, secrets — shown masked — included), and the query replaces what the path already had.
 * Checked against what a real upstream receives through `POST /connections/:id/request`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { SECRET_SHOWN, resolvedUrl } from '../web/src/lib/resolved-url.js'
import { startTestPatchbay, type TestPatchbay } from './helpers/patchbay.js'
import { startUpstream, type Upstream } from './peers/upstream.js'

describe('the console’s resolved URL', () => {
  let t: TestPatchbay
  let upstream: Upstream
  let connector: any
  const SECRET = 's3cr3t'

  beforeAll(async () => {
    upstream = await startUpstream()
    t = await startTestPatchbay()
    const created = await t.api('POST', '/api/v1/connectors', {
      name: 'Templated',
      baseUrl: `${upstream.origin}/t/{{tenant}}/{{regions}}/{{flags}}/{{secret}}`,
      fields: [
        { name: 'tenant', type: 'text', optional: true },
        {
          name: 'regions',
          type: 'multiselect',
          delimiter: '+',
          options: [
            ['Europe', 'eu'],
            ['United States', 'us'],
          ],
        },
        { name: 'flags', type: 'object', properties: [{ name: 'beta', type: 'boolean' }] },
        { name: 'secret', type: 'password' },
      ],
      auth: { type: 'api_key', params: [{ name: 'Key', key: 'X-Key', in: 'header' }] },
      customAction: { enabled: true },
    })
    expect(created.status, JSON.stringify(created.body)).toBe(201)
    expect((await t.api('POST', `/api/v1/connectors/${created.body.id}/ready`)).status).toBe(200)
    connector = (await t.api('GET', `/api/v1/connectors/${created.body.id}`)).body
  })

  afterAll(async () => {
    await t?.close()
    await upstream?.close()
  })

  async function connect(values: Record<string, unknown>) {
    const made = await t.api('POST', '/api/v1/connections', {
      connector: connector.id,
      values: {
        regions: ['eu', 'us'],
        flags: { beta: true },
        secret: SECRET,
        'X-Key': 'k',
        ...values,
      },
    })
    expect(made.status, JSON.stringify(made.body)).toBe(201)
    return (await t.api('GET', `/api/v1/connections/${made.body.id}`)).body
  }

  it('is the URL the upstream is called at', async () => {
    const connection = await connect({ tenant: 'acme corp/1' })
    expect(connection.secretsSet).toEqual(['secret', 'X-Key'])
    const cases: [string, Record<string, string> | undefined][] = [
      ['items', undefined],
      ['/items/7', { page: '2' }],
      ['items?limit=10&sort=name', { limit: '5' }],
      ['a b', { q: 'x y' }],
    ]
    for (const [path, query] of cases) {
      const before = upstream.requests.length
      const res = await t.api('POST', `/api/v1/connections/${connection.id}/request`, {
        method: 'GET',
        path,
        ...(query ? { query } : {}),
      })
      expect(res.status, JSON.stringify(res.body)).toBe(200)
      expect(upstream.requests).toHaveLength(before + 1)
      const called = decodeURI(`${upstream.origin}${upstream.requests[before]!.url}`)
      const shown = resolvedUrl(connector, connection, path, query)
      expect(shown).toContain(SECRET_SHOWN)
      expect(shown.replace(SECRET_SHOWN, SECRET), `${path} ${JSON.stringify(query)}`).toBe(called)
    }
  })

  it('says which value is missing, in the words the server refuses the call with', async () => {
    const connection = await connect({})
    const res = await t.api('POST', `/api/v1/connections/${connection.id}/request`, {
      method: 'GET',
      path: 'items',
    })
    expect(res.status).toBe(400)
    expect(resolvedUrl(connector, connection, 'items', undefined)).toBe(res.body.error.message)
  })
})
