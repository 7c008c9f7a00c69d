/**
 * The "test request" of a type with a `test` hook (Intercom's flow for HTTP-request tokens): try
 * the saved settings once with sample values, see what came back, pick the value in the answer
 * that the setting named by the presentation's `test.pick` should point at (the token, for
 * `tokenPath`), and preview the header requests will carry. A type that is tested before ready
 * is marked ready only once its current settings passed.
 */
import { useState, type FormEvent } from 'react'
import { api, errorText, type TokenTestReport } from '../../api.js'
import { cleanValues, FieldInputs } from '../../components/field-inputs.js'
import { HttpStatus } from '../../components/feedback.js'
import type { AuthTypeInfo, Obj } from '../../types.js'
import { useBuilder } from './context.js'

/** Every scalar in a JSON value with its dotted path (`data.token`, `items.0.id`). */
function leaves(
  value: unknown,
  path: string[] = [],
  out: [string, unknown][] = [],
): [string, unknown][] {
  if (out.length >= 200) return out
  if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value as Obj)) leaves(v, [...path, k], out)
  } else if (path.length) out.push([path.join('.'), value])
  return out
}

const capitalized = (s: string) => s.charAt(0).toUpperCase() + s.slice(1)

/** The setting's value the test used, which the report repeats under the setting's name. */
const reported = (report: TokenTestReport, setting: string): string | undefined => {
  const value = (report as unknown as Obj)[setting]
  return typeof value === 'string' && value !== '' ? value : undefined
}

export function TestRequest({ info, dirty }: { info: AuthTypeInfo; dirty: boolean }) {
  const b = useBuilder()
  const [values, setValues] = useState<Obj>({})
  const [report, setReport] = useState<TokenTestReport | undefined>()
  const [error, setError] = useState<string | undefined>()
  const [busy, setBusy] = useState(false)
  const view = b.view
  if (!view) return null
  const fields = view.fields
  const test = info.presentation.test
  const pick = test?.pick
  const picked = pick ? (b.draft.auth[pick.setting] as string | undefined) : undefined
  const pickLabel = (pick && info.presentation.settings?.[pick.setting]?.label) ?? pick?.setting
  const noun = pick?.noun ?? 'value'

  const run = async (e: FormEvent) => {
    e.preventDefault()
    setBusy(true)
    setError(undefined)
    try {
      setReport(await api.connectors.testToken(view.id, cleanValues(fields, values)))
    } catch (err) {
      setReport(undefined)
      setError(errorText(err))
    } finally {
      setBusy(false)
    }
  }

  const found = report?.body === undefined ? [] : leaves(report.body)
  return (
    <section className="card" aria-labelledby="token-test-heading">
      <h3 id="token-test-heading">Test request</h3>
      <p className="hint">
        {test?.hint ?? 'Tries the saved settings once with sample values.'}
        {info.testBeforeReady
          ? ' The connector can be marked as ready only after its current settings pass.'
          : ''}
      </p>
      {view.testRequired === false ? (
        <p className="ok-text">The current settings passed a test request.</p>
      ) : null}
      <form onSubmit={(e) => void run(e)} aria-label="Test request" noValidate>
        {fields.length ? (
          <fieldset className="plain">
            <legend className="section-legend">Sample connection values</legend>
            <FieldInputs fields={fields} values={values} onChange={setValues} />
          </fieldset>
        ) : null}
        <button type="submit" className="primary" disabled={busy || dirty}>
          {busy ? 'Testing…' : 'Test request'}
        </button>
        {dirty ? (
          <span className="hint"> Save the settings first; the test uses the saved ones.</span>
        ) : null}
      </form>
      {error ? (
        <div className="error-box" role="alert">
          <strong>The test request could not run</strong>
          <p>{error}</p>
        </div>
      ) : null}
      {report ? (
        <div className="token-report" aria-live="polite">
          <p className="response-meta">
            <span>
              Status <HttpStatus status={report.status ?? null} />
            </span>
            <span>{report.ok ? `${capitalized(noun)} found` : `No ${noun}`}</span>
          </p>
          {report.problem ? (
            <p className="field-error">
              {report.problem}
              {pick && reported(report, pick.setting)
                ? ` (${pickLabel?.toLowerCase()} ${reported(report, pick.setting)})`
                : ''}
            </p>
          ) : null}
          {report.headerPreview ? (
            <p>
              Header sent on requests: <code>{report.headerPreview}</code>
            </p>
          ) : null}
          {found.length && pick ? (
            <table className="table compact">
              <caption>{`Values in the response: choose the one that is the ${noun}`}</caption>
              <thead>
                <tr>
                  <th scope="col">Path</th>
                  <th scope="col">Value</th>
                  <th scope="col">
                    <span className="visually-hidden">Choose</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {found.map(([path, value]) => (
                  <tr key={path}>
                    <td>
                      <code>{path}</code>
                    </td>
                    <td>{JSON.stringify(value)}</td>
                    <td className="row-actions">
                      {picked === path ? (
                        <span className="badge badge-ready">{pickLabel?.toLowerCase()}</span>
                      ) : (
                        <button
                          type="button"
                          className="secondary small"
                          disabled={b.frozen}
                          onClick={() => b.set(['auth', pick.setting], path)}
                        >
                          {`Use ${path} as the ${noun}`}
                        </button>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : report.body !== undefined ? (
            <pre className="body-text" aria-label={`${capitalized(noun)} response body`}>
              {typeof report.body === 'string' ? report.body : JSON.stringify(report.body, null, 2)}
            </pre>
          ) : null}
        </div>
      ) : null}
    </section>
  )
}
