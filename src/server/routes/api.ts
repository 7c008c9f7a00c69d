/**
 * `/api/v1` routes (SPEC §6). Each calls the library; none touches the store.
 *
 * @module
 */
import { Hono } from 'hono'
import type { Patchbay } from '../../engine/patchbay.js'
import { invalidInput } from '../../errors.js'
import type { ConnectionStatus } from '../../store/store.js'
import { queryOf, readJson } from '../http.js'
import { adminKeyRoutes } from './admin.js'
import { authTypeRoutes } from './auth-types.js'
import { connectSessionRoutes } from './connect.js'
import { connectorTemplateRoutes } from './connector-templates.js'

const STATUSES = ['pending', 'connected', 'needs_reauth', 'error']

export function apiRoutes(pb: Patchbay): Hono {
  const api = new Hono()

  api.post('/connectors', async (c) => c.json(await pb.connectors.create(await readJson(c)), 201))
  api.get('/connectors', async (c) =>
    c.json(await pb.connectors.list(queryOf(c, ['limit', 'cursor']))),
  )
  api.get('/connectors/:id', async (c) => c.json(await pb.connectors.get(c.req.param('id'))))
  api.patch('/connectors/:id', async (c) =>
    c.json(await pb.connectors.update(c.req.param('id'), await readJson(c))),
  )
  api.delete('/connectors/:id', async (c) => {
    await pb.connectors.delete(c.req.param('id'))
    return c.body(null, 204)
  })
  api.post('/connectors/:id/ready', async (c) =>
    c.json(await pb.connectors.ready(c.req.param('id'))),
  )
  api.post('/connectors/:id/test-token', async (c) =>
    c.json(await pb.connectors.testAuth(c.req.param('id'), await readJson(c))),
  )

  api.post('/connections', async (c) => {
    const created = await pb.connections.create(await readJson(c))
    return c.json(created, 201)
  })
  api.get('/connections', async (c) => {
    const q = queryOf(c, ['connector', 'endUser', 'status', 'limit', 'cursor'])
    if (q.status && !STATUSES.includes(q.status))
      throw invalidInput([{ path: 'status', rule: `must be one of ${STATUSES.join(', ')}` }])
    return c.json(
      await pb.connections.list({
        ...q,
        status: q.status as ConnectionStatus | undefined,
      } as never),
    )
  })
  api.get('/connections/:id', async (c) => c.json(await pb.connections.get(c.req.param('id'))))
  api.delete('/connections/:id', async (c) => {
    await pb.connections.delete(c.req.param('id'))
    return c.body(null, 204)
  })
  api.post('/connections/:id/test', async (c) =>
    c.json(await pb.connections.test(c.req.param('id'))),
  )
  api.post('/connections/:id/reconnect', async (c) =>
    c.json(await pb.connections.reconnect(c.req.param('id'), await readJson(c))),
  )
  api.post('/connections/:id/refresh', async (c) =>
    c.json(await pb.connections.refresh(c.req.param('id'))),
  )
  api.post('/connections/:id/request', async (c) =>
    c.json(await pb.connections.request(c.req.param('id'), await readJson(c))),
  )

  api.post('/connections/:id/breaker/reset', async (c) =>
    c.json(await pb.connections.resetBreaker(c.req.param('id'))),
  )
  api.get('/actions/:id', async (c) => c.json(await pb.actions.get(c.req.param('id'))))
  api.post('/actions/:id/breaker/reset', async (c) =>
    c.json(await pb.actions.resetBreaker(c.req.param('id'))),
  )
  api.post('/actions/:id/run', async (c) =>
    c.json(await pb.actions.run(c.req.param('id'), await readJson(c))),
  )

  api.get('/logs', async (c) =>
    c.json(
      await pb.logs.list(queryOf(c, ['connector', 'connection', 'action', 'limit', 'cursor'])),
    ),
  )

  api.route('/', adminKeyRoutes(pb))
  api.route('/', connectSessionRoutes(pb))
  api.route('/', authTypeRoutes(pb))
  api.route('/', connectorTemplateRoutes())

  return api
}
