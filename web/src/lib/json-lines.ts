/**
 * JSON parsing that remembers where each value starts, so a validation problem at
 * `auth.params.0.key` can point at its line in the editor.
 */

export interface Located {
  value: unknown
  /** Dotted path → 1-based line of the value (or of its key). */
  lines: Map<string, number>
}

export class JsonSyntaxError extends Error {
  readonly line: number
  readonly column: number
  constructor(message: string, line: number, column: number) {
    super(`${message} (line ${line}, column ${column})`)
    this.line = line
    this.column = column
  }
}

export function parseLocated(text: string): Located {
  let i = 0
  const lines = new Map<string, number>()
  const lineAt = (pos: number) => {
    let n = 1
    for (let k = 0; k < pos && k < text.length; k++) if (text.charCodeAt(k) === 10) n++
    return n
  }
  const fail = (message: string): never => {
    const line = lineAt(i)
    const column = i - text.lastIndexOf('\n', i - 1)
    throw new JsonSyntaxError(message, line, column)
  }
  const ws = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i]!)) i++
  }
  const str = (): string => {
    const start = i
    i++
    while (i < text.length && text[i] !== '"') {
      if (text[i] === '\\') i++
      else if (text.charCodeAt(i) < 0x20)
        fail('a string cannot hold a raw control character or line break')
      i++
    }
    if (i >= text.length) fail('a string is not closed')
    i++
    try {
      return JSON.parse(text.slice(start, i)) as string
    } catch {
      i = start
      return fail('a string has a bad escape')
    }
  }
  const value = (path: string[]): unknown => {
    ws()
    lines.set(path.join('.'), lineAt(i))
    const c = text[i]
    if (c === '{') {
      i++
      const out: Record<string, unknown> = {}
      ws()
      if (text[i] === '}') {
        i++
        return out
      }
      for (;;) {
        ws()
        if (text[i] !== '"') fail('expected a "key" in double quotes')
        const keyLine = lineAt(i)
        const key = str()
        ws()
        if (text[i] !== ':') fail(`expected ":" after "${key}"`)
        i++
        lines.set([...path, key].join('.'), keyLine)
        out[key] = value([...path, key])
        lines.set([...path, key].join('.'), keyLine)
        ws()
        if (text[i] === ',') {
          i++
          continue
        }
        if (text[i] === '}') {
          i++
          return out
        }
        fail('expected "," or "}"')
      }
    }
    if (c === '[') {
      i++
      const out: unknown[] = []
      ws()
      if (text[i] === ']') {
        i++
        return out
      }
      for (;;) {
        out.push(value([...path, String(out.length)]))
        ws()
        if (text[i] === ',') {
          i++
          continue
        }
        if (text[i] === ']') {
          i++
          return out
        }
        fail('expected "," or "]"')
      }
    }
    if (c === '"') return str()
    const m = /^(-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null)/.exec(text.slice(i))
    if (!m) return fail(i >= text.length ? 'the JSON ends too early' : `unexpected "${c}"`)
    i += m[0].length
    return JSON.parse(m[0]) as unknown
  }
  const result = value([])
  ws()
  if (i < text.length) fail('unexpected text after the JSON value')
  return { value: result, lines }
}

/** The line of the longest known prefix of `path`. */
export function lineOf(lines: Map<string, number>, path: string): number | undefined {
  const parts = path.split('.')
  for (let n = parts.length; n >= 0; n--) {
    const line = lines.get(parts.slice(0, n).join('.'))
    if (line !== undefined) return line
  }
  return undefined
}
