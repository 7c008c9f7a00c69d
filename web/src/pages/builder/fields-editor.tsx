/**
 * Edits a list of field definitions (docs/concepts.md): connection fields, a saved action's inputs,
 * a multi option's fields, an object field's properties. Fields can be added, reordered, removed.
 */
import { FIELD_TYPES } from '../../../../src/connector/schema.js'
import { getIn, type Path } from '../../lib/paths.js'
import type { FieldDefinition } from '../../api.js'
import { BBool, BSelect, BText, useBuilder } from './context.js'

const TYPE_TEXT: Record<(typeof FIELD_TYPES)[number], string> = {
  text: 'Text',
  password: 'Password (secret)',
  select: 'Select',
  multiselect: 'Multiselect',
  number: 'Number',
  boolean: 'Yes / no',
  object: 'Group (advanced settings)',
}

export function FieldsEditor({
  path,
  title,
  noun = 'Field',
  shapeLocked,
  emptyText,
}: {
  path: Path
  title: string
  noun?: string
  /** Once ready only labels and hints change (docs/concepts.md). */
  shapeLocked?: boolean
  emptyText?: string
}) {
  const b = useBuilder()
  const fields = (getIn(b.draft, path) as FieldDefinition[] | undefined) ?? []
  const setFields = (next: FieldDefinition[]) => b.set(path, next)
  const move = (i: number, by: number) => {
    const next = [...fields]
    const [f] = next.splice(i, 1)
    next.splice(i + by, 0, f!)
    setFields(next)
  }
  return (
    <div className="fields-editor">
      {fields.length === 0 ? (
        <p className="muted">{emptyText ?? `No ${title.toLowerCase()} yet.`}</p>
      ) : null}
      {fields.map((f, i) => {
        const name = `${noun} ${i + 1}`
        const at = [...path, i]
        const hasOptions = f.type === 'select' || f.type === 'multiselect'
        return (
          <fieldset className="card field-card" key={i}>
            <legend>
              {name}
              {f.name ? `: ${f.name}` : ''}
            </legend>
            <div className="card-tools">
              <button
                type="button"
                className="icon-button"
                disabled={shapeLocked || i === 0}
                aria-label={`Move ${name.toLowerCase()} up`}
                onClick={() => move(i, -1)}
              >
                ↑ Up
              </button>
              <button
                type="button"
                className="icon-button"
                disabled={shapeLocked || i === fields.length - 1}
                aria-label={`Move ${name.toLowerCase()} down`}
                onClick={() => move(i, 1)}
              >
                ↓ Down
              </button>
              <button
                type="button"
                className="icon-button danger-text"
                disabled={shapeLocked}
                aria-label={`Remove ${name.toLowerCase()}`}
                onClick={() => setFields(fields.filter((_, j) => j !== i))}
              >
                Remove
              </button>
            </div>
            <div className="grid-3">
              <BText
                path={[...at, 'name']}
                label={`${name} name`}
                disabled={shapeLocked}
                hint="Letters, digits and _; {{name}} in templates."
              />
              <BText path={[...at, 'label']} label={`${name} label`} />
              <BSelect
                path={[...at, 'type']}
                label={`${name} type`}
                disabled={shapeLocked}
                options={FIELD_TYPES.map((t) => [t, TYPE_TEXT[t]] as const)}
              />
            </div>
            <div className="grid-2">
              <BText path={[...at, 'hint']} label={`${name} hint`} />
              {f.type !== 'password' && f.type !== 'object' ? (
                <BText path={[...at, 'default']} label={`${name} default`} disabled={shapeLocked} />
              ) : null}
            </div>
            <BBool
              path={[...at, 'optional']}
              label={`${name} is optional`}
              disabled={shapeLocked}
            />
            {hasOptions ? (
              <OptionsEditor path={[...at, 'options']} name={name} disabled={shapeLocked} />
            ) : null}
            {f.type === 'multiselect' ? (
              <BText
                path={[...at, 'delimiter']}
                label={`${name} delimiter`}
                disabled={shapeLocked}
                placeholder=","
                hint="Joins the chosen values in templates; default a comma."
              />
            ) : null}
            {f.type === 'object' ? (
              <div className="nested">
                <h4>{name} properties</h4>
                <FieldsEditor
                  path={[...at, 'properties']}
                  title={`${name} properties`}
                  noun={`${name} property`}
                  shapeLocked={shapeLocked}
                />
              </div>
            ) : null}
            {b.issue(at) ? <p className="field-error">{`${name} ${b.issue(at)}`}</p> : null}
          </fieldset>
        )
      })}
      {b.issue(path) ? <p className="field-error">{`${title} ${b.issue(path)}`}</p> : null}
      <button
        type="button"
        className="secondary"
        disabled={shapeLocked}
        onClick={() => setFields([...fields, { name: '', type: 'text' }])}
      >
        Add {noun.toLowerCase()}
      </button>
    </div>
  )
}

function OptionsEditor({ path, name, disabled }: { path: Path; name: string; disabled?: boolean }) {
  const b = useBuilder()
  const options = (getIn(b.draft, path) as [string, string][] | undefined) ?? []
  const set = (next: [string, string][]) => b.set(path, next.length ? next : undefined)
  return (
    <fieldset className="kv" disabled={disabled}>
      <legend>{name} options</legend>
      {options.map(([text, value], i) => (
        <div className="kv-row" key={i}>
          <input
            aria-label={`${name} option ${i + 1} label`}
            placeholder="Label"
            value={text}
            onChange={(e) => set(options.map((o, j) => (j === i ? [e.target.value, o[1]] : o)))}
          />
          <input
            aria-label={`${name} option ${i + 1} value`}
            placeholder="Value"
            value={value}
            onChange={(e) => set(options.map((o, j) => (j === i ? [o[0], e.target.value] : o)))}
          />
          <button
            type="button"
            className="icon-button"
            aria-label={`Remove ${name.toLowerCase()} option ${i + 1}`}
            onClick={() => set(options.filter((_, j) => j !== i))}
          >
            Remove
          </button>
        </div>
      ))}
      {b.issue(path) ? <p className="field-error">{`${name} options ${b.issue(path)}`}</p> : null}
      <button type="button" className="secondary small" onClick={() => set([...options, ['', '']])}>
        Add option to {name.toLowerCase()}
      </button>
    </fieldset>
  )
}
