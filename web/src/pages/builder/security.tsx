/**
 * Security: the auth-type picker, the type's form, and what every type shares — extra headers and
 * query parameters, `refreshOn` and `detectOn` (docs/pipeline.md), drawn like a type's settings
 * from their schema (`authCommonSchema`) and the hints below.
 */
import { useId } from 'react'
import { z } from 'zod'
import { authCommonSchema } from '../../../../src/connector/schema.js'
import { useConfirm } from '../../components/dialog.js'
import { changeAuthType, findType, hasTypeSettings, typeLabel } from '../../lib/auth-types.js'
import type { HintSet, JsonSchema } from '../../types.js'
import { AuthForm, SettingsForm } from './auth-forms.js'
import { useBuilder } from './context.js'
import { TestRequest } from './token-test.js'

const COMMON_SCHEMA = z.toJSONSchema(authCommonSchema.omit({ type: true }), {
  io: 'input',
  unrepresentable: 'any',
}) as JsonSchema

const COMMON_HINTS: HintSet = {
  settings: {
    extra: {
      label: 'Extra',
      order: -1,
      settings: {
        headers: {
          label: 'headers',
          hint: "Sent after the type's own credentials; values may use {{field}}.",
        },
        query: {
          label: 'query parameters',
          hint: 'Added to every request; values may use {{field}}.',
        },
      },
    },
    refreshOn: {
      label: 'Refresh on',
      widget: 'signals',
      itemLabel: 'Refresh signal',
      hint: 'Signals that re-acquire credentials once and retry: a status (401), an exact body or title, or /regex/. Empty: any error earns one attempt.',
    },
    detectOn: {
      label: 'Detect on',
      widget: 'signals',
      itemLabel: 'Detect signal',
      hint: 'Signals that mark a response as an error even with a 2xx status.',
    },
  },
}

export function SecuritySection() {
  const b = useBuilder()
  const confirm = useConfirm()
  const id = useId()
  const type = b.draft.auth.type
  const info = findType(b.authTypes, type)
  // A type the server does not offer (a code connector's own) is shown, but cannot be picked again.
  const types = info ? b.authTypes.map((t) => t.type) : [type, ...b.authTypes.map((t) => t.type)]
  const label = (t: string) => typeLabel(findType(b.authTypes, t), t)

  const pick = async (next: string) => {
    const target = findType(b.authTypes, next)
    if (next === type || !target) return
    if (hasTypeSettings(b.draft.auth, info)) {
      const ok = await confirm({
        title: 'Change the auth type?',
        message: `Changing from ${label(type)} to ${label(next)} discards the current ${label(type)} settings. Extra headers, refreshOn and detectOn are kept.`,
        confirmLabel: `Change to ${label(next)}`,
        danger: true,
      })
      if (!ok) return
    }
    b.set(['auth'], changeAuthType(b.draft.auth, target))
  }

  return (
    <section aria-labelledby="security-heading" className="section">
      <h2 id="security-heading">Security</h2>
      {b.frozen ? (
        <p className="notice" id={`${id}-frozen`}>
          These settings are read-only: the connector is ready, and a ready connector's auth
          settings are frozen so existing connections keep working. Scopes can still be added (in
          the Scopes tab), and names, labels and actions stay editable.
        </p>
      ) : null}
      <fieldset
        className="plain"
        disabled={b.frozen}
        aria-describedby={b.frozen ? `${id}-frozen` : undefined}
      >
        <legend className="visually-hidden">Auth settings</legend>
        <div className="field">
          <label htmlFor={`${id}-type`}>Auth type</label>
          <select
            id={`${id}-type`}
            value={type}
            onChange={(e) => void pick(e.target.value)}
            aria-describedby={`${id}-type-hint`}
          >
            {types.map((t) => (
              <option key={t} value={t}>
                {label(t)}
              </option>
            ))}
          </select>
          <span className="hint" id={`${id}-type-hint`}>
            {b.view?.stage === 'ready'
              ? 'The auth type cannot change once the connector is ready.'
              : 'The types this server offers. Changing it discards the current settings.'}
          </span>
        </div>
        <AuthForm type={type} base={['auth']} />
        <details className="group">
          <summary>Extra headers and query, refreshOn, detectOn</summary>
          <SettingsForm schema={COMMON_SCHEMA} hints={COMMON_HINTS} base={['auth']} />
        </details>
      </fieldset>
      {info?.hasTest && b.view && !b.frozen ? <TestRequest info={info} dirty={b.dirty} /> : null}
    </section>
  )
}
