import { once } from 'node:events'
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Readable } from 'node:stream'
import { Agent } from 'undici'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { PatchbayError } from '../errors.js'
import { createGuardedAgent } from '../lib/network.js'
import { createSend } from './send.js'
import { createTestContext, deferred, type TestContextOptions } from './testing.js'

interface Received {
  method: string
  url: string
  headers: IncomingHttpHeaders
  body: string
}

/** A loopback upstream: records each request, answers by path. */
let server: Server
let origin: string
const received: Received[] = []
/** Lets `/stream` finish its body. */
let finishStream = deferred<void>()

const routes: Record<string, (res: ServerResponse) => void> = {
  '/echo': (res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'x-upstream': '1' })
    res.end(JSON.stringify({ ok: true }))
  },
  '/hop-by-hop': (res) => {
    res.writeHead(200, {
      'content-type': 'text/plain',
      'keep-alive': 'timeout=5',
      connection: 'keep-alive',
      trailer: 'x-checksum',
      upgrade: 'h2c',
      'proxy-connection': 'keep-alive',
      'x-upstream': '1',
    })
    // No content-length: a chunked body.
    res.write('a')
    res.end('b')
  },
  '/unavailable': (res) => {
    res.writeHead(503, { 'content-type': 'text/plain', 'retry-after': '30' })
    res.end('down for maintenance')
  },
  '/stream': (res) => {
    res.writeHead(200, { 'content-type': 'text/plain' })
    res.write('first,')
    void finishStream.promise.then(() => res.end('second'))
  },
  '/hang': () => {
    // Never answers.
  },
  '/stall-body': (res) => {
    res.writeHead(200, { 'content-type': 'text/plain' })
    res.write('partial')
  },
  '/cut': (res) => {
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '100' })
    res.write('part', () => res.socket?.destroy())
  },
}

let agent: Agent
beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      received.push({
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      })
      const route = routes[new URL(req.url ?? '/', 'http://x').pathname]
      if (route) route(res)
      else {
        res.writeHead(404)
        res.end()
      }
    })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  agent = new Agent()
})
afterAll(async () => {
  await agent.close()
  server.closeAllConnections()
  server.close()
  await once(server, 'close')
})
beforeEach(() => {
  received.length = 0
  finishStream = deferred<void>()
})

const context = (path: string, options: TestContextOptions = {}) =>
  createTestContext({ url: `${origin}${path}`, ...options })

const failure = async (promise: Promise<unknown>): Promise<PatchbayError> => {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(err).toBeInstanceOf(PatchbayError)
  return err as PatchbayError
}

describe('send', () => {
  it('sends the request as apply auth left it, and buffers the answer', async () => {
    const ctx = context('/echo?page=2', { method: 'POST', body: { kind: 'json', value: { a: 1 } } })
    ctx.meta.sent = {
      ...ctx.request,
      url: new URL(`${origin}/echo?page=2&sig=s`),
      headers: { authorization: 'Bearer tok-1', 'x-tenant': 'acme' },
    }
    const result = await createSend(agent)(ctx)
    expect(received).toHaveLength(1)
    expect(received[0]).toMatchObject({
      method: 'POST',
      url: '/echo?page=2&sig=s',
      body: '{"a":1}',
    })
    expect(received[0]!.headers).toMatchObject({
      authorization: 'Bearer tok-1',
      'x-tenant': 'acme',
      'content-type': 'application/json',
      'content-length': '7',
    })
    expect(result.status).toBe(200)
    expect(result.body).toBeInstanceOf(Uint8Array)
    expect(Buffer.from(result.body as Uint8Array).toString()).toBe('{"ok":true}')
    expect(result.headers).toMatchObject({ 'content-type': 'application/json', 'x-upstream': '1' })
  })

  it('sends the request itself when no credentials were applied', async () => {
    await createSend(agent)(context('/echo', { headers: { 'x-plain': 'yes' } }))
    expect(received[0]!.headers['x-plain']).toBe('yes')
    expect(received[0]!.headers.authorization).toBeUndefined()
  })

  it('encodes form and raw bodies with their content types', async () => {
    const send = createSend(agent)
    await send(
      context('/echo', {
        method: 'POST',
        body: {
          kind: 'form',
          fields: [
            ['a', 'b c'],
            ['d', 'é'],
          ],
        },
      }),
    )
    await send(
      context('/echo', {
        method: 'PUT',
        body: {
          kind: 'raw',
          bytes: Buffer.from([0, 1, 2]),
          contentType: 'application/octet-stream',
        },
      }),
    )
    expect(received[0]).toMatchObject({ body: 'a=b+c&d=%C3%A9' })
    expect(received[0]!.headers['content-type']).toBe('application/x-www-form-urlencoded')
    expect(received[1]!.headers['content-type']).toBe('application/octet-stream')
    expect(received[1]!.headers['content-length']).toBe('3')
  })

  it('drops hop-by-hop headers from the request', async () => {
    await createSend(agent)(
      context('/echo', {
        headers: {
          connection: 'upgrade',
          'keep-alive': 'timeout=99',
          'proxy-connection': 'keep-alive',
          'transfer-encoding': 'chunked',
          te: 'trailers',
          trailer: 'x-checksum',
          upgrade: 'websocket',
          host: 'evil.test',
          'content-length': '999',
          'x-keep': '1',
        },
      }),
    )
    const headers = received[0]!.headers
    expect(headers['x-keep']).toBe('1')
    expect(headers.host).toBe(new URL(origin).host)
    for (const name of [
      'keep-alive',
      'proxy-connection',
      'transfer-encoding',
      'te',
      'trailer',
      'upgrade',
      'content-length',
    ])
      expect(headers[name], name).toBeUndefined()
    expect(headers.connection).not.toBe('upgrade')
  })

  it('drops hop-by-hop headers from the answer', async () => {
    const result = await createSend(agent)(context('/hop-by-hop'))
    expect(Object.keys(result.headers).sort()).toEqual(['content-type', 'date', 'x-upstream'])
    expect(Buffer.from(result.body as Uint8Array).toString()).toBe('ab')
  })

  it('answers an error status as a result, with its body', async () => {
    const result = await createSend(agent)(context('/unavailable'))
    expect(result.status).toBe(503)
    expect(result.headers['retry-after']).toBe('30')
    expect(Buffer.from(result.body as Uint8Array).toString()).toBe('down for maintenance')
  })

  it('streams the body when asked: the result comes before the body ends', async () => {
    const result = await createSend(agent)(context('/stream', { stream: true }))
    expect(result.status).toBe(200)
    expect(result.body).toBeInstanceOf(Readable)
    const chunks = (result.body as Readable)[Symbol.asyncIterator]() as AsyncIterator<Buffer>
    let head = ''
    while (head.length < 'first,'.length) {
      const r = await chunks.next()
      if (r.done) break
      head += r.value.toString()
    }
    expect(head).toBe('first,')
    // The upstream is still holding the rest of its body.
    finishStream.resolve()
    const rest: Buffer[] = []
    for (let r = await chunks.next(); !r.done; r = await chunks.next()) rest.push(r.value)
    expect(Buffer.concat(rest).toString()).toBe('second')
  })

  it('gives up on an upstream that sends no headers in time: request.timeout', async () => {
    const err = await failure(createSend(agent)(context('/hang', { timeoutMs: 200 })))
    expect(err.code).toBe('request.timeout')
    expect(err.message).toBe(`${origin} did not answer in time; try again later`)
    expect(received).toHaveLength(1)
  })

  it('gives up on a body that stalls: request.timeout', async () => {
    const err = await failure(createSend(agent)(context('/stall-body', { timeoutMs: 200 })))
    expect(err.code).toBe('request.timeout')
  })

  it('reports an upstream that closes the connection mid-body as unreachable', async () => {
    const err = await failure(createSend(agent)(context('/cut')))
    expect(err.code).toBe('request.upstream_unreachable')
    expect(err.message).toMatch(new RegExp(`^could not reach ${origin}`))
  })

  it('reports a port nobody listens on as request.upstream_unreachable, naming the cause', async () => {
    const closed = createServer()
    closed.listen(0, '127.0.0.1')
    await once(closed, 'listening')
    const port = (closed.address() as AddressInfo).port
    closed.close()
    await once(closed, 'close')
    const err = await failure(
      createSend(agent)(createTestContext({ url: `http://127.0.0.1:${port}/x` })),
    )
    expect(err.code).toBe('request.upstream_unreachable')
    expect(err.message).toBe(`could not reach http://127.0.0.1:${port} (ECONNREFUSED)`)
  })

  it('refuses an address the network policy refuses, before sending: request.network_refused', async () => {
    const guarded = createGuardedAgent({ allowPrivate: false })
    try {
      const err = await failure(createSend(guarded)(context('/echo')))
      expect(err.code).toBe('request.network_refused')
      expect(err.message).toMatch(
        new RegExp(`^${new URL(origin).host}: 127\\.0\\.0\\.1 is a loopback address`),
      )
      expect(received).toHaveLength(0)
    } finally {
      await guarded.close()
    }
  })

  it('refuses a request the HTTP client cannot send as the caller’s mistake: request.invalid', async () => {
    const err = await failure(
      createSend(agent)(context('/echo', { headers: { 'x-bad': 'a\r\nInjected: 1' } })),
    )
    expect(err.code).toBe('request.invalid')
    expect(err.message).toMatch(/^the request cannot be sent: /)
    expect(received).toHaveLength(0)
  })
})
