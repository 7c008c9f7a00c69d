/**
 * AWS Signature Version 4 end to end: connections of an `aws_sigv4` connector call a loopback
 * "AWS" that recomputes every signature with an independent implementation
 * (test/peers/sigv4-verifier.ts) and refuses what does not verify, as AWS would.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestPatchbay, testStoreKinds, type TestPatchbay } from './helpers/patchbay.js'
import { startSigV4Server, type SigV4Server } from './peers/sigv4-verifier.js'

const KEY_ID = 'AKIDEXAMPLE00000001'
const SECRET = 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY'

describe.each(await testStoreKinds())('AWS SigV4 on %s', (storeKind) => {
  let aws: SigV4Server
  let t: TestPatchbay

  beforeAll(async () => {
    aws = await startSigV4Server({
      service: 'execute-api',
      region: 'eu-west-1',
      secretFor: (id) => (id === KEY_ID ? SECRET : undefined),
    })
    t = await startTestPatchbay({ storeKind })
  })
  afterAll(async () => {
    await t.close()
    await aws.close()
  })

  async function connect(auth: Record<string, unknown>, values: Record<string, unknown>) {
    const c = await t.api('POST', '/api/v1/connectors', {
      name: `Gateway ${Object.keys(auth).join(' ')} ${Math.random().toString(36).slice(2, 8)}`,
      baseUrl: `${aws.url}/prod/`,
      auth: { type: 'aws_sigv4', service: 'execute-api', region: 'eu-west-1', ...auth },
      customAction: { enabled: true },
    })
    expect(c.status, JSON.stringify(c.body)).toBe(201)
    expect((await t.api('POST', `/api/v1/connectors/${c.body.id}/ready`)).status).toBe(200)
    const conn = await t.api('POST', '/api/v1/connections', { connector: c.body.id, values })
    expect(conn.status, JSON.stringify(conn.body)).toBe(201)
    return conn.body.id as string
  }

  const keys = { accessKeyId: KEY_ID, secretAccessKey: SECRET }

  it('signs a GET with a query that the verifier accepts', async () => {
    const id = await connect({}, keys)
    const res = await t.api('POST', `/api/v1/connections/${id}/request`, {
      method: 'GET',
      path: 'pets/a b',
      query: { b: '2', a: 'x y', 'c~': 'ü', list: ['2', '1'] },
    })
    expect(res.body, JSON.stringify(res.body)).toMatchObject({
      status: 200,
      body: { ok: true, accessKeyId: KEY_ID, method: 'GET' },
    })
    const record = aws.records.at(-1)!
    expect(record.verification).toMatchObject({ ok: true, in: 'header' })
    expect(res.body.body.target).toMatch(/^\/prod\/pets\/a%20b\?/)
    const sent = new URL(res.body.body.target, 'http://x').searchParams
    expect(sent.get('a')).toBe('x y')
    expect(sent.getAll('list')).toEqual(['2', '1'])
    expect(sent.get('c~')).toBe('ü')
  })

  it('signs a POST with a JSON body, payload hash included', async () => {
    const id = await connect({ signPayload: true }, keys)
    const res = await t.api('POST', `/api/v1/connections/${id}/request`, {
      method: 'POST',
      path: 'pets',
      body: { name: 'Rex', tags: ['good', 'dog'], weight: 12.5 },
    })
    expect(res.body, JSON.stringify(res.body)).toMatchObject({ status: 200, body: { ok: true } })
    expect(JSON.parse(res.body.body.body)).toEqual({
      name: 'Rex',
      tags: ['good', 'dog'],
      weight: 12.5,
    })
    const record = aws.records.at(-1)!
    expect(record.verification.ok).toBe(true)
    expect(record.verification.ok && record.verification.signedHeaders).toContain(
      'x-amz-content-sha256',
    )
  })

  it('signs with a session token, and in the query string (presigned)', async () => {
    const withToken = await connect({}, { ...keys, sessionToken: 'FQoGZXIvYXdzEXAMPLE//token' })
    const a = await t.api('POST', `/api/v1/connections/${withToken}/request`, { path: 'pets' })
    expect(a.body.status).toBe(200)
    const signed = aws.records.at(-1)!.verification
    expect(signed.ok && signed.signedHeaders).toContain('x-amz-security-token')

    const presigned = await connect({ signatureIn: 'query', expiresIn: 300 }, keys)
    const b = await t.api('POST', `/api/v1/connections/${presigned}/request`, {
      path: 'pets',
      query: { q: 'a/b' },
    })
    expect(b.body, JSON.stringify(b.body)).toMatchObject({ status: 200 })
    expect(aws.records.at(-1)!.verification).toMatchObject({ ok: true, in: 'query' })
    const logs = await t.api('GET', `/api/v1/logs?connection=${presigned}&limit=1`)
    expect(logs.body.items[0].url).toContain('X-Amz-Signature=[REDACTED]')
  })

  it('is refused by the verifier with a wrong secret, and not retried (nothing to re-acquire)', async () => {
    const id = await connect({}, { accessKeyId: KEY_ID, secretAccessKey: 'not-the-secret' })
    const before = aws.records.length
    const res = await t.api('POST', `/api/v1/connections/${id}/request`, { path: 'pets' })
    expect(res.body).toMatchObject({
      status: 403,
      refreshed: false,
      body: { ok: false, reason: 'the signature does not match' },
    })
    expect(aws.records.length - before).toBe(1)
    const logs = await t.api('GET', `/api/v1/logs?connection=${id}&limit=1`)
    expect(JSON.stringify(logs.body)).not.toContain('not-the-secret')
  })
})
