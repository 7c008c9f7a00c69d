/**
 * The builder's state, shared by its sections: the draft, a setter by path, the problems by path,
 * and what the lifecycle has frozen. The `B*` inputs bind to a path in the draft.
 */
import { createContext, useContext, useId, type ReactNode } from 'react'
import { Checkbox, Select, TextArea, TextInput } from '../../components/form.js'
import { KeyValueEditor } from '../../components/kv-editor.js'
import { getIn, pathKey, type Path } from '../../lib/paths.js'
import { MASK } from '../../lib/definition.js'
import type { ConnectorDraft } from '../../types.js'
import type { ConnectorView } from '../../api.js'

export interface Builder {
  draft: ConnectorDraft
  view: ConnectorView | undefined
  set: (path: Path, value: unknown) => void
  /** The problem at exactly this path, when it should show. */
  issue: (path: Path) => string | undefined
  /** Auth settings, link name, base URL and field shapes are frozen once ready (SPEC §2). */
  frozen: boolean
  /** Unsaved changes. */
  dirty: boolean
  authTypes: string[]
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

export function BText({
  path,
  label,
  hint,
  disabled,
  required,
  placeholder,
  type,
}: Bound & {
  type?: 'text' | 'url'
}) {
  const b = useBuilder()
  const v = getIn(b.draft, path)
  return (
    <TextInput
      label={label}
      hint={hint}
      required={required}
      disabled={disabled}
      placeholder={placeholder}
      type={type}
      value={v === undefined || v === null ? '' : String(v)}
      error={message(label, b.issue(path))}
      onChange={(x) => b.set(path, x === '' ? undefined : x)}
    />
  )
}

/** A secret setting: the stored value is never shown; typing replaces it. */
export function BSecret({ path, label, hint, disabled, required }: Bound) {
  const b = useBuilder()
  const v = getIn(b.draft, path)
  const saved = v === MASK
  return (
    <TextInput
      type="password"
      label={label}
      hint={saved ? 'Saved; type a new value to replace it.' : hint}
      required={required}
      disabled={disabled}
      autoComplete="new-password"
      placeholder={saved ? '•••••••• (saved)' : undefined}
      value={saved || v === undefined ? '' : String(v)}
      error={message(label, b.issue(path))}
      onChange={(x) => b.set(path, x === '' ? (saved ? MASK : undefined) : x)}
    />
  )
}

export function BNumber({ path, label, hint, disabled, placeholder }: Bound) {
  const b = useBuilder()
  const v = getIn(b.draft, path)
  return (
    <TextInput
      label={label}
      hint={hint}
      disabled={disabled}
      placeholder={placeholder}
      inputMode="numeric"
      value={v === undefined ? '' : String(v)}
      error={message(label, b.issue(path))}
      onChange={(x) => {
        const n = Number(x)
        b.set(path, x.trim() === '' ? undefined : Number.isFinite(n) ? n : x)
      }}
    />
  )
}

export function BSelect({
  path,
  label,
  hint,
  disabled,
  options,
  emptyLabel,
}: Bound & { options: readonly (readonly [string, string])[]; emptyLabel?: string }) {
  const b = useBuilder()
  const v = getIn(b.draft, path)
  const all = emptyLabel !== undefined ? [['', emptyLabel] as const, ...options] : options
  return (
    <Select
      label={label}
      hint={hint}
      disabled={disabled}
      value={v === undefined ? '' : String(v)}
      options={all}
      error={message(label, b.issue(path))}
      onChange={(x) => b.set(path, x === '' ? undefined : x)}
    />
  )
}

/** A boolean setting; `tri` offers "default" (absent) besides yes and no. */
export function BBool({ path, label, hint, disabled, tri }: Bound & { tri?: boolean }) {
  const b = useBuilder()
  const v = getIn(b.draft, path)
  if (tri)
    return (
      <Select
        label={label}
        hint={hint}
        disabled={disabled}
        value={v === undefined ? '' : String(v)}
        options={[
          ['', 'Default'],
          ['true', 'Yes'],
          ['false', 'No'],
        ]}
        onChange={(x) => b.set(path, x === '' ? undefined : x === 'true')}
      />
    )
  return (
    <Checkbox
      label={label}
      hint={hint}
      disabled={disabled}
      checked={v === true}
      error={message(label, b.issue(path))}
      onChange={(x) => b.set(path, x)}
    />
  )
}

export function BTextArea({ path, label, hint, disabled, rows }: Bound & { rows?: number }) {
  const b = useBuilder()
  const v = getIn(b.draft, path)
  return (
    <TextArea
      label={label}
      hint={hint}
      disabled={disabled}
      rows={rows}
      value={v === undefined ? '' : String(v)}
      error={message(label, b.issue(path))}
      onChange={(x) => b.set(path, x === '' ? undefined : x)}
    />
  )
}

export function BKeyValue({
  path,
  label,
  hint,
  disabled,
  keyLabel,
  valueLabel,
}: Bound & { keyLabel?: string; valueLabel?: string }) {
  const b = useBuilder()
  const v = getIn(b.draft, path) as Record<string, string> | undefined
  return (
    <KeyValueEditor
      label={label}
      hint={typeof hint === 'string' ? hint : undefined}
      disabled={disabled}
      keyLabel={keyLabel}
      valueLabel={valueLabel}
      value={v}
      error={message(label, b.issue(path))}
      onChange={(x) => b.set(path, x)}
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
