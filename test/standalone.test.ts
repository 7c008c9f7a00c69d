/**
 * The repository stands alone: no file under `src/` or `test/` names a path outside it, so a fresh
 * clone passes `npm test` (`.ci/run` tests exactly that). A static check over each file's syntax
 * tree, with the TypeScript parser:
 *
 * - every string literal that is a relative path (`'../x'`, `'./x'`, import specifiers included),
 *   resolved from the file's folder;
 * - every path or URL built from the file's own location — `new URL('…', import.meta.url)`,
 *   `join(import.meta.dirname, '..', …)`, `resolve(__dirname, …)`, through `fileURLToPath`,
 *   `pathToFileURL`, `dirname` and `const` names holding such values;
 * - every literal path given to an `fs` reader, resolved from the repository root (where the
 *   tests run).
 *
 * Each must stay inside the repository root.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, isAbsolute, join, relative, resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import ts from 'typescript'
import { describe, expect, it } from 'vitest'

const ROOT = resolve(import.meta.dirname, '..')
const SCANNED = ['src', 'test']
/** Published data, not code (test/vectors/README.md). */
const SKIPPED = ['test/vectors']
const CODE = /\.(?:[cm]?[jt]s|tsx)$/

/**
 * Literals that look like relative paths but are never read: each says why. An entry that no
 * longer matches anything fails the test, so the list cannot rot.
 */
const NOT_PATHS: { file: string; literal: string; why: string }[] = [
  {
    file: 'test/fuzz/arbitraries.ts',
    // Spelt in parts, or this very line would be one.
    literal: ['..', '..', '..', 'etc', 'passwd'].join('/'),
    why: 'a request path the fuzz test sends to the API, never a file it opens',
  },
  {
    file: 'test/workers.test.ts',
    literal: '/proc',
    why: "the kernel's process table (a worker's parent and CPU time), not a file of the test's",
  },
]

/** `fs` functions whose first argument is a path that is read (or listed, or checked). */
const FS_READERS = new Set([
  'readFileSync',
  'readFile',
  'readdirSync',
  'readdir',
  'existsSync',
  'statSync',
  'stat',
  'lstatSync',
  'lstat',
  'accessSync',
  'access',
  'opendirSync',
  'opendir',
  'createReadStream',
  'realpathSync',
  'cpSync',
  'copyFileSync',
  'copyFile',
])

export interface Finding {
  file: string
  line: number
  text: string
  resolved: string
}

type Value = { kind: 'path'; path: string } | { kind: 'url'; url: URL }

function insideRoot(path: string): boolean {
  const rel = relative(ROOT, path)
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel))
}

function asPath(v: Value): string | undefined {
  if (v.kind === 'path') return v.path
  return v.url.protocol === 'file:' ? fileURLToPath(v.url) : undefined
}

function asUrl(v: Value): URL {
  return v.kind === 'url' ? v.url : pathToFileURL(v.path)
}

function literalText(node: ts.Node): string | undefined {
  return ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)
    ? node.text
    : undefined
}

function calleeName(expr: ts.Expression): string | undefined {
  if (ts.isIdentifier(expr)) return expr.text
  if (ts.isPropertyAccessExpression(expr)) return expr.name.text // path.join, fs.readFileSync
  return undefined
}

/** Which paths and URLs one source file names, and those outside the repository root. */
export function checkSource(file: string, text: string): { findings: Finding[]; seen: string[] } {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true)
  const here = dirname(file)
  const consts = new Map<string, ts.Expression>()
  const findings: Finding[] = []
  const seen: string[] = []

  const collect = (node: ts.Node): void => {
    if (
      ts.isVariableDeclaration(node) &&
      ts.isIdentifier(node.name) &&
      node.initializer &&
      ts.isVariableDeclarationList(node.parent) &&
      node.parent.flags & ts.NodeFlags.Const
    ) {
      consts.set(node.name.text, node.initializer)
    }
    ts.forEachChild(node, collect)
  }
  collect(source)

  /** The path or URL an expression stands for, when it can be known without running it. */
  const evaluate = (node: ts.Expression, depth = 0): Value | undefined => {
    if (depth > 20) return undefined
    const next = (n: ts.Expression) => evaluate(n, depth + 1)
    if (ts.isParenthesizedExpression(node) || ts.isAsExpression(node)) return next(node.expression)
    if (ts.isIdentifier(node)) {
      if (node.text === '__dirname') return { kind: 'path', path: here }
      if (node.text === '__filename') return { kind: 'path', path: file }
      const init = consts.get(node.text)
      return init ? next(init) : undefined
    }
    if (ts.isPropertyAccessExpression(node)) {
      const owner = node.expression
      if (ts.isMetaProperty(owner) && owner.keywordToken === ts.SyntaxKind.ImportKeyword) {
        if (node.name.text === 'url') return { kind: 'url', url: pathToFileURL(file) }
        if (node.name.text === 'dirname') return { kind: 'path', path: here }
        if (node.name.text === 'filename') return { kind: 'path', path: file }
        return undefined
      }
      if (node.name.text === 'href' || node.name.text === 'pathname') return next(owner)
      return undefined
    }
    if (ts.isNewExpression(node) && ts.isIdentifier(node.expression)) {
      if (node.expression.text !== 'URL') return undefined
      const [target, base] = node.arguments ?? []
      const spec = target && literalText(target)
      const baseValue = base && next(base)
      if (spec === undefined || !baseValue) return undefined
      return { kind: 'url', url: new URL(spec, asUrl(baseValue)) }
    }
    if (ts.isCallExpression(node)) {
      const name = calleeName(node.expression)
      const [first, ...rest] = node.arguments
      if (!first) return undefined
      if (name === 'join' || name === 'resolve') {
        const start = next(first)
        const startPath = start && asPath(start)
        const parts = rest.map(literalText)
        if (startPath === undefined || parts.some((p) => p === undefined)) return undefined
        const joined = (name === 'join' ? join : resolve)(startPath, ...(parts as string[]))
        return { kind: 'path', path: joined }
      }
      if (name === 'dirname') {
        const inner = next(first)
        const p = inner && asPath(inner)
        return p === undefined ? undefined : { kind: 'path', path: dirname(p) }
      }
      if (name === 'fileURLToPath') {
        const inner = next(first)
        const p = inner && asPath(inner)
        return p === undefined ? undefined : { kind: 'path', path: p }
      }
      if (name === 'pathToFileURL') {
        const inner = next(first)
        const p = inner && asPath(inner)
        return p === undefined ? undefined : { kind: 'url', url: pathToFileURL(p) }
      }
    }
    return undefined
  }

  const report = (node: ts.Node, resolved: string | undefined): void => {
    if (resolved === undefined) return
    seen.push(resolved)
    if (insideRoot(resolved)) return
    const { line } = source.getLineAndCharacterOfPosition(node.getStart(source))
    findings.push({ file, line: line + 1, text: node.getText(source), resolved })
  }

  const excused = (literal: string) =>
    NOT_PATHS.some((n) => n.literal === literal && join(ROOT, n.file) === file)
  const visit = (node: ts.Node): void => {
    const literal = literalText(node)
    if (literal !== undefined && /^\.\.?(?:[/\\]|$)/.test(literal) && !excused(literal))
      report(node, resolve(here, literal))
    if (ts.isNewExpression(node) || ts.isCallExpression(node)) {
      const value = evaluate(node)
      if (value) report(node, asPath(value))
    }
    if (ts.isCallExpression(node) && FS_READERS.has(calleeName(node.expression) ?? '')) {
      const arg = node.arguments[0]
      const literalArg = arg && literalText(arg)
      // A relative path given to fs is read from the working folder: the root, under Vitest.
      if (literalArg !== undefined && !excused(literalArg)) report(node, resolve(ROOT, literalArg))
    }
    ts.forEachChild(node, visit)
  }
  visit(source)
  return { findings, seen }
}

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    if (SKIPPED.some((s) => join(ROOT, s) === path)) return []
    if (statSync(path).isDirectory()) return files(path)
    return CODE.test(name) ? [path] : []
  })
}

const all = SCANNED.flatMap((d) => files(join(ROOT, d)))
const results = all.map((file) => ({ file, ...checkSource(file, readFileSync(file, 'utf8')) }))

describe('the repository stands alone', () => {
  it(`reads every source and test file (${all.length}) and resolves the paths they name`, () => {
    expect(all.length).toBeGreaterThan(100)
    const seen = results.flatMap((r) => r.seen)
    expect(seen.length).toBeGreaterThan(500)
    // The vectors are found where the tests read them: the check follows `new URL(…)`.
    const sigv4 = results.find((r) => r.file === join(ROOT, 'src/auth/aws-sigv4.test.ts'))
    expect(sigv4?.seen).toContain(join(ROOT, 'test/vectors/sigv4'))
  })

  it('names no path outside the repository root in src/ or test/', () => {
    const outside = results
      .flatMap((r) => r.findings)
      .map((f) => `${relative(ROOT, f.file)}:${f.line} ${f.text} → ${f.resolved}`)
    expect(outside).toEqual([])
  })

  it('excuses only literals that are still there', () => {
    for (const n of NOT_PATHS) {
      expect(readFileSync(join(ROOT, n.file), 'utf8'), n.why).toContain(`'${n.literal}'`)
    }
  })

  describe('catches', () => {
    const at = (path: string, code: string) =>
      checkSource(join(ROOT, path), code).findings.map((f) => relative(ROOT, f.resolved))
    const outside = (path: string) => relative(ROOT, resolve(ROOT, path))

    it("a URL built from import.meta.url ('../../../shared/…')", () => {
      expect(
        at(
          'src/auth/x.test.ts',
          "const V = new URL('../../../shared/vectors/sigv4/', import.meta.url)",
        ),
      ).toContain(outside('../shared/vectors/sigv4'))
    })

    it("join(import.meta.dirname, '..', '..', '..', …) and resolve(__dirname, …)", () => {
      expect(
        at('test/x.test.ts', "const V = join(import.meta.dirname, '..', '..', 'shared')"),
      ).toEqual([outside('../shared')])
      expect(
        at('test/ui/x.ts', "const V = path.resolve(__dirname, '..', '..', '..', 'v')"),
      ).toEqual([outside('../v')])
    })

    it('a path joined onto a constant that holds the root', () => {
      const code = [
        "const root = fileURLToPath(new URL('../', import.meta.url))",
        "const file = readFileSync(join(root, '..', 'shared', 'v.json'), 'utf8')",
      ].join('\n')
      expect(at('test/x.test.ts', code)).toEqual([outside('../shared/v.json')])
    })

    it("a bare relative literal ('../shared'), an import, and a relative path given to fs", () => {
      expect(at('test/x.test.ts', "const dir = '../../shared'")).toEqual([outside('../shared')])
      expect(at('src/x.ts', "import { v } from '../../shared/v.js'")).toEqual([
        outside('../shared/v.js'),
      ])
      expect(at('test/x.test.ts', "readFileSync('../shared/v.json')")).toEqual([
        outside('../shared/v.json'),
      ])
    })

    it('and leaves paths inside the repository alone', () => {
      const code = [
        "import { x } from '../src/index.js'",
        "const a = new URL('../../test/vectors/sigv4/', import.meta.url)",
        "const b = join(import.meta.dirname, '..', 'examples')",
        "const c = readFileSync('package.json', 'utf8')",
      ].join('\n')
      expect(checkSource(join(ROOT, 'src/auth/x.test.ts'), code).findings).toEqual([])
    })
  })
})
