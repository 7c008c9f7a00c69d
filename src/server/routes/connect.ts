/**
 * `/api/v1/connect-sessions` and `/api/v1/end-users` (SPEC §6, §8): admin key only. The hosted
 * page's own routes, opened by a session token, are in `server/connect.ts`.
 *
 * @module
 */
import { Hono } from 'hono'
import type { Patchbay } from '../../engine/patchbay.js'
import { queryOf, readJson } from '../http.js'

export function connectSessionRoutes(pb: Patchbay): Hono {
  const api = new Hono()

  api.post('/connect-sessions', async (c) =>
    c.json(await pb.connectSessions.create(await readJson(c)), 201),
  )
  api.get('/connect-sessions', async (c) => c.json(await pb.connectSessions.list()))
  api.delete('/connect-sessions/:id', async (c) => {
    await pb.connectSessions.delete(c.req.param('id'))
    return c.body(null, 204)
  })

  api.get('/end-users', async (c) =>
    c.json(await pb.endUsers.list(queryOf(c, ['limit', 'cursor']))),
  )
  api.get('/end-users/:id', async (c) => c.json(await pb.endUsers.get(c.req.param('id'))))
  api.delete('/end-users/:id', async (c) => {
    await pb.endUsers.delete(c.req.param('id'))
    return c.body(null, 204)
  })

  return api
}
