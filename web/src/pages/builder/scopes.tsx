/**
 * The `scopes` widget, in its own tab: add, edit, delete, bulk delete and search, up to the
 * schema's `maxItems`; each row checked against the item schema. Once a connection exists,
 * scopes can still be added but not edited or removed (docs/concepts.md).
 */
import { useState } from 'react'
import { useConfirm } from '../../components/dialog.js'
import { TextInput } from '../../components/form.js'
import { firstProblem, itemsOf } from '../../lib/json-schema.js'
import type { AuthTypeInfo } from '../../types.js'
import { useBuilder } from './context.js'

interface Scope {
  name: string
  value: string
}

/** `setting`: the type's setting that has the `scopes` widget. */
export function ScopesSection({ info, setting }: { info: AuthTypeInfo; setting: string }) {
  const b = useBuilder()
  const confirm = useConfirm()
  const path = ['auth', setting]
  const schema = info.settings.properties?.[setting] ?? {}
  const hints = info.presentation.settings?.[setting]
  const max = schema.maxItems ?? Infinity
  const check = (scope: Scope): string | undefined => {
    const issue = firstProblem(itemsOf(schema), { ...scope }, hints)
    return issue ? `Scope ${issue.path} ${issue.rule}` : undefined
  }
  const scopes = (b.draft.auth[setting] as Scope[] | undefined) ?? []
  const [query, setQuery] = useState('')
  const [selected, setSelected] = useState<Set<number>>(new Set())
  const [draft, setDraft] = useState<Scope>({ name: '', value: '' })
  const [addError, setAddError] = useState<string | undefined>()
  const [editing, setEditing] = useState<{ index: number; scope: Scope } | undefined>()
  const [editError, setEditError] = useState<string | undefined>()
  const locked = b.view?.stage === 'ready' && (b.view?.connectionCount ?? 0) > 0
  const lockReason =
    'Scopes can be added, but not edited or removed, once a connection exists: existing connections were authorized with them.'

  const setScopes = (next: Scope[]) => {
    b.set(path, next.length ? next : undefined)
    setSelected(new Set())
  }
  const visible = scopes
    .map((s, i) => ({ s, i }))
    .filter(
      ({ s }) =>
        !query ||
        s.name.toLowerCase().includes(query.toLowerCase()) ||
        s.value.toLowerCase().includes(query.toLowerCase()),
    )

  const add = () => {
    const problem =
      check(draft) ??
      (scopes.some((s) => s.value === draft.value)
        ? 'Scope value is already in the list'
        : undefined)
    setAddError(problem)
    if (problem) return
    setScopes([...scopes, draft])
    setDraft({ name: '', value: '' })
  }

  const removeSelected = async () => {
    const ok = await confirm({
      title: 'Delete scopes?',
      message: `Delete ${selected.size} selected scope${selected.size === 1 ? '' : 's'}?`,
      confirmLabel: 'Delete scopes',
      danger: true,
    })
    if (ok) setScopes(scopes.filter((_, i) => !selected.has(i)))
  }

  return (
    <section aria-labelledby="scopes-heading" className="section">
      <h2 id="scopes-heading">Scopes</h2>
      <p className="hint">
        The scopes a connection may ask for ({scopes.length}
        {Number.isFinite(max) ? ` of at most ${max}` : ''}). The connection form lets the user
        choose among them.
      </p>
      {locked ? (
        <p className="notice" id="scopes-locked">
          {lockReason}
        </p>
      ) : null}
      <div className="toolbar">
        <TextInput
          type="search"
          label="Search scopes"
          value={query}
          onChange={setQuery}
          className="grow"
        />
        <button
          type="button"
          className="danger"
          disabled={locked || selected.size === 0}
          aria-describedby={locked ? 'scopes-locked' : undefined}
          onClick={() => void removeSelected()}
        >
          Delete selected ({selected.size})
        </button>
      </div>
      {scopes.length === 0 ? (
        <p className="muted">No scopes yet. Add the first one below.</p>
      ) : (
        <table className="table">
          <caption className="visually-hidden">Scopes</caption>
          <thead>
            <tr>
              <th scope="col">
                <span className="visually-hidden">Select</span>
              </th>
              <th scope="col">Name</th>
              <th scope="col">Value</th>
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {visible.map(({ s, i }) =>
              editing?.index === i ? (
                <tr key={i}>
                  <td />
                  {(['name', 'value'] as const).map((key) => (
                    <td data-label={key === 'name' ? 'Name' : 'Value'} key={key}>
                      <input
                        aria-label={`Edit ${key} of scope ${s.value}`}
                        value={editing.scope[key]}
                        onChange={(e) =>
                          setEditing({
                            index: i,
                            scope: { ...editing.scope, [key]: e.target.value },
                          })
                        }
                      />
                      {key === 'value' && editError ? (
                        <span className="field-error">{editError}</span>
                      ) : null}
                    </td>
                  ))}
                  <td className="row-actions">
                    <button
                      type="button"
                      className="primary small"
                      onClick={() => {
                        const problem = check(editing.scope)
                        setEditError(problem)
                        if (problem) return
                        setScopes(scopes.map((x, j) => (j === i ? editing.scope : x)))
                        setEditing(undefined)
                      }}
                    >
                      Save scope
                    </button>
                    <button
                      type="button"
                      className="secondary small"
                      onClick={() => setEditing(undefined)}
                    >
                      Cancel
                    </button>
                  </td>
                </tr>
              ) : (
                <tr key={i}>
                  <td data-label="Select">
                    <input
                      type="checkbox"
                      aria-label={`Select scope ${s.value}`}
                      disabled={locked}
                      checked={selected.has(i)}
                      onChange={(e) => {
                        const next = new Set(selected)
                        if (e.target.checked) next.add(i)
                        else next.delete(i)
                        setSelected(next)
                      }}
                    />
                  </td>
                  <td data-label="Name">{s.name}</td>
                  <td data-label="Value">
                    <code>{s.value}</code>
                  </td>
                  <td className="row-actions">
                    <button
                      type="button"
                      className="secondary small"
                      disabled={locked}
                      aria-label={`Edit scope ${s.value}`}
                      onClick={() => {
                        setEditError(undefined)
                        setEditing({ index: i, scope: s })
                      }}
                    >
                      Edit
                    </button>
                    <button
                      type="button"
                      className="danger small"
                      disabled={locked}
                      aria-label={`Delete scope ${s.value}`}
                      onClick={() => setScopes(scopes.filter((_, j) => j !== i))}
                    >
                      Delete
                    </button>
                  </td>
                </tr>
              ),
            )}
            {visible.length === 0 ? (
              <tr>
                <td colSpan={4} className="muted">
                  No scope matches “{query}”.
                </td>
              </tr>
            ) : null}
          </tbody>
        </table>
      )}
      {b.issue(path) ? <p className="field-error">{`Scopes ${b.issue(path)}`}</p> : null}
      <fieldset className="subgroup">
        <legend>Add a scope</legend>
        <div className="inline-form">
          <TextInput
            label="Scope name"
            value={draft.name}
            placeholder={hints?.settings?.name?.placeholder}
            onChange={(name) => setDraft({ ...draft, name })}
          />
          <TextInput
            label="Scope value"
            value={draft.value}
            placeholder={hints?.settings?.value?.placeholder}
            onChange={(value) => setDraft({ ...draft, value })}
          />
          <button type="button" className="primary" disabled={scopes.length >= max} onClick={add}>
            Add scope
          </button>
        </div>
        {scopes.length >= max ? (
          <p className="notice">A connector has at most {max} scopes.</p>
        ) : null}
        {addError ? (
          <p className="field-error" role="alert">
            {addError}
          </p>
        ) : null}
      </fieldset>
    </section>
  )
}
