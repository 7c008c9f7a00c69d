/**
 * `/api/v1/connect-sessions` and `/api/v1/end-users` (docs/connect.md): admin key only. The hosted
 * page's own routes, opened by a session token, are in `server/connect.ts`.
 *
 * @module
 */
import { Hono } from 'hono'
import type { Patchbay } from '../../engine/patchbay.js'
import { bind } from '../bind.js'
import { API_BASE, connectSessions, endUsers } from '../contract.js'

export function connectSessionRoutes(pb: Patchbay): Hono {
  const api = new Hono()

  bind(api, API_BASE, connectSessions, {
    create: ({ body }) => pb.connectSessions.create(body),
    list: () => pb.connectSessions.list(),
    delete: ({ params }) => pb.connectSessions.delete(params.id),
  })

  bind(api, API_BASE, endUsers, {
    list: ({ query }) => pb.endUsers.list(query),
    get: ({ params }) => pb.endUsers.get(params.id),
    delete: async ({ params }) => {
      await pb.endUsers.delete(params.id)
    },
  })

  return api
}
