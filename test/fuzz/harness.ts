/**
 * The fuzz suites' harness. Each `test/fuzz/<surface>.test.ts` calls `describeFuzz`, which, on
 * every store, starts a real server with a loopback upstream, creates the fixtures the properties
 * aim at, runs the file's properties, and ends with the check that nothing is half-written.
 *
 * Every answer must be:
 *
 * - never a 5xx: inputs are designed so that no call legitimately fails upstream (the upstream is
 *   on loopback and always answers 200; other origins are refused before any network);
 * - for a 4xx, `{ error: { code, message, details? } }` with a code from `ERROR_CODES`, and for a
 *   400 about input, `details` naming each field (`path`) and the rule it breaks (`rule`);
 * - given within `REQUEST_TIMEOUT_MS` (`AbortSignal.timeout`): a timeout fails the property.
 *
 * Afterwards nothing is half-written: the connectors and connections the API lists are exactly the
 * ones created with a 201, and each connector reads back as it was answered when created (or last
 * patched).
 *
 * `FUZZ_SEED=<n>` replays a run (fast-check prints the seed and path of a failure);
 * `FUZZ_SCALE=<k>` multiplies the number of runs of every property; `FUZZ_SURVEY=1` records every
 * bad answer instead of stopping at the first, and lists them (with the server's stack) at the end.
 * A 500's failure message carries the stack the server logged.
 *
 * @module
 */
import { request as httpRequest, Agent, type IncomingHttpHeaders } from 'node:http'
import { pino } from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ERROR_CODES } from '../../src/errors.js'
import {
  startTestPatchbay,
  testStoreKinds,
  type StoreKind,
  type TestPatchbay,
} from '../helpers/patchbay.js'
import { json, startUpstream, type Upstream } from '../peers/upstream.js'
import type { AuthCatalog, Obj } from './arbitraries.js'

export const REQUEST_TIMEOUT_MS = 5_000
const SCALE = Number(process.env.FUZZ_SCALE ?? 1) || 1
const SEED = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED)
const runs = (n: number) => Math.max(1, Math.round(n * SCALE))
/** fast-check parameters for a property of `numRuns` runs, scaled and seeded from the environment. */
export const params = (numRuns: number): { numRuns: number; seed?: number } => ({
  numRuns: runs(numRuns),
  ...(SEED === undefined || Number.isNaN(SEED) ? {} : { seed: SEED }),
})
export const PROPERTY_TIMEOUT_MS = 120_000

/** `FUZZ_SURVEY=1`: record every bad answer and keep going (to list all bugs at once). */
const SURVEY = Boolean(process.env.FUZZ_SURVEY)

export interface Answer {
  status: number
  headers: IncomingHttpHeaders
  text: string
  body: any
}

export interface SendOptions {
  body?: string | Uint8Array | undefined
  headers?: Record<string, string> | undefined
  /** The admin key by default; a string to send another `Authorization`, or null for none. */
  authorization?: string | null
  retried?: boolean
}

const FIELD_ISSUE_CODES = new Set([
  'input.invalid',
  'input.malformed_json',
  'connection.invalid_values',
])

/**
 * Declares a file's properties, once per store: `body` registers them (`it(…)`) with the running
 * server `f`, whose fixtures are set by the time they run. The check that nothing is half-written
 * runs after them.
 */
export async function describeFuzz(surface: string, body: (f: FuzzServer) => void): Promise<void> {
  const kinds = await testStoreKinds()
  const startedAt = performance.now()
  let totalRequests = 0
  afterAll(() => {
    console.log(
      `fuzz (${surface}): ${totalRequests} requests sent in ${Math.round(performance.now() - startedAt)} ms${
        SEED === undefined ? '' : ` (FUZZ_SEED=${SEED})`
      }`,
    )
  })
  describe.each(kinds)(`bad input at scale: ${surface} on %s`, (storeKind) => {
    const f = new FuzzServer(storeKind)
    beforeAll(() => f.start(), 60_000)
    afterAll(async () => {
      totalRequests += f.count
      await f.stop()
    })
    body(f)
    it(
      'has written exactly what it answered 201 to, and reads it back unchanged',
      () => f.checkNothingHalfWritten(),
      PROPERTY_TIMEOUT_MS,
    )
  })
}

/** A running server on one store, the fixtures the properties aim at, and what they created. */
export class FuzzServer {
  t!: TestPatchbay
  up!: Upstream
  readonly auth: AuthCatalog = { types: [], props: {}, complete: {} }
  /** Connectors created with a 201, by id: what the API answered (or last answered to a PATCH). */
  readonly connectors = new Map<string, Obj>()
  /** Connections created with a 201, by id. */
  readonly connections = new Map<string, Obj>()
  /** The ready connector connections are fuzzed against, with a field of every type. */
  target!: Obj
  /** A working connection of `target`. */
  connectionId!: string
  /** A draft connector to PATCH. */
  patchDraft!: Obj
  /** A ready connector to PATCH, with one connection. */
  patchReady!: Obj
  /** A ready connector whose base URL host is a connection value. */
  hostTemplate!: Obj
  /** Requests sent to the server. */
  count = 0

  private agent!: Agent
  private host!: string
  private port!: number
  private lastServerError = ''
  private readonly surveyed: string[] = []
  private readonly statuses = new Map<number, number>()

  constructor(readonly storeKind: StoreKind) {}

  send(method: string, path: string, options: SendOptions = {}): Promise<Answer> {
    this.count++
    const headers: Record<string, string> = { ...options.headers }
    if (options.authorization !== null)
      headers.authorization = options.authorization ?? `Bearer ${this.t.adminKey}`
    const body =
      options.body === undefined
        ? undefined
        : typeof options.body === 'string'
          ? Buffer.from(options.body, 'utf8')
          : Buffer.from(options.body)
    if (body) headers['content-length'] = String(body.byteLength)
    const signal = AbortSignal.timeout(REQUEST_TIMEOUT_MS)
    const { host, port, agent } = this
    return new Promise<Answer>((resolve, reject) => {
      const timedOut = () =>
        reject(
          new Error(`${method} ${path} got no answer within ${REQUEST_TIMEOUT_MS} ms (a hang)`),
        )
      signal.addEventListener('abort', timedOut, { once: true })
      const req = httpRequest({ host, port, method, path, headers, agent, signal }, (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('error', reject)
        res.on('end', () => {
          signal.removeEventListener('abort', timedOut)
          const text = Buffer.concat(chunks).toString('utf8')
          let parsed: unknown
          try {
            parsed = text ? JSON.parse(text) : undefined
          } catch {
            parsed = undefined
          }
          const status = res.statusCode ?? 0
          this.statuses.set(status, (this.statuses.get(status) ?? 0) + 1)
          resolve({ status, headers: res.headers, text, body: parsed })
        })
      })
      req.on('error', (err: NodeJS.ErrnoException) => {
        signal.removeEventListener('abort', timedOut)
        if (signal.aborted) timedOut()
        // A kept-alive socket the server closed meanwhile: not an answer, so ask again once.
        else if (req.reusedSocket && err.code === 'ECONNRESET' && !options.retried)
          this.send(method, path, { ...options, retried: true }).then(resolve, reject)
        else reject(err)
      })
      req.end(body)
    })
  }

  sendJson(method: string, path: string, body: unknown, options: SendOptions = {}) {
    return this.send(method, path, {
      ...options,
      body: body === undefined ? undefined : (JSON.stringify(body) ?? undefined),
      headers: { 'content-type': 'application/json', ...options.headers },
    })
  }

  /**
   * The invariants every answer keeps. `what` describes the request for the failure message;
   * `upstream` is true for answers that may carry the upstream's own status (the proxy).
   */
  check(res: Answer, what: string, options: { upstream?: boolean; head?: boolean } = {}): void {
    const show = () => `${what.slice(0, 600)} → ${res.status} ${res.text.slice(0, 300)}`
    if (!SURVEY) return this.invariants(res, options, show)
    try {
      this.invariants(res, options, show)
    } catch (err) {
      this.surveyed.push((err as Error).message)
    }
  }

  private invariants(
    res: Answer,
    options: { upstream?: boolean; head?: boolean },
    show: () => string,
  ): void {
    if (res.status >= 500)
      throw new Error(
        `a ${res.status}: ${show()}${res.status === 500 ? `\nserver log: ${this.lastServerError}` : ''}`,
      )
    if ((options.upstream && res.status < 400) || options.head) return
    if (res.status >= 400) {
      const e = res.body?.error
      if (!e || typeof e !== 'object') throw new Error(`not the error shape: ${show()}`)
      const extra = Object.keys(res.body as Obj).filter((k) => k !== 'error')
      const extraInError = Object.keys(e as Obj).filter(
        (k) => !['code', 'message', 'details'].includes(k),
      )
      if (extra.length || extraInError.length) throw new Error(`extra keys in the error: ${show()}`)
      if (!(ERROR_CODES as readonly string[]).includes(e.code) || e.code === 'internal')
        throw new Error(`not a stable error code: ${show()}`)
      if (typeof e.message !== 'string' || e.message === '')
        throw new Error(`no error message: ${show()}`)
      if (res.status === 400 && FIELD_ISSUE_CODES.has(e.code)) {
        const details = e.details as unknown
        if (
          !Array.isArray(details) ||
          details.length === 0 ||
          !details.every(
            (d: any) =>
              d &&
              typeof d === 'object' &&
              typeof d.path === 'string' &&
              typeof d.rule === 'string' &&
              d.rule !== '',
          )
        )
          throw new Error(`a 400 that names no field: ${show()}`)
      }
      return
    }
    if (res.status !== 204 && (res.body === undefined || res.body === null))
      throw new Error(`a ${res.status} that is not JSON: ${show()}`)
  }

  /** Records a 201 connector; answers whether it was one. */
  recordConnector(res: Answer): boolean {
    if (res.status !== 201) return false
    const id = res.body?.id
    if (typeof id !== 'string') throw new Error(`a 201 without an id: ${res.text.slice(0, 300)}`)
    if (this.connectors.has(id)) throw new Error(`a 201 reused id ${id}`)
    this.connectors.set(id, res.body as Obj)
    return true
  }

  /** Records a 201 connection; answers whether it was one. */
  recordConnection(res: Answer): boolean {
    if (res.status !== 201) return false
    const id = res.body?.id
    if (typeof id !== 'string') throw new Error(`a 201 without an id: ${res.text.slice(0, 300)}`)
    if (this.connections.has(id)) throw new Error(`a 201 reused id ${id}`)
    this.connections.set(id, res.body as Obj)
    return true
  }

  /** Starts the server and the upstream, reads the auth types, and creates the fixtures. */
  async start(): Promise<void> {
    // Errors the server logs (the stack of a 500) are kept to explain a failing answer.
    const logger = pino(
      { level: 'error' },
      {
        write: (line: string) => {
          try {
            const entry = JSON.parse(line) as { msg?: string; err?: { stack?: string } }
            this.lastServerError = `${entry.msg ?? ''}: ${entry.err?.stack?.split('\n').slice(0, 4).join(' | ') ?? line}`
          } catch {
            this.lastServerError = line
          }
          if (SURVEY) this.surveyed.push(`server log: ${this.lastServerError}`)
        },
      },
    )
    this.t = await startTestPatchbay({ storeKind: this.storeKind, logger })
    this.up = await startUpstream()
    this.up.route('*', (req, res) =>
      json(res, 200, { ok: true, method: req.method, path: req.path }),
    )
    this.agent = new Agent({ keepAlive: true, maxSockets: 4 })
    const u = new URL(this.t.url)
    this.host = u.hostname
    this.port = Number(u.port)

    const spec = await this.send('GET', '/api/v1/openapi.json', { authorization: null })
    expect(spec.status).toBe(200)
    const variants = spec.body.components.schemas.ConnectorInput.properties.auth.oneOf as {
      properties: Record<string, Obj & { const?: string; enum?: string[] }>
    }[]
    for (const v of variants) {
      const typeSchema = v.properties.type!
      const type = typeSchema.const ?? typeSchema.enum?.[0]
      if (typeof type !== 'string') continue
      this.auth.types.push(type)
      this.auth.props[type] = Object.fromEntries(
        Object.entries(v.properties).filter(([k]) => k !== 'type'),
      ) as Record<string, Obj>
    }
    expect(this.auth.types.length).toBeGreaterThan(3)
    // Mutations start from complete settings only where this server still accepts them as such.
    for (const type of this.auth.types) {
      const auth = COMPLETE_AUTH[type]
      if (!auth) continue
      const res = await this.sendJson('POST', '/api/v1/connectors', {
        name: `Complete ${type}`,
        baseUrl: 'https://api.acme.test/',
        auth,
      })
      if (res.status === 201 && (res.body.missing as unknown[]).length === 0) {
        this.auth.complete[type] = auth
        this.recordConnector(res)
      } else {
        this.recordConnector(res)
        console.warn(`fuzz: the complete ${type} settings are not (${res.text.slice(0, 300)})`)
      }
    }

    const created = await this.sendJson(
      'POST',
      '/api/v1/connectors',
      targetDefinition(this.up.origin),
    )
    this.check(created, 'create the target')
    expect(created.status, created.text).toBe(201)
    this.recordConnector(created)
    const ready = await this.send('POST', `/api/v1/connectors/${created.body.id}/ready`)
    expect(ready.status, ready.text).toBe(200)
    this.target = ready.body
    this.connectors.set(this.target.id as string, this.target)

    const conn = await this.sendJson('POST', '/api/v1/connections', {
      connector: this.target.id,
      name: 'Fuzz connection',
      values: { region: 'eu', tier: 'pro', 'X-Api-Key': 'k-1', advanced: { retries: 2 } },
    })
    expect(conn.status, conn.text).toBe(201)
    this.recordConnection(conn)
    this.connectionId = conn.body.id

    const draft = await this.sendJson('POST', '/api/v1/connectors', {
      name: 'Patch draft',
      baseUrl: 'https://api.patch.test/',
      auth: { type: 'bearer' },
    })
    expect(draft.status, draft.text).toBe(201)
    this.recordConnector(draft)
    this.patchDraft = draft.body
    const other = await this.sendJson('POST', '/api/v1/connectors', {
      name: 'Patch ready',
      baseUrl: `${this.up.origin}/p/`,
      fields: [{ name: 'tenant', type: 'text', label: 'Tenant' }],
      auth: { type: 'api_key', params: [{ name: 'Key', key: 'X-Key', in: 'query' }] },
      customAction: { enabled: true },
      actions: [{ name: 'Ping', method: 'GET', path: 'ping' }],
    })
    expect(other.status, other.text).toBe(201)
    this.recordConnector(other)
    const otherReady = await this.send('POST', `/api/v1/connectors/${other.body.id}/ready`)
    expect(otherReady.status, otherReady.text).toBe(200)
    this.patchReady = otherReady.body
    this.connectors.set(this.patchReady.id as string, this.patchReady)
    const otherConn = await this.sendJson('POST', '/api/v1/connections', {
      connector: this.patchReady.id,
      values: { tenant: 't', 'X-Key': 'k' },
    })
    expect(otherConn.status, otherConn.text).toBe(201)
    this.recordConnection(otherConn)

    // The whole host is a connection value: only link-local hosts (refused before any network)
    // and text that cannot be a host are fuzzed into it.
    const hosted = await this.sendJson('POST', '/api/v1/connectors', {
      name: 'Host template',
      baseUrl: 'http://{{host}}/api/',
      fields: [{ name: 'host', type: 'text' }],
      auth: { type: 'bearer' },
      customAction: { enabled: true },
    })
    expect(hosted.status, hosted.text).toBe(201)
    this.recordConnector(hosted)
    const hostedReady = await this.send('POST', `/api/v1/connectors/${hosted.body.id}/ready`)
    expect(hostedReady.status, hostedReady.text).toBe(200)
    this.hostTemplate = hostedReady.body
    this.connectors.set(this.hostTemplate.id as string, this.hostTemplate)
  }

  /** Prints the answers by status (and, with `FUZZ_SURVEY`, fails on the bad ones); stops all. */
  async stop(): Promise<void> {
    const byStatus = [...this.statuses].sort(([a], [b]) => a - b).map(([k, n]) => `${k}×${n}`)
    console.log(`fuzz on ${this.storeKind}: ${this.count} requests (${byStatus.join(', ')})`)
    if (SURVEY) {
      const counted = new Map<string, number>()
      for (const line of this.surveyed) counted.set(line, (counted.get(line) ?? 0) + 1)
      console.log([...counted].map(([line, n]) => `${n}× ${line}`).join('\n'))
      expect(this.surveyed, 'bad answers (FUZZ_SURVEY)').toEqual([])
    }
    this.agent?.destroy()
    await this.t?.close()
    await this.up?.close()
  }

  /**
   * Nothing half-written: the connectors and connections listed are exactly those answered with a
   * 201, and each reads back as it was answered (a connector as last patched).
   */
  async checkNothingHalfWritten(): Promise<void> {
    const all = async (path: string): Promise<Obj[]> => {
      const items: Obj[] = []
      let cursor: string | undefined
      do {
        const res = await this.send('GET', `${path}?limit=500${cursor ? `&cursor=${cursor}` : ''}`)
        this.check(res, `GET ${path}`)
        expect(res.status).toBe(200)
        items.push(...(res.body.items as Obj[]))
        cursor = res.body.nextCursor as string | undefined
      } while (cursor)
      return items
    }
    const listedConnectors = await all('/api/v1/connectors')
    expect(listedConnectors.map((c) => c.id).sort()).toEqual([...this.connectors.keys()].sort())
    const listedConnections = await all('/api/v1/connections')
    expect(listedConnections.map((c) => c.id).sort()).toEqual([...this.connections.keys()].sort())

    const perConnector = new Map<string, number>()
    for (const c of this.connections.values()) {
      const cid = (c.connector as { id: string }).id
      perConnector.set(cid, (perConnector.get(cid) ?? 0) + 1)
    }
    for (const [id, answered] of this.connectors) {
      const res = await this.send('GET', `/api/v1/connectors/${id}`)
      expect(res.status, res.text).toBe(200)
      const { connectionCount, ...rest } = res.body as Obj
      const { connectionCount: _c, ...expected } = answered
      expect(rest).toEqual(expected)
      expect(connectionCount).toBe(perConnector.get(id) ?? 0)
    }
    for (const [id, answered] of this.connections) {
      const res = await this.send('GET', `/api/v1/connections/${id}`)
      expect(res.status, res.text).toBe(200)
      // The connector's name may have been patched since; the connection's own fields not.
      expect(res.body.connector.id).toBe((answered.connector as { id: string }).id)
      for (const key of ['name', 'endUser', 'status', 'values', 'secretsSet'])
        expect(res.body[key], `${id}.${key}`).toEqual(answered[key])
    }
  }
}

/** The field paths a 4xx names in `details`. */
export const fieldPaths = (res: Answer): string[] =>
  Array.isArray(res.body?.error?.details)
    ? (res.body.error.details as { path: string }[]).map((d) => d.path)
    : []

// ---------------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------------

/** The complete settings of each built-in auth type, so that mutations start from valid ones. */
const COMPLETE_AUTH: Record<string, Obj> = {
  basic: { type: 'basic', usernameLabel: 'User' },
  api_key: { type: 'api_key', params: [{ name: 'Key', key: 'X-Key', in: 'header' }] },
  bearer: { type: 'bearer', prefix: 'Token' },
  oauth1: {
    type: 'oauth1',
    consumerKey: 'ck',
    consumerSecret: 'cs',
    requestTokenUrl: 'https://api.acme.test/oauth/request_token',
    authorizationUrl: 'https://api.acme.test/oauth/authorize',
    accessTokenUrl: 'https://api.acme.test/oauth/access_token',
  },
  aws_sigv4: { type: 'aws_sigv4', service: 'execute-api', region: 'eu-west-1' },
  http_token: {
    type: 'http_token',
    request: { url: 'https://api.acme.test/token', body: { user: 'u' } },
    tokenPath: 'data.token',
  },
  custom: { type: 'custom', apply: { headers: { 'X-Key': 'k' } } },
  multi: {
    type: 'multi',
    options: { key: { label: 'Key', type: 'bearer' }, basic: { label: 'Basic', type: 'basic' } },
  },
  oauth2: {
    type: 'oauth2',
    grantType: 'client_credentials',
    clientId: 'id',
    clientSecret: 'secret',
    tokenUrl: 'https://api.acme.test/token',
    scopes: [{ name: 'Read', value: 'read' }],
  },
}

/** The ready connector connections are fuzzed against: one field of every type. */
function targetDefinition(origin: string): Obj {
  return {
    name: 'Fuzz target',
    baseUrl: `${origin}/t/{{region}}/`,
    auth: { type: 'api_key', params: [{ name: 'Key', key: 'X-Api-Key', in: 'header' }] },
    customAction: { enabled: true },
    actions: [
      {
        name: 'Create item',
        method: 'POST',
        path: 'lists/{{input.list}}/items',
        query: { n: '{{input.count}}', flag: '{{input.flag}}' },
        headers: { 'X-Tag': 'tag-{{input.tag}}' },
        body: {
          note: '{{input.note}}',
          count: '{{input.count}}',
          tags: '{{input.tags}}',
          meta: '{{input.meta}}',
        },
        inputs: [
          { name: 'list', type: 'text' },
          { name: 'tag', type: 'text', optional: true, default: 'none' },
          { name: 'note', type: 'text', optional: true, default: '' },
          { name: 'count', type: 'number', optional: true, default: 1 },
          { name: 'flag', type: 'boolean', optional: true, default: false },
          {
            name: 'tags',
            type: 'multiselect',
            optional: true,
            default: ['a'],
            options: [
              ['A', 'a'],
              ['B', 'b'],
            ],
          },
          {
            name: 'meta',
            type: 'object',
            optional: true,
            default: { k: 'v' },
            properties: [{ name: 'k', type: 'text' }],
          },
        ],
      },
    ],
    fields: [
      { name: 'region', type: 'text' },
      { name: 'secret', type: 'password', optional: true },
      {
        name: 'tier',
        type: 'select',
        options: [
          ['Free', 'free'],
          ['Pro', 'pro'],
        ],
      },
      {
        name: 'features',
        type: 'multiselect',
        delimiter: ' ',
        optional: true,
        options: [
          ['A', 'a'],
          ['B', 'b'],
          ['C', 'c'],
        ],
      },
      { name: 'limit', type: 'number', optional: true, default: 10 },
      { name: 'sandbox', type: 'boolean', optional: true },
      {
        name: 'advanced',
        type: 'object',
        optional: true,
        properties: [
          { name: 'note', type: 'text', optional: true },
          { name: 'retries', type: 'number' },
          { name: 'pin', type: 'password', optional: true },
          {
            name: 'mode',
            type: 'select',
            optional: true,
            options: [
              ['Fast', 'fast'],
              ['Safe', 'safe'],
            ],
          },
        ],
      },
    ],
  }
}
