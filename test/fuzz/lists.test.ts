/**
 * Query strings on the list endpoints (connectors, connections, logs): garbage limits, filters and
 * cursors, including cursors that decode to JSON of the wrong shape.
 *
 * @module
 */
import fc from 'fast-check'
import { expect, it } from 'vitest'
import { badString, pct } from './arbitraries.js'
import { describeFuzz, params, PROPERTY_TIMEOUT_MS } from './harness.js'

await describeFuzz('list queries', (f) => {
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
        fc.constant('target').map(() => f.target.id as string),
        fc.constant('link').map(() => f.target.linkName as string),
        fc.constant('conn').map(() => f.connectionId),
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
            const res = await f.send('GET', url)
            f.check(res, `GET ${url}`)
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
})
