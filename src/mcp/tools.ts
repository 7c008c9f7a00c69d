/**
 * What a saved action looks like as an MCP tool (docs/mcp.md): its name, derived from the
 * connector's link name and the action's name; its input schema, a JSON Schema (2020-12) object
 * built from the action's `inputs`; and the generic `http_request` tool of a connector with
 * custom actions enabled. Pure functions of the connector's definition, so every key that sees a
 * tool sees it under the same name.
 *
 * @see https://modelcontextprotocol.io/specification/2025-11-25/server/tools
 * @module
 */
import { createHash } from 'node:crypto'
import type { CustomAction, FieldDefinition } from '../connector/schema.js'

type Json = Record<string, unknown>

/**
 * Tool names stay within what every common client accepts: letters, digits, `_` and `-`, at most
 * 64 characters (the MCP specification allows 128, some clients fewer).
 */
export const TOOL_NAME_MAX = 64
export const TOOL_NAME_RE = /^[A-Za-z0-9_-]{1,64}$/
/** The generic request tool's part after the link name. */
export const HTTP_REQUEST_TOOL = 'http_request'
export const HTTP_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'] as const

/** `Create contact!` → `create_contact`; letters beyond ASCII lose their accents or drop out. */
export function slug(text: string): string {
  return text
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .replace(/[^A-Za-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .toLowerCase()
}

function shortHash(text: string, length: number): string {
  return createHash('sha256').update(text).digest('hex').slice(0, length)
}

/** `prefix_suffix` cut so that it fits, never ending in `_` before the suffix. */
function fit(base: string, suffix = ''): string {
  const room = TOOL_NAME_MAX - (suffix ? suffix.length + 1 : 0)
  const cut = base.length > room ? base.slice(0, room).replace(/_+$/, '') : base
  return suffix ? `${cut}_${suffix}` : cut
}

/**
 * The tool name of each saved action of a connector, by action id, and of its `http_request` tool:
 * `<linkName>__<action name as a slug>`. The link name is unique and a slug never holds `__`, so
 * names of different connectors never meet. Actions whose names meet within the connector (or
 * meet `http_request`, which keeps its name) each get a short hash of their id appended, as does
 * an action whose name has no letter or digit to keep.
 */
export function toolNames(
  linkName: string,
  actions: readonly Pick<CustomAction, 'id' | 'name'>[],
): { actions: Map<string, string>; httpRequest: string } {
  const httpRequest = fit(`${linkName}__${HTTP_REQUEST_TOOL}`)
  const base = new Map<string, string>()
  for (const a of actions) {
    const s = slug(a.name)
    base.set(a.id, s ? fit(`${linkName}__${s}`) : fit(`${linkName}__action`, shortHash(a.id, 6)))
  }
  const count = new Map<string, number>([[httpRequest, 1]])
  for (const name of base.values()) count.set(name, (count.get(name) ?? 0) + 1)
  const names = new Map<string, string>()
  for (const [id, name] of base) {
    if (count.get(name) === 1) {
      names.set(id, name)
      continue
    }
    let length = 6
    let candidate = fit(name, shortHash(id, length))
    // Another name that happens to end in the same hash: take more of it.
    while ([...base.values()].includes(candidate) && length < 16)
      candidate = fit(name, shortHash(id, (length += 2)))
    names.set(id, candidate)
  }
  return { actions: names, httpRequest }
}

function fieldSchema(f: FieldDefinition): Json {
  let schema: Json
  switch (f.type) {
    case 'text':
    case 'password':
      // values.ts refuses longer text.
      schema = { type: 'string', maxLength: 10_000 }
      break
    case 'number':
      schema = { type: 'number' }
      break
    case 'boolean':
      schema = { type: 'boolean' }
      break
    case 'select':
      schema = { type: 'string', enum: (f.options ?? []).map((o) => o[1]) }
      break
    case 'multiselect':
      schema = {
        type: 'array',
        items: { type: 'string', enum: (f.options ?? []).map((o) => o[1]) },
        uniqueItems: true,
      }
      break
    case 'object':
      schema = objectSchema(f.properties ?? [])
      break
  }
  if (f.label) schema.title = f.label
  if (f.hint) schema.description = f.hint
  if (f.default !== undefined) schema.default = f.default
  return schema
}

/**
 * A JSON Schema object for a list of fields, as `checkValues` (engine/values.ts) checks them: a
 * field is required unless it is optional or has a default, and no other name is accepted.
 */
export function objectSchema(fields: readonly FieldDefinition[]): Json {
  const required = fields.filter((f) => !f.optional && f.default === undefined).map((f) => f.name)
  return {
    type: 'object',
    properties: Object.fromEntries(fields.map((f) => [f.name, fieldSchema(f)])),
    ...(required.length ? { required } : {}),
    additionalProperties: false,
  }
}

/** The `http_request` tool's arguments: one request to the connector's own API. */
export function httpRequestSchema(): Json {
  return {
    type: 'object',
    properties: {
      method: { type: 'string', enum: [...HTTP_METHODS], default: 'GET' },
      path: {
        type: 'string',
        maxLength: 8000,
        description:
          "Relative to the connector's base URL (e.g. `users/42`); the request cannot leave the connector's API.",
      },
      query: {
        type: 'object',
        description: 'Query parameters; a list repeats the parameter.',
        additionalProperties: {
          anyOf: [
            { type: 'string' },
            { type: 'number' },
            { type: 'boolean' },
            { type: 'array', items: { type: 'string' } },
          ],
        },
      },
      headers: {
        type: 'object',
        description: 'Request headers; the connection’s credentials are added by Patchbay.',
        additionalProperties: { type: 'string' },
      },
      body: {
        description:
          'The request body: JSON, or a form when content-type is application/x-www-form-urlencoded, or text.',
      },
    },
    required: ['path'],
    additionalProperties: false,
  }
}

/**
 * What every tool answers in `structuredContent`: the upstream's answer (the ad-hoc envelope,
 * docs/concepts.md) — or, for a call that did not reach the upstream, `error`, with `connectUrl`
 * when the end user has to connect (or reconnect) first.
 */
export function outputSchema(): Json {
  return {
    type: 'object',
    properties: {
      status: { type: 'integer', description: "The upstream's HTTP status" },
      headers: { type: 'object', additionalProperties: true },
      body: { description: 'Parsed JSON, text, or base64 when bodyEncoding is base64' },
      bodyEncoding: { type: 'string', enum: ['base64'] },
      refreshed: {
        type: 'boolean',
        description: 'Whether the credentials were refreshed during the call',
      },
      action: {
        type: 'object',
        properties: { id: { type: 'string' }, name: { type: 'string' } },
      },
      error: {
        type: 'object',
        properties: { code: { type: 'string' }, message: { type: 'string' }, details: {} },
        required: ['code', 'message'],
      },
      connectUrl: {
        type: 'string',
        description: 'Where the end user connects (or reconnects) their account before a retry',
      },
      connectExpiresAt: { type: 'string' },
    },
  }
}

/** MCP tool annotations from the HTTP method: hints for clients, never a guarantee. */
export function annotationsFor(method: string, title: string): Json {
  const safe = ['GET', 'HEAD', 'OPTIONS'].includes(method)
  return {
    title,
    readOnlyHint: safe,
    destructiveHint: ['DELETE', 'PUT', 'PATCH'].includes(method),
    idempotentHint: safe || method === 'PUT' || method === 'DELETE',
    openWorldHint: true,
  }
}
