/**
 * Reads a value out of parsed JSON by a dotted path: `data.token`, `items.0.id`, `items[0].id`.
 *
 * @module
 */

export function splitPath(path: string): string[] {
  return path
    .replace(/\[(\d+)\]/g, '.$1')
    .split('.')
    .filter((p) => p.length > 0)
}

export function getPath(value: unknown, path: string): unknown {
  let current: unknown = value
  for (const key of splitPath(path)) {
    if (current === null || typeof current !== 'object' || !Object.hasOwn(current, key))
      return undefined
    current = (current as Record<string, unknown>)[key]
  }
  return current
}
