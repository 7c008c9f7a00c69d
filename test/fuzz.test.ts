/**
 * Bad input at scale (issue 5, item 7; SPEC §6 and §7 "Bad input"): fast-check throws thousands of
 * malformed connector definitions, raw bodies, connection values, saved-action inputs, ad-hoc
 * request bodies, PATCHes, list queries, ids and proxy paths at a real server, on every store,
 * with a loopback upstream. Every answer must be:
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
import fc from 'fast-check'
import { pino } from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ERROR_CODES } from '../src/errors.js'
import { startTestPatchbay, testStoreKinds, type TestPatchbay } from './helpers/patchbay.js'
import { json, startUpstream, type Upstream } from './peers/upstream.js'

const REQUEST_TIMEOUT_MS = 5_000
const SCALE = Number(process.env.FUZZ_SCALE ?? 1) || 1
const SEED = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED)
const runs = (n: number) => Math.max(1, Math.round(n * SCALE))
const params = (numRuns: number): { numRuns: number; seed?: number } => ({
  numRuns: runs(numRuns),
  ...(SEED === undefined || Number.isNaN(SEED) ? {} : { seed: SEED }),
})
const PROPERTY_TIMEOUT_MS = 120_000

/** `FUZZ_SURVEY=1`: record every bad answer and keep going (to list all bugs at once). */
const SURVEY = Boolean(process.env.FUZZ_SURVEY)
let totalRequests = 0

const startedAt = performance.now()
afterAll(() => {
  console.log(
    `fuzz: ${totalRequests} requests sent in ${Math.round(performance.now() - startedAt)} ms${
      SEED === undefined ? '' : ` (FUZZ_SEED=${SEED})`
    }`,
  )
})

type Obj = Record<string, unknown>

// ---------------------------------------------------------------------------------------------
// Generic garbage
// ---------------------------------------------------------------------------------------------

/** Characters and fragments that break parsers, stores, templates and headers. */
const NASTY = [
  '\u0000',
  '\r\n',
  '\n',
  '\r',
  '\t',
  '\u000b',
  '\u007f',
  '\u0085',
  '\u2028',
  '\u202e',
  '\ufeff',
  '\ud800', // lone high surrogate
  '\udfff', // lone low surrogate
  '💥',
  'é',
  'ÿ',
  '中文',
  'Ω',
  '{{',
  '}}',
  '{{x}}',
  '{{ region }}',
  '{{__proto__}}',
  '{{constructor}}',
  '../',
  '..%2f',
  '%00',
  '%',
  '%zz',
  '<script>alert(1)</script>',
  "'; DROP TABLE connectors; --",
  '\\',
  '"',
  '`',
  '$(id)',
  ' ',
  '',
  '__proto__',
  'constructor',
  'toString',
]
/** The fragments stores, URL encoders and HTTP headers choke on, drawn as often as all others. */
const nastyPart = fc.oneof(
  fc.constantFrom(...NASTY),
  fc.constantFrom('\u0000', '\ud800', '\udc00', '\r\n'),
)

/** Strings of every kind: ASCII, unicode, any code point, over-long, and nasty fragments. */
const badString: fc.Arbitrary<string> = fc.oneof(
  fc.string(),
  fc.string({ unit: 'grapheme', maxLength: 60 }),
  fc.string({ unit: 'binary', maxLength: 60 }),
  {
    weight: 2,
    arbitrary: fc.string({
      unit: fc.oneof(nastyPart, fc.string({ unit: 'binary-ascii', minLength: 1, maxLength: 1 })),
      maxLength: 8,
    }),
  },
  fc.string({ minLength: 45, maxLength: 400 }),
  {
    // A plausible value with one nasty fragment inside: passes most rules, then meets the store.
    weight: 3,
    arbitrary: fc
      .tuple(fc.string({ maxLength: 10 }), nastyPart, fc.string({ maxLength: 10 }))
      .map((p) => p.join('')),
  },
  fc.constantFrom('a'.repeat(51), 'a'.repeat(256), 'x'.repeat(5_001), 'é'.repeat(10_001)),
)

const badKey: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: badString, weight: 3 },
  {
    arbitrary: fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', ''),
    weight: 1,
  },
)

/** Any JSON, with nasty strings and keys. */
const garbage: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.anything({
    maxDepth: 3,
    key: badKey,
    values: [badString, fc.integer(), fc.double(), fc.boolean(), fc.constant(null)],
  }),
  badString,
  fc.constantFrom(
    0,
    -1,
    1.5,
    1e308,
    -1e308,
    Number.MAX_SAFE_INTEGER + 2,
    true,
    false,
    null,
    [],
    {},
  ),
  fc.array(badString, { maxLength: 60 }),
)

/** Percent-encodes every byte of the UTF-8 form that is not unreserved (never throws). */
function pct(s: string): string {
  let out = ''
  for (const byte of Buffer.from(s, 'utf8')) {
    const ch = String.fromCharCode(byte)
    out += /[A-Za-z0-9\-._~]/.test(ch) ? ch : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`
  }
  return out
}

/** Raw (already encoded) URL pieces that confuse routers and decoders. */
const rawSegment: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    '..',
    '.',
    '%2e%2e',
    '%2E%2E',
    '..%2f..',
    '..%2F..%2F..',
    '%2f',
    '%5c',
    '%00',
    'a%00b',
    '%ZZ',
    '%',
    '%e',
    '%c0%ae',
    '%ED%A0%80',
    '%FF%FE',
    '%25',
    '%2500',
    '~',
    ';',
    '@',
    ':',
    "!$&'()*+,=",
    '',
    'a'.repeat(2000),
  ),
  badString.map((s) => pct(s).slice(0, 1000)),
)

// ---------------------------------------------------------------------------------------------
// The suites
// ---------------------------------------------------------------------------------------------

interface Answer {
  status: number
  headers: IncomingHttpHeaders
  text: string
  body: any
}

interface SendOptions {
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

describe.each(await testStoreKinds())('bad input at scale on %s', (storeKind) => {
  let t: TestPatchbay
  let up: Upstream
  let agent: Agent
  let host: string
  let port: number
  const authTypes: string[] = []
  const authProps: Record<string, Record<string, Obj>> = {}
  const completeAuth: Record<string, Obj> = {}

  /** Connectors created with a 201, by id: what the API answered (or last answered to a PATCH). */
  const connectors = new Map<string, Obj>()
  /** Connections created with a 201, by id. */
  const connections = new Map<string, Obj>()
  let target: Obj // the ready connector with a field of every type
  let connectionId: string // a working connection of it
  let patchDraft: Obj
  let patchReady: Obj
  let hostTemplate: Obj // a ready connector whose base URL host is a connection value
  let count = 0
  let lastServerError = ''
  const surveyed: string[] = []
  const statuses = new Map<number, number>()

  function send(method: string, path: string, options: SendOptions = {}): Promise<Answer> {
    count++
    totalRequests++
    const headers: Record<string, string> = { ...options.headers }
    if (options.authorization !== null)
      headers.authorization = options.authorization ?? `Bearer ${t.adminKey}`
    const body =
      options.body === undefined
        ? undefined
        : typeof options.body === 'string'
          ? Buffer.from(options.body, 'utf8')
          : Buffer.from(options.body)
    if (body) headers['content-length'] = String(body.byteLength)
    const signal = AbortSignal.timeout(REQUEST_TIMEOUT_MS)
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
          statuses.set(status, (statuses.get(status) ?? 0) + 1)
          resolve({ status, headers: res.headers, text, body: parsed })
        })
      })
      req.on('error', (err: NodeJS.ErrnoException) => {
        signal.removeEventListener('abort', timedOut)
        if (signal.aborted) timedOut()
        // A kept-alive socket the server closed meanwhile: not an answer, so ask again once.
        else if (req.reusedSocket && err.code === 'ECONNRESET' && !options.retried)
          send(method, path, { ...options, retried: true }).then(resolve, reject)
        else reject(err)
      })
      req.end(body)
    })
  }

  const sendJson = (method: string, path: string, body: unknown, options: SendOptions = {}) =>
    send(method, path, {
      ...options,
      body: body === undefined ? undefined : (JSON.stringify(body) ?? undefined),
      headers: { 'content-type': 'application/json', ...options.headers },
    })

  /**
   * The invariants every answer keeps. `what` describes the request for the failure message;
   * `upstream` is true for answers that may carry the upstream's own status (the proxy).
   */
  function check(
    res: Answer,
    what: string,
    options: { upstream?: boolean; head?: boolean } = {},
  ): void {
    const show = () => `${what.slice(0, 600)} → ${res.status} ${res.text.slice(0, 300)}`
    if (!SURVEY) return invariants(res, options, show)
    try {
      invariants(res, options, show)
    } catch (err) {
      surveyed.push((err as Error).message)
    }
  }

  function invariants(
    res: Answer,
    options: { upstream?: boolean; head?: boolean },
    show: () => string,
  ): void {
    if (res.status >= 500)
      throw new Error(
        `a ${res.status}: ${show()}${res.status === 500 ? `\nserver log: ${lastServerError}` : ''}`,
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

  const fieldPaths = (res: Answer): string[] =>
    Array.isArray(res.body?.error?.details)
      ? (res.body.error.details as { path: string }[]).map((d) => d.path)
      : []

  /** Records a 201 connector; answers whether it was one. */
  function recordConnector(res: Answer): boolean {
    if (res.status !== 201) return false
    const id = res.body?.id
    if (typeof id !== 'string') throw new Error(`a 201 without an id: ${res.text.slice(0, 300)}`)
    if (connectors.has(id)) throw new Error(`a 201 reused id ${id}`)
    connectors.set(id, res.body as Obj)
    return true
  }

  function recordConnection(res: Answer): boolean {
    if (res.status !== 201) return false
    const id = res.body?.id
    if (typeof id !== 'string') throw new Error(`a 201 without an id: ${res.text.slice(0, 300)}`)
    if (connections.has(id)) throw new Error(`a 201 reused id ${id}`)
    connections.set(id, res.body as Obj)
    return true
  }

  beforeAll(async () => {
    // Errors the server logs (the stack of a 500) are kept to explain a failing answer.
    const logger = pino(
      { level: 'error' },
      {
        write(line: string) {
          try {
            const entry = JSON.parse(line) as { msg?: string; err?: { stack?: string } }
            lastServerError = `${entry.msg ?? ''}: ${entry.err?.stack?.split('\n').slice(0, 4).join(' | ') ?? line}`
          } catch {
            lastServerError = line
          }
          if (SURVEY) surveyed.push(`server log: ${lastServerError}`)
        },
      },
    )
    t = await startTestPatchbay({ storeKind, logger })
    up = await startUpstream()
    up.route('*', (req, res) => json(res, 200, { ok: true, method: req.method, path: req.path }))
    agent = new Agent({ keepAlive: true, maxSockets: 4 })
    const u = new URL(t.url)
    host = u.hostname
    port = Number(u.port)

    const spec = await send('GET', '/api/v1/openapi.json', { authorization: null })
    expect(spec.status).toBe(200)
    const variants = spec.body.components.schemas.ConnectorInput.properties.auth.oneOf as {
      properties: Record<string, Obj & { const?: string; enum?: string[] }>
    }[]
    for (const v of variants) {
      const typeSchema = v.properties.type!
      const type = typeSchema.const ?? typeSchema.enum?.[0]
      if (typeof type !== 'string') continue
      authTypes.push(type)
      authProps[type] = Object.fromEntries(
        Object.entries(v.properties).filter(([k]) => k !== 'type'),
      ) as Record<string, Obj>
    }
    expect(authTypes.length).toBeGreaterThan(3)
    // Mutations start from complete settings only where this server still accepts them as such.
    for (const type of authTypes) {
      const auth = COMPLETE_AUTH[type]
      if (!auth) continue
      const res = await sendJson('POST', '/api/v1/connectors', {
        name: `Complete ${type}`,
        baseUrl: 'https://api.acme.test/',
        auth,
      })
      if (res.status === 201 && (res.body.missing as unknown[]).length === 0) {
        completeAuth[type] = auth
        recordConnector(res)
      } else {
        recordConnector(res)
        console.warn(`fuzz: the complete ${type} settings are not (${res.text.slice(0, 300)})`)
      }
    }

    const created = await sendJson('POST', '/api/v1/connectors', targetDefinition(up.origin))
    check(created, 'create the target')
    expect(created.status, created.text).toBe(201)
    recordConnector(created)
    const ready = await send('POST', `/api/v1/connectors/${created.body.id}/ready`)
    expect(ready.status, ready.text).toBe(200)
    target = ready.body
    connectors.set(target.id as string, target)

    const conn = await sendJson('POST', '/api/v1/connections', {
      connector: target.id,
      name: 'Fuzz connection',
      values: { region: 'eu', tier: 'pro', 'X-Api-Key': 'k-1', advanced: { retries: 2 } },
    })
    expect(conn.status, conn.text).toBe(201)
    recordConnection(conn)
    connectionId = conn.body.id

    const draft = await sendJson('POST', '/api/v1/connectors', {
      name: 'Patch draft',
      baseUrl: 'https://api.patch.test/',
      auth: { type: 'bearer' },
    })
    expect(draft.status, draft.text).toBe(201)
    recordConnector(draft)
    patchDraft = draft.body
    const other = await sendJson('POST', '/api/v1/connectors', {
      name: 'Patch ready',
      baseUrl: `${up.origin}/p/`,
      fields: [{ name: 'tenant', type: 'text', label: 'Tenant' }],
      auth: { type: 'api_key', params: [{ name: 'Key', key: 'X-Key', in: 'query' }] },
      customAction: { enabled: true },
      actions: [{ name: 'Ping', method: 'GET', path: 'ping' }],
    })
    expect(other.status, other.text).toBe(201)
    recordConnector(other)
    const otherReady = await send('POST', `/api/v1/connectors/${other.body.id}/ready`)
    expect(otherReady.status, otherReady.text).toBe(200)
    patchReady = otherReady.body
    connectors.set(patchReady.id as string, patchReady)
    const otherConn = await sendJson('POST', '/api/v1/connections', {
      connector: patchReady.id,
      values: { tenant: 't', 'X-Key': 'k' },
    })
    expect(otherConn.status, otherConn.text).toBe(201)
    recordConnection(otherConn)

    // The whole host is a connection value: only link-local hosts (refused before any network)
    // and text that cannot be a host are fuzzed into it.
    const hosted = await sendJson('POST', '/api/v1/connectors', {
      name: 'Host template',
      baseUrl: 'http://{{host}}/api/',
      fields: [{ name: 'host', type: 'text' }],
      auth: { type: 'bearer' },
      customAction: { enabled: true },
    })
    expect(hosted.status, hosted.text).toBe(201)
    recordConnector(hosted)
    const hostedReady = await send('POST', `/api/v1/connectors/${hosted.body.id}/ready`)
    expect(hostedReady.status, hostedReady.text).toBe(200)
    hostTemplate = hostedReady.body
    connectors.set(hostTemplate.id as string, hostTemplate)
  }, 60_000)

  afterAll(async () => {
    const byStatus = [...statuses].sort(([a], [b]) => a - b).map(([k, n]) => `${k}×${n}`)
    console.log(`fuzz on ${storeKind}: ${count} requests (${byStatus.join(', ')})`)
    if (SURVEY) {
      const counted = new Map<string, number>()
      for (const line of surveyed) counted.set(line, (counted.get(line) ?? 0) + 1)
      console.log([...counted].map(([line, n]) => `${n}× ${line}`).join('\n'))
      expect(surveyed, 'bad answers (FUZZ_SURVEY)').toEqual([])
    }
    agent?.destroy()
    await t?.close()
    await up?.close()
  })

  // -------------------------------------------------------------------------------------------
  // Saved-action inputs first: running an action looks it up among all connectors, which the
  // properties below create by the hundred.
  // -------------------------------------------------------------------------------------------

  it(
    'answers saved-action inputs of every type with the upstream envelope or a named 4xx',
    async () => {
      const actionId = (target.actions as { id: string }[])[0]!.id
      const text = fc.oneof(fc.constantFrom('inbox', 'a b/c?d#e', '..', '%2f'), badString)
      const inputs = mutate(
        { list: 'inbox' },
        [
          patch('list', fc.oneof(text, garbage)),
          patch('tag', fc.oneof(text, garbage)),
          patch('note', fc.oneof(text, garbage)),
          patch(
            'count',
            fc.oneof(fc.integer(), fc.double(), fc.constantFrom('7', 'x', ''), garbage),
          ),
          patch('flag', fc.oneof(fc.constantFrom(true, 'false', 'yes'), garbage)),
          patch('tags', fc.oneof(fc.constantFrom(['a', 'b'], 'a,b', ['c']), garbage)),
          patch('meta', fc.oneof(fc.record({ k: text }), fc.constant({}), garbage)),
        ],
        3,
      )
      const body = mutate({ connection: connectionId, inputs: {} }, [
        patch('inputs', inputs),
        patch('inputs', inputs),
        patch('inputs', inputs),
        patch('connection', fc.oneof(fc.constantFrom('co_nope', '', '\u0000'), garbage)),
      ])
      await fc.assert(
        fc.asyncProperty(body, async (b) => {
          up.requests.length = 0
          const res = await sendJson('POST', `/api/v1/actions/${actionId}/run`, b)
          check(res, `POST /actions/:id/run ${JSON.stringify(b)?.slice(0, 400)}`)
          if (res.status === 200) expect(res.body.action.id).toBe(actionId)
        }),
        params(250),
      )
    },
    PROPERTY_TIMEOUT_MS,
  )

  // -------------------------------------------------------------------------------------------
  // (1) connector definitions
  // -------------------------------------------------------------------------------------------

  it(
    'answers any JSON value as a connector definition with a 201 or a named 4xx',
    async () => {
      await fc.assert(
        fc.asyncProperty(fc.oneof(fc.anything(), fc.jsonValue(), garbage), async (body) => {
          const res = await sendJson('POST', '/api/v1/connectors', body)
          check(res, `POST /connectors ${JSON.stringify(body)?.slice(0, 300)}`)
          recordConnector(res)
        }),
        params(250),
      )
    },
    PROPERTY_TIMEOUT_MS,
  )

  it(
    'refuses near-valid connector definitions field by field, naming the field',
    async () => {
      await fc.assert(
        fc.asyncProperty(nearValidConnector(), async ({ body, mutated }) => {
          const res = await sendJson('POST', '/api/v1/connectors', body)
          const what = `POST /connectors ${JSON.stringify(body).slice(0, 400)}`
          check(res, what)
          if (recordConnector(res)) {
            const got = res.body as Obj
            expect(got.stage).toBe('draft')
            expect(got.name).toBe(body.name)
            expect(got.baseUrl).toBe(body.baseUrl)
          }
          // One field made wrong: the 400 names that field (or the unknown one, at the top).
          if (
            res.status === 400 &&
            res.body.error.code === 'input.invalid' &&
            mutated.length === 1
          ) {
            const key = mutated[0]!
            const known = Object.hasOwn(TOP_LEVEL, key)
            const paths = fieldPaths(res)
            const named = paths.some((p) =>
              known ? p === key || p.startsWith(`${key}.`) : p === '' || p === key,
            )
            if (!named) throw new Error(`the 400 does not name "${key}": ${what} → ${res.text}`)
          }
        }),
        params(450),
      )
    },
    PROPERTY_TIMEOUT_MS,
  )

  // -------------------------------------------------------------------------------------------
  // (2) bodies that are not JSON, with any content type, and any admin key
  // -------------------------------------------------------------------------------------------

  it(
    'answers raw bodies that are not JSON, with any content type, with a 4xx',
    async () => {
      const route = fc.constantFrom(
        ['POST', '/api/v1/connectors'],
        ['POST', '/api/v1/connections'],
        ['PATCH', 'draft'],
        ['PATCH', 'ready'],
        ['POST', 'request'],
        ['POST', '/api/v1/actions/act_nope/run'],
      )
      const rawBody = fc.oneof(
        fc.string(),
        fc.string({ unit: 'binary' }),
        fc.uint8Array({ maxLength: 300 }),
        fc.string({
          unit: fc.oneof(nastyPart, fc.constantFrom('{', '}', '[', ']', '"', ':', ',', '\\u')),
        }),
        fc.jsonValue().map((v) => JSON.stringify(v).slice(0, -1)), // truncated JSON
        fc.constantFrom(
          '{"name": "x",}',
          '{"a":1}{"b":2}',
          'NaN',
          "{'name':'x'}",
          '\ufeff{}',
          '{"__proto__":{"x":1}}',
        ),
      )
      const contentType = fc.constantFrom(
        undefined,
        'application/json',
        'application/json; charset=utf-16',
        'text/plain',
        'application/x-www-form-urlencoded',
        'multipart/form-data; boundary=xyz',
        'application/octet-stream',
        'application/xml',
        '*/*',
        'garbage',
      )
      const authorization = fc.oneof(
        { arbitrary: fc.constant(undefined), weight: 8 },
        {
          arbitrary: fc.constantFrom(
            null,
            'Bearer wrong',
            'Bearer ',
            'Basic Zm9vOmJhcg==',
            'bearer  x y',
          ),
          weight: 1,
        },
      )
      await fc.assert(
        fc.asyncProperty(
          route,
          rawBody,
          contentType,
          authorization,
          async ([method, to], body, type, auth) => {
            const path =
              to === 'draft'
                ? `/api/v1/connectors/${patchDraft.id as string}`
                : to === 'ready'
                  ? `/api/v1/connectors/${patchReady.id as string}`
                  : to === 'request'
                    ? `/api/v1/connections/${connectionId}/request`
                    : to!
            const res = await send(method!, path, {
              body,
              headers: type === undefined ? {} : { 'content-type': type },
              ...(auth === undefined ? {} : { authorization: auth }),
            })
            const what = `${method} ${path} (${type}) ${JSON.stringify(typeof body === 'string' ? body : Buffer.from(body).toString('hex')).slice(0, 300)}`
            check(res, what)
            if (auth !== undefined) {
              expect(res.status, what).toBe(401)
              return
            }
            // Read as the server reads it (UTF-8, a leading BOM dropped); not JSON means a 400.
            const text = new TextDecoder().decode(
              typeof body === 'string' ? Buffer.from(body) : body,
            )
            let isJson = text.trim() === ''
            try {
              JSON.parse(text)
              isJson = true
            } catch {
              // stays false
            }
            if (!isJson) expect(res.body?.error?.code, what).toBe('input.malformed_json')
            if (method === 'POST' && path === '/api/v1/connectors') recordConnector(res)
            else if (method === 'POST' && path === '/api/v1/connections') recordConnection(res)
            else if (method === 'PATCH' && res.status === 200)
              connectors.set(res.body.id as string, res.body as Obj)
          },
        ),
        params(300),
      )
    },
    PROPERTY_TIMEOUT_MS,
  )

  // -------------------------------------------------------------------------------------------
  // (3) connection values against a ready connector with a field of every type
  // -------------------------------------------------------------------------------------------

  it(
    'answers connection values of every field type with a 201 or a named 4xx',
    async () => {
      // A value that goes into a header through the auth scheme (api_key, bearer) with CR, LF,
      // NUL or a character beyond U+00FF is refused at creation (it once failed every call later).
      const headerBreaking = {
        connector: target.id,
        values: { region: 'eu', tier: 'pro', 'X-Api-Key': 'k\r\nX-Injected: 1' },
      }
      await fc.assert(
        fc.asyncProperty(connectionInput(), async (body) => {
          const res = await sendJson('POST', '/api/v1/connections', body)
          const what = `POST /connections ${JSON.stringify(body)?.slice(0, 400)}`
          check(res, what)
          if (!recordConnection(res)) return
          // The values it was created with flow into the base URL template and the auth header.
          const ping = await sendJson(
            'POST',
            `/api/v1/connections/${res.body.id as string}/request`,
            {
              path: 'ping',
            },
          )
          check(ping, `request through ${what}`)
          const read = await send('GET', `/api/v1/connections/${res.body.id as string}`)
          check(read, `read back ${what}`)
          expect(read.status).toBe(200)
          expect(read.body.values).toEqual(res.body.values)
        }),
        { ...params(350), examples: [[headerBreaking]] },
      )
    },
    PROPERTY_TIMEOUT_MS,
  )

  it(
    'answers values that break the base URL template with a named 4xx, never a 5xx',
    async () => {
      // Hosts that never reach the network: link-local (refused by the network rules) or text
      // that cannot be a host once encoded.
      const cannotBeHost = (v: string) => {
        try {
          new URL(`http://${encodeURIComponent(v)}/`)
          return false
        } catch {
          return true // not a host, or an unpaired surrogate encodeURIComponent refuses
        }
      }
      const host = fc.oneof(
        fc.constantFrom('169.254.169.254', '169.254.0.1', '[fe80::1]', 'a b', '%', '[', 'a:b'),
        badString.filter(cannotBeHost),
      )
      await fc.assert(
        fc.asyncProperty(host, async (h) => {
          const body = { connector: hostTemplate.id, values: { host: h, token: 't' } }
          const res = await sendJson('POST', '/api/v1/connections', body)
          const what = `POST /connections ${JSON.stringify(body)}`
          check(res, what)
          if (!recordConnection(res)) return
          const ping = await sendJson(
            'POST',
            `/api/v1/connections/${res.body.id as string}/request`,
            { path: 'ping' },
          )
          check(ping, `request through ${what}`)
          expect(ping.status, ping.text).toBeGreaterThanOrEqual(400)
        }),
        params(150),
      )
    },
    PROPERTY_TIMEOUT_MS,
  )

  // -------------------------------------------------------------------------------------------
  // (4) ad-hoc request bodies, and PATCH bodies on connectors
  // -------------------------------------------------------------------------------------------

  it(
    'answers ad-hoc request bodies with the upstream envelope or a named 4xx',
    async () => {
      await fc.assert(
        fc.asyncProperty(requestInput(), async (body) => {
          up.requests.length = 0
          const res = await sendJson('POST', `/api/v1/connections/${connectionId}/request`, body)
          check(res, `POST /connections/:id/request ${JSON.stringify(body)?.slice(0, 400)}`)
          if (res.status === 200) expect(typeof res.body.status).toBe('number')
        }),
        params(400),
      )
    },
    PROPERTY_TIMEOUT_MS,
  )

  it(
    'answers PATCH bodies on draft and ready connectors with a 200 or a named 4xx',
    async () => {
      await fc.assert(
        fc.asyncProperty(fc.boolean(), patchInput(), async (onDraft, body) => {
          const id = (onDraft ? patchDraft.id : patchReady.id) as string
          const res = await sendJson('PATCH', `/api/v1/connectors/${id}`, body)
          check(
            res,
            `PATCH /connectors/${onDraft ? 'draft' : 'ready'} ${JSON.stringify(body)?.slice(0, 400)}`,
          )
          if (res.status === 200) {
            expect(res.body.id).toBe(id)
            connectors.set(id, res.body as Obj)
          }
        }),
        params(300),
      )
    },
    PROPERTY_TIMEOUT_MS,
  )

  // -------------------------------------------------------------------------------------------
  // (5) query strings on list endpoints
  // -------------------------------------------------------------------------------------------

  it(
    'answers garbage query strings on list endpoints with a page or a named 400',
    async () => {
      const cursorOf = (v: unknown) => Buffer.from(JSON.stringify(v) ?? '').toString('base64url')
      const value = fc.oneof(
        fc.constantFrom(
          '0',
          '-1',
          '1',
          '500',
          '501',
          '1e2',
          '0x10',
          '1.5',
          'NaN',
          'Infinity',
          '%205%20',
          '99999999999999999999',
          'connected',
          'pending',
          'CONNECTED',
          'needs_reauth',
          '%00',
          'a%00b',
          '%zz',
          '%',
          '%ED%A0%80',
          '%FF',
          '',
          'null',
          'undefined',
          '__proto__',
        ),
        fc.constant('target').map(() => target.id as string),
        fc.constant('link').map(() => target.linkName as string),
        fc.constant('conn').map(() => connectionId),
        fc
          .oneof(
            fc.jsonValue({ maxDepth: 2 }),
            fc.tuple(
              fc.oneof(fc.integer(), fc.double(), badString),
              fc.oneof(fc.integer(), badString),
            ),
            fc.constantFrom(
              [],
              [1],
              ['a'],
              [1, 'a', 2],
              [-1, ''],
              [Date.now(), 'cn_'],
              [1, '\u0000'],
              [1, '\ud800'],
              [Number.MAX_SAFE_INTEGER + 2, 'x'],
            ),
          )
          .map((v) => cursorOf(v).slice(0, 1500)),
        // Numbers JSON.stringify cannot write: beyond double range, and not numbers at all.
        fc
          .constantFrom('[1e400,"x"]', '[-0,"x"]', '[1.5e-400,""]', '[NaN,"x"]', '[1,"x",]')
          .map((raw) => Buffer.from(raw).toString('base64url')),
        badString.map((s) => pct(s).slice(0, 1500)),
      )
      const key = fc.oneof(
        {
          arbitrary: fc.constantFrom(
            'limit',
            'cursor',
            'status',
            'connector',
            'endUser',
            'connection',
            'action',
          ),
          weight: 6,
        },
        { arbitrary: badString.map((s) => pct(s).slice(0, 200)), weight: 1 },
      )
      const endpoint = fc.constantFrom('/api/v1/connectors', '/api/v1/connections', '/api/v1/logs')
      await fc.assert(
        fc.asyncProperty(
          endpoint,
          fc.array(fc.tuple(key, value), { maxLength: 5 }),
          async (path, pairs) => {
            const query = pairs.map(([k, v]) => `${k}=${v}`).join('&')
            const url = `${path}?${query}`
            const res = await send('GET', url)
            check(res, `GET ${url}`)
            if (res.status === 200) expect(Array.isArray(res.body.items)).toBe(true)
          },
        ),
        {
          ...params(300),
          // A cursor whose id part holds a NUL (`[1,"\u0000"]`) once reached PostgreSQL (a 500).
          examples: [['/api/v1/connectors', [['cursor', cursorOf([1, '\u0000'])]]]],
        },
      )
    },
    PROPERTY_TIMEOUT_MS,
  )

  // -------------------------------------------------------------------------------------------
  // (6) proxy paths and odd ids
  // -------------------------------------------------------------------------------------------

  it(
    'answers proxy calls with odd paths, methods, headers and bodies without a 5xx',
    async () => {
      const id = fc.oneof(
        { arbitrary: fc.constant('conn'), weight: 4 },
        { arbitrary: rawSegment, weight: 1 },
      )
      // At most ~12 KiB of path and query: Node answers a longer request line itself (431).
      const tail = fc.array(rawSegment, { maxLength: 3 }).map((s) => s.join('/'))
      const query = fc.oneof(
        fc.constant(''),
        fc
          .array(fc.tuple(rawSegment, rawSegment), { maxLength: 2 })
          .map((pairs) => `?${pairs.map(([k, v]) => `${k}=${v}`).join('&')}`),
      )
      const method = fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS')
      const header = fc.oneof(
        fc.constantFrom<[string, string]>(
          ['content-type', 'application/x-www-form-urlencoded'],
          ['content-type', 'application/json'],
          ['content-type', 'text/plain; charset=ÿ'],
          ['expect', '100-continue'],
          ['te', 'trailers'],
          ['x-forwarded-for', '1.2.3.4'],
          ['accept-encoding', 'gzip, br'],
          ['cookie', 'a=b'],
          ['x-patchbay-key', 'nope'],
          ['content-encoding', 'gzip'],
          ['range', 'bytes=0-1'],
          ['if-none-match', '*'],
        ),
        fc.tuple(
          fc.stringMatching(/^x-[a-z0-9-]{1,20}$/),
          fc
            .string({ unit: 'binary-ascii', maxLength: 40 })
            .map((s) => s.replace(/[^\t\x20-\x7e\x80-\xff]/g, '').trim()),
        ),
      )
      const body = fc.oneof(
        fc.constant(undefined),
        fc.string(),
        fc.uint8Array({ maxLength: 200 }),
        badString,
      )
      // Dot segments (`..`, `%2e%2e`) are resolved by URL parsing before routing (WHATWG URL):
      // a path they lift out of `/proxy/:id/` is no proxy call but a page of the web UI.
      const path = fc
        .tuple(id, tail, query)
        .map(([i, rest, q]) => `/proxy/${i === 'conn' ? connectionId : i}/${rest}${q}`)
        .filter((p) => {
          const [, , i] = p.split('/')
          return new URL(p, 'http://h').pathname.startsWith(`/proxy/${i}/`)
        })
      await fc.assert(
        fc.asyncProperty(
          path,
          method,
          fc.array(header, { maxLength: 4 }),
          body,
          async (path, m, hs, b) => {
            up.requests.length = 0
            const headers = Object.fromEntries(hs)
            const res = await send(m, path, {
              body: ['GET', 'HEAD'].includes(m) ? undefined : b,
              headers,
            })
            check(res, `${m} ${path} ${JSON.stringify(headers)}`, {
              upstream: true,
              head: m === 'HEAD',
            })
          },
        ),
        params(300),
      )
    },
    PROPERTY_TIMEOUT_MS,
  )

  it(
    'answers odd ids on every :id route with a 404 or a named 4xx',
    async () => {
      const route = fc.constantFrom(
        ['GET', '/api/v1/connectors/:id'],
        ['GET', '/api/v1/connections/:id'],
        ['GET', '/api/v1/actions/:id'],
        ['POST', '/api/v1/connections/:id/test'],
        ['POST', '/api/v1/connections/:id/refresh'],
        ['POST', '/api/v1/connections/:id/request'],
        ['POST', '/api/v1/connections/:id/breaker/reset'],
        ['POST', '/api/v1/actions/:id/breaker/reset'],
        ['POST', '/api/v1/actions/:id/run'],
      )
      await fc.assert(
        fc.asyncProperty(route, rawSegment, async ([method, pattern], id) => {
          const path = pattern!.replace(':id', id)
          const body = path.endsWith('/request')
            ? { path: 'x' }
            : path.endsWith('/run')
              ? { connection: connectionId }
              : undefined
          const res = await sendJson(method!, path, body)
          check(res, `${method} ${path}`)
        }),
        params(250),
      )
    },
    PROPERTY_TIMEOUT_MS,
  )

  // -------------------------------------------------------------------------------------------
  // Nothing half-written
  // -------------------------------------------------------------------------------------------

  it(
    'has written exactly what it answered 201 to, and reads it back unchanged',
    async () => {
      async function all(path: string): Promise<Obj[]> {
        const items: Obj[] = []
        let cursor: string | undefined
        do {
          const res = await send('GET', `${path}?limit=500${cursor ? `&cursor=${cursor}` : ''}`)
          check(res, `GET ${path}`)
          expect(res.status).toBe(200)
          items.push(...(res.body.items as Obj[]))
          cursor = res.body.nextCursor as string | undefined
        } while (cursor)
        return items
      }
      const listedConnectors = await all('/api/v1/connectors')
      expect(listedConnectors.map((c) => c.id).sort()).toEqual([...connectors.keys()].sort())
      const listedConnections = await all('/api/v1/connections')
      expect(listedConnections.map((c) => c.id).sort()).toEqual([...connections.keys()].sort())

      const perConnector = new Map<string, number>()
      for (const c of connections.values()) {
        const cid = (c.connector as { id: string }).id
        perConnector.set(cid, (perConnector.get(cid) ?? 0) + 1)
      }
      for (const [id, answered] of connectors) {
        const res = await send('GET', `/api/v1/connectors/${id}`)
        expect(res.status, res.text).toBe(200)
        const { connectionCount, ...rest } = res.body as Obj
        const { connectionCount: _c, ...expected } = answered
        expect(rest).toEqual(expected)
        expect(connectionCount).toBe(perConnector.get(id) ?? 0)
      }
      for (const [id, answered] of connections) {
        const res = await send('GET', `/api/v1/connections/${id}`)
        expect(res.status, res.text).toBe(200)
        // The connector's name may have been patched since; the connection's own fields not.
        expect(res.body.connector.id).toBe((answered.connector as { id: string }).id)
        for (const key of ['name', 'endUser', 'status', 'values', 'secretsSet'])
          expect(res.body[key], `${id}.${key}`).toEqual(answered[key])
      }
    },
    PROPERTY_TIMEOUT_MS,
  )

  // -------------------------------------------------------------------------------------------
  // Arbitraries that need the server's auth types or the target's id
  // -------------------------------------------------------------------------------------------

  /** A valid draft auth for each type: complete for the built-in ones, just `{ type }` otherwise. */
  function validAuth(): fc.Arbitrary<Obj> {
    return fc
      .constantFrom(...authTypes)
      .chain((type) => fc.constantFrom<Obj>({ type }, completeAuth[type] ?? { type }))
  }

  /** Garbage settings for a type: its own setting names (from the OpenAPI document) and more. */
  function badAuth(): fc.Arbitrary<unknown> {
    return fc.oneof(
      { arbitrary: garbage, weight: 1 },
      {
        weight: 6,
        arbitrary: fc
          .tuple(fc.constantFrom(...authTypes), fc.boolean())
          .chain(([type, fromComplete]) => {
            const props = authProps[type] ?? {}
            const keys = [...new Set([...Object.keys(props), 'scopes', 'expiresIn', 'colour'])]
            return fc.subarray(keys, { minLength: 1, maxLength: 4 }).chain((picked) =>
              fc.tuple(...picked.map((k) => settingGarbage(k, props[k]))).map((values) => {
                const auth: Obj = { ...(fromComplete ? (completeAuth[type] ?? {}) : {}), type }
                picked.forEach((k, i) => (auth[k] = values[i]))
                return auth
              }),
            )
          }),
      },
      {
        weight: 1,
        arbitrary: fc.record({ type: fc.oneof(badString, garbage) }, { requiredKeys: [] }),
      },
    )
  }

  function nearValidConnector(): fc.Arbitrary<{
    body: Obj & { name: string; baseUrl: string }
    mutated: string[]
  }> {
    const base = fc.record(
      {
        name: validName,
        baseUrl: fc.constantFrom(
          'https://api.acme.test/',
          'https://api.acme.test/v1',
          'http://127.0.0.1:9/x/',
        ),
        auth: validAuth(),
        description: fc.constantFrom('A CRM (for tests), v1.0', 'Fuzz & friends', ''),
        logo: fc.constantFrom(TINY_PNG, TINY_JPEG),
        fields: fc.constantFrom<Obj[]>(
          [],
          [{ name: 'subdomain', type: 'text' }],
          [
            { name: 'region', type: 'select', options: [['EU', 'eu']] },
            { name: 'on', type: 'boolean', default: true },
          ],
        ),
        customAction: fc.constantFrom(
          { enabled: true },
          { enabled: false, help: { learnMoreUrl: 'https://docs.test/' } },
        ),
        breaker: fc.constant({ threshold: 3, cooldownSeconds: 10 }),
        identity: fc.constant({ path: 'me', valuePath: 'data.email' }),
        actions: fc.constant([
          { name: 'List', method: 'get', path: 'items', query: { page: '1' } },
        ]),
        allowedOrigins: fc.constant(['https://files.acme.test']),
      },
      { requiredKeys: ['name', 'baseUrl', 'auth'] },
    )
    const mutation = fc.oneof(
      {
        weight: 6,
        arbitrary: fc
          .constantFrom(...Object.keys(TOP_LEVEL))
          .chain((k) => fc.tuple(fc.constant(k), TOP_LEVEL[k]!())),
      },
      { weight: 2, arbitrary: fc.tuple(fc.constant('auth'), badAuth()) },
      {
        weight: 1,
        arbitrary: fc.tuple(fc.constantFrom('name', 'baseUrl', 'auth'), fc.constant(DELETE)),
      },
      {
        weight: 1,
        arbitrary: fc.tuple(
          badKey.filter((k) => !Object.hasOwn(TOP_LEVEL, k)),
          garbage,
        ),
      },
    )
    return fc.tuple(base, fc.array(mutation, { maxLength: 3 })).map(([b, muts]) => {
      const body: Obj = { ...b }
      for (const [k, v] of muts) {
        if (v === DELETE) delete body[k]
        else
          Object.defineProperty(body, k, {
            value: v,
            enumerable: true,
            writable: true,
            configurable: true,
          })
      }
      const mutated = [...new Set(muts.map(([k]) => k))]
      return { body: body as Obj & { name: string; baseUrl: string }, mutated }
    })
  }

  function patchInput(): fc.Arbitrary<unknown> {
    const key = fc.constantFrom(...Object.keys(TOP_LEVEL))
    const entry = fc.oneof(
      { weight: 4, arbitrary: key.chain((k) => fc.tuple(fc.constant(k), TOP_LEVEL[k]!())) },
      { weight: 2, arbitrary: fc.tuple(fc.constant('auth'), fc.oneof(badAuth(), validAuth())) },
      {
        weight: 2,
        arbitrary: fc.tuple(
          fc.constantFrom('name', 'description', 'logo', 'identity', 'linkName'),
          fc.oneof(fc.constant(null), validName, fc.constant(TINY_PNG)),
        ),
      },
      {
        weight: 1,
        arbitrary: fc.tuple(
          fc.constant('auth'),
          fc
            .array(fc.oneof(fc.constantFrom('read', 'write'), badString), { maxLength: 60 })
            .map((scopes) => ({
              type: 'api_key',
              params: [{ name: 'Key', key: 'X-Key', in: 'query' }],
              scopes,
            })),
        ),
      },
      { weight: 1, arbitrary: fc.tuple(badKey, garbage) },
    )
    return fc.oneof(
      { weight: 6, arbitrary: fc.array(entry, { maxLength: 3 }).map((es) => objectOf(es)) },
      { weight: 1, arbitrary: garbage },
    )
  }

  /** A connection input: valid but for a few defects, or garbage. */
  function connectionInput(): fc.Arbitrary<unknown> {
    const text = fc.oneof(fc.constantFrom('eu', 'us-east', 'a b/c?d#e', '..', '%2f'), badString)
    const valueOf = (valid: fc.Arbitrary<unknown>) =>
      fc.oneof({ weight: 3, arbitrary: valid }, { weight: 1, arbitrary: garbage })
    const advanced = mutate({ retries: 2, note: 'n' }, [
      patch('note', valueOf(text)),
      patch('retries', valueOf(fc.oneof(fc.integer(), fc.constantFrom('3', 'x', ' 4 ')))),
      patch('pin', valueOf(badString)),
      patch('mode', valueOf(fc.constantFrom('fast', 'safe', 'slow'))),
    ])
    const values = mutate(
      { region: 'eu', tier: 'pro', 'X-Api-Key': 'k-1' },
      [
        patch('region', valueOf(text)),
        patch('secret', valueOf(badString)),
        patch('tier', valueOf(fc.constantFrom('free', 'pro', 'Free', 'PRO', ' free'))),
        patch(
          'features',
          valueOf(
            fc.oneof(
              fc.subarray(['a', 'b', 'c']),
              fc.constantFrom('a b', 'a,b', 'a  c', ' ', 'd', 'a b d'),
              fc.array(fc.oneof(fc.constantFrom('a', 'b'), badString, fc.integer()), {
                maxLength: 5,
              }),
            ),
          ),
        ),
        patch(
          'limit',
          valueOf(
            fc.oneof(
              fc.integer(),
              fc.double(),
              fc.constantFrom('5', ' 5 ', '1e400', '-0', '0x1f', 'Infinity', 'NaN', '', '12abc'),
            ),
          ),
        ),
        patch('sandbox', valueOf(fc.constantFrom(true, false, 'true', 'false', 'TRUE', 1, 0, ''))),
        patch('advanced', valueOf(advanced)),
        patch('X-Api-Key', valueOf(badString)),
      ],
      4,
    )
    const input = mutate({ connector: target.id, name: 'My connection', values: {} }, [
      patch(
        'values',
        fc.oneof({ weight: 12, arbitrary: values }, { weight: 1, arbitrary: garbage }),
      ),
      patch('values', values),
      patch('values', values),
      patch(
        'connector',
        fc.oneof(fc.constantFrom(target.linkName, 'nope', 'cn_nope', '', '\u0000'), garbage),
      ),
      patch('name', fc.oneof(fc.constantFrom('Ünïcödé 🙂', 'x'.repeat(101)), badString, garbage)),
      patch(
        'endUser',
        fc.oneof(fc.constantFrom('user-1', 'ann@acme.test', 'a|b:c+d', 'a b'), badString, garbage),
      ),
      patch(
        'returnUrl',
        fc.oneof(
          fc.constantFrom('https://app.test/done', 'javascript:alert(1)', '/relative'),
          badString,
        ),
      ),
    ])
    return fc.oneof({ weight: 12, arbitrary: input }, { weight: 1, arbitrary: garbage })
  }

  /** An ad-hoc request body: valid but for a few defects, or garbage. */
  function requestInput(): fc.Arbitrary<unknown> {
    const headerName = fc.oneof(
      { weight: 3, arbitrary: fc.stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,20}$/) },
      {
        weight: 3,
        arbitrary: fc.constantFrom(
          'Content-Type',
          'expect',
          'Host',
          'Content-Length',
          'Transfer-Encoding',
          'Connection',
          'Keep-Alive',
          'Upgrade',
          'TE',
          'Authorization',
          'X-Api-Key',
          'Cookie',
        ),
      },
      {
        weight: 1,
        arbitrary: fc.constantFrom('bad name', 'a:b', 'x\r\ny', '', 'é', '(x)', 'x\u0000'),
      },
      { weight: 1, arbitrary: badString },
    )
    const headerValue = fc.oneof(
      fc.constantFrom(
        'application/json',
        'text/plain',
        'application/x-www-form-urlencoded',
        '100-continue',
        'chunked',
        'close',
        'abc',
        '-1',
        '12',
      ),
      fc.constantFrom(
        'a\r\nInjected: yes',
        'a\nb',
        'a\rb',
        'a\u0000b',
        ' padded ',
        '\t',
        'ÿ',
        'é',
        '中文',
        '💥',
        '\u007f',
      ),
      badString,
    )
    const origin = up.origin
    const url = fc.oneof(
      fc.constantFrom(
        `${origin}/x`,
        `${origin}/a/../../b?c=d#e`,
        `${origin}/%00`,
        `${origin}/\u0000`,
        `${origin}:99999/`,
        `${origin.replace('127.0.0.1', 'localhost')}/`,
        'http://169.254.169.254/latest/meta-data/',
        'https://api.other.test/',
        'ftp://x/',
        'javascript:alert(1)',
        'data:text/plain,hi',
        'file:///etc/passwd',
        'http://[::1',
        'http://%zz/',
        `//${new URL(origin).host}/x`,
        '',
      ),
      badString,
    )
    const path = fc.oneof(
      fc.constantFrom(
        'ping',
        '/ping',
        '//evil.test/x',
        '///x',
        '\\\\evil.test',
        '\\\\[',
        '//[',
        '/\\[',
        '\\/[',
        '..',
        '../../../etc/passwd',
        '%2e%2e/%2e%2e',
        'http://evil.test/',
        'mailto:x',
        'a?b=c#d',
        '?',
        '#',
        '{{region}}',
        '%',
        '%zz',
        'a b',
        '\u0000',
        '\ud800',
        'x'.repeat(8_001),
      ),
      badString,
    )
    const method = fc.oneof(
      fc.constantFrom('GET', 'post', 'Put', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'),
      fc.constantFrom('CONNECT', 'TRACE', 'GE T', 'get\r\n', ''),
      badString,
      garbage,
    )
    const base64 = fc.oneof(
      fc.uint8Array({ maxLength: 50 }).map((b) => Buffer.from(b).toString('base64')),
      fc.constantFrom(
        '!!!!',
        'abc',
        '====',
        'YQ',
        'YQ=',
        'YQ===',
        'a b',
        'Zm9v\nYmFy',
        '中文',
        '-_-_',
      ),
      badString,
      garbage,
    )
    const body = fc.oneof(fc.jsonValue({ maxDepth: 3 }), badString, garbage)
    const query = fc.oneof(
      fc.dictionary(
        badKey,
        fc.oneof(badString, fc.integer(), fc.boolean(), fc.array(badString, { maxLength: 3 })),
        { maxKeys: 4 },
      ),
      garbage,
    )
    const headers = fc.oneof(
      {
        weight: 4,
        arbitrary: fc
          .array(fc.tuple(headerName, headerValue), { minLength: 1, maxLength: 3 })
          .map((entries) => objectOf([['X-Trace', '1'], ...entries])),
      },
      { weight: 1, arbitrary: garbage },
    )
    const bases: Obj[] = [
      { method: 'GET', path: 'ping' },
      { method: 'POST', path: 'items', body: { a: 1 }, headers: { 'X-Trace': '1' } },
      { method: 'PUT', url: `${origin}/t/eu/x`, query: { a: '1', b: ['2', '3'] } },
      {
        method: 'POST',
        path: 'upload',
        body: 'aGVsbG8=',
        bodyEncoding: 'base64',
        headers: { 'Content-Type': 'application/octet-stream' },
      },
      {
        method: 'POST',
        path: 'form',
        body: { a: 'b' },
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      },
    ]
    const input = fc
      .constantFrom(...bases)
      .chain((base) =>
        mutate(
          base,
          [
            patch('method', method),
            patch('path', path),
            patch('url', url),
            patch('query', query),
            patch('headers', headers),
            patch('headers', headers),
            patch('body', body),
            base64.map((b) => ({ bodyEncoding: 'base64', body: b })),
            patch('bodyEncoding', garbage),
          ],
          3,
        ),
      )
    return fc.oneof({ weight: 12, arbitrary: input }, { weight: 1, arbitrary: garbage })
  }
})

// ---------------------------------------------------------------------------------------------
// Fixtures and arbitraries that need no server
// ---------------------------------------------------------------------------------------------

const DELETE = Symbol('delete the key')

const PNG_HEAD = Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010806000000', 'hex')
const TINY_PNG = `data:image/png;base64,${PNG_HEAD.toString('base64')}`
const TINY_JPEG = `data:image/jpeg;base64,${Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 0x10]).toString('base64')}`
const pngOf = (bytes: number) =>
  `data:image/png;base64,${Buffer.concat([PNG_HEAD, Buffer.alloc(bytes - PNG_HEAD.length)]).toString('base64')}`
/** Big logos, built once: just under 1 MiB (allowed), 1 MiB and 2 MiB (refused). */
const BIG_LOGOS = [pngOf(1024 * 1024 - 1), pngOf(1024 * 1024), pngOf(2 * 1024 * 1024)]

const validName = fc
  .tuple(fc.stringMatching(/^[A-Za-z][A-Za-z0-9 _*@!:|&~+-]{0,30}$/), fc.nat(1_000_000))
  .map(([s, n]) => `${s.trimEnd()} ${n}`.slice(0, 50))

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

/** The ready connector connections are fuzzed against: one field of every type (SPEC §2). */
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

/** Garbage for one auth setting, shaped by its JSON schema type where that helps. */
function settingGarbage(key: string, schema: Obj | undefined): fc.Arbitrary<unknown> {
  if (key === 'scopes') {
    const scope = fc.oneof(
      fc.record({
        name: fc.constantFrom('Read', 'Write'),
        value: fc.constantFrom('read', 'write'),
      }),
      fc.record(
        {
          name: fc.oneof(fc.constantFrom('Read', ''), badString),
          value: fc.oneof(fc.constantFrom('a b', 'a"b', 'a\\b', '', 'x'.repeat(501)), badString),
        },
        { requiredKeys: [] },
      ),
      badString,
      garbage,
    )
    return fc.oneof(
      fc.array(scope, { maxLength: 60 }),
      // Around the limit of 50: valid, distinct scopes.
      fc
        .integer({ min: 45, max: 60 })
        .map((n) => Array.from({ length: n }, (_, i) => ({ name: `S${i}`, value: `scope${i}` }))),
      garbage,
    )
  }
  if (key === 'expiresIn' || schema?.type === 'integer' || schema?.type === 'number')
    return fc.oneof(
      fc.constantFrom(
        0,
        -1,
        899,
        900,
        86_400,
        86_401,
        604_801,
        1e9,
        2 ** 53,
        1.5,
        -0,
        '3600',
        null,
      ),
      fc.integer(),
      fc.double(),
      garbage,
    )
  if (schema?.type === 'array')
    return fc.oneof(fc.array(fc.oneof(badString, garbage), { maxLength: 60 }), garbage)
  if (schema?.type === 'string')
    return fc.oneof(
      badString,
      fc.constantFrom('https://', 'api.acme.test/token', 'http://{{nope}}/', 'ftp://x', '/(/'),
      garbage,
    )
  return fc.oneof(
    fc.dictionary(badKey, fc.oneof(badString, garbage), { maxKeys: 4 }),
    fc.array(fc.dictionary(badKey, garbage, { maxKeys: 3 }), { maxLength: 3 }),
    garbage,
  )
}

/** Garbage per top-level connector field (wrong types, over-long, unicode, bad URLs, huge logos). */
const TOP_LEVEL: Record<string, () => fc.Arbitrary<unknown>> = {
  name: () =>
    fc.oneof(
      badString,
      garbage,
      fc.constantFrom(
        'a'.repeat(51),
        '-Acme',
        'Acme#CRM',
        ' Acme',
        'Ünïcödé 名前',
        '_x',
        '1x',
        'a\u0000b',
      ),
    ),
  linkName: () =>
    fc.oneof(
      badString,
      garbage,
      fc.constantFrom('1acme', 'acme-crm', 'a'.repeat(51), 'acme_crm', 'Ω'),
    ),
  description: () =>
    fc.oneof(
      badString,
      garbage,
      fc.constantFrom('a'.repeat(256), 'Best <CRM>', 'line\nbreak', 'tab\t'),
    ),
  logo: () =>
    fc.oneof(
      { weight: 3, arbitrary: badString },
      { weight: 3, arbitrary: garbage },
      {
        weight: 4,
        arbitrary: fc.constantFrom(
          'data:image/gif;base64,R0lGODlhAQABAAAAACw=',
          'data:image/png;base64,',
          'data:image/png;base64,!!!!',
          `data:image/png;base64,${Buffer.from('hello').toString('base64')}`,
          'data:image/svg+xml;base64,PHN2Zz48L3N2Zz4=',
          'https://acme.test/logo.png',
          TINY_JPEG.replace('jpeg', 'png'),
        ),
      },
      // Rare: every list answer afterwards carries the ones that were allowed.
      { weight: 1, arbitrary: fc.constantFrom(...BIG_LOGOS) },
    ),
  baseUrl: () =>
    fc.oneof(
      badString,
      garbage,
      fc.constantFrom(
        'api.acme.test/v1',
        'ftp://acme.test/',
        'https://{{tenant}}.acme.test/',
        'https://{{ }}.acme.test/',
        'http://',
        'http://[::1',
        'http://%zz/',
        'https://acme.test:99999/',
        'javascript:alert(1)',
        '//acme.test/',
        `https://acme.test/${'a'.repeat(10_000)}`,
        'https://acme.test/\u0000',
        'https://user:pass@acme.test/',
      ),
    ),
  allowedOrigins: () =>
    fc.oneof(
      garbage,
      fc.array(
        fc.oneof(
          badString,
          fc.constantFrom('https://a.test', 'https://a.test/', 'https://a.test/x', 'a.test'),
        ),
        {
          maxLength: 25,
        },
      ),
    ),
  fields: () => fc.oneof(garbage, fc.array(badField(2), { maxLength: 6 })),
  customAction: () =>
    fc.oneof(
      garbage,
      fc.record(
        {
          enabled: fc.oneof(fc.boolean(), garbage),
          help: fc.oneof(
            garbage,
            fc.record(
              {
                learnMoreUrl: fc.oneof(
                  badString,
                  fc.constantFrom('https://x.test', 'javascript:x', 'x'),
                ),
                learnMoreText: badString,
                body: fc.oneof(badString, fc.constant('b'.repeat(5001))),
              },
              { requiredKeys: [] },
            ),
          ),
        },
        { requiredKeys: [] },
      ),
    ),
  actions: () => fc.oneof(garbage, fc.array(badAction(), { maxLength: 4 })),
  breaker: () =>
    fc.oneof(
      garbage,
      fc.record(
        {
          threshold: fc.oneof(fc.integer(), fc.double(), fc.constantFrom(0, 1001, '5')),
          cooldownSeconds: fc.oneof(fc.integer(), fc.constantFrom(0, 86_401, 1.5)),
        },
        { requiredKeys: [] },
      ),
    ),
  identity: () =>
    fc.oneof(
      garbage,
      fc.record(
        {
          method: fc.oneof(badString, fc.constantFrom('get', 'TRACE')),
          path: badString,
          valuePath: badString,
        },
        { requiredKeys: [] },
      ),
    ),
  auth: () => garbage,
}

function badField(depth: number): fc.Arbitrary<unknown> {
  return fc.oneof(
    { weight: 1, arbitrary: garbage },
    {
      weight: 4,
      arbitrary: fc.record(
        {
          name: fc.oneof(
            fc.constantFrom(
              'subdomain',
              'token',
              'region',
              'x_1',
              'constructor',
              '__proto__',
              'toString',
              'sub domain',
              '1a',
              '',
            ),
            badString,
          ),
          label: fc.oneof(badString, fc.constant('L'.repeat(101))),
          type: fc.oneof(
            {
              weight: 4,
              arbitrary: fc.constantFrom(
                'text',
                'password',
                'select',
                'multiselect',
                'number',
                'boolean',
                'object',
              ),
            },
            { weight: 1, arbitrary: fc.oneof(badString, garbage) },
          ),
          hint: badString,
          optional: fc.oneof(fc.boolean(), garbage),
          default: garbage,
          options: fc.oneof(
            fc.array(fc.tuple(badString, badString), { maxLength: 4 }),
            fc.array(garbage, { maxLength: 3 }),
            garbage,
          ),
          delimiter: fc.oneof(fc.constantFrom(',', ' ', '\u0000', '|||||!'), badString),
          properties: depth > 0 ? fc.array(badField(depth - 1), { maxLength: 3 }) : garbage,
        },
        { requiredKeys: [] },
      ),
    },
  )
}

function badAction(): fc.Arbitrary<unknown> {
  return fc.oneof(
    { weight: 1, arbitrary: garbage },
    {
      weight: 4,
      arbitrary: fc.record(
        {
          id: fc.oneof(badString, fc.constantFrom('act_nope', 'x'.repeat(65))),
          name: fc.oneof(fc.constantFrom('List', 'Create contact'), badString),
          description: badString,
          method: fc.oneof(fc.constantFrom('get', 'POST', 'TRACE', 'CONNECT'), badString),
          path: fc.oneof(
            fc.constantFrom('items', 'lists/{{input.list}}', 'x'.repeat(2001)),
            badString,
          ),
          query: fc.oneof(fc.dictionary(badKey, badString, { maxKeys: 3 }), garbage),
          headers: fc.oneof(
            fc.dictionary(
              fc.oneof(badKey, fc.constantFrom('X-Ok', 'bad name', 'a\r\nb')),
              badString,
              { maxKeys: 3 },
            ),
            garbage,
          ),
          body: garbage,
          inputs: fc.oneof(fc.array(badField(1), { maxLength: 3 }), garbage),
        },
        { requiredKeys: ['name', 'method', 'path'] },
      ),
    },
  )
}

/** An object from entries, keeping keys such as `__proto__` as own properties (as JSON.parse does). */
function objectOf(entries: [string, unknown][]): Obj {
  const out: Obj = {}
  for (const [k, v] of entries)
    Object.defineProperty(out, k, {
      value: v,
      enumerable: true,
      writable: true,
      configurable: true,
    })
  return out
}

/** `{ [key]: value }` for `mutate`, keeping keys such as `__proto__` as own properties. */
function patch(key: string, value: fc.Arbitrary<unknown>): fc.Arbitrary<Obj> {
  return value.map((v) => objectOf([[key, v]]))
}

/**
 * `base` with up to `max` changes: a patch from `patches` (merged; a `DELETE` value removes the
 * key), a key removed, or an unknown key added with garbage.
 */
function mutate(base: Obj, patches: fc.Arbitrary<Obj>[], max = 2): fc.Arbitrary<Obj> {
  const change = fc.oneof(
    { weight: 8, arbitrary: fc.oneof(...patches) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(...Object.keys(base)).map((k) => objectOf([[k, DELETE]])),
    },
    { weight: 1, arbitrary: fc.tuple(badKey, garbage).map(([k, v]) => objectOf([[k, v]])) },
  )
  return fc.array(change, { maxLength: max }).map((changes) => {
    const out = objectOf(Object.entries(structuredClone(base)))
    for (const c of changes)
      for (const [k, v] of Object.entries(c)) {
        if (v === DELETE) delete out[k]
        else
          Object.defineProperty(out, k, {
            value: v,
            enumerable: true,
            writable: true,
            configurable: true,
          })
      }
    return out
  })
}
