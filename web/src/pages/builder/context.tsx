/**
 * The builder's state, shared by its sections: the draft, a setter by path, the problems by path,
 * and what the lifecycle has frozen. The `B*` inputs bind to a path in the draft.
 */
import { createContext, useContext, useId, type ReactNode } from 'react'
import { Checkbox, Select, TextArea, TextInput } from '../../components/form.js'
import { KeyValueEditor } from '../../components/kv-editor.js'
import { getIn, pathKey, type Path } from '../../lib/paths.js'
import { MASK } from '../../lib/definition.js'
import type { AuthTypeInfo, ConnectorDraft } from '../../types.js'
import type { ConnectorView } from '../../api.js'

export interface Builder {
  draft: ConnectorDraft
  view: ConnectorView | undefined
  set: (path: Path, value: unknown) => void
  /** The problem at exactly this path, when it should show. */
  issue: (path: Path) => string | undefined
  /**
   * Auth settings, link name, base URL and field shapes are frozen once ready (docs/concepts.md).
   */
  frozen: boolean
  /** Unsaved changes. */
  dirty: boolean
  /** The auth types the server offers, each with its settings' schema and form hints. */
  authTypes: AuthTypeInfo[]
}

export const BuilderContext = createContext<Builder | undefined>(undefined)

export function useBuilder(): Builder {
  const b = useContext(BuilderContext)
  if (!b) throw new Error('useBuilder outside the builder')
  return b
}

interface Bound {
  path: Path
  label: string
  hint?: ReactNode
  disabled?: boolean
  required?: boolean
  placeholder?: string
}

function message(label: string, rule: string | undefined): string | undefined {
  return rule ? `${label} ${rule}` : undefined
}

/** The value at `path`, its setter, and the props every bound control shares. */
function useBound({ path, label, hint, disabled, required }: Bound) {
  const b = useBuilder()
  return {
    value: getIn(b.draft, path),
    set: (value: unknown) => b.set(path, value),
    shared: { label, hint, disabled, required, error: message(label, b.issue(path)) },
  }
}

const text = (v: unknown) => (v === undefined || v === null ? '' : String(v))

export function BText({ type, ...bound }: Bound & { type?: 'text' | 'url' }) {
  const { value, set, shared } = useBound(bound)
  return (
    <TextInput
      {...shared}
      placeholder={bound.placeholder}
      type={type}
      value={text(value)}
      onChange={(x) => set(x === '' ? undefined : x)}
    />
  )
}

/** A secret setting: the stored value is never shown; typing replaces it. */
export function BSecret(bound: Bound) {
  const { value, set, shared } = useBound(bound)
  const saved = value === MASK
  return (
    <TextInput
      {...shared}
      type="password"
      hint={saved ? 'Saved; type a new value to replace it.' : bound.hint}
      autoComplete="new-password"
      placeholder={saved ? '•••••••• (saved)' : undefined}
      value={saved ? '' : text(value)}
      onChange={(x) => set(x === '' ? (saved ? MASK : undefined) : x)}
    />
  )
}

export function BNumber(bound: Bound) {
  const { value, set, shared } = useBound(bound)
  return (
    <TextInput
      {...shared}
      placeholder={bound.placeholder}
      inputMode="numeric"
      value={text(value)}
      onChange={(x) => {
        const n = Number(x)
        set(x.trim() === '' ? undefined : Number.isFinite(n) ? n : x)
      }}
    />
  )
}

export function BSelect({
  options,
  emptyLabel,
  ...bound
}: Bound & { options: readonly (readonly [string, string])[]; emptyLabel?: string }) {
  const { value, set, shared } = useBound(bound)
  const all = emptyLabel !== undefined ? [['', emptyLabel] as const, ...options] : options
  return (
    <Select
      {...shared}
      value={text(value)}
      options={all}
      onChange={(x) => set(x === '' ? undefined : x)}
    />
  )
}

const TRI = [
  ['', 'Default'],
  ['true', 'Yes'],
  ['false', 'No'],
] as const

/** A boolean setting; `tri` offers "default" (absent) besides yes and no. */
export function BBool({ tri, ...bound }: Bound & { tri?: boolean }) {
  const { value, set, shared } = useBound(bound)
  if (tri)
    return (
      <Select
        {...shared}
        error={undefined}
        value={text(value)}
        options={TRI}
        onChange={(x) => set(x === '' ? undefined : x === 'true')}
      />
    )
  return <Checkbox {...shared} checked={value === true} onChange={set} />
}

export function BTextArea({ rows, ...bound }: Bound & { rows?: number }) {
  const { value, set, shared } = useBound(bound)
  return (
    <TextArea
      {...shared}
      rows={rows}
      value={text(value)}
      onChange={(x) => set(x === '' ? undefined : x)}
    />
  )
}

export function BKeyValue({
  keyLabel,
  valueLabel,
  ...bound
}: Bound & { keyLabel?: string; valueLabel?: string }) {
  const { value, set, shared } = useBound(bound)
  return (
    <KeyValueEditor
      {...shared}
      hint={typeof bound.hint === 'string' ? bound.hint : undefined}
      keyLabel={keyLabel}
      valueLabel={valueLabel}
      value={value as Record<string, string> | undefined}
      onChange={set}
    />
  )
}

/** A list of short strings (allowed origins, signals). */
export function BList({
  path,
  label,
  hint,
  disabled,
  itemLabel,
  parse = (s: string) => s,
}: Bound & { itemLabel: string; parse?: (text: string) => unknown }) {
  const b = useBuilder()
  const id = useId()
  const list = (getIn(b.draft, path) as unknown[] | undefined) ?? []
  const setList = (next: unknown[]) => b.set(path, next.length ? next : undefined)
  return (
    <fieldset className="kv" disabled={disabled} aria-describedby={hint ? `${id}-hint` : undefined}>
      <legend>{label}</legend>
      {hint ? (
        <p className="hint" id={`${id}-hint`}>
          {hint}
        </p>
      ) : null}
      {list.length === 0 ? <p className="muted small">None.</p> : null}
      {list.map((item, i) => (
        <div className="kv-row" key={i}>
          <input
            aria-label={`${itemLabel} ${i + 1}`}
            value={String(item)}
            spellCheck={false}
            onChange={(e) => setList(list.map((x, j) => (j === i ? parse(e.target.value) : x)))}
          />
          <button
            type="button"
            className="icon-button"
            aria-label={`Remove ${itemLabel.toLowerCase()} ${i + 1}`}
            onClick={() => setList(list.filter((_, j) => j !== i))}
          >
            Remove
          </button>
          {b.issue([...path, i]) ? (
            <span className="field-error">{`${itemLabel} ${i + 1} ${b.issue([...path, i])}`}</span>
          ) : null}
        </div>
      ))}
      {b.issue(path) ? <p className="field-error">{`${label} ${b.issue(path)}`}</p> : null}
      <button type="button" className="secondary small" onClick={() => setList([...list, ''])}>
        Add {itemLabel.toLowerCase()}
      </button>
    </fieldset>
  )
}

export { pathKey }
