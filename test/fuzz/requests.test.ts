/**
 * Calls through a connection: ad-hoc request bodies (`POST /connections/:id/request`) and the
 * transparent proxy (`/proxy/:id/*`) with odd paths, methods, headers and bodies.
 *
 * @module
 */
import fc from 'fast-check'
import { expect, it } from 'vitest'
import { badString, rawSegment, requestInput } from './arbitraries.js'
import { describeFuzz, params, PROPERTY_TIMEOUT_MS } from './harness.js'

await describeFuzz('requests and the proxy', (f) => {
  it(
    'answers ad-hoc request bodies with the upstream envelope or a named 4xx',
    async () => {
      await fc.assert(
        fc.asyncProperty(requestInput(f.up.origin), async (body) => {
          f.up.requests.length = 0
          const res = await f.sendJson(
            'POST',
            `/api/v1/connections/${f.connectionId}/request`,
            body,
          )
          f.check(res, `POST /connections/:id/request ${JSON.stringify(body)?.slice(0, 400)}`)
          if (res.status === 200) expect(typeof res.body.status).toBe('number')
        }),
        params(400),
      )
    },
    PROPERTY_TIMEOUT_MS,
  )

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
        .map(([i, rest, q]) => `/proxy/${i === 'conn' ? f.connectionId : i}/${rest}${q}`)
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
            f.up.requests.length = 0
            const headers = Object.fromEntries(hs)
            const res = await f.send(m, path, {
              body: ['GET', 'HEAD'].includes(m) ? undefined : b,
              headers,
            })
            f.check(res, `${m} ${path} ${JSON.stringify(headers)}`, {
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
})
