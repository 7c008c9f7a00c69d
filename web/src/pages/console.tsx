/**
 * The action console (docs/concepts.md): send any request through a connection, see the answer,
 * keep a history, save it as an action, copy it as curl through /proxy, and run saved actions.
 */
import { useEffect, useMemo, useState, type FormEvent } from 'react'
import { HTTP_METHODS } from '../../../src/connector/literals.js'
import { proxy } from '../../../src/server/contract.js'
import {
  api,
  ApiError,
  errorText,
  listAll,
  type ConnectionView,
  type ConnectorView,
  type RequestInput,
  type RequestOutcome,
} from '../api.js'
import { Modal } from '../components/dialog.js'
import {
  BreakerState,
  EmptyState,
  ErrorBox,
  HttpStatus,
  Loading,
  StatusBadge,
} from '../components/feedback.js'
import { cleanValues, FieldInputs, initialValues } from '../components/field-inputs.js'
import { Select, TextArea, TextInput } from '../components/form.js'
import { JsonView } from '../components/json-view.js'
import { KeyValueEditor } from '../components/kv-editor.js'
import { useToast } from '../components/toast.js'
import { resolvedUrl } from '../lib/resolved-url.js'
import { useAsync } from '../lib/use-async.js'
import { Link, navigate, useLocation } from '../router.js'
import type { CustomActionSettings, Obj, SavedAction } from '../types.js'

const HISTORY_MAX = 25

interface Draft {
  method: string
  path: string
  query: Record<string, string> | undefined
  headers: Record<string, string> | undefined
  body: string
}

interface HistoryEntry extends Draft {
  at: string
  status: number | null
  ms: number
}

const EMPTY: Draft = { method: 'GET', path: '', query: undefined, headers: undefined, body: '' }

function historyKey(connectionId: string): string {
  return `patchbay.history.${connectionId}`
}

function readHistory(connectionId: string): HistoryEntry[] {
  try {
    const raw = window.localStorage.getItem(historyKey(connectionId))
    const list = raw ? (JSON.parse(raw) as unknown) : []
    return Array.isArray(list) ? (list as HistoryEntry[]) : []
  } catch {
    return []
  }
}

function writeHistory(connectionId: string, entries: HistoryEntry[]): void {
  try {
    window.localStorage.setItem(historyKey(connectionId), JSON.stringify(entries))
  } catch {
    // storage full or disabled: history is a convenience
  }
}

function bodyOf(d: Draft): unknown {
  if (d.method === 'GET' || d.method === 'HEAD' || d.body.trim() === '') return undefined
  try {
    return JSON.parse(d.body) as unknown
  } catch {
    return d.body
  }
}

function toInput(d: Draft): RequestInput {
  const input: RequestInput = { method: d.method }
  if (/^https?:\/\//i.test(d.path)) input.url = d.path
  else input.path = d.path
  if (d.query) input.query = d.query
  const body = bodyOf(d)
  const headers = { ...(d.headers ?? {}) }
  if (
    typeof body === 'string' &&
    !Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')
  )
    headers['content-type'] = 'text/plain; charset=utf-8'
  if (Object.keys(headers).length) input.headers = headers
  if (body !== undefined) input.body = body
  return input
}

const shellQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`

/** The same call through the transparent proxy; the admin key stays a placeholder. */
export function curlOf(connectionId: string, d: Draft): string {
  const url = new URL(
    proxy.forward.path
      .replace(':id', encodeURIComponent(connectionId))
      .replace('*', () => d.path.replace(/^\/+/, '')),
    window.location.origin,
  )
  for (const [k, v] of Object.entries(d.query ?? {})) url.searchParams.append(k, v)
  const parts = [
    `curl -X ${d.method} ${shellQuote(url.href)}`,
    `-H "Authorization: Bearer $PATCHBAY_ADMIN_KEY"`,
  ]
  const body = bodyOf(d)
  const headers = { ...(d.headers ?? {}) }
  if (body !== undefined && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-type'))
    headers['Content-Type'] = typeof body === 'string' ? 'text/plain' : 'application/json'
  for (const [k, v] of Object.entries(headers)) parts.push(`-H ${shellQuote(`${k}: ${v}`)}`)
  if (body !== undefined)
    parts.push(`--data-raw ${shellQuote(typeof body === 'string' ? body : JSON.stringify(body))}`)
  return parts.join(' \\\n  ')
}

interface Answer {
  outcome?: RequestOutcome
  error?: unknown
  ms: number
  label: string
  action?: string
}

export function ConsolePage() {
  const { search } = useLocation()
  const connectionId = search.get('connection') ?? ''
  const notify = useToast()
  const connections = useAsync(
    () => listAll((cursor) => api.connections.list({ limit: 200, cursor })),
    [],
  )
  const connection = connections.data?.find((c) => c.id === connectionId)
  const connector = useAsync<ConnectorView | undefined>(
    () => (connection ? api.connectors.get(connection.connector.id) : Promise.resolve(undefined)),
    [connection?.connector.id],
  )
  const [draft, setDraft] = useState<Draft>(EMPTY)
  const [answer, setAnswer] = useState<Answer | undefined>()
  const [sending, setSending] = useState(false)
  const [history, setHistory] = useState<HistoryEntry[]>([])
  const [curl, setCurl] = useState<string | undefined>()
  const [saveOpen, setSaveOpen] = useState(false)
  useEffect(() => {
    document.title = 'Console · Patchbay'
  }, [])
  useEffect(() => {
    setHistory(connectionId ? readHistory(connectionId) : [])
    setAnswer(undefined)
    setCurl(undefined)
  }, [connectionId])

  const url = useMemo(
    () => resolvedUrl(connector.data, connection, draft.path, draft.query),
    [connector.data, connection, draft.path, draft.query],
  )

  const send = async (e: FormEvent) => {
    e.preventDefault()
    if (!connection) return
    setSending(true)
    const started = performance.now()
    let status: number | null = null
    try {
      const outcome = await api.connections.request(connection.id, toInput(draft))
      status = outcome.status
      setAnswer({
        outcome,
        ms: Math.round(performance.now() - started),
        label: `${draft.method} ${url}`,
      })
    } catch (err) {
      setAnswer({
        error: err,
        ms: Math.round(performance.now() - started),
        label: `${draft.method} ${url}`,
      })
    } finally {
      setSending(false)
      const entry: HistoryEntry = {
        ...draft,
        at: new Date().toISOString(),
        status,
        ms: Math.round(performance.now() - started),
      }
      const next = [entry, ...history].slice(0, HISTORY_MAX)
      setHistory(next)
      writeHistory(connection.id, next)
      void connections.reload()
    }
  }

  const saveAsAction = async (name: string) => {
    const c = connector.data
    if (!c) return
    const action: SavedAction = {
      name,
      method: draft.method,
      path: draft.path.replace(/^\/+/, '') || '/',
      inputs: [],
    }
    if (draft.query) action.query = draft.query
    if (draft.headers) action.headers = draft.headers
    const body = bodyOf(draft)
    if (body !== undefined) action.body = body
    const actions = [...c.actions.map(({ breaker: _b, ...a }) => a), action]
    const updated = await api.connectors.update(c.id, { actions })
    connector.set(updated)
    notify(`Saved the action “${name}” on ${c.name}`)
    setSaveOpen(false)
  }

  if (connections.error)
    return <ErrorBox error={connections.error} onRetry={() => void connections.reload()} />
  if (!connections.data) return <Loading what="Loading connections" />

  const c = connector.data
  // Checked by the connector schema when saved; the view types it as any object.
  const help = (c?.customAction as CustomActionSettings | undefined)?.help
  return (
    <>
      <h1>Action console</h1>
      {connections.data.length === 0 ? (
        <EmptyState title="No connections to call through">
          <p>Add a connection to a ready connector, then come back to send requests through it.</p>
          <Link className="button primary" to="/connections/new">
            Add a connection
          </Link>
        </EmptyState>
      ) : (
        <div className="toolbar">
          <Select
            label="Connection"
            value={connectionId}
            className="grow"
            onChange={(v) =>
              navigate(v ? `/console?connection=${encodeURIComponent(v)}` : '/console', {
                replace: true,
              })
            }
            options={[
              ['', 'Choose a connection…'],
              ...connections.data.map(
                (x) => [x.id, `${x.name} — ${x.connector.name} (${x.status})`] as const,
              ),
            ]}
          />
        </div>
      )}
      {connectionId && !connection ? (
        <ErrorBox error={new Error(`No connection ${connectionId}.`)} title="Unknown connection" />
      ) : null}
      {connection ? (
        <>
          <p className="muted">
            <StatusBadge status={connection.status} />{' '}
            <Link to={`/connections/${encodeURIComponent(connection.id)}`}>{connection.name}</Link>{' '}
            · breaker <BreakerState breaker={connection.breaker} />
          </p>
          {connector.error ? <ErrorBox error={connector.error} /> : null}
          {c && !c.customAction.enabled ? (
            <p className="notice">
              Custom actions are off for {c.name}: requests are refused.{' '}
              <Link to={`/connectors/${encodeURIComponent(c.id)}?tab=actions`}>
                Enable them in the connector
              </Link>
              .
            </p>
          ) : null}
          {help?.body || help?.learnMoreUrl ? (
            <div className="help-box">
              {help.body ? <p className="pre-line">{help.body}</p> : null}
              {help.learnMoreUrl ? (
                <a href={help.learnMoreUrl} target="_blank" rel="noreferrer noopener">
                  {help.learnMoreText || 'Learn more'}
                </a>
              ) : null}
            </div>
          ) : null}
          <div className="console">
            <form className="card" onSubmit={(e) => void send(e)} aria-label="Request">
              <h2>Request</h2>
              <div className="grid-request">
                <Select
                  label="Method"
                  value={draft.method}
                  onChange={(method) => setDraft({ ...draft, method })}
                  options={HTTP_METHODS.map((m) => [m, m] as const)}
                />
                <TextInput
                  label="Path"
                  value={draft.path}
                  placeholder="contacts?limit=10"
                  onChange={(path) => setDraft({ ...draft, path })}
                  hint="Relative to the connector's base URL, or an absolute URL on its origin."
                />
              </div>
              <p className="resolved">
                <span className="muted">Resolved URL: </span>
                <code>{url}</code>
              </p>
              <KeyValueEditor
                label="Query parameters"
                value={draft.query}
                onChange={(query) => setDraft({ ...draft, query })}
              />
              <KeyValueEditor
                label="Headers"
                value={draft.headers}
                onChange={(headers) => setDraft({ ...draft, headers })}
                hint="The connection's credentials are added by Patchbay."
              />
              <TextArea
                label="Body"
                mono
                rows={5}
                value={draft.body}
                disabled={draft.method === 'GET' || draft.method === 'HEAD'}
                onChange={(body) => setDraft({ ...draft, body })}
                hint="JSON is sent as JSON; anything else as text."
              />
              <div className="form-actions">
                <button type="submit" className="primary" disabled={sending}>
                  {sending ? 'Sending…' : 'Send'}
                </button>
                <button
                  type="button"
                  className="secondary"
                  disabled={!c || !draft.path}
                  onClick={() => setSaveOpen(true)}
                >
                  Save as action
                </button>
                <button
                  type="button"
                  className="secondary"
                  onClick={() => {
                    const text = curlOf(connection.id, draft)
                    setCurl(text)
                    navigator.clipboard?.writeText(text).then(
                      () => notify('curl command copied'),
                      () => notify('Select the curl command below to copy it', 'info'),
                    )
                  }}
                >
                  Copy as curl
                </button>
              </div>
              {curl ? (
                <TextArea
                  label="curl command"
                  mono
                  readOnly
                  rows={Math.min(8, curl.split('\n').length + 2)}
                  value={curl}
                  onChange={() => undefined}
                  hint="Set PATCHBAY_ADMIN_KEY to your admin key first."
                />
              ) : null}
            </form>
            <ResponsePanel answer={answer} />
          </div>
          <History
            entries={history}
            onLoad={(h) =>
              setDraft({
                method: h.method,
                path: h.path,
                query: h.query,
                headers: h.headers,
                body: h.body,
              })
            }
            onClear={() => {
              setHistory([])
              writeHistory(connection.id, [])
            }}
          />
          {c ? (
            <SavedActions
              connector={c}
              connection={connection}
              onAnswer={setAnswer}
              onChanged={() => void connector.reload()}
            />
          ) : null}
          <SaveActionDialog
            open={saveOpen}
            onClose={() => setSaveOpen(false)}
            onSave={saveAsAction}
            suggestion={`${draft.method} ${draft.path}`
              .replace(/[^\p{L}\p{N}_ /-]/gu, ' ')
              .trim()
              .slice(0, 50)}
          />
        </>
      ) : null}
    </>
  )
}

function ResponsePanel({ answer }: { answer: Answer | undefined }) {
  const [raw, setRaw] = useState(false)
  if (!answer)
    return (
      <section className="card response" aria-labelledby="response-heading">
        <h2 id="response-heading">Response</h2>
        <p className="muted">Send a request to see the API's answer here.</p>
      </section>
    )
  if (answer.error) {
    const err = answer.error
    return (
      <section className="card response" aria-labelledby="response-heading">
        <h2 id="response-heading">Response</h2>
        <p className="muted small">{answer.label}</p>
        <div className="error-box" role="alert">
          <strong>
            Patchbay refused or could not complete the call
            {err instanceof ApiError ? ` (HTTP ${err.status}, ${err.code})` : ''}
          </strong>
          <p>{errorText(err)}</p>
        </div>
        <p className="muted small">Time: {answer.ms} ms</p>
      </section>
    )
  }
  const o = answer.outcome!
  const headers = Object.entries(o.headers)
  const isJson = o.bodyEncoding !== 'base64' && o.body !== null && typeof o.body === 'object'
  return (
    <section className="card response" aria-labelledby="response-heading">
      <h2 id="response-heading">Response</h2>
      <p className="muted small">{answer.label}</p>
      <p className="response-meta" aria-live="polite">
        <span>
          Status <HttpStatus status={o.status} />
        </span>
        <span>Time {answer.ms} ms</span>
        <span>{o.refreshed ? 'Credentials were refreshed' : 'No refresh'}</span>
      </p>
      {o.error ? (
        <div className="error-box" role="alert">
          <strong>Detected as an error ({o.error.code})</strong>
          <p>{o.error.message}</p>
        </div>
      ) : null}
      <details className="group">
        <summary>Response headers ({headers.length})</summary>
        <table className="table compact">
          <caption className="visually-hidden">Response headers</caption>
          <tbody>
            {headers.map(([k, v]) => (
              <tr key={k}>
                <th scope="row">{k}</th>
                <td>{Array.isArray(v) ? v.join(', ') : v}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </details>
      <h3>Body</h3>
      {o.bodyEncoding === 'base64' ? (
        <BinaryBody base64={String(o.body)} type={String(o.headers['content-type'] ?? '')} />
      ) : isJson ? (
        <>
          <button type="button" className="secondary small" onClick={() => setRaw(!raw)}>
            {raw ? 'Show as a tree' : 'Show raw JSON'}
          </button>
          {raw ? (
            <pre className="body-text" aria-label="Response body">
              {JSON.stringify(o.body, null, 2)}
            </pre>
          ) : (
            <JsonView value={o.body} label="Response body" />
          )}
        </>
      ) : o.body === '' || o.body === null ? (
        <p className="muted">Empty body.</p>
      ) : (
        <pre className="body-text" aria-label="Response body">
          {typeof o.body === 'string' ? o.body : JSON.stringify(o.body)}
        </pre>
      )}
    </section>
  )
}

function BinaryBody({ base64, type }: { base64: string; type: string }) {
  const bytes =
    Math.floor((base64.length * 3) / 4) - (base64.endsWith('==') ? 2 : base64.endsWith('=') ? 1 : 0)
  const href = useMemo(() => {
    const bin = atob(base64)
    const arr = new Uint8Array(bin.length)
    for (let i = 0; i < bin.length; i++) arr[i] = bin.charCodeAt(i)
    return URL.createObjectURL(new Blob([arr], { type: type || 'application/octet-stream' }))
  }, [base64, type])
  useEffect(() => () => URL.revokeObjectURL(href), [href])
  return (
    <p>
      Binary body ({type || 'unknown type'}, {bytes} bytes).{' '}
      <a href={href} download="response.bin">
        Download the body
      </a>
    </p>
  )
}

function History({
  entries,
  onLoad,
  onClear,
}: {
  entries: HistoryEntry[]
  onLoad: (h: HistoryEntry) => void
  onClear: () => void
}) {
  return (
    <section className="card" aria-labelledby="history-heading">
      <div className="section-head">
        <h2 id="history-heading">History</h2>
        {entries.length ? (
          <button type="button" className="secondary small" onClick={onClear}>
            Clear history
          </button>
        ) : null}
      </div>
      {entries.length === 0 ? (
        <p className="muted">Requests you send through this connection are listed here.</p>
      ) : (
        <ul className="history">
          {entries.map((h, i) => (
            <li key={i}>
              <button type="button" className="link-button" onClick={() => onLoad(h)}>
                <span className="visually-hidden">Load request: </span>
                <code>
                  {h.method} {h.path || '/'}
                </code>
              </button>{' '}
              <HttpStatus status={h.status} />{' '}
              <span className="muted small">
                {h.ms} ms · {new Date(h.at).toLocaleTimeString()}
              </span>
            </li>
          ))}
        </ul>
      )}
    </section>
  )
}

function SaveActionDialog({
  open,
  onClose,
  onSave,
  suggestion,
}: {
  open: boolean
  onClose: () => void
  onSave: (name: string) => Promise<void>
  suggestion: string
}) {
  const [name, setName] = useState('')
  const [error, setError] = useState<string | undefined>()
  const [busy, setBusy] = useState(false)
  useEffect(() => {
    if (open) {
      setName(suggestion)
      setError(undefined)
    }
  }, [open, suggestion])
  return (
    <Modal open={open} title="Save as action" onClose={onClose}>
      <form
        className="modal-body"
        onSubmit={(e) => {
          e.preventDefault()
          setBusy(true)
          onSave(name.trim())
            .catch((err: unknown) => setError(errorText(err)))
            .finally(() => setBusy(false))
        }}
      >
        <p>
          Saves this request on the connector as a saved action. Add inputs to it in the builder.
        </p>
        <TextInput label="Action name" value={name} onChange={setName} error={error} />
        <div className="modal-actions">
          <button type="button" className="secondary" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="primary" disabled={busy || !name.trim()}>
            Save action
          </button>
        </div>
      </form>
    </Modal>
  )
}

function SavedActions({
  connector,
  connection,
  onAnswer,
  onChanged,
}: {
  connector: ConnectorView
  connection: ConnectionView
  onAnswer: (a: Answer) => void
  onChanged: () => void
}) {
  const notify = useToast()
  const [openId, setOpenId] = useState<string | undefined>()
  const [values, setValues] = useState<Obj>({})
  const [running, setRunning] = useState(false)
  const actions = connector.actions.filter((a) => a.id)
  const open = actions.find((a) => a.id === openId)
  useEffect(() => {
    setValues(open ? initialValues(open.inputs) : {})
  }, [open])

  const run = async (e: FormEvent) => {
    e.preventDefault()
    if (!open?.id) return
    setRunning(true)
    const started = performance.now()
    const label = `Action “${open.name}”: ${open.method} ${open.path}`
    try {
      const outcome = await api.actions.run(open.id, {
        connection: connection.id,
        inputs: cleanValues(open.inputs, values),
      })
      onAnswer({ outcome, ms: Math.round(performance.now() - started), label, action: open.name })
    } catch (err) {
      onAnswer({ error: err, ms: Math.round(performance.now() - started), label })
    } finally {
      setRunning(false)
      onChanged()
    }
  }

  return (
    <section className="card" aria-labelledby="saved-heading">
      <h2 id="saved-heading">Saved actions of {connector.name}</h2>
      {actions.length === 0 ? (
        <p className="muted">
          None yet. Send a request and choose “Save as action”, or add actions in the{' '}
          <Link to={`/connectors/${encodeURIComponent(connector.id)}?tab=actions`}>builder</Link>.
        </p>
      ) : (
        <ul className="actions-list">
          {actions.map((a) => (
            <li key={a.id}>
              <div className="action-row">
                <div>
                  <strong>{a.name}</strong>{' '}
                  <code>
                    {a.method} {a.path}
                  </code>
                  {a.description ? <div className="muted small">{a.description}</div> : null}
                  <div className="small">
                    Breaker: <BreakerState breaker={a.breaker} />
                  </div>
                </div>
                <div className="row-actions">
                  <button
                    type="button"
                    className="secondary small"
                    aria-expanded={openId === a.id}
                    onClick={() => setOpenId(openId === a.id ? undefined : a.id)}
                  >
                    {openId === a.id ? `Close ${a.name}` : `Run ${a.name}`}
                  </button>
                  {a.breaker && (a.breaker.state !== 'closed' || a.breaker.failures > 0) ? (
                    <button
                      type="button"
                      className="secondary small"
                      onClick={() =>
                        void api.actions
                          .resetBreaker(a.id!)
                          .then(() => {
                            notify(`Breaker of ${a.name} reset`)
                            onChanged()
                          })
                          .catch((err: unknown) => notify(errorText(err), 'error'))
                      }
                    >
                      Reset breaker of {a.name}
                    </button>
                  ) : null}
                </div>
              </div>
              {openId === a.id ? (
                <form
                  className="action-form"
                  onSubmit={(e) => void run(e)}
                  aria-label={`Run ${a.name}`}
                >
                  {a.inputs.length ? (
                    <FieldInputs fields={a.inputs} values={values} onChange={setValues} />
                  ) : (
                    <p className="muted">This action has no inputs.</p>
                  )}
                  <button type="submit" className="primary" disabled={running}>
                    {running ? 'Running…' : `Run action ${a.name}`}
                  </button>
                </form>
              ) : null}
            </li>
          ))}
        </ul>
      )}
    </section>
  )
}
