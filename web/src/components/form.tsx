/**
 * Labelled form controls: every control has a visible label (its accessible name), an optional
 * hint, and its error announced through `aria-describedby`.
 */
import { useId, type ReactNode } from 'react'

interface Common {
  label: string
  hint?: ReactNode
  error?: string | undefined
  disabled?: boolean
  required?: boolean
  className?: string
}

function describedBy(id: string, hint: unknown, error: unknown): string | undefined {
  const ids = [hint ? `${id}-hint` : '', error ? `${id}-error` : ''].filter(Boolean)
  return ids.length ? ids.join(' ') : undefined
}

function Help({ id, hint, error }: { id: string; hint?: ReactNode; error?: string | undefined }) {
  return (
    <>
      {hint ? (
        <span className="hint" id={`${id}-hint`}>
          {hint}
        </span>
      ) : null}
      {error ? (
        <span className="field-error" id={`${id}-error`}>
          {error}
        </span>
      ) : null}
    </>
  )
}

function Label({ id, label, required }: { id: string; label: string; required?: boolean }) {
  return (
    <span className="label-row">
      <label htmlFor={id}>{label}</label>
      {required ? (
        <span className="required" aria-hidden="true">
          required
        </span>
      ) : null}
    </span>
  )
}

export function TextInput({
  label,
  hint,
  error,
  disabled,
  required,
  className,
  value,
  onChange,
  type = 'text',
  placeholder,
  autoComplete,
  readOnly,
  onBlur,
  inputMode,
}: Common & {
  value: string
  onChange: (value: string) => void
  type?: 'text' | 'password' | 'url' | 'search' | 'number' | 'email'
  placeholder?: string
  autoComplete?: string
  readOnly?: boolean
  onBlur?: () => void
  inputMode?: 'numeric' | 'text' | 'url'
}) {
  const id = useId()
  return (
    <div className={`field ${className ?? ''}`}>
      <Label id={id} label={label} required={required} />
      <input
        id={id}
        type={type}
        value={value}
        placeholder={placeholder}
        disabled={disabled}
        readOnly={readOnly}
        autoComplete={autoComplete ?? 'off'}
        spellCheck={false}
        inputMode={inputMode}
        aria-required={required || undefined}
        aria-invalid={error ? true : undefined}
        aria-describedby={describedBy(id, hint, error)}
        onChange={(e) => onChange(e.target.value)}
        onBlur={onBlur}
      />
      <Help id={id} hint={hint} error={error} />
    </div>
  )
}

export function TextArea({
  label,
  hint,
  error,
  disabled,
  required,
  className,
  value,
  onChange,
  rows = 4,
  placeholder,
  readOnly,
  mono,
}: Common & {
  value: string
  onChange: (value: string) => void
  rows?: number
  placeholder?: string
  readOnly?: boolean
  mono?: boolean
}) {
  const id = useId()
  return (
    <div className={`field ${className ?? ''}`}>
      <Label id={id} label={label} required={required} />
      <textarea
        id={id}
        value={value}
        rows={rows}
        placeholder={placeholder}
        disabled={disabled}
        readOnly={readOnly}
        spellCheck={false}
        className={mono ? 'mono' : undefined}
        aria-required={required || undefined}
        aria-invalid={error ? true : undefined}
        aria-describedby={describedBy(id, hint, error)}
        onChange={(e) => onChange(e.target.value)}
      />
      <Help id={id} hint={hint} error={error} />
    </div>
  )
}

export function Select({
  label,
  hint,
  error,
  disabled,
  className,
  value,
  onChange,
  options,
}: Common & {
  value: string
  onChange: (value: string) => void
  options: readonly (readonly [value: string, text: string])[]
}) {
  const id = useId()
  return (
    <div className={`field ${className ?? ''}`}>
      <label htmlFor={id}>{label}</label>
      <select
        id={id}
        value={value}
        disabled={disabled}
        aria-invalid={error ? true : undefined}
        aria-describedby={describedBy(id, hint, error)}
        onChange={(e) => onChange(e.target.value)}
      >
        {options.map(([v, t]) => (
          <option key={v} value={v}>
            {t}
          </option>
        ))}
      </select>
      <Help id={id} hint={hint} error={error} />
    </div>
  )
}

export function Checkbox({
  label,
  hint,
  error,
  disabled,
  className,
  checked,
  onChange,
}: Common & { checked: boolean; onChange: (checked: boolean) => void }) {
  const id = useId()
  return (
    <div className={`field field-check ${className ?? ''}`}>
      <input
        id={id}
        type="checkbox"
        checked={checked}
        disabled={disabled}
        aria-describedby={describedBy(id, hint, error)}
        onChange={(e) => onChange(e.target.checked)}
      />
      <label htmlFor={id}>{label}</label>
      <Help id={id} hint={hint} error={error} />
    </div>
  )
}

/** A group of checkboxes with one legend, e.g. a multiselect field. */
export function CheckboxGroup({
  label,
  hint,
  error,
  disabled,
  options,
  value,
  onChange,
}: Common & {
  options: readonly (readonly [text: string, value: string])[]
  value: string[]
  onChange: (value: string[]) => void
}) {
  const id = useId()
  return (
    <fieldset className="field checkbox-group" aria-describedby={describedBy(id, hint, error)}>
      <legend>{label}</legend>
      {options.map(([text, v]) => (
        <label key={v} className="inline-check">
          <input
            type="checkbox"
            checked={value.includes(v)}
            disabled={disabled}
            onChange={(e) =>
              onChange(e.target.checked ? [...value, v] : value.filter((x) => x !== v))
            }
          />{' '}
          {text}
        </label>
      ))}
      <Help id={id} hint={hint} error={error} />
    </fieldset>
  )
}
