/**
 * Odd ids (encoded dots, slashes, NULs, over-long) on every `:id` route: a 404 or a named 4xx.
 *
 * @module
 */
import fc from 'fast-check'
import { it } from 'vitest'
import { rawSegment } from './arbitraries.js'
import { describeFuzz, params, PROPERTY_TIMEOUT_MS } from './harness.js'

await describeFuzz('odd ids', (f) => {
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
              ? { connection: f.connectionId }
              : undefined
          const res = await f.sendJson(method!, path, body)
          f.check(res, `${method} ${path}`)
        }),
        params(250),
      )
    },
    PROPERTY_TIMEOUT_MS,
  )
})
