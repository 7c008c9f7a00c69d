/**
 * `extra` headers and a signature: for a scheme that signs (`signsRequest`: `aws_sigv4`, `oauth1`,
 * and `multi` when its selected option signs) the connector's `extra` headers go on the request
 * before `apply`, so the signature covers them; for any other scheme they go on after it.
 *
 * The "AWS" upstream checks each request twice: with the independent verifier of
 * test/peers/sigv4-verifier.ts, and by signing what it received again with `@smithy/signature-v4`.
 * Like S3, it also wants every `x-amz-*` header it receives to be signed.
 */
import { HttpRequest } from '@smithy/protocol-http'
import { SignatureV4 } from '@smithy/signature-v4'
import { createHash, createHmac } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestPatchbay, testStoreKinds, type TestPatchbay } from './helpers/patchbay.js'
import { startOAuth1Provider, type OAuth1Provider } from './peers/oauth1-provider.js'
import {
  startSigV4Server,
  type SigV4Request,
  type SigV4Server,
  type SigV4Verification,
} from './peers/sigv4-verifier.js'
import { startUpstream, type Upstream } from './peers/upstream.js'

const KEY_ID = 'AKIDEXTRAS000000001'
const SECRET = 'extras/secret/key+with/specials'
const FORM = 'application/x-www-form-urlencoded'

type Data = string | ArrayBuffer | ArrayBufferView

const bytes = (data: Data): Uint8Array =>
  typeof data === 'string'
    ? Buffer.from(data, 'utf8')
    : ArrayBuffer.isView(data)
      ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
      : new Uint8Array(data)

/** SHA-256 on node:crypto, in the shape `@smithy/signature-v4` takes. */
class Sha256 {
  #hash
  constructor(secret?: Data) {
    this.#hash = secret === undefined ? createHash('sha256') : createHmac('sha256', bytes(secret))
  }
  update(data: Data) {
    this.#hash.update(bytes(data))
  }
  digest() {
    return Promise.resolve(new Uint8Array(this.#hash.digest()))
  }
}

/**
 * The Authorization value `@smithy/signature-v4` computes for the request as it arrived, over the
 * headers it says it signed: it equals the one received only if exactly those bytes were signed.
 */
async function smithySignature(
  request: SigV4Request,
  signed: string[],
  scope: { service: string; region: string },
): Promise<string | undefined> {
  const header = (name: string) =>
    request.headers.filter(([n]) => n.toLowerCase() === name).map(([, v]) => v)
  const amzDate = header('x-amz-date')[0]
  if (!amzDate) return undefined
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(amzDate)!
  const signingDate = new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!))
  const [path, search = ''] = request.target.split('?')
  const query: Record<string, string | string[]> = {}
  for (const [k, v] of new URLSearchParams(search)) {
    const prev = query[k]
    query[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v]
  }
  const headers: Record<string, string> = {}
  for (const name of signed) headers[name] = header(name).join(',')
  const [hostname, port] = headers.host!.split(':')
  const signer = new SignatureV4({
    service: scope.service,
    region: scope.region,
    credentials: { accessKeyId: KEY_ID, secretAccessKey: SECRET },
    sha256: Sha256,
    uriEscapePath: scope.service !== 's3', // S3 signs the path as sent
  })
  const again = await signer.sign(
    new HttpRequest({
      method: request.method,
      protocol: 'http:',
      hostname: hostname!,
      ...(port ? { port: Number(port) } : {}),
      path: path!,
      query,
      headers,
      body: Buffer.from(request.body),
    }),
    { signingDate },
  )
  return again.headers.authorization
}

function signedHeaders(v: SigV4Verification): string[] {
  expect(v, JSON.stringify(v)).toMatchObject({ ok: true })
  return v.ok ? v.signedHeaders : []
}

describe.each(await testStoreKinds())('extra headers and signatures on %s', (storeKind) => {
  let s3: SigV4Server
  let provider: OAuth1Provider
  let up: Upstream
  let t: TestPatchbay

  beforeAll(async () => {
    s3 = await startSigV4Server({
      service: 's3',
      region: 'us-east-1',
      normalizePath: false,
      secretFor: (id) => (id === KEY_ID ? SECRET : undefined),
    })
    provider = await startOAuth1Provider()
    up = await startUpstream()
    t = await startTestPatchbay({ storeKind })
  })
  afterAll(async () => {
    await t.close()
    await up.close()
    await provider.close()
    await s3.close()
  })

  async function connection(
    connector: Record<string, unknown>,
    values: Record<string, unknown> = {},
  ) {
    const c = await t.api('POST', '/api/v1/connectors', {
      customAction: { enabled: true },
      ...connector,
    })
    expect(c.status, JSON.stringify(c.body)).toBe(201)
    const ready = await t.api('POST', `/api/v1/connectors/${c.body.id}/ready`)
    expect(ready.status, JSON.stringify(ready.body)).toBe(200)
    const conn = await t.api('POST', '/api/v1/connections', { connector: c.body.id, values })
    expect(conn.status, JSON.stringify(conn.body)).toBe(201)
    return conn.body as { id: string; authorizeUrl?: string }
  }

  /** The last request S3 received: verified, every `x-amz-*` header signed, and smithy agrees. */
  async function expectSignedByS3(names: string[]) {
    const record = s3.records.at(-1)!
    const signed = signedHeaders(record.verification)
    expect(signed).toEqual(expect.arrayContaining(names))
    const amz = [...new Set(record.request.headers.map(([n]) => n.toLowerCase()))].filter((n) =>
      n.startsWith('x-amz-'),
    )
    expect(amz.filter((n) => !signed.includes(n))).toEqual([])
    const authorization = record.request.headers.find(([n]) => n.toLowerCase() === 'authorization')
    expect(
      await smithySignature(record.request, signed, { service: 's3', region: 'us-east-1' }),
    ).toBe(authorization?.[1])
    return record
  }

  it('signs S3 extra headers (x-amz-content-sha256, x-amz-meta-color) with the request', async () => {
    const conn = await connection(
      {
        name: 'Bucket with extras',
        baseUrl: `${s3.url}/my-bucket/`,
        fields: [{ name: 'color', label: 'Color', type: 'text' }],
        auth: {
          type: 'aws_sigv4',
          service: 's3',
          region: 'us-east-1',
          extra: {
            headers: {
              'X-Amz-Content-Sha256': 'UNSIGNED-PAYLOAD',
              'x-amz-meta-color': '{{color}}',
            },
            query: { 'x-id': 'PutObject' },
          },
        },
      },
      { color: 'blue', accessKeyId: KEY_ID, secretAccessKey: SECRET },
    )
    const before = s3.records.length
    const res = await t.api('POST', `/api/v1/connections/${conn.id}/request`, {
      method: 'PUT',
      path: 'reports/2024 Q1.txt',
      headers: { 'content-type': 'text/plain' },
      body: 'hello',
    })
    expect(res.body, JSON.stringify(res.body)).toMatchObject({ status: 200, body: { ok: true } })
    expect(s3.records.length - before).toBe(1)
    const record = await expectSignedByS3(['x-amz-content-sha256', 'x-amz-meta-color'])
    const sent = Object.fromEntries(record.request.headers.map(([n, v]) => [n.toLowerCase(), v]))
    expect(sent['x-amz-content-sha256']).toBe('UNSIGNED-PAYLOAD')
    expect(sent['x-amz-meta-color']).toBe('blue')
    expect(record.request.target).toBe('/my-bucket/reports/2024%20Q1.txt?x-id=PutObject')
    expect(Buffer.from(record.request.body).toString()).toBe('hello')
    expect(signedHeaders(record.verification)).toEqual([
      'content-type',
      'host',
      'x-amz-content-sha256',
      'x-amz-date',
      'x-amz-meta-color',
    ])
  })

  it('signs the extra headers of a multi connection whose selected option signs', async () => {
    const conn = await connection(
      {
        name: 'Bucket or key',
        baseUrl: `${s3.url}/my-bucket/`,
        auth: {
          type: 'multi',
          options: {
            aws: { label: 'AWS keys', type: 'aws_sigv4', service: 's3', region: 'us-east-1' },
            key: {
              label: 'API key',
              type: 'api_key',
              params: [{ name: 'Key', key: 'X-Api-Key', in: 'header' }],
            },
          },
          extra: { headers: { 'x-amz-meta-color': 'green' } },
        },
      },
      { auth_type: 'aws', accessKeyId: KEY_ID, secretAccessKey: SECRET },
    )
    const res = await t.api('POST', `/api/v1/connections/${conn.id}/request`, {
      path: 'reports/',
      query: { 'list-type': '2' },
    })
    expect(res.body, JSON.stringify(res.body)).toMatchObject({ status: 200, body: { ok: true } })
    await expectSignedByS3(['x-amz-meta-color', 'x-amz-content-sha256'])
  })

  it('signs an OAuth1 form body with extra.query, its content-type coming from extra.headers', async () => {
    const conn = await connection({
      name: 'OAuth1 with extras',
      baseUrl: provider.resourceUrl,
      auth: {
        type: 'oauth1',
        consumerKey: provider.consumerKey,
        consumerSecret: provider.consumerSecret,
        requestTokenUrl: provider.requestTokenUrl,
        authorizationUrl: provider.authorizationUrl,
        accessTokenUrl: provider.accessTokenUrl,
        extra: {
          query: { api_version: '2' },
          headers: { 'Content-Type': FORM, 'X-Client': 'patchbay' },
        },
      },
    })
    const callback = await provider.approve(conn.authorizeUrl!)
    expect((await fetch(callback, { redirect: 'manual' })).status).toBe(200)

    const before = provider.requests.length
    // Bytes without a content-type of their own: only the extra header makes them a form.
    const res = await t.api('POST', `/api/v1/connections/${conn.id}/request`, {
      method: 'POST',
      path: 'statuses/update',
      body: Buffer.from('status=Hi+there&lang=en').toString('base64'),
      bodyEncoding: 'base64',
    })
    expect(res.body, JSON.stringify(res.body)).toMatchObject({
      status: 200,
      body: {
        query: [['api_version', '2']],
        form: [
          ['status', 'Hi there'],
          ['lang', 'en'],
        ],
      },
    })
    const sent = provider.requests.slice(before)
    expect(sent.map((r) => [r.status, r.url, r.headers['content-type']])).toEqual([
      [200, '/api/statuses/update?api_version=2', FORM],
    ])
    expect(sent[0]!.body).toBe('status=Hi+there&lang=en')
    expect(sent[0]!.headers['x-client']).toBe('patchbay')
  })

  it('still sets extra headers after a scheme that does not sign, so they win', async () => {
    const conn = await connection(
      {
        name: 'Bearer with extras',
        baseUrl: up.url,
        auth: {
          type: 'bearer',
          extra: { headers: { Authorization: 'Token from-extra', 'X-Tenant': 'acme' } },
        },
      },
      { token: 'bearer-token-1' },
    )
    const before = up.requests.length
    const res = await t.api('POST', `/api/v1/connections/${conn.id}/request`, { path: 'x' })
    expect(res.body.status).toBe(200)
    const received = up.requests.slice(before)
    expect(received).toHaveLength(1)
    expect(received[0]!.headers.authorization).toBe('Token from-extra')
    expect(received[0]!.headers['x-tenant']).toBe('acme')
  })
})
