/**
 * The auth settings form of any type, drawn from the JSON Schema of its settings and the hints
 * its scheme exports (`src/auth/presentation.ts`): this file knows the widgets, never a type.
 * A form binds to the settings at `base` (the connector's `auth`, or an `auth-options` entry).
 */
import { Fragment, useId, useState, type ReactNode } from 'react'
import { findType, initialAuth, preferredType, typeLabel } from '../../lib/auth-types.js'
import { parseSignal } from '../../lib/definition.js'
import {
  blocksOf,
  editorOf,
  holds,
  isSecret,
  itemsOf,
  labelOf,
  type Editor,
} from '../../lib/json-schema.js'
import { getIn, type Path } from '../../lib/paths.js'
import type { GroupHint, HintSet, JsonSchema, Obj, SettingHint } from '../../types.js'
import {
  BBool,
  BKeyValue,
  BList,
  BNumber,
  BSecret,
  BSelect,
  BText,
  BTextArea,
  useBuilder,
} from './context.js'
import { FieldsEditor } from './fields-editor.js'

/** The type a form belongs to: its settings start at `root`, and these of them are secret. */
interface Scope {
  root: Path
  secrets: readonly string[]
}

export function AuthForm({ type, base }: { type: string; base: Path }) {
  const b = useBuilder()
  const info = findType(b.authTypes, type)
  if (!info)
    return (
      <p className="notice">
        This server does not offer the “{type}” auth type to connectors made here, so there is no
        form for it: edit its settings in the JSON tab.
      </p>
    )
  return (
    <div>
      <SettingsForm
        schema={info.settings}
        hints={info.presentation}
        base={base}
        scope={{ root: base, secrets: info.secretSettings }}
      />
      {info.presentation.note ? <p className="hint">{info.presentation.note}</p> : null}
    </div>
  )
}

const LAYOUT: Record<NonNullable<GroupHint['layout']>, string> = {
  'columns-2': 'grid-2',
  'columns-3': 'grid-3',
  'narrow-wide': 'grid-request',
}

function Group({ hint, children }: { hint: GroupHint; children: ReactNode }) {
  const help = hint.hint ? <p className="hint">{hint.hint}</p> : null
  const body = hint.layout ? <div className={LAYOUT[hint.layout]}>{children}</div> : children
  if (hint.collapsed)
    return (
      <details className="group">
        <summary>{hint.title}</summary>
        {help}
        {body}
      </details>
    )
  return (
    <>
      {hint.title ? <h3>{hint.title}</h3> : null}
      {help}
      {body}
    </>
  )
}

/** The settings of one object, in their order and groups; hidden ones left out. */
export function SettingsForm({
  schema,
  hints,
  base,
  scope = { root: base, secrets: [] },
  prefix,
}: {
  schema: JsonSchema
  hints: HintSet | undefined
  base: Path
  scope?: Scope
  prefix?: string
}) {
  const b = useBuilder()
  const values = getIn(b.draft, base) as Obj | undefined
  const hintOf = (name: string): SettingHint => hints?.settings?.[name] ?? {}
  return (
    <>
      {blocksOf(schema, hints).map((block) => {
        const names = block.names.filter((name) => {
          const when = hintOf(name).visibleWhen
          return when === undefined || holds(when, values)
        })
        if (names.length === 0) return null
        const settings = names.map((name) => (
          <Setting
            key={name}
            name={name}
            schema={schema.properties?.[name] ?? {}}
            hint={hintOf(name)}
            required={schema.required?.includes(name) ?? false}
            base={base}
            siblings={values}
            scope={scope}
            prefix={prefix}
          />
        ))
        return (
          <Fragment key={block.group ?? names[0]}>
            {block.group === undefined ? (
              settings
            ) : (
              <Group hint={hints?.groups?.[block.group] ?? {}}>{settings}</Group>
            )}
          </Fragment>
        )
      })}
    </>
  )
}

/** An object's own problem (`Parameters must have at least 1 item`), under its settings. */
function Issue({ path, label }: { path: Path; label: string }) {
  const rule = useBuilder().issue(path)
  return rule ? <p className="field-error">{`${label} ${rule}`}</p> : null
}

interface SettingProps {
  name: string
  schema: JsonSchema
  hint: SettingHint
  /** Whether the schema requires it. */
  required: boolean
  base: Path
  /** The settings beside it, which its conditions read. */
  siblings: Obj | undefined
  scope: Scope
  prefix: string | undefined
}

function Setting({ name, schema, hint, required, base, siblings, scope, prefix }: SettingProps) {
  const path = [...base, name]
  const secret = isSecret(path.slice(scope.root.length), scope.secrets)
  const needed =
    typeof hint.required === 'object' ? holds(hint.required, siblings) : (hint.required ?? required)
  const editor: Editor = editorOf(schema, hint, secret, needed)
  const label = labelOf(name, hint, editor === 'object' ? undefined : prefix)
  const help = hint.hintWhen?.find((h) => holds(h.when, siblings))?.hint ?? hint.hint
  const input = { path, label, hint: help, required: needed, placeholder: hint.placeholder }
  switch (editor) {
    case 'password':
      return <BSecret {...input} />
    case 'url':
      return <BText {...input} type="url" />
    case 'textarea':
      return <BTextArea {...input} />
    case 'number':
      return <BNumber {...input} />
    case 'select':
      return (
        <BSelect
          {...input}
          options={hint.options ?? (schema.enum ?? []).map((v) => [String(v), String(v)] as const)}
          emptyLabel={hint.emptyLabel}
        />
      )
    case 'checkbox':
      return <BBool {...input} />
    case 'tri':
      return <BBool {...input} tri />
    case 'key-value':
      return <BKeyValue {...input} keyLabel={hint.keyLabel} valueLabel={hint.valueLabel} />
    case 'strings':
    case 'signals':
      return (
        <BList
          {...input}
          itemLabel={hint.itemLabel ?? 'Item'}
          parse={editor === 'signals' ? parseSignal : undefined}
        />
      )
    case 'scopes':
      // Edited in its own tab (ScopesSection); the form says where.
      return help ? <p className="hint">{help}</p> : null
    case 'list':
      return <ListSetting {...input} schema={schema} hint={hint} help={help} scope={scope} />
    case 'auth-options':
      return <AuthOptions path={path} label={label} hint={hint} />
    case 'object':
      return <ObjectSetting path={path} label={label} schema={schema} hint={hint} scope={scope} />
    case 'text':
      return <BText {...input} />
  }
}

/** A nested object: its settings under its prefix, framed or switched on by a checkbox. */
function ObjectSetting({
  path,
  label,
  schema,
  hint,
  scope,
}: {
  path: Path
  label: string
  schema: JsonSchema
  hint: SettingHint
  scope: Scope
}) {
  const b = useBuilder()
  const id = useId()
  const on = getIn(b.draft, path) !== undefined
  const inner = (
    <SettingsForm
      schema={schema}
      hints={hint}
      base={path}
      scope={scope}
      prefix={hint.prefix ?? label}
    />
  )
  if (!hint.toggle && !hint.frame)
    return (
      <>
        {inner}
        <Issue path={path} label={label} />
      </>
    )
  return (
    <fieldset className="subgroup">
      <legend>{label}</legend>
      {hint.toggle ? (
        <div className="field field-check">
          <input
            id={id}
            type="checkbox"
            checked={on}
            onChange={(e) =>
              b.set(path, e.target.checked ? structuredClone(hint.newItem ?? {}) : undefined)
            }
          />
          <label htmlFor={id}>{hint.toggle}</label>
        </div>
      ) : null}
      {on || !hint.toggle ? inner : null}
      <Issue path={path} label={label} />
    </fieldset>
  )
}

/** A list of objects: one card per item, added and removed within the schema's limits. */
function ListSetting({
  path,
  label,
  required,
  schema,
  hint,
  help,
  scope,
}: {
  path: Path
  label: string
  required: boolean
  schema: JsonSchema
  hint: SettingHint
  help: string | undefined
  scope: Scope
}) {
  const b = useBuilder()
  const items = (getIn(b.draft, path) as unknown[] | undefined) ?? []
  const noun = hint.itemLabel ?? 'Item'
  const set = (next: unknown[]) => b.set(path, next.length ? next : undefined)
  return (
    <div>
      {help ? <p className="hint">{help}</p> : null}
      {items.map((_, i) => (
        <fieldset className="card" key={i}>
          <legend>{`${noun} ${i + 1}`}</legend>
          <SettingsForm
            schema={itemsOf(schema)}
            hints={hint}
            base={[...path, i]}
            scope={scope}
            prefix={`${noun} ${i + 1}`}
          />
          <button
            type="button"
            className="icon-button danger-text"
            aria-label={`Remove ${noun.toLowerCase()} ${i + 1}`}
            disabled={required && items.length <= (schema.minItems ?? 0)}
            onClick={() => set(items.filter((_, j) => j !== i))}
          >
            {`Remove ${noun.toLowerCase()}`}
          </button>
        </fieldset>
      ))}
      <Issue path={path} label={label} />
      <button
        type="button"
        className="secondary"
        disabled={items.length >= (schema.maxItems ?? Infinity)}
        onClick={() => set([...items, structuredClone(hint.newItem ?? {})])}
      >
        {`Add ${noun.toLowerCase()}`}
      </button>
    </div>
  )
}

/**
 * A map of nested auth settings (`{ <key>: { label, type, fields?, ...settings } }`): each entry
 * picks a type and is drawn with that type's form. Types that hold such a map themselves are not
 * offered, so it never nests.
 */
function AuthOptions({ path, label, hint }: { path: Path; label: string; hint: SettingHint }) {
  const b = useBuilder()
  const id = useId()
  const [newKey, setNewKey] = useState('')
  const options = (getIn(b.draft, path) as Record<string, Obj> | undefined) ?? {}
  const noun = hint.itemLabel ?? 'Option'
  const lower = noun.toLowerCase()
  const offered = b.authTypes.filter(
    (t) => !Object.values(t.presentation.settings ?? {}).some((h) => h.widget === 'auth-options'),
  )
  const typed = (type: string): Obj => {
    const info = findType(offered, type)
    return info ? initialAuth(info) : { type }
  }
  const rename = (from: string, to: string) => {
    const next: Record<string, Obj> = {}
    for (const [k, v] of Object.entries(options)) next[k === from ? to : k] = v
    b.set(path, next)
  }
  return (
    <div>
      {Object.entries(options).map(([key, option], i) => {
        const at = [...path, key]
        const type = String(option.type ?? '')
        const n = `${noun} ${i + 1}`
        return (
          <fieldset className="card" key={i}>
            <legend>{`${n}: ${key}`}</legend>
            <div className="grid-3">
              <div className="field">
                <label htmlFor={`${id}-key-${i}`}>{`${n} key`}</label>
                <input
                  id={`${id}-key-${i}`}
                  value={key}
                  onChange={(e) => {
                    if (e.target.value && !(e.target.value in options)) rename(key, e.target.value)
                  }}
                />
              </div>
              <BText path={[...at, 'label']} label={`${n} label`} />
              <div className="field">
                <label htmlFor={`${id}-type-${i}`}>{`${n} auth type`}</label>
                <select
                  id={`${id}-type-${i}`}
                  value={type}
                  onChange={(e) =>
                    b.set(at, {
                      label: option.label,
                      fields: option.fields,
                      ...typed(e.target.value),
                    })
                  }
                >
                  <option value="">Choose…</option>
                  {offered.map((t) => (
                    <option key={t.type} value={t.type}>
                      {typeLabel(t, t.type)}
                    </option>
                  ))}
                </select>
              </div>
            </div>
            {type ? <AuthForm type={type} base={at} /> : null}
            <h4>{`${n} fields`}</h4>
            <FieldsEditor
              path={[...at, 'fields']}
              title={`${n} fields`}
              noun={`${n} field`}
              emptyText={`No extra fields for this ${lower}.`}
            />
            <button
              type="button"
              className="icon-button danger-text"
              onClick={() => {
                const next = { ...options }
                delete next[key]
                b.set(path, Object.keys(next).length ? next : undefined)
              }}
            >
              {`Remove ${lower} ${i + 1}`}
            </button>
          </fieldset>
        )
      })}
      <Issue path={path} label={label} />
      <div className="inline-form">
        <div className="field">
          <label htmlFor={`${id}-new`}>{`New ${lower} key`}</label>
          <input
            id={`${id}-new`}
            value={newKey}
            placeholder={hint.keyPlaceholder}
            onChange={(e) => setNewKey(e.target.value)}
          />
        </div>
        <button
          type="button"
          className="secondary"
          disabled={!newKey || newKey in options}
          onClick={() => {
            const first = preferredType(offered)
            b.set(path, { ...options, [newKey]: { label: newKey, ...typed(first?.type ?? '') } })
            setNewKey('')
          }}
        >
          {`Add ${lower}`}
        </button>
      </div>
    </div>
  )
}
