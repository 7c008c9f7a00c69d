/**
 * `/api/v1/mcp-keys` (docs/mcp.md): scoped MCP keys for AI agents, created (the key shown once),
 * listed and read (never the key) and revoked — admin only, like every `/api/v1` route.
 *
 * @module
 */
import { Hono } from 'hono'
import type { Patchbay } from '../../engine/patchbay.js'
import { queryOf, readJson } from '../http.js'

export function mcpKeyRoutes(pb: Patchbay): Hono {
  const api = new Hono()

  api.get('/mcp-keys', async (c) => c.json(await pb.mcpKeys.list(queryOf(c, ['limit', 'cursor']))))
  api.post('/mcp-keys', async (c) => c.json(await pb.mcpKeys.create(await readJson(c)), 201))
  api.get('/mcp-keys/:id', async (c) => c.json(await pb.mcpKeys.get(c.req.param('id'))))
  api.delete('/mcp-keys/:id', async (c) => {
    await pb.mcpKeys.revoke(c.req.param('id'))
    return c.body(null, 204)
  })

  return api
}
