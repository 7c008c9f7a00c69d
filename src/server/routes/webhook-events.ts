/**
 * `/api/v1/webhook-events` (docs/connect.md): the webhook outbox — events pending, delivered and
 * dead-lettered after their last try — and sending a dead-lettered event again.
 *
 * @module
 */
import { Hono } from 'hono'
import type { Patchbay } from '../../engine/patchbay.js'
import { queryOf } from '../http.js'

export function webhookEventRoutes(pb: Patchbay): Hono {
  const api = new Hono()

  api.get('/webhook-events', async (c) =>
    c.json(await pb.webhookEvents.list(queryOf(c, ['status', 'connection', 'limit', 'cursor']))),
  )
  api.get('/webhook-events/:id', async (c) => c.json(await pb.webhookEvents.get(c.req.param('id'))))
  api.post('/webhook-events/:id/retry', async (c) =>
    c.json(await pb.webhookEvents.retry(c.req.param('id'))),
  )

  return api
}
