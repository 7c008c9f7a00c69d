/**
 * The layers import one way (docs/architecture.md): cli, server → mcp → index/engine → pipeline →
 * auth, store → connector → lib → errors. Type-only imports are left out: they vanish at run time.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, normalize, relative } from 'node:path'
import { describe, expect, it } from 'vitest'

const SRC = join(import.meta.dirname, '..', 'src')

const ALLOWED: Record<string, string[]> = {
  errors: [],
  lib: ['errors'],
  connector: ['errors', 'lib'],
  auth: ['errors', 'lib', 'connector'],
  store: ['errors', 'lib'],
  pipeline: ['errors', 'lib', 'connector', 'auth', 'store'],
  engine: ['errors', 'lib', 'connector', 'auth', 'store', 'pipeline'],
  index: ['errors', 'lib', 'connector', 'auth', 'store', 'pipeline', 'engine'],
  mcp: ['errors', 'lib', 'connector', 'engine', 'index'],
  server: ['errors', 'lib', 'connector', 'engine', 'index', 'mcp'],
  cli: ['errors', 'lib', 'connector', 'index', 'server', 'mcp'],
}

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) return files(path)
    return /\.ts$/.test(name) && !/\.(test|case)\.ts$/.test(name) ? [path] : []
  })
}

const layerOf = (file: string) => relative(SRC, file).split('/')[0]!.replace(/\.ts$/, '')

/** Relative runtime imports of a file, resolved to `.ts` paths. */
function runtimeImports(file: string): string[] {
  const text = readFileSync(file, 'utf8')
  const out: string[] = []
  for (const m of text.matchAll(
    /^(?:import|export)\s+(type\s+)?([^'"]*?)\s*from\s+'(\.[^']+)'/gm,
  )) {
    if (m[1]) continue
    const names = /\{([^}]*)\}/.exec(m[2]!)
    const onlyTypes =
      names !== null &&
      !/^\s*\w+\s*,/.test(m[2]!) &&
      names[1]!.split(',').every((n) => !n.trim() || n.trim().startsWith('type '))
    if (onlyTypes) continue
    out.push(normalize(join(dirname(file), m[3]!.replace(/\.js$/, '.ts'))))
  }
  return out
}

const all = files(SRC)
const graph = new Map(all.map((f) => [f, runtimeImports(f)]))

describe('architecture', () => {
  it(`reads the imports of every source file (${all.length})`, () => {
    expect(all.length).toBeGreaterThan(50)
    expect([...graph.values()].flat().length).toBeGreaterThan(100)
  })

  it('imports only in the allowed direction between layers', () => {
    const wrong: string[] = []
    for (const [file, imports] of graph) {
      const from = layerOf(file)
      for (const target of imports) {
        const to = layerOf(target)
        if (to !== from && !(ALLOWED[from] ?? []).includes(to)) {
          wrong.push(`${relative(SRC, file)} → ${relative(SRC, target)}`)
        }
      }
    }
    expect(wrong).toEqual([])
  })

  it('has no import cycle between files', () => {
    const state = new Map<string, 'open' | 'done'>()
    const cycles: string[] = []
    const visit = (file: string, path: string[]): void => {
      if (state.get(file) === 'done') return
      if (state.get(file) === 'open') {
        cycles.push(
          [...path.slice(path.indexOf(file)), file].map((f) => relative(SRC, f)).join(' → '),
        )
        return
      }
      state.set(file, 'open')
      for (const next of graph.get(file) ?? []) visit(next, [...path, file])
      state.set(file, 'done')
    }
    for (const file of all) visit(file, [])
    expect(cycles).toEqual([])
  })
})
