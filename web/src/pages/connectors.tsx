/**
 * Connectors: logo, name, stage, auth type, connection count; search; new; import; export.
 */
import { useEffect, useRef, useState } from 'react'
import { api, errorText, listAll, type ConnectorInput, type ConnectorView } from '../api.js'
import { AuthTypeName } from '../components/auth-type-name.js'
import { EmptyState, ErrorBox, Loading, StageBadge } from '../components/feedback.js'
import { TextInput } from '../components/form.js'
import { useToast } from '../components/toast.js'
import { exportOf } from '../lib/definition.js'
import { downloadJson } from '../lib/download.js'
import { useAsync } from '../lib/use-async.js'
import { Link, navigate } from '../router.js'

export function Logo({ connector, size = 'small' }: { connector: ConnectorView; size?: string }) {
  return connector.logo ? (
    <img className={`logo logo-${size}`} src={connector.logo} alt="" />
  ) : (
    <span className={`logo logo-${size} logo-empty`} aria-hidden="true">
      {connector.name.slice(0, 1).toUpperCase()}
    </span>
  )
}

export function ConnectorsPage() {
  const list = useAsync(() => listAll((cursor) => api.connectors.list({ limit: 200, cursor })), [])
  const [query, setQuery] = useState('')
  const notify = useToast()
  const fileRef = useRef<HTMLInputElement>(null)
  useEffect(() => {
    document.title = 'Connectors · Patchbay'
  }, [])

  const importFile = async (file: File | undefined) => {
    if (!file) return
    let parsed: unknown
    try {
      parsed = JSON.parse(await file.text())
    } catch (err) {
      notify(`${file.name} is not valid JSON: ${(err as Error).message}`, 'error')
      return
    }
    try {
      // The file as it is: the server checks it.
      const created = await api.connectors.create(parsed as ConnectorInput)
      notify(`Imported “${created.name}” as a draft`)
      navigate(`/connectors/${encodeURIComponent(created.id)}`)
    } catch (err) {
      notify(`Import failed: ${errorText(err)}`, 'error')
    }
  }

  const q = query.trim().toLowerCase()
  const items = (list.data ?? []).filter(
    (c) =>
      !q ||
      c.name.toLowerCase().includes(q) ||
      c.linkName.toLowerCase().includes(q) ||
      (c.description ?? '').toLowerCase().includes(q) ||
      c.auth.type.includes(q),
  )

  return (
    <>
      <div className="page-head">
        <h1>Connectors</h1>
        <div className="head-actions">
          <Link className="button primary" to="/connectors/new">
            New connector
          </Link>
          <input
            ref={fileRef}
            type="file"
            accept="application/json,.json"
            className="visually-hidden"
            aria-label="Connector JSON file to import"
            tabIndex={-1}
            onChange={(e) => {
              void importFile(e.target.files?.[0])
              e.target.value = ''
            }}
          />
          <button type="button" className="secondary" onClick={() => fileRef.current?.click()}>
            Import JSON
          </button>
        </div>
      </div>
      <p className="lead">
        A connector describes how to authenticate against an HTTP API. Build one, mark it ready,
        then add connections and call the API through them.
      </p>
      <div className="toolbar">
        <TextInput
          type="search"
          label="Search connectors"
          value={query}
          onChange={setQuery}
          placeholder="Name, link name, auth type"
          className="grow"
        />
      </div>
      {list.error ? (
        <ErrorBox
          error={list.error}
          title="Connectors could not be loaded"
          onRetry={() => void list.reload()}
        />
      ) : list.data === undefined ? (
        <Loading what="Loading connectors" />
      ) : list.data.length === 0 ? (
        <EmptyState title="No connectors yet">
          <p>
            Create your first connector: give it a name and a base URL, choose how it authenticates,
            then mark it as ready. Or import a connector JSON file.
          </p>
          <Link className="button primary" to="/connectors/new">
            Create a connector
          </Link>
        </EmptyState>
      ) : items.length === 0 ? (
        <EmptyState title={`No connector matches “${query}”`}>
          <button type="button" className="secondary" onClick={() => setQuery('')}>
            Clear the search
          </button>
        </EmptyState>
      ) : (
        <table className="table">
          <caption className="visually-hidden">Connectors</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Stage</th>
              <th scope="col">Auth type</th>
              <th scope="col">Connections</th>
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {items.map((c) => (
              <tr key={c.id}>
                <td data-label="Name">
                  <div className="name-cell">
                    <Logo connector={c} />
                    <div>
                      <Link to={`/connectors/${encodeURIComponent(c.id)}`}>{c.name}</Link>
                      <div className="muted small">
                        <code>{c.linkName}</code>
                        {c.description ? ` · ${c.description}` : ''}
                      </div>
                    </div>
                  </div>
                </td>
                <td data-label="Stage">
                  <StageBadge stage={c.stage} />
                </td>
                <td data-label="Auth type">
                  <AuthTypeName type={c.auth.type} />
                </td>
                <td data-label="Connections">
                  <Link to={`/connections?connector=${encodeURIComponent(c.id)}`}>
                    {c.connectionCount}
                    <span className="visually-hidden"> connections of {c.name}</span>
                  </Link>
                </td>
                <td className="row-actions">
                  <button
                    type="button"
                    className="secondary small"
                    aria-label={`Export ${c.name} as JSON`}
                    onClick={() => downloadJson(`${c.linkName}.json`, exportOf(c))}
                  >
                    Export
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  )
}
