/**
 * Reading and writing nested values by path, immutably; `undefined` and empty values remove keys
 * so optional settings are left out rather than sent empty.
 */
export type Path = readonly (string | number)[]

export function getIn(value: unknown, path: Path): unknown {
  let cur = value
  for (const key of path) {
    if (cur === null || typeof cur !== 'object') return undefined
    cur = (cur as Record<string | number, unknown>)[key]
  }
  return cur
}

export function setIn<T>(value: T, path: Path, next: unknown): T {
  if (path.length === 0) return next as T
  const [key, ...rest] = path as [string | number, ...(string | number)[]]
  const base: unknown = value ?? (typeof key === 'number' ? [] : {})
  if (Array.isArray(base)) {
    const copy = [...(base as unknown[])]
    const child = setIn(copy[key as number], rest, next)
    if (child === undefined && rest.length === 0) copy.splice(key as number, 1)
    else copy[key as number] = child
    return copy as T
  }
  const copy = { ...(base as Record<string, unknown>) }
  const child = setIn(copy[key as string], rest, next)
  if (child === undefined) delete copy[key as string]
  else copy[key as string] = child
  return copy as T
}

export function pathKey(path: Path): string {
  return path.join('.')
}
