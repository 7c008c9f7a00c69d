/**
 * The HTTP-request token test (Intercom's flow): send the configured token request with sample
 * values, see what the endpoint answered, pick the value that is the token to set `tokenPath`,
 * and preview the header requests will carry. A connector is marked ready only once its current
 * settings passed the test.
 */
import { useState, type FormEvent } from 'react'
import { api, errorText, type TokenTestReport } from '../../api.js'
import { cleanValues, FieldInputs } from '../../components/field-inputs.js'
import { HttpStatus } from '../../components/feedback.js'
import type { Obj } from '../../types.js'
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

export function TokenTest({ dirty }: { dirty: boolean }) {
  const b = useBuilder()
  const [values, setValues] = useState<Obj>({})
  const [report, setReport] = useState<TokenTestReport | undefined>()
  const [error, setError] = useState<string | undefined>()
  const [busy, setBusy] = useState(false)
  const view = b.view
  if (!view) return null
  const fields = view.fields
  const tokenPath = b.draft.auth.tokenPath as string | undefined

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
        Sends the token request once with sample values, so you can check it and pick where the
        token is. The connector can be marked as ready only after its current settings pass.
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
            <span>{report.ok ? 'Token found' : 'No token'}</span>
          </p>
          {report.problem ? (
            <p className="field-error">
              {report.problem}
              {report.tokenPath ? ` (token path ${report.tokenPath})` : ''}
            </p>
          ) : null}
          {report.headerPreview ? (
            <p>
              Header sent on requests: <code>{report.headerPreview}</code>
            </p>
          ) : null}
          {found.length ? (
            <table className="table compact">
              <caption>Values in the response: choose the one that is the token</caption>
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
                      {tokenPath === path ? (
                        <span className="badge badge-ready">token path</span>
                      ) : (
                        <button
                          type="button"
                          className="secondary small"
                          disabled={b.frozen}
                          onClick={() => b.set(['auth', 'tokenPath'], path)}
                        >
                          Use {path} as the token
                        </button>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : report.body !== undefined ? (
            <pre className="body-text" aria-label="Token response body">
              {typeof report.body === 'string' ? report.body : JSON.stringify(report.body, null, 2)}
            </pre>
          ) : null}
        </div>
      ) : null}
    </section>
  )
}
