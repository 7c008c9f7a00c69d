/**
 * Shared route helpers: JSON bodies read safely, errors in the one shape.
 *
 * @module
 */
import type { Context } from 'hono'
import { PatchbayError } from '../errors.js'
import type { Logger } from '../lib/logger.js'
import { STATUS_OF } from './errors.js'

export async function readJson(c: Context): Promise<unknown> {
  const text = await c.req.text()
  if (text.trim() === '') return {}
  try {
    return JSON.parse(text) as unknown
  } catch (err) {
    throw new PatchbayError(
      'input.malformed_json',
      `the request body is not valid JSON: ${(err as Error).message}`,
      {
        details: [{ path: '(body)', rule: 'must be valid JSON' }],
      },
    )
  }
}

export function errorResponse(c: Context, err: unknown, logger?: Logger): Response {
  if (err instanceof PatchbayError) {
    return c.json({ error: err.toJSON() }, STATUS_OF[err.code])
  }
  if (logger) logger.error({ err }, 'unexpected error')
  else console.error('patchbay: unexpected error:', err)
  return c.json(
    { error: { code: 'internal', message: 'an unexpected error happened; see the server log' } },
    500,
  )
}

/** Query parameters as a plain object, `undefined` for absent ones. */
export function queryOf(c: Context, names: string[]): Record<string, string | undefined> {
  return Object.fromEntries(names.map((n) => [n, c.req.query(n) || undefined]))
}
