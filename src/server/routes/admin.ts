/**
 * `/api/v1/admin-keys` (SPEC §6, issue 5): named admin keys, created (the key shown once),
 * listed (never the key) and revoked.
 *
 * @module
 */
import { Hono } from 'hono'
import { adminKeyInputSchema } from '../../engine/admin.js'
import { toFieldIssues } from '../../engine/issues.js'
import type { Patchbay } from '../../engine/patchbay.js'
import { invalidInput } from '../../errors.js'
import { queryOf, readJson } from '../http.js'

export function adminKeyRoutes(pb: Patchbay): Hono {
  const api = new Hono()

  api.get('/admin-keys', async (c) =>
    c.json(await pb.admin.listKeys(queryOf(c, ['limit', 'cursor']))),
  )

  api.post('/admin-keys', async (c) => {
    const parsed = adminKeyInputSchema.safeParse(await readJson(c), {
      reportInput: true, // so a wrong type reads "must be a string", not "is required"
    })
    if (!parsed.success) throw invalidInput(toFieldIssues(parsed.error))
    return c.json(await pb.admin.createKey(parsed.data.name), 201)
  })

  api.delete('/admin-keys/:id', async (c) => {
    const id = c.req.param('id')
    if (await pb.admin.revokeKey(id)) return c.body(null, 204)
    // No `admin_key.not_found` code yet (errors.ts): the shape of the API's other 404s.
    return c.json(
      {
        error: {
          code: 'input.invalid',
          message: `no admin key ${id}`,
          details: [{ path: 'id', rule: 'must be the id of an admin key' }],
        },
      },
      404,
    )
  })

  return api
}
