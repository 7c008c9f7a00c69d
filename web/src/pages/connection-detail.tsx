/**
 * One connection: status and its message, identity, token expiry (never a token), values,
 * breaker; test, refresh, reconnect, delete.
 */
import { useEffect, useState } from 'react'
import { api, errorText, type LogView, type TestOutcome } from '../api.js'
import { useConfirm } from '../components/dialog.js'
import {
  BreakerState,
  ErrorBox,
  formatTime,
  Loading,
  relativeTime,
  StatusBadge,
} from '../components/feedback.js'
import { useToast } from '../components/toast.js'
import { useAsync } from '../lib/use-async.js'
import { Link, navigate } from '../router.js'

function Value({ value }: { value: unknown }) {
  if (value === null || value === undefined) return <span className="muted">—</span>
  if (typeof value === 'object') return <code>{JSON.stringify(value)}</code>
  return <>{String(value)}</>
}

export function ConnectionDetailPage({ id }: { id: string }) {
  const conn = useAsync(() => api.connections.get(id), [id])
  const notify = useToast()
  const confirm = useConfirm()
  const [busy, setBusy] = useState<string | undefined>()
  const [test, setTest] = useState<TestOutcome | undefined>()
  useEffect(() => {
    document.title = `${conn.data?.name ?? 'Connection'} · Patchbay`
  }, [conn.data])

  if (conn.error)
    return (
      <ErrorBox
        error={conn.error}
        title="The connection could not be loaded"
        onRetry={() => void conn.reload()}
      />
    )
  if (!conn.data) return <Loading what="Loading the connection" />
  const c = conn.data

  const run = async (what: string, fn: () => Promise<void>) => {
    setBusy(what)
    try {
      await fn()
    } catch (err) {
      notify(errorText(err), 'error')
    } finally {
      setBusy(undefined)
      await conn.reload()
    }
  }

  const remove = async () => {
    const ok = await confirm({
      title: 'Delete connection?',
      message: `Delete “${c.name}”? Its credentials are erased, and revoked at the provider when the connector can revoke them. Requests through it stop working.`,
      confirmLabel: 'Delete connection',
      danger: true,
    })
    if (!ok) return
    setBusy('delete')
    try {
      await api.connections.delete(c.id)
      // The API answers 204; the revocation outcome is in the connection's last log entry.
      let revoke: LogView | undefined
      try {
        const logs = await api.logs.list({ connection: c.id, limit: 5 })
        revoke = logs.items.find((l) => l.kind === 'revoke')
      } catch {
        revoke = undefined
      }
      const revoked = (revoke?.detail as { revoked?: boolean | null } | undefined)?.revoked
      notify(
        revoke
          ? revoked
            ? `Deleted “${c.name}”; its tokens were revoked at the provider`
            : `Deleted “${c.name}”; revoking its tokens failed: ${revoke.error ?? 'unknown error'}`
          : `Deleted “${c.name}”`,
        revoke && !revoked ? 'error' : 'success',
      )
      navigate('/connections')
    } catch (err) {
      notify(errorText(err), 'error')
      setBusy(undefined)
    }
  }

  const values = Object.entries(c.values)
  return (
    <>
      <p className="crumbs">
        <Link to="/connections">Connections</Link> /
      </p>
      <div className="page-head">
        <div>
          <h1>
            {c.name} <StatusBadge status={c.status} />
          </h1>
          <p className="muted">
            Connector:{' '}
            <Link to={`/connectors/${encodeURIComponent(c.connector.id)}`}>{c.connector.name}</Link>
          </p>
        </div>
        <div className="head-actions">
          <Link className="button primary" to={`/console?connection=${encodeURIComponent(c.id)}`}>
            Open in console
          </Link>
          <button
            type="button"
            className="secondary"
            disabled={busy !== undefined || c.status === 'pending'}
            onClick={() =>
              void run('test', async () => {
                const r = await api.connections.test(c.id)
                setTest(r)
                notify(
                  r.ok ? 'The connection works' : `Test failed: ${r.message}`,
                  r.ok ? 'success' : 'error',
                )
              })
            }
          >
            {busy === 'test' ? 'Testing…' : 'Test connection'}
          </button>
          <button
            type="button"
            className="secondary"
            disabled={busy !== undefined || c.status === 'pending'}
            onClick={() =>
              void run('refresh', async () => {
                await api.connections.refresh(c.id)
                notify('Credentials refreshed')
              })
            }
          >
            {busy === 'refresh' ? 'Refreshing…' : 'Refresh credentials'}
          </button>
          {c.status === 'needs_reauth' || c.status === 'error' || c.status === 'pending' ? (
            <Link
              className="button secondary"
              to={`/connections/new?reconnect=${encodeURIComponent(c.id)}`}
            >
              Reconnect
            </Link>
          ) : null}
          <button
            type="button"
            className="danger"
            disabled={busy !== undefined}
            onClick={() => void remove()}
          >
            Delete
          </button>
        </div>
      </div>

      {c.status !== 'connected' ? (
        <div className={c.status === 'pending' ? 'notice' : 'error-box'} role="status">
          <strong>
            {c.status === 'needs_reauth'
              ? 'This connection must be authorized again.'
              : c.status === 'pending'
                ? 'Waiting for authorization.'
                : 'This connection failed.'}
          </strong>
          {c.statusMessage ? <p>{c.statusMessage}</p> : null}
          {c.status === 'needs_reauth' ? <p>Press “Reconnect” to authorize it again.</p> : null}
        </div>
      ) : null}

      {test ? (
        <div className={test.ok ? 'ok-box' : 'error-box'} role="status">
          <strong>{test.ok ? 'Test passed' : 'Test failed'}</strong>
          <p>
            {test.message}
            {test.status !== null ? ` (HTTP ${test.status})` : ''}
            {test.identity ? ` · identity: ${test.identity}` : ''}
          </p>
        </div>
      ) : null}

      <div className="grid-2 cards">
        <section className="card" aria-labelledby="conn-status">
          <h2 id="conn-status">Status</h2>
          <dl className="props">
            <dt>Status</dt>
            <dd>
              <StatusBadge status={c.status} />
            </dd>
            <dt>Message</dt>
            <dd>{c.statusMessage ?? <span className="muted">—</span>}</dd>
            <dt>Identity</dt>
            <dd>{c.identity ?? <span className="muted">unknown</span>}</dd>
            <dt>End user</dt>
            <dd>{c.endUser ?? <span className="muted">—</span>}</dd>
            <dt>Token expires</dt>
            <dd>
              {c.expiresAt ? (
                <>
                  {formatTime(c.expiresAt)}{' '}
                  <span className="muted">({relativeTime(c.expiresAt)})</span>
                </>
              ) : (
                <span className="muted">no expiry known</span>
              )}
            </dd>
            {c.refreshExpiresAt ? (
              <>
                <dt>Refresh token expires</dt>
                <dd>
                  {formatTime(c.refreshExpiresAt)}{' '}
                  <span className="muted">({relativeTime(c.refreshExpiresAt)})</span>
                </dd>
              </>
            ) : null}
            <dt>Created</dt>
            <dd>{formatTime(c.createdAt)}</dd>
            <dt>Updated</dt>
            <dd>{formatTime(c.updatedAt)}</dd>
            <dt>ID</dt>
            <dd>
              <code>{c.id}</code>
            </dd>
          </dl>
        </section>
        <section className="card" aria-labelledby="conn-values">
          <h2 id="conn-values">Values</h2>
          {values.length === 0 && c.secretsSet.length === 0 ? (
            <p className="muted">No values.</p>
          ) : (
            <dl className="props">
              {values.map(([k, v]) => (
                <div key={k} className="prop">
                  <dt>{k}</dt>
                  <dd>
                    <Value value={v} />
                  </dd>
                </div>
              ))}
              {c.secretsSet.map((k) => (
                <div key={`secret-${k}`} className="prop">
                  <dt>{k}</dt>
                  <dd className="muted">secret, set (never shown)</dd>
                </div>
              ))}
            </dl>
          )}
          {Object.keys(c.tokenValues ?? {}).length ? (
            <>
              <h2 id="conn-token-values">From the token response</h2>
              <dl className="props" aria-labelledby="conn-token-values">
                {Object.entries(c.tokenValues ?? {}).map(([k, v]) => (
                  <div key={`token-${k}`} className="prop">
                    <dt>{k}</dt>
                    <dd>
                      <Value value={v} />
                    </dd>
                  </div>
                ))}
              </dl>
            </>
          ) : null}
          <h2>Circuit breaker</h2>
          <p>
            <BreakerState breaker={c.breaker} />
          </p>
          {c.breaker ? (
            <button
              type="button"
              className="secondary"
              disabled={
                busy !== undefined || (c.breaker.state === 'closed' && c.breaker.failures === 0)
              }
              onClick={() =>
                void run('breaker', async () => {
                  await api.connections.resetBreaker(c.id)
                  notify('Breaker reset')
                })
              }
            >
              Reset breaker
            </button>
          ) : null}
          <p>
            <Link to={`/logs?connection=${encodeURIComponent(c.id)}`}>Logs of this connection</Link>
          </p>
        </section>
      </div>
    </>
  )
}
