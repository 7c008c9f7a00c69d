/**
 * Logs: newest first, filtered, followed live, paged with `nextCursor`; an entry
 * opens to show its redacted request and response, refresh outcome, breaker state and error, and
 * the MCP key and tool of an agent's call (docs/mcp.md).
 */
import { useCallback, useEffect, useMemo, useRef, useState } from 'react'
import { api, listAll, type LogView } from '../api.js'
import { Modal } from '../components/dialog.js'
import { EmptyState, ErrorBox, formatTime, HttpStatus, Loading } from '../components/feedback.js'
import { Checkbox, Select, TextInput } from '../components/form.js'
import { useAsync } from '../lib/use-async.js'
import { navigate, useLocation } from '../router.js'
import type { Obj } from '../types.js'

const PAGE = 50
const FOLLOW_MS = 2000

const STATUS_CLASSES: [string, string][] = [
  ['', 'Any status'],
  ['2', '2xx'],
  ['3', '3xx'],
  ['4', '4xx'],
  ['5', '5xx'],
  ['none', 'No answer (refused or failed)'],
]

function statusMatches(l: LogView, cls: string): boolean {
  if (!cls) return true
  if (cls === 'none') return l.status === null
  return l.status !== null && String(l.status).startsWith(cls)
}

export function LogsPage() {
  const { search } = useLocation()
  const connector = search.get('connector') ?? ''
  const connection = search.get('connection') ?? ''
  const action = search.get('action') ?? ''
  const mcpKey = search.get('mcpKey') ?? ''
  const toolParam = search.get('tool') ?? ''
  const [tool, setTool] = useState(toolParam)
  const statusClass = search.get('status') ?? ''
  const refreshed = search.get('refreshed') ?? ''
  const [entries, setEntries] = useState<LogView[] | undefined>()
  const [cursor, setCursor] = useState<string | undefined>()
  const [error, setError] = useState<unknown>()
  const [follow, setFollow] = useState(false)
  const [loadingMore, setLoadingMore] = useState(false)
  const [open, setOpen] = useState<LogView | undefined>()
  const filterKey = `${connector}|${connection}|${action}|${mcpKey}|${toolParam}`
  const keyRef = useRef(filterKey)
  useEffect(() => {
    document.title = 'Logs · Patchbay'
  }, [])

  const connectors = useAsync(
    () => listAll((c) => api.connectors.list({ limit: 200, cursor: c })),
    [],
  )
  const connections = useAsync(
    () => listAll((c) => api.connections.list({ limit: 200, cursor: c })),
    [],
  )
  const mcpKeys = useAsync(() => listAll((c) => api.mcpKeys.list({ limit: 200, cursor: c })), [])
  const names = useMemo(() => {
    const m = new Map<string, string>()
    for (const k of mcpKeys.data ?? []) m.set(k.id, k.name)
    for (const c of connectors.data ?? []) {
      m.set(c.id, c.name)
      for (const a of c.actions) if (a.id) m.set(a.id, a.name)
    }
    for (const c of connections.data ?? []) m.set(c.id, c.name)
    return m
  }, [connectors.data, connections.data, mcpKeys.data])

  const query = useMemo(
    () => ({
      connector: connector || undefined,
      connection: connection || undefined,
      action: action || undefined,
      mcpKey: mcpKey || undefined,
      tool: toolParam || undefined,
      limit: PAGE,
    }),
    [connector, connection, action, mcpKey, toolParam],
  )

  const loadFirst = useCallback(async () => {
    keyRef.current = filterKey
    try {
      const page = await api.logs.list(query)
      if (keyRef.current !== filterKey) return
      setEntries(page.items)
      setCursor(page.nextCursor)
      setError(undefined)
    } catch (err) {
      setError(err)
    }
  }, [query, filterKey])

  useEffect(() => {
    setEntries(undefined)
    void loadFirst()
  }, [loadFirst])

  // Following: newest entries merged in on top every few seconds.
  useEffect(() => {
    if (!follow) return
    const t = window.setInterval(() => {
      api.logs
        .list(query)
        .then((page) => {
          if (keyRef.current !== filterKey) return
          setEntries((current) => {
            const known = new Set((current ?? []).map((e) => e.id))
            const fresh = page.items.filter((e) => !known.has(e.id))
            return fresh.length ? [...fresh, ...(current ?? [])] : current
          })
        })
        .catch((err: unknown) => setError(err))
    }, FOLLOW_MS)
    return () => window.clearInterval(t)
  }, [follow, query, filterKey])

  const more = async () => {
    if (!cursor) return
    setLoadingMore(true)
    try {
      const page = await api.logs.list({ ...query, cursor })
      setEntries((current) => {
        const known = new Set((current ?? []).map((e) => e.id))
        return [...(current ?? []), ...page.items.filter((e) => !known.has(e.id))]
      })
      setCursor(page.nextCursor)
    } catch (err) {
      setError(err)
    } finally {
      setLoadingMore(false)
    }
  }

  const setFilter = (key: string, value: string) => {
    const next = new URLSearchParams(search)
    if (value) next.set(key, value)
    else next.delete(key)
    if (key === 'connector') {
      next.delete('connection')
      next.delete('action')
    }
    const qs = next.toString()
    navigate(`/logs${qs ? `?${qs}` : ''}`, { replace: true })
  }

  // The tool filter applies after a pause in typing.
  useEffect(() => {
    if (tool.trim() === toolParam) return
    const t = window.setTimeout(() => setFilter('tool', tool.trim()), 300)
    return () => window.clearTimeout(t)
  })

  const visible = (entries ?? []).filter(
    (l) =>
      statusMatches(l, statusClass) && (refreshed === '' || (refreshed === 'yes') === l.refreshed),
  )
  const connectorList = connectors.data ?? []
  const connectionList = (connections.data ?? []).filter(
    (c) => !connector || c.connector.id === connector,
  )
  const actionList = connectorList
    .filter((c) => !connector || c.id === connector)
    .flatMap((c) =>
      c.actions.filter((a) => a.id).map((a) => [a.id!, `${a.name} (${c.name})`] as const),
    )

  return (
    <>
      <div className="page-head">
        <h1>Logs</h1>
        <div className="head-actions">
          <Checkbox
            label="Follow live"
            checked={follow}
            onChange={setFollow}
            hint={follow ? 'New calls appear as they happen.' : undefined}
          />
          <button type="button" className="secondary" onClick={() => void loadFirst()}>
            Refresh
          </button>
        </div>
      </div>
      <div className="toolbar filters">
        <Select
          label="Connector"
          value={connector}
          onChange={(v) => setFilter('connector', v)}
          options={[['', 'All connectors'], ...connectorList.map((c) => [c.id, c.name] as const)]}
        />
        <Select
          label="Connection"
          value={connection}
          onChange={(v) => setFilter('connection', v)}
          options={[['', 'All connections'], ...connectionList.map((c) => [c.id, c.name] as const)]}
        />
        <Select
          label="Action"
          value={action}
          onChange={(v) => setFilter('action', v)}
          options={[['', 'All actions'], ...actionList]}
        />
        <Select
          label="MCP key"
          value={mcpKey}
          onChange={(v) => setFilter('mcpKey', v)}
          options={[
            ['', 'Any caller'],
            ...(mcpKeys.data ?? []).map((k) => [k.id, k.name] as const),
          ]}
        />
        <TextInput label="MCP tool" value={tool} onChange={setTool} placeholder="acme__create" />
        <Select
          label="Status class"
          value={statusClass}
          onChange={(v) => setFilter('status', v)}
          options={STATUS_CLASSES}
        />
        <Select
          label="Refreshed"
          value={refreshed}
          onChange={(v) => setFilter('refreshed', v)}
          options={[
            ['', 'Refreshed or not'],
            ['yes', 'Refreshed'],
            ['no', 'Not refreshed'],
          ]}
        />
      </div>
      {error ? (
        <ErrorBox error={error} title="Logs could not be loaded" onRetry={() => void loadFirst()} />
      ) : null}
      {entries === undefined && !error ? (
        <Loading what="Loading logs" />
      ) : entries !== undefined && visible.length === 0 ? (
        <EmptyState
          title={entries.length ? 'No entry matches these filters' : 'No calls logged yet'}
        >
          <p>
            {entries.length
              ? 'Change the status or refresh filter, or load older entries.'
              : 'Every request through a connection is logged here. Send one from the console.'}
          </p>
        </EmptyState>
      ) : entries ? (
        <table className="table logs">
          <caption className="visually-hidden">Log entries, newest first</caption>
          <thead>
            <tr>
              <th scope="col">Time</th>
              <th scope="col">Call</th>
              <th scope="col">Status</th>
              <th scope="col">Duration</th>
              <th scope="col">Connection</th>
              <th scope="col">Refresh</th>
              <th scope="col">
                <span className="visually-hidden">Details</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {visible.map((l) => (
              <tr key={l.id}>
                <td data-label="Time">{formatTime(l.time)}</td>
                <td data-label="Call" className="url-cell">
                  {l.kind !== 'request' ? <span className="badge">{l.kind}</span> : null}{' '}
                  {l.method ? <code>{l.method}</code> : null}{' '}
                  <span className="url">{l.url ?? ''}</span>
                  {l.actionId ? (
                    <div className="muted small">action {names.get(l.actionId) ?? l.actionId}</div>
                  ) : null}
                  {l.tool ? (
                    <div className="muted small">
                      MCP tool <code>{l.tool}</code>
                      {l.mcpKeyId ? ` · key ${names.get(l.mcpKeyId) ?? l.mcpKeyId}` : ''}
                    </div>
                  ) : null}
                  {l.error ? <div className="field-error small">{l.error}</div> : null}
                </td>
                <td data-label="Status">
                  <HttpStatus status={l.status} />
                </td>
                <td data-label="Duration">{l.durationMs === null ? '—' : `${l.durationMs} ms`}</td>
                <td data-label="Connection">
                  {l.connectionId ? (names.get(l.connectionId) ?? l.connectionId) : '—'}
                </td>
                <td data-label="Refresh">
                  {l.refreshed
                    ? `refreshed${l.refreshOutcome ? ` (${l.refreshOutcome})` : ''}`
                    : '—'}
                </td>
                <td className="row-actions">
                  <button
                    type="button"
                    className="secondary small"
                    aria-label={`Details of ${l.method ?? l.kind} ${l.url ?? ''} at ${formatTime(l.time)}`}
                    onClick={() => setOpen(l)}
                  >
                    Details
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {cursor ? (
        <button
          type="button"
          className="secondary"
          disabled={loadingMore}
          onClick={() => void more()}
        >
          {loadingMore ? 'Loading…' : 'Load older entries'}
        </button>
      ) : entries?.length ? (
        <p className="muted small">No older entries.</p>
      ) : null}
      <Modal open={open !== undefined} title="Log entry" onClose={() => setOpen(undefined)} wide>
        {open ? <LogDetail entry={open} names={names} /> : null}
      </Modal>
    </>
  )
}

function Headers({ value, label }: { value: unknown; label: string }) {
  const entries = value && typeof value === 'object' ? Object.entries(value as Obj) : []
  if (!entries.length) return <p className="muted small">No headers.</p>
  return (
    <table className="table compact">
      <caption className="visually-hidden">{label}</caption>
      <tbody>
        {entries.map(([k, v]) => (
          <tr key={k}>
            <th scope="row">{k}</th>
            <td>{Array.isArray(v) ? v.join(', ') : String(v)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  )
}

function Body({ value, label }: { value: unknown; label: string }) {
  if (value === undefined || value === null || value === '')
    return <p className="muted small">No body.</p>
  const text = typeof value === 'string' ? value : JSON.stringify(value, null, 2)
  let pretty = text
  try {
    pretty = JSON.stringify(JSON.parse(text), null, 2)
  } catch {
    pretty = text
  }
  return (
    <pre className="body-text" aria-label={label}>
      {pretty}
    </pre>
  )
}

function LogDetail({ entry, names }: { entry: LogView; names: Map<string, string> }) {
  const detail = (entry.detail ?? {}) as {
    request?: { headers?: unknown; body?: unknown }
    response?: { headers?: unknown; body?: unknown }
  } & Obj
  const { request, response, ...rest } = detail
  return (
    <div className="modal-body log-detail">
      <dl className="props">
        <dt>Time</dt>
        <dd>{formatTime(entry.time)}</dd>
        <dt>Kind</dt>
        <dd>{entry.kind}</dd>
        <dt>Request</dt>
        <dd>
          <code>
            {entry.method ?? ''} {entry.url ?? ''}
          </code>
        </dd>
        <dt>Status</dt>
        <dd>
          <HttpStatus status={entry.status} />
        </dd>
        <dt>Duration</dt>
        <dd>{entry.durationMs === null ? '—' : `${entry.durationMs} ms`}</dd>
        <dt>Connection</dt>
        <dd>{entry.connectionId ? (names.get(entry.connectionId) ?? entry.connectionId) : '—'}</dd>
        <dt>Connector</dt>
        <dd>{entry.connectorId ? (names.get(entry.connectorId) ?? entry.connectorId) : '—'}</dd>
        <dt>Action</dt>
        <dd>{entry.actionId ? (names.get(entry.actionId) ?? entry.actionId) : 'ad-hoc request'}</dd>
        <dt>MCP tool</dt>
        <dd>{entry.tool ? <code>{entry.tool}</code> : '—'}</dd>
        <dt>MCP key</dt>
        <dd>{entry.mcpKeyId ? (names.get(entry.mcpKeyId) ?? entry.mcpKeyId) : '—'}</dd>
        <dt>Refresh</dt>
        <dd>
          {entry.refreshed ? 'refreshed' : 'no refresh'}
          {entry.refreshOutcome ? ` — ${entry.refreshOutcome}` : ''}
        </dd>
        <dt>Breaker</dt>
        <dd>{entry.breakerState ?? '—'}</dd>
        <dt>Error</dt>
        <dd>{entry.error ?? '—'}</dd>
      </dl>
      {request ? (
        <section aria-label="Logged request">
          <h3>Request (redacted)</h3>
          <Headers value={request.headers} label="Request headers" />
          <Body value={request.body} label="Request body" />
        </section>
      ) : null}
      {response ? (
        <section aria-label="Logged response">
          <h3>Response (redacted)</h3>
          <Headers value={response.headers} label="Response headers" />
          <Body value={response.body} label="Response body" />
        </section>
      ) : null}
      {Object.keys(rest).length ? (
        <section aria-label="Other details">
          <h3>Other details</h3>
          <Body value={rest} label="Other details" />
        </section>
      ) : null}
    </div>
  )
}
