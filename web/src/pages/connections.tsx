/**
 * Connections: filter by connector, end user and status; add one.
 */
import { useEffect, useState } from 'react'
import { CONNECTION_STATUSES } from '../../../src/connector/literals.js'
import { api, listAll, type ConnectionStatus } from '../api.js'
import {
  EmptyState,
  ErrorBox,
  formatTime,
  Loading,
  relativeTime,
  StatusBadge,
} from '../components/feedback.js'
import { Select, TextInput } from '../components/form.js'
import { useAsync } from '../lib/use-async.js'
import { Link, navigate, useLocation } from '../router.js'

const STATUSES: [string, string][] = [
  ['', 'Any status'],
  ...CONNECTION_STATUSES.map((s): [string, string] => [s, s]),
]

export function ConnectionsPage() {
  const { search } = useLocation()
  const connector = search.get('connector') ?? ''
  const status = search.get('status') ?? ''
  const endUserParam = search.get('endUser') ?? ''
  const [endUser, setEndUser] = useState(endUserParam)
  useEffect(() => {
    document.title = 'Connections · Patchbay'
  }, [])

  const setFilter = (key: string, value: string) => {
    const next = new URLSearchParams(search)
    if (value) next.set(key, value)
    else next.delete(key)
    const qs = next.toString()
    navigate(`/connections${qs ? `?${qs}` : ''}`, { replace: true })
  }

  // The end-user filter applies after a pause in typing.
  useEffect(() => {
    if (endUser === endUserParam) return
    const t = window.setTimeout(() => setFilter('endUser', endUser.trim()), 300)
    return () => window.clearTimeout(t)
  })

  const connectors = useAsync(
    () => listAll((cursor) => api.connectors.list({ limit: 200, cursor })),
    [],
  )
  const list = useAsync(
    () =>
      listAll((cursor) =>
        api.connections.list({
          connector: connector || undefined,
          endUser: endUserParam || undefined,
          status: (status || undefined) as ConnectionStatus | undefined,
          limit: 200,
          cursor,
        }),
      ),
    [connector, endUserParam, status],
  )
  const filtered = connector || status || endUserParam
  const readyConnectors = (connectors.data ?? []).filter((c) => c.stage === 'ready')

  return (
    <>
      <div className="page-head">
        <h1>Connections</h1>
        <div className="head-actions">
          <Link
            className="button primary"
            to={`/connections/new${connector ? `?connector=${encodeURIComponent(connector)}` : ''}`}
          >
            Add connection
          </Link>
        </div>
      </div>
      <p className="lead">
        A connection is one user's credentials for a ready connector. Requests through it carry its
        authentication.
      </p>
      <div className="toolbar filters">
        <Select
          label="Connector"
          value={connector}
          onChange={(v) => setFilter('connector', v)}
          options={[
            ['', 'All connectors'],
            ...(connectors.data ?? []).map((c) => [c.id, c.name] as const),
          ]}
        />
        <TextInput label="End user" value={endUser} onChange={setEndUser} placeholder="user-42" />
        <Select
          label="Status"
          value={status}
          onChange={(v) => setFilter('status', v)}
          options={STATUSES}
        />
      </div>
      {list.error ? (
        <ErrorBox
          error={list.error}
          title="Connections could not be loaded"
          onRetry={() => void list.reload()}
        />
      ) : list.data === undefined ? (
        <Loading what="Loading connections" />
      ) : list.data.length === 0 ? (
        filtered ? (
          <EmptyState title="No connection matches these filters">
            <button
              type="button"
              className="secondary"
              onClick={() => {
                setEndUser('')
                navigate('/connections', { replace: true })
              }}
            >
              Clear the filters
            </button>
          </EmptyState>
        ) : (
          <EmptyState title="No connections yet">
            {readyConnectors.length ? (
              <>
                <p>Add a connection to a ready connector to start calling its API.</p>
                <Link className="button primary" to="/connections/new">
                  Add a connection
                </Link>
              </>
            ) : (
              <>
                <p>Connections need a ready connector. Build one first and mark it as ready.</p>
                <Link className="button primary" to="/connectors">
                  Go to connectors
                </Link>
              </>
            )}
          </EmptyState>
        )
      ) : (
        <table className="table">
          <caption className="visually-hidden">Connections</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Connector</th>
              <th scope="col">End user</th>
              <th scope="col">Status</th>
              <th scope="col">Identity</th>
              <th scope="col">Token expiry</th>
            </tr>
          </thead>
          <tbody>
            {list.data.map((c) => (
              <tr key={c.id}>
                <td data-label="Name">
                  <Link to={`/connections/${encodeURIComponent(c.id)}`}>{c.name}</Link>
                </td>
                <td data-label="Connector">{c.connector.name}</td>
                <td data-label="End user">{c.endUser ?? <span className="muted">—</span>}</td>
                <td data-label="Status">
                  <StatusBadge status={c.status} />
                  {c.statusMessage ? <div className="muted small">{c.statusMessage}</div> : null}
                </td>
                <td data-label="Identity">{c.identity ?? <span className="muted">—</span>}</td>
                <td data-label="Token expiry">
                  {c.expiresAt ? (
                    <span title={formatTime(c.expiresAt)}>{relativeTime(c.expiresAt)}</span>
                  ) : (
                    <span className="muted">—</span>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  )
}
