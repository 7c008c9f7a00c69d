/**
 * A form rendered from field definitions (docs/concepts.md): a connection's fields, or a saved
 * action's inputs. Password inputs are never prefilled; object fields form a collapsed group.
 */
import type { FieldDefinition } from '../../../src/connector/schema.js'
import type { Obj } from '../types.js'
import { Checkbox, CheckboxGroup, Select, TextInput } from './form.js'

export function fieldLabel(f: FieldDefinition): string {
  return f.label || f.name
}

function initialOf(f: FieldDefinition): unknown {
  if (f.type === 'password') return undefined
  if (f.type === 'object') return initialValues(f.properties ?? [])
  return f.default
}

/** Values to start a form with: defaults, never a secret. */
export function initialValues(fields: FieldDefinition[], known: Obj = {}): Obj {
  const out: Obj = {}
  for (const f of fields) {
    const v = f.type === 'password' ? undefined : (known[f.name] ?? initialOf(f))
    if (v !== undefined) out[f.name] = v
  }
  return out
}

/** The values to send: empty text left out, numbers as numbers. */
export function cleanValues(fields: FieldDefinition[], values: Obj): Obj {
  const out: Obj = {}
  for (const f of fields) {
    const v = values[f.name]
    if (v === undefined || v === '') continue
    if (f.type === 'object') {
      const nested = cleanValues(f.properties ?? [], (v ?? {}) as Obj)
      if (Object.keys(nested).length) out[f.name] = nested
    } else if (f.type === 'number') {
      const n = Number(v)
      out[f.name] = typeof v === 'string' && v.trim() !== '' && Number.isFinite(n) ? n : v
    } else out[f.name] = v
  }
  return out
}

export function FieldInputs({
  fields,
  values,
  onChange,
  errors = {},
  prefix = '',
}: {
  fields: FieldDefinition[]
  values: Obj
  onChange: (values: Obj) => void
  /** Problems by field path (`name`, `group.name`). */
  errors?: Record<string, string>
  prefix?: string
}) {
  const set = (name: string, v: unknown) => onChange({ ...values, [name]: v })
  return (
    <>
      {fields.map((f) => {
        const path = prefix ? `${prefix}.${f.name}` : f.name
        const label = fieldLabel(f)
        const error = errors[path]
        const hint = [f.hint, f.optional ? 'Optional.' : ''].filter(Boolean).join(' ') || undefined
        const value = values[f.name]
        switch (f.type) {
          case 'password':
            return (
              <TextInput
                key={f.name}
                type="password"
                label={label}
                hint={hint}
                error={error}
                required={!f.optional}
                autoComplete="new-password"
                value={typeof value === 'string' ? value : ''}
                onChange={(v) => set(f.name, v)}
              />
            )
          case 'number':
            return (
              <TextInput
                key={f.name}
                label={label}
                hint={hint}
                error={error}
                required={!f.optional}
                inputMode="numeric"
                value={value === undefined ? '' : String(value)}
                onChange={(v) => set(f.name, v)}
              />
            )
          case 'boolean':
            return (
              <Checkbox
                key={f.name}
                label={label}
                hint={hint}
                error={error}
                checked={value === true || value === 'true'}
                onChange={(v) => set(f.name, v)}
              />
            )
          case 'select':
            return (
              <Select
                key={f.name}
                label={label}
                hint={hint}
                error={error}
                value={typeof value === 'string' ? value : ''}
                options={[['', 'Choose…'], ...(f.options ?? []).map(([t, v]) => [v, t] as const)]}
                onChange={(v) => set(f.name, v || undefined)}
              />
            )
          case 'multiselect': {
            const list = Array.isArray(value)
              ? (value as string[])
              : typeof value === 'string'
                ? value.split(f.delimiter ?? ',').filter(Boolean)
                : []
            return (
              <CheckboxGroup
                key={f.name}
                label={label}
                hint={hint}
                error={error}
                options={f.options ?? []}
                value={list}
                onChange={(v) => set(f.name, v)}
              />
            )
          }
          case 'object':
            return (
              <details key={f.name} className="group">
                <summary>{label}</summary>
                {f.hint ? <p className="hint">{f.hint}</p> : null}
                <FieldInputs
                  fields={f.properties ?? []}
                  values={(value ?? {}) as Obj}
                  onChange={(v) => set(f.name, v)}
                  errors={errors}
                  prefix={path}
                />
              </details>
            )
          default:
            return (
              <TextInput
                key={f.name}
                label={label}
                hint={hint}
                error={error}
                required={!f.optional}
                value={value === undefined ? '' : String(value)}
                onChange={(v) => set(f.name, v)}
              />
            )
        }
      })}
    </>
  )
}

/** Field errors from the API's issues (`values.x.y is required` → `x.y`). */
export function issuesByField(
  issues: { path: string; rule: string }[],
  prefix: string,
  fields: FieldDefinition[],
): Record<string, string> {
  const labels = new Map(fields.map((f) => [f.name, fieldLabel(f)]))
  const out: Record<string, string> = {}
  for (const i of issues) {
    const path = i.path.startsWith(`${prefix}.`) ? i.path.slice(prefix.length + 1) : i.path
    const top = path.split('.')[0] ?? path
    out[path] = `${labels.get(top) ?? path} ${i.rule}`
  }
  return out
}
