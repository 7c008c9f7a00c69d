/**
 * Loading, error and empty states, badges, and small formatters.
 */
import type { ReactNode } from 'react'
import { errorText, type BreakerView, type ConnectionStatus, type Stage } from '../api.js'

export function Loading({ what = 'Loading' }: { what?: string }) {
  return (
    <p className="loading" role="status">
      {what}…
    </p>
  )
}

export function ErrorBox({
  error,
  title = 'Something went wrong',
  onRetry,
}: {
  error: unknown
  title?: string
  onRetry?: () => void
}) {
  return (
    <div className="error-box" role="alert">
      <strong>{title}</strong>
      <p>{errorText(error)}</p>
      {onRetry ? (
        <button type="button" className="secondary" onClick={onRetry}>
          Try again
        </button>
      ) : null}
    </div>
  )
}

export function EmptyState({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="empty">
      <p className="empty-title">{title}</p>
      {children}
    </div>
  )
}

export function StageBadge({ stage }: { stage: Stage }) {
  return <span className={`badge badge-${stage}`}>{stage === 'ready' ? 'Ready' : 'Draft'}</span>
}

const STATUS_TEXT: Record<ConnectionStatus, string> = {
  connected: 'connected',
  pending: 'pending',
  needs_reauth: 'needs_reauth',
  error: 'error',
}

export function StatusBadge({ status }: { status: ConnectionStatus }) {
  return <span className={`badge badge-${status}`}>{STATUS_TEXT[status] ?? status}</span>
}

export function HttpStatus({ status }: { status: number | null }) {
  if (status === null) return <span className="badge badge-error">no answer</span>
  const cls = status < 300 ? 'ok' : status < 400 ? 'redirect' : status < 500 ? 'warn' : 'error'
  return <span className={`badge badge-http-${cls}`}>{status}</span>
}

const BREAKER_TEXT = { closed: 'closed', open: 'open', half_open: 'half-open' } as const

export function BreakerState({ breaker }: { breaker: BreakerView | undefined }) {
  if (!breaker) return <span className="muted">not reported by this server</span>
  return (
    <span>
      <span className={`badge badge-breaker-${breaker.state}`}>
        {BREAKER_TEXT[breaker.state] ?? breaker.state}
      </span>{' '}
      <span className="muted">
        {breaker.failures} consecutive failure{breaker.failures === 1 ? '' : 's'}
        {breaker.state === 'open' && breaker.retryAt
          ? `; tries again ${formatTime(breaker.retryAt)}`
          : ''}
      </span>
    </span>
  )
}

export function formatTime(iso: string | null | undefined): string {
  if (!iso) return '—'
  const d = new Date(iso)
  if (Number.isNaN(d.getTime())) return iso
  return d.toLocaleString(undefined, {
    year: 'numeric',
    month: 'short',
    day: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  })
}

export function relativeTime(iso: string | null | undefined): string {
  if (!iso) return ''
  const ms = new Date(iso).getTime() - Date.now()
  const abs = Math.abs(ms)
  const units: [number, string][] = [
    [86_400_000, 'day'],
    [3_600_000, 'hour'],
    [60_000, 'minute'],
    [1000, 'second'],
  ]
  for (const [size, unit] of units) {
    if (abs >= size || unit === 'second') {
      const n = Math.round(abs / size)
      const text = `${n} ${unit}${n === 1 ? '' : 's'}`
      return ms >= 0 ? `in ${text}` : `${text} ago`
    }
  }
  return ''
}
