import { describe, expect, it } from 'vitest'
import { applyAuth } from './apply-auth.js'
import { compose } from './compose.js'
import { followRedirects } from './redirect.js'
import {
  answer,
  createFakeAuth,
  createFakeTerminal,
  createTestContext,
  streamedAnswer,
  type Scripted,
} from './testing.js'

const to = (status: number, location: string) => answer(status, { headers: { location } })

/** Redirects, then auth, then the fake terminal: as the pipeline runs them. */
function pipeline(...script: Scripted[]) {
  const terminal = createFakeTerminal(...script)
  return { terminal, run: compose([followRedirects, applyAuth], terminal.handler) }
}

const CALLER_HEADERS = {
  accept: 'application/json',
  'accept-language': 'fr',
  'content-type': 'application/json',
  'user-agent': 'acme/1',
  cookie: 'session=s3cr3t',
  'x-tenant': 'acme',
}

describe('follow redirects', () => {
  it.each([301, 302, 303, 307, 308])(
    'follows a %i on the same origin with the credentials applied again',
    async (status) => {
      const auth = createFakeAuth()
      const { terminal, run } = pipeline(to(status, '/v2/items'), answer(200, { body: 'moved' }))
      const ctx = createTestContext({ auth, headers: { 'x-tenant': 'acme' } })
      const result = await run(ctx)
      expect(result.status).toBe(200)
      expect(terminal.calls.map((c) => c.sent?.url.href)).toEqual([
        'https://api.test/v1/items',
        'https://api.test/v2/items',
      ])
      expect(terminal.calls[1]!.sent?.headers).toEqual({
        'x-tenant': 'acme',
        authorization: 'Bearer tok-1',
      })
      expect(auth.calls.apply).toBe(2)
      expect(ctx.meta.redirects).toBe(1)
      expect(ctx.meta.credentialsWithheld).toBe(false)
    },
  )

  it('resolves a relative Location against the URL it answered for', async () => {
    const { terminal, run } = pipeline(to(302, '../other?x=1'), answer(200))
    await run(createTestContext({ url: 'https://api.test/v1/items/7' }))
    expect(terminal.calls[1]!.sent?.url.href).toBe('https://api.test/v1/other?x=1')
  })

  it('follows a redirect to another allowed origin with credentials', async () => {
    const auth = createFakeAuth()
    const { terminal, run } = pipeline(to(307, 'https://files.api.test/f/1'), answer(200))
    const ctx = createTestContext({
      auth,
      headers: CALLER_HEADERS,
      allowedOrigins: ['https://api.test', 'https://files.api.test'],
    })
    await run(ctx)
    expect(terminal.calls[1]!.sent?.headers).toEqual({
      ...CALLER_HEADERS,
      authorization: 'Bearer tok-1',
    })
    expect(ctx.meta.credentialsWithheld).toBe(false)
  })

  it('withholds credentials from another origin and keeps only content negotiation headers', async () => {
    const auth = createFakeAuth()
    const { terminal, run } = pipeline(to(302, 'https://cdn.other.test/blob?sig=1'), answer(200))
    const ctx = createTestContext({ auth, headers: CALLER_HEADERS })
    await run(ctx)
    expect(terminal.calls[1]!.sent?.url.href).toBe('https://cdn.other.test/blob?sig=1')
    expect(terminal.calls[1]!.sent?.headers).toEqual({
      accept: 'application/json',
      'accept-language': 'fr',
      'content-type': 'application/json',
      'user-agent': 'acme/1',
    })
    expect(auth.calls.apply).toBe(1)
    expect(ctx.meta.credentialsWithheld).toBe(true)
    expect(terminal.calls[1]!.meta.credentialsWithheld).toBe(true)
  })

  it('keeps credentials withheld for the rest of the chain once it has left the allowed origins', async () => {
    const auth = createFakeAuth()
    const { terminal, run } = pipeline(
      to(302, 'https://other.test/bounce'),
      to(302, 'https://api.test/v1/back'),
      answer(200),
    )
    await run(createTestContext({ auth }))
    expect(terminal.calls[2]!.sent?.url.href).toBe('https://api.test/v1/back')
    expect(terminal.calls[2]!.sent?.headers.authorization).toBeUndefined()
    expect(auth.calls.apply).toBe(1)
  })

  it('turns a 303 into a GET without a body or content type', async () => {
    const { terminal, run } = pipeline(to(303, '/status/1'), answer(200))
    const ctx = createTestContext({
      method: 'PUT',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: { kind: 'json', value: { a: 1 } },
    })
    await run(ctx)
    const { method, headers, body } = terminal.calls[1]!.request
    expect({ method, headers, body }).toEqual({
      method: 'GET',
      headers: { accept: 'application/json' },
      body: { kind: 'none' },
    })
  })

  it('keeps a HEAD a HEAD on a 303', async () => {
    const { terminal, run } = pipeline(to(303, '/status/1'), answer(200))
    await run(createTestContext({ method: 'HEAD' }))
    expect(terminal.calls[1]!.request.method).toBe('HEAD')
  })

  it.each([301, 302])('turns a POST into a GET on a %i', async (status) => {
    const { terminal, run } = pipeline(to(status, '/next'), answer(200))
    await run(
      createTestContext({
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: { kind: 'form', fields: [['a', 'b']] },
      }),
    )
    const { method, headers, body } = terminal.calls[1]!.request
    expect({ method, headers, body }).toEqual({
      method: 'GET',
      headers: {},
      body: { kind: 'none' },
    })
  })

  it.each([
    [307, 'POST'],
    [308, 'POST'],
    [301, 'PUT'],
    [302, 'DELETE'],
  ])('keeps the method and body on a %i after a %s', async (status, method) => {
    const body = { kind: 'json', value: { a: 1 } } as const
    const { terminal, run } = pipeline(to(status, '/next'), answer(200))
    await run(createTestContext({ method, body, headers: { 'content-type': 'application/json' } }))
    const sent = terminal.calls[1]!.request
    expect({ method: sent.method, headers: sent.headers, body: sent.body }).toEqual({
      method,
      headers: { 'content-type': 'application/json' },
      body,
    })
  })

  it('stops after 5 redirects and answers the last one', async () => {
    const loop = Array.from({ length: 6 }, (_, i) => to(302, `/hop/${i + 1}`))
    const { terminal, run } = pipeline(...loop)
    const ctx = createTestContext()
    const result = await run(ctx)
    expect(terminal.calls).toHaveLength(6)
    expect(result.status).toBe(302)
    expect(result.headers.location).toBe('/hop/6')
    expect(ctx.meta.redirects).toBe(5)
  })

  it.each([
    ['no Location', answer(302)],
    ['a Location that is not a URL', to(302, 'http://[')],
    ['a Location that is not http(s)', to(302, 'ftp://files.api.test/x')],
    ['a javascript: Location', to(301, 'javascript:alert(1)')],
    ['a Location given twice', answer(302, { headers: { location: ['/a', '/b'] } })],
    ['a 300', to(300, '/choices')],
    ['a 304', to(304, '/cached')],
  ])('answers a redirect with %s as it is', async (_what, redirect) => {
    const { terminal, run } = pipeline(redirect)
    const ctx = createTestContext()
    const result = await run(ctx)
    expect(result.status).toBe(redirect.status)
    expect(terminal.calls).toHaveLength(1)
    expect(ctx.meta.redirects).toBe(0)
  })

  it('discards the streamed body of a redirect it follows', async () => {
    const hop = streamedAnswer(302, ['moved'], { location: '/next' })
    const { run } = pipeline(hop, answer(200))
    await run(createTestContext({ stream: true }))
    expect(hop.body.readableFlowing).toBe(true)
  })
})
