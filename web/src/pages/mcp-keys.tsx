/**
 * MCP keys (docs/mcp.md): the scoped keys AI agents use on `/mcp` and `patchbay mcp`. Create one
 * for an end user (or named connections) and a set of connectors or single actions — the key is
 * shown once, with a client configuration to copy — list them (never the keys) and revoke them.
 */
import { useEffect, useMemo, useState } from 'react'
import { api, ApiError, errorText, listAll } from '../api.js'
import { useConfirm } from '../components/dialog.js'
import { EmptyState, ErrorBox, formatTime, Loading } from '../components/feedback.js'
import { Checkbox, CheckboxGroup, Select, TextInput } from '../components/form.js'
import { useToast } from '../components/toast.js'
import { useAsync } from '../lib/use-async.js'
import { Link } from '../router.js'
import type { CreatedMcpKey, FieldIssue, McpKeyView } from '../api.js'

type Scope = 'endUser' | 'connections'

/** The first issue under `path` (itself or `path.N`). */
function issueAt(issues: FieldIssue[], path: string): string | undefined {
  return issues.find((i) => i.path === path || i.path.startsWith(`${path}.`))?.rule
}

function clientConfig(created: CreatedMcpKey): string {
  return JSON.stringify(
    {
      mcpServers: {
        patchbay: {
          // The installed CLI, never `npx patchbay`: that could fetch another package by that name.
          command: 'patchbay',
          args: ['mcp'],
          env: { PATCHBAY_MCP_KEY: created.key, PATCHBAY_URL: window.location.origin },
        },
      },
    },
    null,
    2,
  )
}

export function McpKeysPage() {
  const notify = useToast()
  const confirm = useConfirm()
  useEffect(() => {
    document.title = 'MCP keys · Patchbay'
  }, [])

  const keys = useAsync(() => listAll((cursor) => api.mcpKeys.list({ limit: 200, cursor })), [])
  const connectors = useAsync(
    () => listAll((cursor) => api.connectors.list({ limit: 200, cursor })),
    [],
  )
  const connections = useAsync(
    () => listAll((cursor) => api.connections.list({ limit: 200, cursor })),
    [],
  )
  const ready = (connectors.data ?? []).filter((c) => c.stage === 'ready')
  const names = useMemo(() => {
    const m = new Map<string, string>()
    for (const c of connectors.data ?? []) {
      m.set(c.id, c.name)
      for (const a of c.actions) if (a.id) m.set(a.id, `${a.name} (${c.name})`)
    }
    for (const c of connections.data ?? []) m.set(c.id, `${c.name} (${c.connector.name})`)
    return m
  }, [connectors.data, connections.data])

  const [name, setName] = useState('')
  const [scope, setScope] = useState<Scope>('endUser')
  const [endUser, setEndUser] = useState('')
  const [chosenConnections, setChosenConnections] = useState<string[]>([])
  const [chosenConnectors, setChosenConnectors] = useState<string[]>([])
  const [chosenActions, setChosenActions] = useState<string[]>([])
  const [httpRequest, setHttpRequest] = useState(false)
  const [issues, setIssues] = useState<FieldIssue[]>([])
  const [busy, setBusy] = useState(false)
  const [created, setCreated] = useState<CreatedMcpKey | undefined>()

  const create = async () => {
    setBusy(true)
    setIssues([])
    try {
      const key = await api.mcpKeys.create({
        name: name.trim(),
        ...(scope === 'endUser' ? { endUser: endUser.trim() } : { connections: chosenConnections }),
        ...(chosenConnectors.length ? { connectors: chosenConnectors } : {}),
        ...(chosenActions.length ? { actions: chosenActions } : {}),
        ...(httpRequest ? { httpRequest: true } : {}),
      })
      setCreated(key)
      setName('')
      setEndUser('')
      setChosenConnections([])
      setChosenConnectors([])
      setChosenActions([])
      setHttpRequest(false)
      notify(`Created the MCP key “${key.name}”`)
      await keys.reload()
    } catch (err) {
      if (err instanceof ApiError && err.issues.length) setIssues(err.issues)
      notify(errorText(err), 'error')
    } finally {
      setBusy(false)
    }
  }

  const revoke = async (k: McpKeyView) => {
    const ok = await confirm({
      title: 'Revoke MCP key?',
      message: `Revoke “${k.name}”? Agents using it are refused from their next request on, on every server.`,
      confirmLabel: 'Revoke key',
      danger: true,
    })
    if (!ok) return
    try {
      await api.mcpKeys.revoke(k.id)
      notify(`Revoked “${k.name}”`)
      if (created?.id === k.id) setCreated(undefined)
    } catch (err) {
      notify(errorText(err), 'error')
    }
    await keys.reload()
  }

  const listOf = (ids: string[] | null) =>
    ids?.length ? ids.map((id) => names.get(id) ?? id).join(', ') : null

  return (
    <>
      <div className="page-head">
        <h1>MCP keys</h1>
      </div>
      <p className="lead">
        An AI agent reaches Patchbay over the Model Context Protocol at{' '}
        <code>{window.location.origin}/mcp</code> (or <code>patchbay mcp</code> over stdio) with a
        scoped key: it sees and calls only the key’s tools — saved actions of ready connectors —
        with one end user’s connections. Admin keys are not accepted there.
      </p>

      {created ? (
        <div className="ok-box" role="status" aria-labelledby="new-key-title">
          <strong id="new-key-title">Copy the key now: it is not shown again.</strong>
          <TextInput
            label="New MCP key"
            value={created.key}
            onChange={() => undefined}
            readOnly
            className="mono"
          />
          <p>
            A local MCP client (Claude Desktop and others) runs it with this configuration, with
            Patchbay’s <code>patchbay</code> command on its <code>PATH</code> (or{' '}
            <code>node &lt;patchbay folder&gt;/dist/cli/main.js</code> as the command):
          </p>
          <pre className="body-text" aria-label="MCP client configuration">
            {clientConfig(created)}
          </pre>
          <p>
            Over HTTP, send it as <code>Authorization: Bearer &lt;key&gt;</code> to{' '}
            <code>{window.location.origin}/mcp</code>.
          </p>
          <button type="button" className="secondary" onClick={() => setCreated(undefined)}>
            Done
          </button>
        </div>
      ) : null}

      <section className="card" aria-labelledby="new-mcp-key">
        <h2 id="new-mcp-key">Create a key</h2>
        <form
          onSubmit={(e) => {
            e.preventDefault()
            void create()
          }}
        >
          <div className="grid-2">
            <TextInput
              label="Name"
              value={name}
              onChange={setName}
              required
              placeholder="support-agent"
              hint="Letters, digits, spaces, _ and -; shown in lists and logs."
              error={issueAt(issues, 'name')}
            />
            <Select
              label="Whose connections"
              value={scope}
              onChange={(v) => setScope(v as Scope)}
              options={[
                ['endUser', 'An end user’s connections'],
                ['connections', 'Named connections'],
              ]}
            />
          </div>
          {scope === 'endUser' ? (
            <TextInput
              label="End user"
              value={endUser}
              onChange={setEndUser}
              required
              placeholder="user-42"
              hint="The tools use this end user’s connections; one they have not made yet answers a connect link."
              error={issueAt(issues, 'endUser')}
            />
          ) : (
            <CheckboxGroup
              label="Connections"
              hint="At most one per connector."
              options={(connections.data ?? []).map(
                (c) => [`${c.name} (${c.connector.name})`, c.id] as const,
              )}
              value={chosenConnections}
              onChange={setChosenConnections}
              error={issueAt(issues, 'connections') ?? issueAt(issues, 'endUser')}
            />
          )}
          {ready.length === 0 ? (
            <p className="muted">
              No connector is ready yet: <Link to="/connectors">build one</Link> and mark it ready;
              its saved actions become tools.
            </p>
          ) : (
            <>
              <CheckboxGroup
                label="Connectors"
                hint="Every saved action of these connectors is a tool."
                options={ready.map((c) => [c.name, c.id] as const)}
                value={chosenConnectors}
                onChange={setChosenConnectors}
                error={issueAt(issues, 'connectors')}
              />
              <CheckboxGroup
                label="Single actions"
                hint="Or just these saved actions."
                options={ready.flatMap((c) =>
                  c.actions
                    .filter((a) => a.id)
                    .map((a) => [`${a.name} (${c.name})`, a.id!] as const),
                )}
                value={chosenActions}
                onChange={setChosenActions}
                error={issueAt(issues, 'actions')}
              />
              <Checkbox
                label="Also an http_request tool for each connector above with custom actions on"
                checked={httpRequest}
                onChange={setHttpRequest}
                error={issueAt(issues, 'httpRequest')}
              />
            </>
          )}
          <div className="form-actions">
            <button type="submit" className="primary" disabled={busy}>
              {busy ? 'Creating…' : 'Create key'}
            </button>
          </div>
        </form>
      </section>

      <h2>Keys</h2>
      {keys.error ? (
        <ErrorBox
          error={keys.error}
          title="MCP keys could not be loaded"
          onRetry={() => void keys.reload()}
        />
      ) : keys.data === undefined ? (
        <Loading what="Loading MCP keys" />
      ) : keys.data.length === 0 ? (
        <EmptyState title="No MCP keys yet">
          <p>Create one above and give it to your agent.</p>
        </EmptyState>
      ) : (
        <table className="table">
          <caption className="visually-hidden">MCP keys</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Connections</th>
              <th scope="col">Tools</th>
              <th scope="col">Created</th>
              <th scope="col">Status</th>
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {keys.data.map((k) => (
              <tr key={k.id}>
                <td data-label="Name">
                  {k.name}
                  <div className="muted small mono">{k.id}</div>
                </td>
                <td data-label="Connections">
                  {k.endUser !== null ? `end user ${k.endUser}` : listOf(k.connections)}
                </td>
                <td data-label="Tools">
                  {[
                    listOf(k.connectors) && `all actions of ${listOf(k.connectors)}`,
                    listOf(k.actions),
                    k.httpRequest ? 'http_request' : null,
                  ]
                    .filter(Boolean)
                    .join('; ')}
                </td>
                <td data-label="Created">{formatTime(k.createdAt)}</td>
                <td data-label="Status">
                  {k.revokedAt ? (
                    <span className="badge badge-error">revoked {formatTime(k.revokedAt)}</span>
                  ) : (
                    <span className="badge badge-connected">active</span>
                  )}
                </td>
                <td className="row-actions">
                  {k.revokedAt ? null : (
                    <button
                      type="button"
                      className="danger small"
                      aria-label={`Revoke ${k.name}`}
                      onClick={() => void revoke(k)}
                    >
                      Revoke
                    </button>
                  )}
                  <Link
                    className="button secondary small"
                    to={`/logs?mcpKey=${encodeURIComponent(k.id)}`}
                  >
                    Logs
                  </Link>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  )
}
