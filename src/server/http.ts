/**
 * Shared route helpers: JSON bodies read safely, errors in the one shape.
 *
 * @module
 */
import type { Context, Next } from 'hono'
import { PatchbayError, invalidInput, type FieldIssue } from '../errors.js'
import type { Logger } from '../lib/logger.js'
import { STATUS_OF } from './errors.js'

export async function readJson(c: Context): Promise<Record<string, unknown>> {
  const text = await c.req.text()
  if (text.trim() === '') return {}
  let value: unknown
  try {
    value = JSON.parse(text) as unknown
  } catch (err) {
    throw new PatchbayError(
      'input.malformed_json',
      `the request body is not valid JSON: ${(err as Error).message}`,
      {
        details: [{ path: '(body)', rule: 'must be valid JSON' }],
      },
    )
  }
  // Every body this API takes is an object; `null` or a list would reach the engine as one.
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw invalidInput([{ path: '(body)', rule: 'must be a JSON object' }])
  return value as Record<string, unknown>
}

const NUL_RULE = 'must not contain NUL characters'

/**
 * Refuses a NUL anywhere in the path or the query: no id, link name, filter or cursor holds one,
 * and PostgreSQL cannot even compare text holding one.
 */
export async function refuseNul(c: Context, next: Next): Promise<void> {
  const url = new URL(c.req.url)
  const issues: FieldIssue[] = []
  // A NUL can only arrive percent-encoded.
  if (/%00/.test(url.pathname)) issues.push({ path: '(path)', rule: NUL_RULE })
  for (const [name, value] of url.searchParams)
    if (name.includes('\0') || value.includes('\0'))
      issues.push({ path: name.includes('\0') ? '(query)' : name, rule: NUL_RULE })
  if (issues.length) throw invalidInput(issues)
  await next()
}

/** Throws the 400 `refuseNul` gives, for one decoded route parameter. */
export function refuseNulIn(name: string, value: string): void {
  if (value.includes('\0')) throw invalidInput([{ path: name, rule: NUL_RULE }])
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
