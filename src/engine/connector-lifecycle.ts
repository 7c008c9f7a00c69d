/**
 * The Draft → Ready lifecycle (docs/concepts.md): what `ready` needs, and what may still change
 * once a connector is ready. The auth type says which of its settings may grow
 * (`AuthScheme.appendOnlySettings`); every other auth setting is frozen, as are the base URL, the
 * allowed origins, the link name and the shape of the fields (changing them would break existing
 * connections). Labels, hints, name, description, logo, actions, `customAction`, `breaker` and
 * `identity` stay editable.
 *
 * @module
 */
import { isDeepStrictEqual } from 'node:util'
import type { AuthScheme } from '../auth/scheme.js'
import type { ConnectorDefinition } from '../connector/model.js'
import type { FieldDefinition } from '../connector/schema.js'
import { PatchbayError } from '../errors.js'

type Obj = Record<string, unknown>

function frozen(path: string, rule: string): never {
  throw new PatchbayError('connector.frozen', `${path} ${rule}`, { details: [{ path, rule }] })
}

/** Throws when an update of a ready connector changes what is frozen. */
export function checkReadyChange(
  scheme: AuthScheme,
  before: ConnectorDefinition,
  oldAuth: Obj,
  after: ConnectorDefinition,
  newAuth: Obj,
  connectionCount: number,
): void {
  const growable = new Set(scheme.appendOnlySettings ?? [])
  const keys = new Set([...Object.keys(oldAuth), ...Object.keys(newAuth)])
  for (const key of keys) {
    if (growable.has(key) || isDeepStrictEqual(oldAuth[key], newAuth[key])) continue
    frozen(
      `auth.${key}`,
      `is frozen once the connector is ready${growable.size ? ` (only ${[...growable].join(', ')} can be added)` : ''}`,
    )
  }
  for (const key of growable) {
    const olds = (oldAuth[key] ?? []) as unknown[]
    const news = (newAuth[key] ?? []) as unknown[]
    const kept = olds.every((s, i) => isDeepStrictEqual(s, news[i]))
    if (kept || connectionCount === 0) continue
    throw new PatchbayError(
      'connector.scopes_locked',
      `${key} can be added, but not edited or removed, once a connection exists`,
      {
        details: [
          { path: `auth.${key}`, rule: `existing ${key} are locked while connections exist` },
        ],
      },
    )
  }
  if (before.baseUrl !== after.baseUrl) frozen('baseUrl', 'is frozen once the connector is ready')
  if (!isDeepStrictEqual(before.allowedOrigins, after.allowedOrigins))
    frozen('allowedOrigins', 'is frozen once the connector is ready')
  if (before.linkName !== after.linkName)
    frozen('linkName', 'is frozen once the connector is ready')
  const shape = (fs: FieldDefinition[]): unknown =>
    fs.map(({ label: _l, hint: _h, ...rest }) => rest)
  if (!isDeepStrictEqual(shape(before.fields), shape(after.fields))) {
    frozen('fields', 'can only have labels and hints edited once the connector is ready')
  }
}
