/**
 * Secret settings inside a connector's auth (client secrets…): split out by dotted path (`*`
 * matches any key), sealed apart from the definition, masked in answers.
 *
 * @module
 */

import { AUTH_COMMON_KEYS } from '../connector/schema.js'

export const MASK = '********'

type Obj = Record<string, unknown>

function isObj(v: unknown): v is Obj {
  return v !== null && typeof v === 'object' && !Array.isArray(v)
}

/** Every concrete path matching `pattern` (`options.*.clientSecret`) that has a value. */
export function concretePaths(value: unknown, pattern: string): string[] {
  const [head, ...rest] = pattern.split('.')
  if (head === undefined || !isObj(value)) return []
  const keys = head === '*' ? Object.keys(value) : [head]
  return keys.flatMap((k) => {
    if (!(k in value) || value[k] === undefined) return []
    return rest.length === 0 ? [k] : concretePaths(value[k], rest.join('.')).map((p) => `${k}.${p}`)
  })
}

export function getAt(value: unknown, path: string): unknown {
  return path.split('.').reduce<unknown>((v, k) => (isObj(v) ? v[k] : undefined), value)
}

export function setAt(value: Obj, path: string, next: unknown): void {
  const keys = path.split('.')
  let cur: Obj = value
  for (const k of keys.slice(0, -1)) {
    if (!isObj(cur[k])) cur[k] = {}
    cur = cur[k] as Obj
  }
  const last = keys[keys.length - 1]!
  if (next === undefined) delete cur[last]
  else cur[last] = next
}

/** Moves the secrets out of `settings` (mutating it) and returns them by concrete path. */
export function takeSecrets(settings: Obj, patterns: readonly string[]): Record<string, string> {
  const secrets: Record<string, string> = {}
  for (const pattern of patterns) {
    for (const path of concretePaths(settings, pattern)) {
      const v = getAt(settings, path)
      if (typeof v === 'string') secrets[path] = v
      setAt(settings, path, undefined)
    }
  }
  return secrets
}

export function putSecrets(settings: Obj, secrets: Record<string, string>, mask: boolean): Obj {
  const copy = structuredClone(settings)
  for (const [path, v] of Object.entries(secrets)) setAt(copy, path, mask ? MASK : v)
  return copy
}

const isCommon = (path: string) =>
  (AUTH_COMMON_KEYS as readonly string[]).includes(path.split('.')[0]!)

/** The auth type's own secret settings (paths in its settings), without the shared `tls.key`. */
export function schemeSecrets(secrets: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(secrets).filter(([path]) => !isCommon(path)))
}

/** The secret settings every auth type shares (`tls.key`), by path in `auth`. */
export function commonSecrets(secrets: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(secrets).filter(([path]) => isCommon(path)))
}

/** Replaces masks in incoming settings with the secrets already stored at those paths. */
export function unmask(settings: Obj, existing: Record<string, string>): void {
  const walk = (v: unknown, prefix: string): void => {
    if (!isObj(v)) return
    for (const [k, child] of Object.entries(v)) {
      const path = prefix ? `${prefix}.${k}` : k
      if (child === MASK) {
        if (path in existing) v[k] = existing[path]
        else delete v[k]
      } else walk(child, path)
    }
  }
  walk(settings, '')
}
