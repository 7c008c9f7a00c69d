/**
 * What a connection of a connector is asked for: the connector's own fields, and its auth type's
 * (`AuthScheme.connectionFields`). A connector may re-declare an auth type's field — connectors
 * coming from the Workato SDK declare every connection field, to give them labels, hints, defaults
 * and option lists — and the two are merged: the connector's label, hint, default and options win;
 * the type, and whether the value is required, stay the auth type's.
 *
 * @module
 */
import type { FieldDefinition } from '../connector/schema.js'
import type { FieldIssue } from '../errors.js'

const PRESENTATION = ['label', 'hint', 'default', 'options'] as const

/** The connector's fields in its order (re-declared ones merged), then the auth type's others. */
export function mergeFields(
  own: readonly FieldDefinition[],
  scheme: readonly FieldDefinition[],
): FieldDefinition[] {
  if (scheme.length === 0) return [...own]
  const byName = new Map(scheme.map((f) => [f.name, f]))
  const merged = own.map((f) => {
    const base = byName.get(f.name)
    if (!base) return f
    const out: FieldDefinition = { ...base }
    for (const key of PRESENTATION) if (f[key] !== undefined) Object.assign(out, { [key]: f[key] })
    return out
  })
  const declared = new Set(own.map((f) => f.name))
  return [...merged, ...scheme.filter((f) => !declared.has(f.name))]
}

/**
 * Why the connector's re-declaration of an auth type's field cannot be merged: a different type,
 * or options the auth type does not offer. `typeGiven` says which fields named their type (a field
 * that does not takes the auth type's).
 */
export function redeclarationIssues(
  own: readonly FieldDefinition[],
  scheme: readonly FieldDefinition[],
  authType: string,
): FieldIssue[] {
  const byName = new Map(scheme.map((f) => [f.name, f]))
  const issues: FieldIssue[] = []
  own.forEach((f, i) => {
    const base = byName.get(f.name)
    if (!base) return
    if (f.type !== base.type) {
      issues.push({
        path: `fields.${i}.type`,
        rule: `"${f.name}" is a ${base.type} field of the ${authType} auth type: declare it with type "${base.type}", or leave it out`,
      })
      return
    }
    if (f.options && base.options) {
      const offered = new Set(base.options.map(([, value]) => value))
      const unknown = f.options.filter(([, value]) => !offered.has(value)).map(([, v]) => v)
      if (unknown.length)
        issues.push({
          path: `fields.${i}.options`,
          rule: `"${f.name}" may only list options of the ${authType} auth type (${[...offered].join(', ')}), not ${unknown.join(', ')}`,
        })
    }
  })
  return issues
}
