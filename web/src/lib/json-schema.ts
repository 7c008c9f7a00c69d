/**
 * Reading a settings JSON Schema together with its presentation hints
 * (`src/auth/presentation.ts`): which editor a setting gets, what it is called, where it goes,
 * whether a condition holds, and the rules of a row checked in the API's words.
 */
import type { Path } from './paths.js'
import type { FieldIssue } from '../api.js'
import type { HintCondition, HintSet, JsonSchema, Obj, SettingHint, Widget } from '../types.js'

/** A `Widget`, or what the schema implies without one: a tri-state boolean, a nested object. */
export type Editor = Widget | 'tri' | 'object'

function typesOf(schema: JsonSchema): string[] {
  return schema.type === undefined ? [] : Array.isArray(schema.type) ? schema.type : [schema.type]
}

export function itemsOf(schema: JsonSchema): JsonSchema {
  return typeof schema.items === 'object' ? schema.items : {}
}

/** The editor of a setting (the table in `Widget`'s documentation). */
export function editorOf(
  schema: JsonSchema,
  hint: SettingHint,
  secret: boolean,
  required: boolean,
): Editor {
  if (secret) return 'password'
  if (hint.widget) return hint.widget
  const types = typesOf(schema)
  if (schema.enum || hint.options) return 'select'
  if (types.includes('string')) return 'text'
  if (types.includes('integer') || types.includes('number')) return 'number'
  if (types.includes('boolean')) return required ? 'checkbox' : 'tri'
  if (types.includes('object')) return schema.properties ? 'object' : 'key-value'
  if (types.includes('array'))
    return typesOf(itemsOf(schema)).includes('object') ? 'list' : 'strings'
  return 'text'
}

/** `tokenUrl` → "token url", `auth_type` → "auth type". */
function humanize(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/[_-]+/g, ' ')
    .toLowerCase()
}

/** A setting's label, after its object's prefix ("Step 1" + "URL"). */
export function labelOf(name: string, hint: SettingHint, prefix: string | undefined): string {
  const own = hint.label ?? humanize(name)
  if (prefix) return `${prefix} ${own}`
  return own.charAt(0).toUpperCase() + own.slice(1)
}

export function holds(condition: HintCondition, siblings: Obj | undefined): boolean {
  const value = siblings?.[condition.setting] as string | number | boolean | undefined
  if (condition.is && (value === undefined || !condition.is.includes(value))) return false
  if (condition.not && value !== undefined && condition.not.includes(value)) return false
  return true
}

/** Settings drawn together: one group, or one setting on its own. */
export interface Block {
  group: string | undefined
  names: string[]
}

/** The object's settings in `order` (ties in schema order), each group where its first one is. */
export function blocksOf(schema: JsonSchema, hints: HintSet | undefined): Block[] {
  const order = (name: string) => hints?.settings?.[name]?.order ?? 0
  const names = Object.keys(schema.properties ?? {})
    .map((name, i) => ({ name, i }))
    .sort((a, b) => order(a.name) - order(b.name) || a.i - b.i)
    .map(({ name }) => name)
  const blocks: Block[] = []
  const groups = new Map<string, Block>()
  for (const name of names) {
    const group = hints?.settings?.[name]?.group
    const open = group === undefined ? undefined : groups.get(group)
    if (open) open.names.push(name)
    else {
      const block = { group, names: [name] }
      blocks.push(block)
      if (group !== undefined) groups.set(group, block)
    }
  }
  return blocks
}

/** Whether a setting (by its path below the type's settings) is one of `secretSettings`. */
export function isSecret(path: Path, secretSettings: readonly string[]): boolean {
  return secretSettings.some((pattern) => {
    const parts = pattern.split('.')
    return parts.length === path.length && parts.every((p, i) => p === '*' || p === String(path[i]))
  })
}

/**
 * The first rule an object breaks, in the words the API would use (`src/engine/issues.ts`): a
 * missing required property, a string too short or too long, a pattern (worded by the hint's
 * `patternRule`).
 */
export function firstProblem(
  schema: JsonSchema,
  value: Obj,
  hints?: HintSet,
): FieldIssue | undefined {
  for (const [name, s] of Object.entries(schema.properties ?? {})) {
    const v = value[name]
    if (v === undefined || v === '') {
      if (schema.required?.includes(name)) return { path: name, rule: 'is required' }
      continue
    }
    if (typeof v !== 'string') continue
    if (s.minLength !== undefined && v.length < s.minLength)
      return {
        path: name,
        rule: s.minLength <= 1 ? 'is required' : `must be at least ${s.minLength} characters`,
      }
    if (s.maxLength !== undefined && v.length > s.maxLength)
      return { path: name, rule: `must be at most ${s.maxLength} characters` }
    if (s.pattern !== undefined && !new RegExp(s.pattern).test(v))
      return {
        path: name,
        rule: hints?.settings?.[name]?.patternRule ?? `must match ${s.pattern}`,
      }
  }
  return undefined
}
