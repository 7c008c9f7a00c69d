/**
 * Edits a string map (headers, query parameters, extra params) as rows of name and value. Rows
 * without a name are kept while typing and left out of the value.
 */
import { useEffect, useRef, useState } from 'react'

type Row = { key: string; value: string }

function toRows(value: Record<string, string> | undefined): Row[] {
  return Object.entries(value ?? {}).map(([key, v]) => ({ key, value: String(v) }))
}

function toRecord(rows: Row[]): Record<string, string> {
  const out: Record<string, string> = {}
  for (const r of rows) if (r.key !== '') out[r.key] = r.value
  return out
}

export function KeyValueEditor({
  label,
  value,
  onChange,
  keyLabel = 'Name',
  valueLabel = 'Value',
  disabled,
  hint,
  addLabel,
  error,
}: {
  label: string
  value: Record<string, string> | undefined
  onChange: (value: Record<string, string> | undefined) => void
  keyLabel?: string
  valueLabel?: string
  disabled?: boolean
  hint?: string
  addLabel?: string
  error?: string | undefined
}) {
  const [rows, setRows] = useState<Row[]>(() => toRows(value))
  const emitted = useRef(JSON.stringify(value ?? {}))
  // An outside change (the JSON tab, a reset) replaces the rows; our own echo does not.
  useEffect(() => {
    const incoming = JSON.stringify(value ?? {})
    if (incoming !== emitted.current) {
      emitted.current = incoming
      setRows(toRows(value))
    }
  }, [value])
  const update = (next: Row[]) => {
    setRows(next)
    const record = toRecord(next)
    const empty = Object.keys(record).length === 0
    emitted.current = JSON.stringify(record)
    onChange(empty ? undefined : record)
  }
  return (
    <fieldset className="kv" disabled={disabled}>
      <legend>{label}</legend>
      {hint ? <p className="hint">{hint}</p> : null}
      {rows.length === 0 ? <p className="muted small">None.</p> : null}
      {rows.map((row, i) => (
        <div className="kv-row" key={i}>
          <input
            aria-label={`${label}: ${keyLabel.toLowerCase()} ${i + 1}`}
            placeholder={keyLabel}
            value={row.key}
            spellCheck={false}
            autoComplete="off"
            onChange={(e) =>
              update(rows.map((r, j) => (j === i ? { ...r, key: e.target.value } : r)))
            }
          />
          <input
            aria-label={`${label}: ${valueLabel.toLowerCase()} ${i + 1}`}
            placeholder={valueLabel}
            value={row.value}
            spellCheck={false}
            autoComplete="off"
            onChange={(e) =>
              update(rows.map((r, j) => (j === i ? { ...r, value: e.target.value } : r)))
            }
          />
          <button
            type="button"
            className="icon-button"
            aria-label={`Remove ${label.toLowerCase()} row ${i + 1}`}
            onClick={() => update(rows.filter((_, j) => j !== i))}
          >
            Remove
          </button>
        </div>
      ))}
      {error ? <p className="field-error">{error}</p> : null}
      <button
        type="button"
        className="secondary small"
        onClick={() => setRows([...rows, { key: '', value: '' }])}
      >
        {addLabel ?? `Add ${label.toLowerCase().replace(/s$/, '')}`}
      </button>
    </fieldset>
  )
}
