/**
 * Webhooks: the outbox of connection events (docs/connect.md). Dead-lettered events — every try
 * failed — are listed first, each with a Retry button that sends it again; pending and delivered
 * ones can be looked at too.
 */
import { useCallback, useEffect, useMemo, useState } from 'react'
import { api, errorText, listAll } from '../api.js'
import {
  EmptyState,
  ErrorBox,
  formatTime,
  HttpStatus,
  Loading,
  relativeTime,
} from '../components/feedback.js'
import { Select } from '../components/form.js'
import { useToast } from '../components/toast.js'
import { useAsync } from '../lib/use-async.js'
import { navigate, useLocation } from '../router.js'
import type { WebhookEventStatus, WebhookEventView } from '../api.js'

const PAGE = 50

const STATUSES: [WebhookEventStatus, string][] = [
  ['dead', 'Dead-lettered'],
  ['pending', 'Pending'],
  ['delivered', 'Delivered'],
]

const EMPTY: Record<WebhookEventStatus, [string, string]> = {
  dead: [
    'No dead-lettered events',
    'An event lands here when every try to deliver it failed. Retry it once the receiver works again.',
  ],
  pending: ['Nothing waiting', 'Events waiting for their first try or a retry are listed here.'],
  delivered: ['Nothing delivered yet', 'Delivered events are kept for 7 days.'],
}

function isStatus(v: string | null): v is WebhookEventStatus {
  return v === 'dead' || v === 'pending' || v === 'delivered'
}

export function WebhooksPage() {
  const { search } = useLocation()
  const param = search.get('status')
  const status: WebhookEventStatus = isStatus(param) ? param : 'dead'
  const notify = useToast()
  const [events, setEvents] = useState<WebhookEventView[] | undefined>()
  const [cursor, setCursor] = useState<string | undefined>()
  const [error, setError] = useState<unknown>()
  const [busy, setBusy] = useState<string | undefined>()
  useEffect(() => {
    document.title = 'Webhooks · Patchbay'
  }, [])

  const connections = useAsync(
    () => listAll((c) => api.connections.list({ limit: 200, cursor: c })),
    [],
  )
  const names = useMemo(
    () => new Map((connections.data ?? []).map((c) => [c.id, c.name] as const)),
    [connections.data],
  )

  const load = useCallback(async () => {
    try {
      const page = await api.webhookEvents.list({ status, limit: PAGE })
      setEvents(page.items)
      setCursor(page.nextCursor)
      setError(undefined)
    } catch (err) {
      setError(err)
    }
  }, [status])

  useEffect(() => {
    setEvents(undefined)
    void load()
  }, [load])

  const more = async () => {
    if (!cursor) return
    try {
      const page = await api.webhookEvents.list({ status, limit: PAGE, cursor })
      setEvents((current) => [...(current ?? []), ...page.items])
      setCursor(page.nextCursor)
    } catch (err) {
      setError(err)
    }
  }

  const retry = async (e: WebhookEventView) => {
    setBusy(e.id)
    try {
      await api.webhookEvents.retry(e.id)
      notify(`Sending ${e.type} again`)
      await load()
    } catch (err) {
      notify(`Could not retry: ${errorText(err)}`, 'error')
    } finally {
      setBusy(undefined)
    }
  }

  const connectionName = (id: string) => names.get(id) ?? id
  const [emptyTitle, emptyText] = EMPTY[status]

  return (
    <>
      <div className="page-head">
        <h1>Webhooks</h1>
        <div className="head-actions">
          <button type="button" className="secondary" onClick={() => void load()}>
            Refresh
          </button>
        </div>
      </div>
      <p className="lead">
        Connection events are sent to your webhook URL from a durable outbox, in order per
        connection. An event whose every try failed is dead-lettered until you retry it.
      </p>
      <div className="toolbar filters">
        <Select
          label="Status"
          value={status}
          onChange={(v) => navigate(v === 'dead' ? '/webhooks' : `/webhooks?status=${v}`)}
          options={STATUSES}
        />
      </div>
      {error ? (
        <ErrorBox
          error={error}
          title="Webhook events could not be loaded"
          onRetry={() => void load()}
        />
      ) : null}
      {events === undefined && !error ? (
        <Loading what="Loading webhook events" />
      ) : events !== undefined && events.length === 0 ? (
        <EmptyState title={emptyTitle}>
          <p>{emptyText}</p>
        </EmptyState>
      ) : events ? (
        <table className="table">
          <caption className="visually-hidden">
            {STATUSES.find(([s]) => s === status)?.[1]} webhook events, newest first
          </caption>
          <thead>
            <tr>
              <th scope="col">Event</th>
              <th scope="col">Connection</th>
              <th scope="col">Happened</th>
              <th scope="col">Tries</th>
              <th scope="col">Last answer</th>
              <th scope="col">{status === 'pending' ? 'Next try' : 'Since'}</th>
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {events.map((e) => {
              const since = e.deadAt ?? e.deliveredAt ?? e.nextAttemptAt
              return (
                <tr key={e.id}>
                  <td data-label="Event">
                    <code>{e.type}</code>
                    <div className="muted small">{e.id}</div>
                  </td>
                  <td data-label="Connection">
                    {connectionName(e.connectionId)}
                    {e.endUser ? <div className="muted small">end user {e.endUser}</div> : null}
                  </td>
                  <td data-label="Happened">{formatTime(e.createdAt)}</td>
                  <td data-label="Tries">{e.attempts}</td>
                  <td data-label="Last answer">
                    {e.lastAttemptAt ? <HttpStatus status={e.lastStatus} /> : '—'}
                    {e.lastError ? <div className="field-error small">{e.lastError}</div> : null}
                  </td>
                  <td data-label={status === 'pending' ? 'Next try' : 'Since'}>
                    {since ? <span title={formatTime(since)}>{relativeTime(since)}</span> : '—'}
                  </td>
                  <td className="row-actions">
                    {e.status === 'dead' ? (
                      <button
                        type="button"
                        className="secondary small"
                        disabled={busy === e.id}
                        aria-label={`Retry ${e.type} for ${connectionName(e.connectionId)}`}
                        onClick={() => void retry(e)}
                      >
                        {busy === e.id ? 'Retrying…' : 'Retry'}
                      </button>
                    ) : null}
                  </td>
                </tr>
              )
            })}
          </tbody>
        </table>
      ) : null}
      {cursor ? (
        <button type="button" className="secondary" onClick={() => void more()}>
          Load older events
        </button>
      ) : null}
    </>
  )
}
