/**
 * The MCP server (docs/mcp.md) through the SDK's own client over Streamable HTTP, against a real
 * server on both stores: tools from saved actions (exact names and schemas), calls run through
 * the pipeline (the headers the upstream received, the structured result, a refresh of an expired
 * token, the breaker, the log entry naming key and tool), scoped keys (another end user's tools,
 * one action, named connections), the connect URL for an end user who has not connected, and
 * keys refused: revoked (in another server on the same database too), admin, or on `/api/v1`.
 */
import { join } from 'node:path'
import { serve } from '@hono/node-server'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import {
  StreamableHTTPClientTransport,
  StreamableHTTPError,
} from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { McpError, type CallToolResult } from '@modelcontextprotocol/sdk/types.js'
import type { AddressInfo } from 'node:net'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createApp } from '../src/server/app.js'
import { createSqliteStore } from '../src/store/sqlite/store.js'
import type { Store } from '../src/store/store.js'
import {
  runSql,
  startTestPatchbay,
  storeContains,
  testStoreKinds,
  type TestPatchbay,
} from './helpers/patchbay.js'
import { createTestPostgresStore } from './helpers/postgres.js'
import { json, startUpstream, type Upstream } from './peers/upstream.js'
import { startTokenServer, type TokenServer } from './peers/token-server.js'

type Obj = Record<string, any>

const CREATE_CONTACT_SCHEMA = {
  type: 'object',
  properties: {
    list: { type: 'string', maxLength: 10_000, title: 'List', description: 'The list id' },
    email: { type: 'string', maxLength: 10_000 },
    age: { type: 'number', description: 'In years' },
    notify: { type: 'boolean', default: false },
    tag: { type: 'string', enum: ['vip', 'lead'], title: 'Tag' },
    labels: {
      type: 'array',
      items: { type: 'string', enum: ['a', 'b'] },
      uniqueItems: true,
    },
  },
  required: ['list', 'email', 'tag'],
  additionalProperties: false,
}

describe.each(await testStoreKinds())('MCP server on %s', (storeKind) => {
  let t: TestPatchbay
  let up: Upstream
  let other: Upstream
  let tokens: TokenServer
  const ids: Obj = {}
  const clients: Client[] = []

  async function connect(
    key: string,
    url = t.url,
    headers: Record<string, string> = {},
  ): Promise<Client> {
    const client = new Client({ name: 'test-agent', version: '1.0.0' })
    await client.connect(
      new StreamableHTTPClientTransport(new URL('/mcp', url), {
        requestInit: { headers: { authorization: `Bearer ${key}`, ...headers } },
      }),
    )
    clients.push(client)
    return client
  }

  async function createKey(body: Obj): Promise<{ id: string; key: string }> {
    const res = await t.api('POST', '/api/v1/mcp-keys', body)
    expect(res.status, JSON.stringify(res.body)).toBe(201)
    return res.body
  }

  const call = (client: Client, name: string, args: Obj = {}) =>
    client.callTool({ name, arguments: args }) as Promise<CallToolResult>
  const textOf = (r: CallToolResult) => (r.content[0] as { text: string }).text

  beforeAll(async () => {
    t = await startTestPatchbay({ storeKind })
    up = await startUpstream()
    other = await startUpstream()
    up.route('/v1/fail', (_req, res) => json(res, 500, { error: 'boom' }))
    up.route('/v1/missing', (_req, res) => json(res, 404, { error: 'no such thing' }))
    up.route('/v1/cookie', (_req, res) =>
      json(res, 200, { ok: true }, { 'set-cookie': 'sid=upstream-session-cookie; HttpOnly' }),
    )
    tokens = await startTokenServer()

    const acme = await t.api('POST', '/api/v1/connectors', {
      name: 'Acme CRM',
      baseUrl: `${up.origin}/v1/`,
      auth: { type: 'api_key', params: [{ name: 'Key', key: 'X-Api-Key', in: 'header' }] },
      customAction: { enabled: true },
      breaker: { threshold: 2, cooldownSeconds: 600 },
      actions: [
        {
          name: 'Create contact',
          description: 'Adds a contact to a list',
          method: 'POST',
          path: 'lists/{{input.list}}/contacts',
          headers: { 'X-Trace': 'trace-{{input.list}}' },
          body: { email: '{{input.email}}', age: '{{input.age}}', tag: '{{input.tag}}' },
          inputs: [
            { name: 'list', label: 'List', hint: 'The list id', type: 'text' },
            { name: 'email', type: 'text' },
            { name: 'age', type: 'number', optional: true, hint: 'In years' },
            { name: 'notify', type: 'boolean', default: false },
            {
              name: 'tag',
              label: 'Tag',
              type: 'select',
              options: [
                ['VIP', 'vip'],
                ['Lead', 'lead'],
              ],
            },
            {
              name: 'labels',
              type: 'multiselect',
              optional: true,
              options: [
                ['A', 'a'],
                ['B', 'b'],
              ],
            },
          ],
        },
        {
          name: 'Get contact',
          method: 'GET',
          path: 'contacts/{{input.id}}',
          inputs: [{ name: 'id', type: 'text' }],
        },
        { name: 'Flaky', method: 'GET', path: 'fail', inputs: [] },
        { name: 'Missing', method: 'GET', path: 'missing', inputs: [] },
      ],
    })
    expect(acme.status, JSON.stringify(acme.body)).toBe(201)
    ids.acme = acme.body.id
    for (const a of acme.body.actions) ids[a.name] = a.id
    expect((await t.api('POST', `/api/v1/connectors/${ids.acme}/ready`)).status).toBe(200)

    const beta = await t.api('POST', '/api/v1/connectors', {
      name: 'Beta API',
      baseUrl: `${up.origin}/beta/`,
      auth: { type: 'bearer' },
      actions: [{ name: 'List items', method: 'GET', path: 'items', inputs: [] }],
    })
    ids.beta = beta.body.id
    await t.api('POST', `/api/v1/connectors/${ids.beta}/ready`)

    const token = await t.api('POST', '/api/v1/connectors', {
      name: 'Token API',
      baseUrl: `${tokens.url}/protected/`,
      fields: [{ name: 'client', type: 'text' }],
      auth: {
        type: 'http_token',
        request: { method: 'POST', url: `${tokens.url}/token`, body: { client: '{{client}}' } },
        tokenPath: 'data.token',
        expiresInPath: 'data.expires_in',
        prefix: 'Bearer',
      },
      actions: [{ name: 'Items', method: 'GET', path: 'items', inputs: [] }],
    })
    ids.token = token.body.id
    const tested = await t.api('POST', `/api/v1/connectors/${ids.token}/test-token`, {
      values: { client: 'c-1' },
    })
    expect(tested.body.ok, JSON.stringify(tested.body)).toBe(true)
    expect((await t.api('POST', `/api/v1/connectors/${ids.token}/ready`)).status).toBe(200)

    const draft = await t.api('POST', '/api/v1/connectors', {
      name: 'Draft API',
      baseUrl: up.url,
      auth: { type: 'bearer' },
    })
    ids.draft = draft.body.id

    for (const [name, connector, endUser, values] of [
      ['annAcme', ids.acme, 'ann', { 'X-Api-Key': 'k-ann-0001' }],
      ['bobAcme', ids.acme, 'bob', { 'X-Api-Key': 'k-bob-0002' }],
      ['annToken', ids.token, 'ann', { client: 'c-1' }],
    ] as const) {
      const conn = await t.api('POST', '/api/v1/connections', { connector, endUser, values })
      expect(conn.body.status, JSON.stringify(conn.body)).toBe('connected')
      ids[name] = conn.body.id
    }
  })
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()))
  })
  afterAll(async () => {
    await t?.close()
    await up?.close()
    await other?.close()
    await tokens?.close()
  })

  it("lists an end user's tools: exact names, input schemas from the action inputs", async () => {
    const { key } = await createKey({
      name: 'ann agent',
      endUser: 'ann',
      connectors: ['acme_crm', ids.beta, ids.token],
      httpRequest: true,
    })
    const client = await connect(key)
    const { tools } = await client.listTools()
    expect(tools.map((tool) => tool.name)).toEqual([
      'acme_crm__create_contact',
      'acme_crm__get_contact',
      'acme_crm__flaky',
      'acme_crm__missing',
      'acme_crm__http_request',
      'beta_api__list_items',
      'token_api__items',
    ])
    const create = tools[0]!
    expect(create).toMatchObject({
      title: 'Acme CRM: Create contact',
      description: 'Adds a contact to a list (Acme CRM, POST lists/{{input.list}}/contacts)',
      annotations: { readOnlyHint: false, destructiveHint: false, openWorldHint: true },
    })
    expect(create.inputSchema).toEqual(CREATE_CONTACT_SCHEMA)
    expect(tools[1]!.inputSchema).toEqual({
      type: 'object',
      properties: { id: { type: 'string', maxLength: 10_000 } },
      required: ['id'],
      additionalProperties: false,
    })
    expect(tools[1]!.annotations).toMatchObject({ readOnlyHint: true })
    expect(tools[2]!.inputSchema).toEqual({
      type: 'object',
      properties: {},
      additionalProperties: false,
    })
    expect(tools[4]!.inputSchema).toMatchObject({
      type: 'object',
      required: ['path'],
      additionalProperties: false,
    })
    expect(Object.keys(tools[4]!.inputSchema.properties!)).toEqual([
      'method',
      'path',
      'query',
      'headers',
      'body',
    ])
    // Beta API has custom actions off: no http_request tool for it.
    expect(tools.map((tool) => tool.name)).not.toContain('beta_api__http_request')
    for (const tool of tools) expect(tool.name).toMatch(/^[A-Za-z0-9_-]{1,64}$/)
  })

  it('runs a saved action through the pipeline: the upstream gets the auth, the agent the answer', async () => {
    const { id: keyId, key } = await createKey({
      name: 'ann run',
      endUser: 'ann',
      connectors: [ids.acme],
    })
    const client = await connect(key)
    up.requests.length = 0
    const result = await call(client, 'acme_crm__create_contact', {
      list: 'a b',
      email: 'x@y.test',
      age: 42,
      tag: 'vip',
    })
    expect(result.isError).toBeFalsy()
    expect(up.requests).toHaveLength(1)
    const r = up.requests[0]!
    expect(r.method).toBe('POST')
    expect(r.path).toBe('/v1/lists/a%20b/contacts')
    expect(r.headers).toEqual({
      host: up.origin.replace('http://', ''),
      connection: 'keep-alive',
      'content-length': String(Buffer.byteLength(r.body)),
      'content-type': 'application/json',
      'x-api-key': 'k-ann-0001',
      'x-trace': 'trace-a b',
    })
    // Neither the MCP key nor the MCP client's own headers reach the upstream.
    expect(r.headers.authorization).toBeUndefined()
    expect(r.headers['mcp-protocol-version']).toBeUndefined()
    expect(JSON.stringify(r.headers)).not.toContain(key)
    expect(JSON.parse(r.body)).toEqual({ email: 'x@y.test', age: 42, tag: 'vip' })
    expect(result.structuredContent).toEqual({
      status: 200,
      headers: expect.objectContaining({ 'content-type': 'application/json' }),
      body: { ok: true, path: '/v1/lists/a%20b/contacts' },
      refreshed: false,
      action: { id: ids['Create contact'], name: 'Create contact' },
    })
    expect(JSON.parse(textOf(result))).toEqual(result.structuredContent)

    // The log entry names the key and the tool, and both filter the logs.
    const logs = await t.api('GET', `/api/v1/logs?mcpKey=${keyId}`)
    expect(logs.status).toBe(200)
    expect(logs.body.items).toHaveLength(1)
    expect(logs.body.items[0]).toMatchObject({
      kind: 'request',
      mcpKeyId: keyId,
      tool: 'acme_crm__create_contact',
      actionId: ids['Create contact'],
      connectionId: ids.annAcme,
      status: 200,
      method: 'POST',
    })
    const byTool = await t.api('GET', '/api/v1/logs?tool=acme_crm__create_contact')
    expect(byTool.body.items.map((l: Obj) => l.mcpKeyId)).toContain(keyId)
    const plain = await t.api('POST', `/api/v1/actions/${ids['Get contact']}/run`, {
      connection: ids.annAcme,
      inputs: { id: '7' },
    })
    expect(plain.status).toBe(200)
    const latest = await t.api('GET', `/api/v1/logs?action=${ids['Get contact']}&limit=1`)
    expect(latest.body.items[0]).toMatchObject({ mcpKeyId: null, tool: null })
  })

  it('answers bad arguments with a tool error naming each one, without calling the upstream', async () => {
    const { key } = await createKey({ name: 'ann bad', endUser: 'ann', connectors: [ids.acme] })
    const client = await connect(key)
    up.requests.length = 0
    const result = await call(client, 'acme_crm__create_contact', {
      list: 'l',
      age: 'old',
      tag: 'nope',
    })
    expect(result.isError).toBe(true)
    expect(up.requests).toHaveLength(0)
    const error = (result.structuredContent as Obj).error
    expect(error.code).toBe('action.invalid_inputs')
    expect(error.details.map((d: Obj) => d.path).sort()).toEqual(['age', 'email', 'tag'])
    expect(textOf(result)).toMatch(/^Invalid arguments \(400 action\.invalid_inputs\): /)
    expect(textOf(result)).toContain('age must be a number')
    expect(textOf(result)).toContain('tag must be one of vip, lead')
    expect(textOf(result)).toContain('call acme_crm__create_contact again')
  })

  it("answers an upstream error as a tool error with the API's answer", async () => {
    const { key } = await createKey({ name: 'ann 404', endUser: 'ann', connectors: [ids.acme] })
    const client = await connect(key)
    const result = await call(client, 'acme_crm__missing')
    expect(result.isError).toBe(true)
    expect(result.structuredContent).toMatchObject({
      status: 404,
      body: { error: 'no such thing' },
    })
    expect(textOf(result)).toMatch(/^The call failed: the API answered 404/)
  })

  it('refreshes an expired token during a tool call: one token request, then the call succeeds', async () => {
    const { key } = await createKey({ name: 'ann token', endUser: 'ann', connectors: [ids.token] })
    const client = await connect(key)
    expect((await call(client, 'token_api__items')).structuredContent).toMatchObject({
      status: 200,
      refreshed: false,
    })
    // The token lapsed: the API refuses it.
    tokens.expire()
    const before = tokens.tokenRequests
    const calls = tokens.requests.filter((r) => r.path === '/protected/items').length
    const result = await call(client, 'token_api__items')
    expect(result.isError).toBeFalsy()
    expect(result.structuredContent).toMatchObject({
      status: 200,
      refreshed: true,
      body: { ok: true, path: '/protected/items' },
    })
    expect(tokens.tokenRequests - before).toBe(1)
    const sent = tokens.requests.filter((r) => r.path === '/protected/items')
    // The refused call, then the retry with the new token.
    expect(sent.length - calls).toBe(2)
    expect(sent.at(-2)!.headers.authorization).toBe(`Bearer ${tokens.issued.at(-2)}`)
    expect(sent.at(-1)!.headers.authorization).toBe(`Bearer ${tokens.issued.at(-1)}`)
  })

  it("keeps an end user's key from seeing or calling another end user's tools", async () => {
    const ann = await createKey({ name: 'ann only', endUser: 'ann', connectors: [ids.acme] })
    const bob = await createKey({
      name: 'bob one action',
      endUser: 'bob',
      actions: [ids['Get contact']],
    })
    const bobClient = await connect(bob.key)
    // A key scoped to one action sees that one tool only.
    expect((await bobClient.listTools()).tools.map((tool) => tool.name)).toEqual([
      'acme_crm__get_contact',
    ])
    up.requests.length = 0
    const got = await call(bobClient, 'acme_crm__get_contact', { id: '9' })
    expect(got.structuredContent).toMatchObject({ status: 200, body: { path: '/v1/contacts/9' } })
    expect(up.requests[0]!.headers['x-api-key']).toBe('k-bob-0002')
    // Tools outside the key's scope are unknown to it, and nothing is sent.
    for (const name of [
      'acme_crm__create_contact',
      'acme_crm__http_request',
      'beta_api__list_items',
    ]) {
      const err = await call(bobClient, name).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(McpError)
      expect((err as McpError).message).toContain(`no tool "${name}" for this key`)
    }
    expect(up.requests).toHaveLength(1)
    // Ann's key runs the same tool with Ann's connection, never Bob's.
    const annClient = await connect(ann.key)
    await call(annClient, 'acme_crm__get_contact', { id: '9' })
    expect(up.requests[1]!.headers['x-api-key']).toBe('k-ann-0001')
  })

  it('runs the tools of a key scoped to named connections with those connections', async () => {
    const { key } = await createKey({ name: 'bob conn', connections: [ids.bobAcme] })
    const client = await connect(key)
    expect((await client.listTools()).tools.map((tool) => tool.name)).toEqual([
      'acme_crm__create_contact',
      'acme_crm__get_contact',
      'acme_crm__flaky',
      'acme_crm__missing',
    ])
    up.requests.length = 0
    await call(client, 'acme_crm__get_contact', { id: '1' })
    expect(up.requests[0]!.headers['x-api-key']).toBe('k-bob-0002')
  })

  it('answers a connect-session URL for a connector the end user has not connected', async () => {
    const { key } = await createKey({ name: 'ann beta', endUser: 'ann', connectors: [ids.beta] })
    const client = await connect(key)
    up.requests.length = 0
    const result = await call(client, 'beta_api__list_items')
    expect(result.isError).toBe(true)
    expect(up.requests).toHaveLength(0)
    const structured = result.structuredContent as Obj
    expect(structured).toEqual({
      error: { code: 'connection.not_connected', message: 'ann has not connected Beta API yet.' },
      connectUrl: expect.stringMatching(new RegExp(`^${t.url}/connect\\?session=pbcs_`)),
      connectExpiresAt: expect.any(String),
    })
    expect(textOf(result)).toContain(structured.connectUrl)
    expect(textOf(result)).toContain('then call beta_api__list_items again')
    // The session is ann's, for Beta API only, and its page opens.
    const sessions = await t.api('GET', '/api/v1/connect-sessions')
    const session = (sessions.body.items as Obj[]).find(
      (s) => s.endUser.id === 'ann' && s.connectors?.[0] === ids.beta,
    )
    expect(session).toMatchObject({ connectors: [ids.beta], reconnect: null })
    const page = await fetch(`${t.url}/connect/api/session`, {
      headers: {
        'x-patchbay-connect-session': new URL(structured.connectUrl).searchParams.get('session')!,
      },
    })
    expect(page.status).toBe(200)
    expect(JSON.stringify(await page.json())).toContain('Beta API')
  })

  it('answers a reconnect URL when the end user’s connection needs re-authorization', async () => {
    const conn = await t.api('POST', '/api/v1/connections', {
      connector: ids.beta,
      endUser: 'cy',
      values: { token: 'cy-token-123' },
    })
    await runSql(
      t,
      "UPDATE connections SET status = 'needs_reauth', status_message = ? WHERE id = ?",
      ['the provider refused the refresh token', conn.body.id],
    )
    const { key } = await createKey({ name: 'cy', endUser: 'cy', connectors: [ids.beta] })
    const result = await call(await connect(key), 'beta_api__list_items')
    expect(result.isError).toBe(true)
    expect(result.structuredContent).toMatchObject({
      error: { code: 'connection.needs_reauth' },
      connectUrl: expect.stringContaining('/connect?session=pbcs_'),
    })
    expect(textOf(result)).toContain('to reconnect their Beta API account')
    const sessions = await t.api('GET', '/api/v1/connect-sessions')
    expect((sessions.body.items as Obj[]).some((s) => s.reconnect === conn.body.id)).toBe(true)
  })

  it('says until when the breaker is open', async () => {
    const { key } = await createKey({ name: 'ann flaky', endUser: 'ann', connectors: [ids.acme] })
    const client = await connect(key)
    for (let i = 0; i < 2; i++)
      expect((await call(client, 'acme_crm__flaky')).structuredContent).toMatchObject({
        status: 500,
      })
    up.requests.length = 0
    const result = await call(client, 'acme_crm__flaky')
    expect(result.isError).toBe(true)
    expect(up.requests).toHaveLength(0)
    const error = (result.structuredContent as Obj).error
    expect(error.code).toBe('breaker.open')
    expect(textOf(result)).toContain(
      `do not call acme_crm__flaky again before ${new Date(error.details.retryAt).toISOString()}`,
    )
    await t.api('POST', `/api/v1/actions/${ids.Flaky}/breaker/reset`)
  })

  it("runs http_request on the connector's origin only, without upstream cookies", async () => {
    const { key } = await createKey({
      name: 'ann http',
      endUser: 'ann',
      connectors: [ids.acme],
      httpRequest: true,
    })
    const client = await connect(key)
    up.requests.length = 0
    const result = await call(client, 'acme_crm__http_request', {
      method: 'post',
      path: 'notes',
      query: { page: 2, tags: ['a', 'b'] },
      headers: { 'X-Extra': 'yes' },
      body: { title: 'Groceries' },
    })
    expect(result.structuredContent).toMatchObject({ status: 200, body: { path: '/v1/notes' } })
    const r = up.requests[0]!
    expect(r.method).toBe('POST')
    expect(r.url).toBe('/v1/notes?page=2&tags=a&tags=b')
    expect(r.headers).toMatchObject({ 'x-api-key': 'k-ann-0001', 'x-extra': 'yes' })
    expect(JSON.parse(r.body)).toEqual({ title: 'Groceries' })

    const cookie = await call(client, 'acme_crm__http_request', { path: 'cookie' })
    expect((cookie.structuredContent as Obj).headers['set-cookie']).toBeUndefined()
    expect(textOf(cookie)).not.toContain('upstream-session-cookie')

    // Another origin is refused before anything is sent; so are unknown arguments.
    const away = await call(client, 'acme_crm__http_request', { path: `${other.origin}/steal` })
    expect(away.isError).toBe(true)
    expect((away.structuredContent as Obj).error).toMatchObject({
      code: 'input.invalid',
      details: [
        {
          path: 'path',
          rule: expect.stringContaining("must be a path relative to the connector's base URL"),
        },
      ],
    })
    const url = await call(client, 'acme_crm__http_request', {
      path: 'x',
      url: `${other.origin}/steal`,
    })
    expect((url.structuredContent as Obj).error.details).toEqual([
      { path: 'url', rule: expect.stringContaining('is not an argument of http_request') },
    ])
    expect(other.requests).toHaveLength(0)
  })

  it('refuses a revoked key from the next request on, in every server on the database', async () => {
    const { id, key } = await createKey({
      name: 'to revoke',
      endUser: 'ann',
      connectors: [ids.acme],
    })
    let store: Store
    if (storeKind === 'postgres') store = await createTestPostgresStore({ schema: t.schema! })
    else {
      store = createSqliteStore({ filename: join(t.dataDir, 'patchbay.db') })
      await store.migrate()
    }
    const second = await startTestPatchbay({ store, dataDir: t.dataDir })
    try {
      const here = await connect(key)
      const there = await connect(key, second.url)
      expect((await there.listTools()).tools.length).toBe(4)
      expect((await t.api('DELETE', `/api/v1/mcp-keys/${id}`)).status).toBe(204)
      for (const client of [here, there]) {
        const err = await client.listTools().catch((e: unknown) => e)
        expect(err).toBeInstanceOf(StreamableHTTPError)
        expect((err as StreamableHTTPError).code).toBe(401)
        expect((err as Error).message).toContain('the MCP key is not valid (unknown or revoked)')
      }
      const fresh = await connect(key, second.url).catch((e: unknown) => e)
      expect((fresh as StreamableHTTPError).code).toBe(401)
      const listed = await t.api('GET', `/api/v1/mcp-keys/${id}`)
      expect(listed.body.revokedAt).toEqual(expect.any(String))
    } finally {
      await second.close()
      await store.close()
    }
  })

  it('refuses admin keys on /mcp unless the server allows them, and MCP keys on /api/v1', async () => {
    const err = await connect(t.adminKey).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(StreamableHTTPError)
    expect((err as StreamableHTTPError).code).toBe(401)
    expect((err as Error).message).toContain('admin keys are not accepted on /mcp')
    const none = await fetch(`${t.url}/mcp`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    })
    expect(none.status).toBe(401)
    expect(none.headers.get('www-authenticate')).toBe('Bearer realm="patchbay-mcp"')
    expect((await none.json()).error.code).toBe('auth.unauthorized')
    expect((await fetch(`${t.url}/mcp`)).status).toBe(405)

    const { key } = await createKey({ name: 'not admin', endUser: 'ann', connectors: [ids.acme] })
    const api = await t.api('GET', '/api/v1/connectors', undefined, {
      authorization: `Bearer ${key}`,
    })
    expect(api.status).toBe(401)

    // An explicit server option lets admin keys in, for the end user the caller names.
    const app = createApp(t.pb, { mcpAllowAdminKey: true })
    const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' })
    await new Promise((r) => server.once('listening', r))
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    try {
      const noUser = await connect(t.adminKey, url).catch((e: unknown) => e)
      expect((noUser as StreamableHTTPError).code).toBe(400)
      expect((noUser as Error).message).toContain('x-patchbay-end-user')
      const admin = await connect(t.adminKey, url, { 'x-patchbay-end-user': 'bob' })
      const names = (await admin.listTools()).tools.map((tool) => tool.name)
      expect(names).toEqual(
        expect.arrayContaining(['acme_crm__get_contact', 'acme_crm__http_request']),
      )
      up.requests.length = 0
      await call(admin, 'acme_crm__get_contact', { id: '3' })
      expect(up.requests[0]!.headers['x-api-key']).toBe('k-bob-0002')
    } finally {
      await new Promise((r) => server.close(r))
    }
  })

  it('creates keys through the API: shown once, stored as a hash, bad input a 400 naming the field', async () => {
    const good = await createKey({
      name: 'listed',
      endUser: 'ann',
      connectors: ['acme_crm'],
      actions: [ids['Get contact']],
    })
    expect(good).toEqual({
      id: expect.stringMatching(/^mk_/),
      name: 'listed',
      key: expect.stringMatching(/^pbm_[A-Za-z0-9_-]{43}$/),
      endUser: 'ann',
      connections: null,
      connectors: [ids.acme],
      actions: [ids['Get contact']],
      httpRequest: false,
      createdAt: expect.any(String),
      revokedAt: null,
    })
    const list = await t.api('GET', '/api/v1/mcp-keys?limit=500')
    const { key, ...shown } = good as Obj
    expect((list.body.items as Obj[]).find((k) => k.id === good.id)).toEqual(shown)
    expect(JSON.stringify(list.body)).not.toContain(key)
    expect(await storeContains(t, key)).toBe(false)

    const bad = async (body: Obj) => {
      const res = await t.api('POST', '/api/v1/mcp-keys', body)
      expect(res.status, JSON.stringify(res.body)).toBe(400)
      expect(res.body.error.code).toBe('input.invalid')
      return res.body.error.details as { path: string; rule: string }[]
    }
    expect(await bad({ name: 'x', connectors: [ids.acme] })).toEqual([
      { path: 'endUser', rule: expect.stringContaining('give exactly one of endUser') },
    ])
    expect(
      await bad({ name: 'x', endUser: 'ann', connections: [ids.annAcme], connectors: [ids.acme] }),
    ).toEqual([{ path: 'endUser', rule: expect.stringContaining('give exactly one of endUser') }])
    expect(await bad({ name: 'x', endUser: 'ann' })).toEqual([
      { path: 'connectors', rule: expect.stringContaining('give connectors, actions or both') },
    ])
    expect(await bad({ name: 'x', endUser: 'ann', connectors: ['nope', ids.draft] })).toEqual([
      { path: 'connectors.0', rule: 'no connector "nope"' },
      { path: 'connectors.1', rule: expect.stringContaining('is a draft') },
    ])
    expect(await bad({ name: 'x', endUser: 'ann', actions: ['act_nope'] })).toEqual([
      { path: 'actions.0', rule: 'no saved action "act_nope"' },
    ])
    expect(
      await bad({ name: 'x', endUser: 'ann', actions: [ids.Flaky], httpRequest: true }),
    ).toEqual([{ path: 'httpRequest', rule: expect.stringContaining('needs connectors') }])
    expect(await bad({ name: ' x', endUser: 'ann', connectors: [ids.acme] })).toEqual([
      { path: 'name', rule: expect.stringContaining('no space at either end') },
    ])
    expect(await bad({ name: 'x', endUser: 'a b', connectors: [ids.acme] })).toEqual([
      { path: 'endUser', rule: expect.stringContaining('may use only') },
    ])
    expect(await bad({ name: 'x', endUser: 'ann', connectors: [ids.acme], scope: 1 })).toEqual([
      { path: '', rule: 'has unknown field "scope"' },
    ])
    expect(await bad({ name: 'x', connections: [ids.annAcme, ids.bobAcme] })).toEqual([
      {
        path: 'connections.1',
        rule: expect.stringContaining('a key uses one connection per connector'),
      },
    ])
    expect(await bad({ name: 'x', connections: [ids.annAcme], connectors: [ids.beta] })).toEqual([
      { path: 'connectors.0', rule: expect.stringContaining('has no connection in connections') },
    ])
    expect(await bad({ name: 'x', connections: ['co_nope'] })).toEqual([
      { path: 'connections.0', rule: 'no connection "co_nope"' },
    ])
    const missing = await t.api('DELETE', '/api/v1/mcp-keys/mk_nope')
    expect(missing.status).toBe(404)
    expect(missing.body.error.code).toBe('mcp_key.not_found')
    expect((await t.api('GET', '/api/v1/mcp-keys/mk_nope')).status).toBe(404)
  })

  it('describes the MCP keys routes and the log filters in the OpenAPI document', async () => {
    const doc = (await t.api('GET', '/api/v1/openapi.json')).body
    expect(Object.keys(doc.paths['/mcp-keys'])).toEqual(['get', 'post'])
    expect(Object.keys(doc.paths['/mcp-keys/{id}'])).toEqual(['parameters', 'get', 'delete'])
    expect(doc.components.schemas.McpKeyInput.properties).toHaveProperty('endUser')
    expect(doc.paths['/logs'].get.parameters.map((p: Obj) => p.name)).toEqual(
      expect.arrayContaining(['mcpKey', 'tool']),
    )
  })
})
