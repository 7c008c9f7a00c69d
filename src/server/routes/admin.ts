/**
 * `/api/v1/admin-keys`: named admin keys, created (the key shown once), listed (never the key)
 * and revoked.
 *
 * @module
 */
import { Hono } from 'hono'
import type { Patchbay } from '../../engine/patchbay.js'
import { bind } from '../bind.js'
import { API_BASE, adminKeys } from '../contract.js'

export function adminKeyRoutes(pb: Patchbay): Hono {
  const api = new Hono()

  bind(api, API_BASE, adminKeys, {
    list: ({ query }) => pb.admin.listKeys(query),
    create: ({ body }) => pb.admin.createKey(body.name),
    revoke: async ({ params }, c) => {
      if (await pb.admin.revokeKey(params.id)) return undefined
      // No `admin_key.not_found` code yet (errors.ts): the shape of the API's other 404s.
      return c.json(
        {
          error: {
            code: 'input.invalid',
            message: `no admin key ${params.id}`,
            details: [{ path: 'id', rule: 'must be the id of an admin key' }],
          },
        },
        404,
      )
    },
  })

  return api
}
