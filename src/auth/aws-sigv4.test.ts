import { readdirSync, readFileSync, existsSync } from 'node:fs'
import { request as undiciRequest } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { isPatchbayError } from '../errors.js'
import { decodeBody, encodeBody, type OutgoingRequest } from '../lib/request.js'
import {
  startSigV4Server,
  verifySigV4,
  type SigV4Request,
  type SigV4Server,
} from '../../test/peers/sigv4-verifier.js'
import { awsSigV4Scheme, awsSigV4Settings } from './aws-sigv4.js'
import { createTestAuthContext } from './testing.js'

// The AWS signing test suite, vendored in the repository (test/vectors/README.md).
const VECTORS = new URL('../../test/vectors/sigv4/', import.meta.url)

interface VectorContext {
  credentials: { access_key_id: string; secret_access_key: string; token?: string }
  expiration_in_seconds: number
  normalize: boolean
  region: string
  service: string
  sign_body: boolean
  timestamp: string
  omit_session_token?: boolean
}

interface RawRequest {
  method: string
  target: string
  headers: [string, string][]
  body: string
}

/** Parses an HTTP/1.1 request as the suite writes it (obs-fold continuation lines allowed). */
function parseRawRequest(text: string): RawRequest {
  const blank = text.indexOf('\n\n')
  const head = blank === -1 ? text : text.slice(0, blank)
  const body = blank === -1 ? '' : text.slice(blank + 2)
  const [requestLine, ...lines] = head.split('\n')
  const parts = requestLine!.split(' ')
  const method = parts[0]!
  const target = parts.slice(1, -1).join(' ') // the suite's targets may hold raw spaces
  const headers: [string, string][] = []
  for (const line of lines) {
    if (/^[ \t]/.test(line) && headers.length > 0) {
      const last = headers[headers.length - 1]!
      last[1] = `${last[1]} ${line.trim()}`
    } else if (line !== '') {
      const colon = line.indexOf(':')
      headers.push([line.slice(0, colon), line.slice(colon + 1).trim()])
    }
  }
  return { method, target, headers, body }
}

function joinHeaders(headers: [string, string][]): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [name, value] of headers) {
    const key = name.toLowerCase()
    out[key] = out[key] === undefined ? value : `${out[key]},${value}`
  }
  return out
}

function toOutgoing(raw: RawRequest): OutgoingRequest {
  const headers = joinHeaders(raw.headers)
  const url = new URL(`https://${headers.host}${raw.target}`)
  const bytes = raw.body === '' ? undefined : Buffer.from(raw.body, 'utf8')
  return { method: raw.method, url, headers, body: decodeBody(bytes, headers['content-type']) }
}

/** The request as the wire would carry it, for the independent verifier. */
function toWire(request: OutgoingRequest): SigV4Request {
  const body = encodeBody(request)
  const headers = Object.entries(request.headers)
  if (!('host' in request.headers)) headers.push(['host', request.url.host])
  return {
    method: request.method,
    target: request.url.pathname + request.url.search,
    headers,
    body: body === undefined ? new Uint8Array() : Buffer.from(body),
  }
}

/** Why a vector cannot apply to a request an HTTP client can send, if it cannot. */
function inapplicable(raw: RawRequest, context: VectorContext): string | undefined {
  const path = raw.target.split('?')[0]!
  const segments = path.split('/')
  if (!context.normalize && segments.some((s) => s === '.' || s === '..')) {
    return 'dot segments kept: a URL (and so any HTTP client) removes them'
  }
  if (context.normalize && /[^\x21-\x7e]/.test(path)) {
    return 'raw space/UTF-8 in the request line: sent percent-encoded, a non-S3 service encodes it twice'
  }
  return undefined
}

interface Vector {
  name: string
  context: VectorContext
  raw: RawRequest
  skip: string | undefined
  read: (file: string) => string | undefined
}

const vectors: Vector[] = readdirSync(VECTORS, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name)
  .sort()
  .map((name) => {
    const dir = new URL(`${name}/`, VECTORS)
    const read = (file: string): string | undefined => {
      const url = new URL(file, dir)
      return existsSync(url) ? readFileSync(url, 'utf8') : undefined
    }
    const context = JSON.parse(read('context.json')!) as VectorContext
    const raw = parseRawRequest(read('request.txt')!)
    return { name, context, raw, skip: inapplicable(raw, context), read }
  })

const runnable = vectors.filter((v) => v.skip === undefined)
const executed = { header: 0, query: 0 }

function contextFor(vector: Vector, signatureIn: 'header' | 'query') {
  const c = vector.context
  const settings = awsSigV4Settings.parse({
    service: c.service,
    region: c.region,
    signatureIn,
    expiresIn: c.expiration_in_seconds,
    normalizePath: c.normalize,
    signPayload: c.sign_body,
    signSessionToken: !c.omit_session_token,
  })
  return createTestAuthContext({
    settings,
    values: {
      accessKeyId: c.credentials.access_key_id,
      secretAccessKey: c.credentials.secret_access_key,
      ...(c.credentials.token ? { sessionToken: c.credentials.token } : {}),
    },
    now: () => Date.parse(c.timestamp),
  })
}

function verifyAgainstSuite(vector: Vector, request: OutgoingRequest) {
  const c = vector.context
  return verifySigV4(toWire(request), {
    service: c.service,
    region: c.region,
    normalizePath: c.normalize,
    unsignedSessionToken: c.omit_session_token === true,
    now: new Date(c.timestamp),
    secretFor: (id) =>
      id === c.credentials.access_key_id ? c.credentials.secret_access_key : undefined,
  })
}

describe('aws_sigv4 against the AWS signing test suite', () => {
  afterAll(() => {
    const skipped = vectors.filter((v) => v.skip !== undefined)
    const reasons = [...new Set(skipped.map((v) => v.skip))]
      .map(
        (r) =>
          `${skipped
            .filter((v) => v.skip === r)
            .map((v) => v.name)
            .join(', ')}: ${r}`,
      )
      .join('; ')
    console.log(
      `sigv4 vectors: ${runnable.length} run, ${skipped.length} skipped (${reasons}); ` +
        `${executed.header} header-signed and ${executed.query} query-signed cases passed`,
    )
  })

  it('finds the suite', () => {
    expect(vectors.length).toBeGreaterThanOrEqual(30)
  })

  it.each(runnable.map((v) => [v.name, v] as const))(
    '%s: signs in the Authorization header exactly as the suite expects',
    async (_, vector) => {
      const request = toOutgoing(vector.raw)
      await awsSigV4Scheme.apply(contextFor(vector, 'header'), request)

      const expectedSignature = vector.read('header-signature.txt')!.trim()
      expect(request.headers.authorization).toMatch(new RegExp(`Signature=${expectedSignature}$`))

      const expected = joinHeaders(
        parseRawRequest(vector.read('header-signed-request.txt')!).headers,
      )
      expect({ host: request.url.host, ...request.headers }).toEqual(expected)

      const verdict = verifyAgainstSuite(vector, request)
      expect(verdict.canonicalRequest).toBe(vector.read('header-canonical-request.txt'))
      expect(verdict.stringToSign).toBe(vector.read('header-string-to-sign.txt'))
      expect(verdict).toMatchObject({ ok: true, in: 'header', signature: expectedSignature })
      executed.header++
    },
  )

  it.each(
    runnable
      .filter((v) => v.read('query-signature.txt') !== undefined)
      .map((v) => [v.name, v] as const),
  )('%s: presigns in the query string exactly as the suite expects', async (_, vector) => {
    const request = toOutgoing(vector.raw)
    await awsSigV4Scheme.apply(contextFor(vector, 'query'), request)

    const expectedSignature = vector.read('query-signature.txt')!.trim()
    expect(request.url.searchParams.get('X-Amz-Signature')).toBe(expectedSignature)

    const signed = parseRawRequest(vector.read('query-signed-request.txt')!)
    const expectedQuery = [...new URL(`https://x${signed.target}`).searchParams].sort()
    expect([...request.url.searchParams].sort()).toEqual(expectedQuery)
    expect(request.headers.authorization).toBeUndefined()

    const verdict = verifyAgainstSuite(vector, request)
    expect(verdict.canonicalRequest).toBe(vector.read('query-canonical-request.txt'))
    expect(verdict.stringToSign).toBe(vector.read('query-string-to-sign.txt'))
    expect(verdict).toMatchObject({ ok: true, in: 'query', signature: expectedSignature })
    executed.query++
  })
})

const KEYS = {
  accessKeyId: 'AKIDLOOPBACK',
  secretAccessKey: 'loopback/secret/key+with/specials',
}

function request(
  method: string,
  url: string,
  headers: Record<string, string> = {},
): OutgoingRequest {
  return { method, url: new URL(url), headers, body: { kind: 'none' } }
}

async function send(req: OutgoingRequest) {
  const body = encodeBody(req)
  const res = await undiciRequest(req.url, {
    method: req.method as 'GET',
    headers: req.headers,
    ...(body === undefined ? {} : { body }),
  })
  return { status: res.statusCode, body: (await res.body.json()) as Record<string, unknown> }
}

describe('aws_sigv4 against an independent verifier on loopback', () => {
  let upstream: SigV4Server
  let s3: SigV4Server
  const sessionToken = 'FwoGZXIvYXdzE//session+token=='
  const secretFor = (id: string) => (id === KEYS.accessKeyId ? KEYS.secretAccessKey : undefined)

  beforeAll(async () => {
    upstream = await startSigV4Server({ service: 'execute-api', region: 'eu-west-1', secretFor })
    s3 = await startSigV4Server({
      service: 's3',
      region: 'us-east-1',
      secretFor,
      normalizePath: false,
    })
  })
  afterAll(async () => {
    await upstream.close()
    await s3.close()
  })

  const ctx = (settings: Record<string, unknown>, values: Record<string, unknown> = KEYS) =>
    createTestAuthContext({
      settings: awsSigV4Settings.parse({
        service: 'execute-api',
        region: 'eu-west-1',
        ...settings,
      }),
      values,
    })

  it('signs a GET with a query that the verifier accepts', async () => {
    const req = request(
      'GET',
      `${upstream.url}/prod/items/a b?limit=10&q=caf%C3%A9+bar&tag=x&tag=a`,
      {
        accept: 'application/json',
        'x-trace': '  spaced   value ',
      },
    )
    await awsSigV4Scheme.apply(ctx({}), req)
    expect(req.headers.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDLOOPBACK\/\d{8}\/eu-west-1\/execute-api\/aws4_request, SignedHeaders=accept;host;x-amz-date;x-trace, Signature=[0-9a-f]{64}$/,
    )
    expect(req.headers['x-amz-date']).toMatch(/^\d{8}T\d{6}Z$/)
    expect(req.headers['x-amz-content-sha256']).toBeUndefined()
    // `+` read as a space, re-encoded the AWS way, so both sides see the same bytes.
    expect(req.url.search).toBe('?limit=10&q=caf%C3%A9%20bar&tag=x&tag=a')

    const res = await send(req)
    expect(res).toEqual({
      status: 200,
      body: expect.objectContaining({ ok: true, accessKeyId: 'AKIDLOOPBACK' }) as unknown,
    })
    const verdict = upstream.records.at(-1)!.verification
    expect(verdict.canonicalRequest?.split('\n')[1]).toBe('/prod/items/a%2520b')
  })

  it('signs a POST with a JSON body and a session token that the verifier accepts', async () => {
    const req: OutgoingRequest = {
      ...request('POST', `${upstream.url}/prod/items`),
      body: { kind: 'json', value: { name: 'Widget', tags: ['a', 'b'], price: 9.5 } },
    }
    await awsSigV4Scheme.apply(ctx({}, { ...KEYS, sessionToken }), req)
    expect(req.headers['content-type']).toBe('application/json')
    expect(req.headers['x-amz-security-token']).toBe(sessionToken)
    expect(req.headers.authorization).toContain(
      'SignedHeaders=content-type;host;x-amz-date;x-amz-security-token,',
    )

    const res = await send(req)
    expect(res.status).toBe(200)
    expect(res.body.body).toBe('{"name":"Widget","tags":["a","b"],"price":9.5}')
  })

  it('is refused when the body is changed after signing', async () => {
    const req: OutgoingRequest = {
      ...request('POST', `${upstream.url}/prod/items`),
      body: { kind: 'json', value: { amount: 10 } },
    }
    await awsSigV4Scheme.apply(ctx({}), req)
    req.body = { kind: 'json', value: { amount: 10_000 } }
    const res = await send(req)
    expect(res).toEqual({
      status: 403,
      body: { ok: false, reason: 'the signature does not match' },
    })
  })

  it('is refused when a query parameter is added after signing', async () => {
    const req = request('GET', `${upstream.url}/prod/items?limit=10`)
    await awsSigV4Scheme.apply(ctx({}), req)
    req.url.searchParams.set('admin', 'true')
    expect((await send(req)).status).toBe(403)
  })

  it('is refused when signed with the wrong secret', async () => {
    const req = request('GET', `${upstream.url}/prod/items`)
    await awsSigV4Scheme.apply(ctx({}, { ...KEYS, secretAccessKey: 'not-the-secret' }), req)
    expect(await send(req)).toEqual({
      status: 403,
      body: { ok: false, reason: 'the signature does not match' },
    })
  })

  it('signs S3 requests with the payload hash and the path encoded once', async () => {
    const req: OutgoingRequest = {
      ...request('PUT', `${s3.url}/my-bucket/reports//2024 Q1/a+b:c.txt`),
      body: { kind: 'raw', bytes: Buffer.from('hello'), contentType: 'text/plain' },
    }
    await awsSigV4Scheme.apply(ctx({ service: 's3', region: 'us-east-1' }), req)
    expect(req.headers['x-amz-content-sha256']).toBe(
      '2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824',
    )
    expect(req.url.pathname).toBe('/my-bucket/reports//2024%20Q1/a%2Bb%3Ac.txt')
    expect((await send(req)).status).toBe(200)
    const verdict = s3.records.at(-1)!.verification
    expect(verdict.canonicalRequest?.split('\n')[1]).toBe(
      '/my-bucket/reports//2024%20Q1/a%2Bb%3Ac.txt',
    )
  })

  it('presigns a URL in the query string that the verifier accepts, and signs it again', async () => {
    const req = request('GET', `${upstream.url}/prod/report?format=csv`)
    const context = ctx({ signatureIn: 'query', expiresIn: 300 }, { ...KEYS, sessionToken })
    await awsSigV4Scheme.apply(context, req)
    expect(req.headers).toEqual({})
    expect(Object.fromEntries(req.url.searchParams)).toMatchObject({
      format: 'csv',
      'X-Amz-Algorithm': 'AWS4-HMAC-SHA256',
      'X-Amz-Expires': '300',
      'X-Amz-SignedHeaders': 'host',
      'X-Amz-Security-Token': sessionToken,
    })
    expect((await send(req)).status).toBe(200)

    await awsSigV4Scheme.apply(context, req)
    expect(req.url.searchParams.getAll('X-Amz-Signature')).toHaveLength(1)
    expect((await send(req)).status).toBe(200)
  })

  it('refuses to sign without an access key', async () => {
    const err = await Promise.resolve(
      awsSigV4Scheme.apply(ctx({}, { secretAccessKey: 'x' }), request('GET', upstream.url)),
    ).catch((e: unknown) => e)
    expect(isPatchbayError(err, 'connection.invalid_values')).toBe(true)
    expect((err as Error).message).not.toContain('x')
  })
})

describe('aws_sigv4 scheme', () => {
  it('asks for the keys, connects without acquiring anything and never refreshes', async () => {
    const settings = awsSigV4Settings.parse({ service: 'es', region: 'eu-central-1' })
    expect(awsSigV4Scheme.connectionFields(settings)).toEqual([
      { name: 'accessKeyId', label: 'Access key ID', type: 'text' },
      { name: 'secretAccessKey', label: 'Secret access key', type: 'password' },
      { name: 'sessionToken', label: 'Session token', type: 'password', optional: true },
    ])
    expect(awsSigV4Scheme.canRefresh(settings)).toBe(false)
    expect(await awsSigV4Scheme.connect(createTestAuthContext({ settings, values: KEYS }))).toEqual(
      {
        status: 'connected',
        credentials: { values: {} },
      },
    )
    expect(awsSigV4Scheme.redact?.(settings)).toEqual({
      headers: ['authorization', 'x-amz-security-token'],
    })
  })

  it('refuses settings that are not signing names', () => {
    const result = awsSigV4Settings.safeParse({ service: 'Execute API', region: '' })
    expect(result.success).toBe(false)
    expect(new Set(result.error?.issues.map((i) => i.path.join('.')))).toEqual(
      new Set(['service', 'region']),
    )
  })
})
