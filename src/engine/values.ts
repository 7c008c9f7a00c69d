/**
 * A connection's values checked against its fields (docs/concepts.md), split into public values
 * and secrets (password fields).
 *
 * @module
 */
import { UNSTORABLE_RULE, isStorableText, type FieldDefinition } from '../connector/schema.js'
import { PatchbayError, type FieldIssue } from '../errors.js'

type Obj = Record<string, unknown>

export interface CheckedValues {
  public: Obj
  secret: Obj
  issues: FieldIssue[]
}

export function checkValues(
  fields: FieldDefinition[],
  values: Obj,
  prefix = 'values',
): CheckedValues {
  const out: CheckedValues = { public: {}, secret: {}, issues: [] }
  const byName = new Map(fields.map((f) => [f.name, f]))
  for (const key of Object.keys(values)) {
    if (!byName.has(key)) {
      out.issues.push({
        path: `${prefix}.${key}`,
        rule: `is not a field of this connector (fields: ${[...byName.keys()].join(', ') || 'none'})`,
      })
    }
  }
  for (const f of fields) {
    const path = `${prefix}.${f.name}`
    // Own values only: a field named `constructor` or `toString` has no value by inheritance.
    let v = Object.hasOwn(values, f.name) ? values[f.name] : undefined
    if (v === undefined || v === null || v === '') {
      if (f.default !== undefined) v = f.default
      else {
        if (!f.optional) out.issues.push({ path, rule: 'is required' })
        continue
      }
    }
    const checked = checkOne(f, v, path, out.issues)
    if (checked === undefined) continue
    if (f.type === 'object') {
      const nested = checkValues(f.properties ?? [], checked as Obj, path)
      out.issues.push(...nested.issues)
      out.public[f.name] = nested.public
      if (Object.keys(nested.secret).length) out.secret[f.name] = nested.secret
    } else if (f.type === 'password') out.secret[f.name] = checked
    else out.public[f.name] = checked
  }
  return out
}

function checkOne(f: FieldDefinition, v: unknown, path: string, issues: FieldIssue[]): unknown {
  const bad = (rule: string): undefined => {
    issues.push({ path, rule })
    return undefined
  }
  switch (f.type) {
    case 'text':
    case 'password':
      if (typeof v !== 'string') return bad('must be a string')
      if (v.length > 10_000) return bad('must be at most 10000 characters')
      // Text is stored, logged and URL-encoded: an unpaired surrogate breaks all three.
      if (!isStorableText(v)) return bad(UNSTORABLE_RULE)
      return v
    case 'number': {
      const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v
      return typeof n === 'number' && Number.isFinite(n) ? n : bad('must be a number')
    }
    case 'boolean':
      if (v === 'true' || v === 'false') return v === 'true'
      return typeof v === 'boolean' ? v : bad('must be true or false')
    case 'select': {
      const allowed = (f.options ?? []).map((o) => o[1])
      return typeof v === 'string' && allowed.includes(v)
        ? v
        : bad(`must be one of ${allowed.join(', ')}`)
    }
    case 'multiselect': {
      const allowed = (f.options ?? []).map((o) => o[1])
      const list = typeof v === 'string' ? v.split(f.delimiter ?? ',').filter(Boolean) : v
      if (!Array.isArray(list) || !list.every((x) => typeof x === 'string'))
        return bad('must be a list of option values')
      const unknown = list.filter((x) => !allowed.includes(x))
      return unknown.length ? bad(`has values that are not options: ${unknown.join(', ')}`) : list
    }
    case 'object':
      return v !== null && typeof v === 'object' && !Array.isArray(v) ? v : bad('must be an object')
  }
}

/** The template scope of values: multiselects joined with their delimiter (docs/concepts.md). */
export function templateScope(fields: FieldDefinition[], values: Obj): Obj {
  const scope: Obj = { ...values }
  for (const f of fields) {
    const v = values[f.name]
    if (f.type === 'multiselect' && Array.isArray(v)) scope[f.name] = v.join(f.delimiter ?? ',')
    if (f.type === 'object' && v && typeof v === 'object')
      scope[f.name] = templateScope(f.properties ?? [], v as Obj)
  }
  return scope
}

/** `connection.invalid_values` naming every bad value. */
export function invalidValues(issues: FieldIssue[]): PatchbayError {
  return new PatchbayError(
    'connection.invalid_values',
    issues.map((i) => `${i.path} ${i.rule}`).join('; '),
    { details: issues },
  )
}
