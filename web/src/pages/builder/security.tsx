/**
 * Security: the auth-type picker, the type's form, and what every type shares — extra headers and
 * query parameters, `refreshOn` and `detectOn` (SPEC §3–§4).
 */
import { useId } from 'react'
import { useConfirm } from '../../components/dialog.js'
import { authLabel, changeAuthType, hasTypeSettings, parseSignal } from '../../lib/definition.js'
import { AuthForm } from './auth-forms.js'
import { BKeyValue, BList, useBuilder } from './context.js'
import { TokenTest } from './token-test.js'

export function SecuritySection() {
  const b = useBuilder()
  const confirm = useConfirm()
  const id = useId()
  const type = b.draft.auth.type
  const types = b.authTypes.includes(type) ? b.authTypes : [type, ...b.authTypes]

  const pick = async (next: string) => {
    if (next === type) return
    if (hasTypeSettings(b.draft.auth)) {
      const ok = await confirm({
        title: 'Change the auth type?',
        message: `Changing from ${authLabel(type)} to ${authLabel(next)} discards the current ${authLabel(type)} settings. Extra headers, refreshOn and detectOn are kept.`,
        confirmLabel: `Change to ${authLabel(next)}`,
        danger: true,
      })
      if (!ok) return
    }
    b.set(['auth'], changeAuthType(b.draft.auth, next))
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
                {authLabel(t)}
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
          <BKeyValue
            path={['auth', 'extra', 'headers']}
            label="Extra headers"
            hint="Sent after the type's own credentials; values may use {{field}}."
          />
          <BKeyValue
            path={['auth', 'extra', 'query']}
            label="Extra query parameters"
            hint="Added to every request; values may use {{field}}."
          />
          <BList
            path={['auth', 'refreshOn']}
            label="Refresh on"
            itemLabel="Refresh signal"
            parse={parseSignal}
            hint="Signals that re-acquire credentials once and retry: a status (401), an exact body or title, or /regex/. Empty: any error earns one attempt."
          />
          <BList
            path={['auth', 'detectOn']}
            label="Detect on"
            itemLabel="Detect signal"
            parse={parseSignal}
            hint="Signals that mark a response as an error even with a 2xx status."
          />
        </details>
      </fieldset>
      {type === 'http_token' && b.view && !b.frozen ? <TokenTest dirty={b.dirty} /> : null}
    </section>
  )
}
