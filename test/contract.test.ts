/**
 * The HTTP contract (`src/server/contract.ts`) against a real server: every route the server
 * answers is in the OpenAPI document and every documented operation is answered; a bad body is
 * refused with the issues of the route's own schema; and what each route answers is what its
 * view schema describes, field for field. The calls go through the contract's `requestOf`, as
 * the web app's and the CLI's do.
 */
import { inspectRoutes } from 'hono/dev'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { z } from 'zod'
import { toFieldIssues } from '../src/engine/issues.js'
import { createApp } from '../src/server/app.js'
import {
  API_BASE,
  CONNECT_SESSION_HEADER,
  allRoutes,
  contract,
  requestOf,
  type CallInput,
  type ReplyOf,
  type RouteSpec,
} from '../src/server/contract.js'
import { startTestPatchbay, testStoreKinds, type TestPatchbay } from './helpers/patchbay.js'
import { json, startUpstream, type Upstream } from './peers/upstream.js'

/** What the server answers besides the contract, and why it is not part of the API. */
const NOT_THE_API = new Map([
  ['ALL /demo/api/*', 'the built-in demo upstream the example connector calls'],
  ['GET /*', "the web UI's pages and assets"],
  ['HEAD /*', "the web UI's pages and assets"],
  ['ALL /connect/api/*', "the connect API's JSON 404 for unknown routes"],
])

const EVERY_METHOD = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch']

type Doc = {
  paths: Record<string, Record<string, unknown> & { servers?: unknown[] }>
}

/** The document's operations as the server's router writes them: `GET /api/v1/connectors/:id`. */
function documented(doc: Doc): Set<string> {
  const out = new Set<string>()
  for (const [key, item] of Object.entries(doc.paths)) {
    const full = (item.servers ? key : `${API_BASE}${key}`)
      .replace(/\/\{path\}$/, '/*')
      .replace(/\{(\w+)\}/g, ':$1')
    const methods = EVERY_METHOD.filter((m) => m in item)
    if (methods.length === EVERY_METHOD.length) out.add(`ALL ${full}`)
    else for (const m of methods) out.add(`${m.toUpperCase()} ${full}`)
  }
  return out
}

/**
 * Paths of the fields an answer has and its schema does not describe (the schema strips them
 * silently, so a parse alone would not tell).
 */
function undescribed(schema: z.ZodType, value: unknown, path = ''): string[] {
  const def = (schema as unknown as { def: Record<string, unknown> & { type: string } }).def
  switch (def.type) {
    case 'optional':
    case 'nullable':
    case 'default':
      return value === undefined || value === null
        ? []
        : undescribed(def.innerType as z.ZodType, value, path)
    case 'lazy':
      return undescribed((def.getter as () => z.ZodType)(), value, path)
    case 'pipe':
      return undescribed(def.out as z.ZodType, value, path)
    case 'array':
      return Array.isArray(value)
        ? value.flatMap((v, i) => undescribed(def.element as z.ZodType, v, `${path}.${i}`))
        : []
    case 'object': {
      if (value === null || typeof value !== 'object' || def.catchall) return []
      const shape = def.shape as Record<string, z.ZodType>
      return Object.entries(value).flatMap(([k, v]) =>
        shape[k] ? undescribed(shape[k], v, `${path}.${k}`) : [`${path}.${k}`],
      )
    }
    default:
      return []
  }
}

describe.each(await testStoreKinds())('the HTTP contract on %s', (storeKind) => {
  let t: TestPatchbay
  let upstream: Upstream
  let doc: Doc

  /** Calls a route as the clients do, with the admin key; answers the status and the body. */
  async function send<R extends RouteSpec>(
    route: R,
    input: CallInput<R>,
    headers: Record<string, string> = { authorization: `Bearer ${t.adminKey}` },
  ): Promise<{ status: number; body: ReplyOf<R>; headers: Headers }> {
    const req = requestOf(route, input)
    const res = await fetch(`${t.url}${req.path}`, {
      method: req.method,
      headers: {
        ...headers,
        ...(req.body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: req.body === undefined ? undefined : JSON.stringify(req.body),
    })
    const text = await res.text()
    return {
      status: res.status,
      body: (text ? JSON.parse(text) : undefined) as ReplyOf<R>,
      headers: res.headers,
    }
  }

  /** Calls a route, expects its success status, and checks the answer against its schema. */
  async function expectAnswer<R extends RouteSpec>(
    route: R,
    input: CallInput<R>,
    headers?: Record<string, string>,
  ): Promise<ReplyOf<R>> {
    const res = await send(route, input, headers)
    const what = `${route.method} ${route.path}`
    expect(res.status, `${what}: ${JSON.stringify(res.body)}`).toBe(route.status)
    const schema = route.answer.schema
    expect(schema, `${what} has a schema`).toBeDefined()
    const parsed = schema!.safeParse(res.body)
    expect(parsed.error?.issues ?? [], what).toEqual([])
    expect(undescribed(schema!, res.body), what).toEqual([])
    return res.body
  }

  beforeAll(async () => {
    upstream = await startUpstream()
    upstream.route('/me', (_req, res) => json(res, 200, { login: 'ann' }))
    t = await startTestPatchbay({ storeKind })
    doc = (await t.api('GET', '/api/v1/openapi.json')).body as Doc
  })

  afterAll(async () => {
    await t?.close()
    await upstream?.close()
  })

  it('documents every route the server answers, and answers every documented one', async () => {
    const served = new Set(
      inspectRoutes(createApp(t.pb))
        .filter((r) => !r.isMiddleware)
        .map((r) => `${r.method} ${r.path}`),
    )
    const api = [...served].filter((r) => !NOT_THE_API.has(r))
    expect(new Set(api)).toEqual(documented(doc))
    expect([...served].filter((r) => NOT_THE_API.has(r)).sort()).toEqual(
      [...NOT_THE_API.keys()].sort(),
    )
    // And as the router has it: each documented route, called, is not the "no route" answer.
    for (const route of allRoutes()) {
      const method = route.method === 'ALL' ? 'GET' : route.method
      const path = route.path.replace(/:\w+/g, 'x').replace(/\*$/, 'x')
      const res = await fetch(`${t.url}${path}`, {
        method,
        headers: { authorization: `Bearer ${t.adminKey}`, 'content-type': 'application/json' },
        body: ['GET', 'HEAD'].includes(method) ? undefined : '{}',
        redirect: 'manual',
      })
      const text = await res.text()
      expect(text, `${method} ${route.path}`).not.toMatch(/"no route /)
    }
  })

  it('refuses a bad body with the issues its route’s schema names', async () => {
    const session = await send(contract.connectSessions.create, {
      body: { endUser: { id: 'probe' } },
    })
    expect(session.status).toBe(201)
    const probe = { __probe: true }
    let checked = 0
    for (const route of allRoutes()) {
      if (!route.body || route.raw) continue
      const headers: Record<string, string> =
        route.security === 'connectSession'
          ? { [CONNECT_SESSION_HEADER]: session.body.token }
          : { authorization: `Bearer ${t.adminKey}` }
      const params = Object.fromEntries(
        [...route.path.matchAll(/:(\w+)/g)].map((m) => [m[1]!, 'x']),
      )
      const res = await send(route, { params, body: probe } as CallInput<RouteSpec>, headers)
      const own = route.body.safeParse(
        probe,
        route.bodyCheck === 'engine' ? {} : { reportInput: true },
      )
      expect(own.success, route.path).toBe(false)
      expect(res.status, `${route.method} ${route.path}`).toBe(400)
      expect(res.body, `${route.method} ${route.path}`).toMatchObject({
        error: { code: 'input.invalid', details: toFieldIssues(own.error!) },
      })
      checked++
    }
    expect(checked).toBe(13)
  })

  it('checks a query with its route’s schema, in the words the API has always used', async () => {
    const bad = await t.api('GET', '/api/v1/connections?status=bogus&limit=0')
    expect(bad.status).toBe(400)
    expect(bad.body.error.details).toEqual([
      { path: 'limit', rule: 'must be at least 1' },
      { path: 'status', rule: 'must be one of pending, connected, needs_reauth, error' },
    ])
    // Empty values are absent; unknown parameters are no one's business.
    const empty = await t.api('GET', '/api/v1/logs?limit=&connection=&whatever=1')
    expect(empty.status).toBe(200)
    expect(Array.isArray(empty.body.items)).toBe(true)
  })

  it('answers what the view schemas describe, field for field', async () => {
    const { connectors, connections, actions, logs, adminKeys, connectSessions, endUsers } =
      contract
    const created = await expectAnswer(connectors.create, {
      body: {
        name: `Contract ${storeKind}`,
        baseUrl: upstream.url,
        auth: { type: 'api_key', params: [{ name: 'Key', key: 'X-Key', in: 'header' }] },
        customAction: { enabled: true },
        identity: { path: 'me', valuePath: 'login' },
        actions: [{ name: 'List items', method: 'GET', path: 'items' }],
      },
    })
    const id = created.id
    await expectAnswer(connectors.ready, { params: { id } })
    await expectAnswer(connectors.get, { params: { id: created.linkName } })
    await expectAnswer(connectors.update, { params: { id }, body: { description: 'Changed' } })
    await expectAnswer(connectors.list, { query: { limit: 5 } })

    const connection = await expectAnswer(connections.create, {
      body: { connector: id, name: 'Ann', endUser: 'ann@example.com', values: { 'X-Key': 'k1' } },
    })
    expect(connection.identity).toBe('ann')
    const cid = connection.id
    await expectAnswer(connections.get, { params: { id: cid } })
    await expectAnswer(connections.list, { query: { connector: id, status: 'connected' } })
    await expectAnswer(connections.test, { params: { id: cid } })
    await expectAnswer(connections.request, {
      params: { id: cid },
      body: { method: 'GET', path: 'items', query: { page: 2 } },
    })
    await expectAnswer(connections.resetBreaker, { params: { id: cid } })

    const actionId = (await expectAnswer(connectors.get, { params: { id } })).actions[0]!.id
    await expectAnswer(actions.get, { params: { id: actionId } })
    await expectAnswer(actions.run, { params: { id: actionId }, body: { connection: cid } })
    await expectAnswer(actions.resetBreaker, { params: { id: actionId } })
    const page = await expectAnswer(logs.list, { query: { connection: cid, limit: 10 } })
    expect(page.items.length).toBeGreaterThan(0)

    const key = await expectAnswer(adminKeys.create, { body: { name: `contract ${storeKind}` } })
    await expectAnswer(adminKeys.list, {})
    const session = await expectAnswer(connectSessions.create, {
      body: { endUser: { id: 'ann@example.com', displayName: 'Ann' }, connectors: [id] },
    })
    await expectAnswer(connectSessions.list, {})
    await expectAnswer(endUsers.list, {})
    await expectAnswer(endUsers.get, { params: { id: 'ann@example.com' } })

    const asSession = { [CONNECT_SESSION_HEADER]: session.token }
    await expectAnswer(contract.connectApi.session, {}, asSession)
    await expectAnswer(contract.connectApi.fields, { body: { connector: id } }, asSession)
    const made = await expectAnswer(
      contract.connectApi.connect,
      { body: { connector: id, values: { 'X-Key': 'k2' } } },
      asSession,
    )
    await expectAnswer(contract.connectApi.result, { params: { id: made.id } }, asSession)

    await expectAnswer(contract.ops.healthz, {}, {})
    await expectAnswer(contract.ops.readyz, {}, {})

    // Deleting answers no content, with the route's status.
    expect((await send(adminKeys.revoke, { params: { id: key.id } })).status).toBe(204)
    expect((await send(connectSessions.delete, { params: { id: session.id } })).status).toBe(204)
  })
})
