/**
 * What the engine does with no request to answer: keeping connections whose refresh token would
 * lapse alive (refreshed before `REFRESH_AT` of its lifetime), and purging expired UI and connect
 * sessions, OAuth states, logs past their retention and delivered webhook events in small
 * batches. Each runs on its own timer, unref'd, and never overlaps itself.
 *
 * @module
 */
import { PatchbayError } from '../errors.js'
import type { Logger } from '../lib/logger.js'
import type { Store } from '../store/store.js'
import type { ConnectionSecretBox } from './connection-secrets.js'
import { SESSION_GRACE_MS } from './connect-sessions.js'
import { REFRESH_AT, type Refresher } from './refresher.js'

export interface BackgroundOptions {
  /** How often to look for refresh tokens about to lapse, ms; 0 = off. */
  refreshIntervalMs: number
  /** How often to purge, ms; 0 = off. */
  purgeIntervalMs: number
  /** Logs older than this go, days; 0 keeps them forever. */
  logRetentionDays: number
  /** Delivered webhook events are kept this long after delivery, ms. Default 7 days. */
  deliveredEventRetentionMs?: number
}

/** The longest retention `PATCHBAY_LOG_RETENTION_DAYS` takes (100 years); 0 means forever. */
const MAX_RETENTION_DAYS = 36_500
export const DEFAULT_LOG_RETENTION_DAYS = 30
export const DELIVERED_EVENT_RETENTION_MS = 7 * 86_400_000

/**
 * `PATCHBAY_LOG_RETENTION_DAYS` (or `logRetentionDays`): a whole number of days, 0 to keep logs
 * forever; default 30. Anything else stops the start with an error naming the setting.
 */
export function checkLogRetentionDays(value: string | number | undefined): number {
  if (value === undefined || (typeof value === 'string' && value.trim() === ''))
    return DEFAULT_LOG_RETENTION_DAYS
  const days = typeof value === 'number' ? value : /^\s*\d+\s*$/.test(value) ? Number(value) : NaN
  if (Number.isSafeInteger(days) && days >= 0 && days <= MAX_RETENTION_DAYS) return days
  const rule = `must be a whole number of days from 0 to ${MAX_RETENTION_DAYS} (0 keeps logs forever)`
  throw new PatchbayError(
    'input.invalid',
    `"PATCHBAY_LOG_RETENTION_DAYS" ${rule}; got ${JSON.stringify(String(value))}`,
    { details: [{ path: 'PATCHBAY_LOG_RETENTION_DAYS', rule }] },
  )
}

export interface Background {
  /** One pass of the background refresher; the number of connections refreshed. */
  refreshDue(): Promise<number>
  /** One full purge (batches until nothing is left); rows deleted by kind. */
  purge(): Promise<Record<string, number>>
  stop(): void
}

const PURGE_BATCH = 500

export function startBackground(
  deps: {
    store: Store
    refresher: Refresher
    secretBox: ConnectionSecretBox
    logger: Logger
    now: () => number
  },
  options: BackgroundOptions,
): Background {
  const { store } = deps

  async function refreshDue(): Promise<number> {
    const now = deps.now()
    const due = await store.listRefreshDue(0, now + 24 * 3_600_000, now, 100)
    let refreshed = 0
    for (const record of due) {
      if (record.refreshExpiresAt === null) continue
      const { credentials: c } = deps.secretBox.open(record)
      const start = c.obtainedAt ?? record.updatedAt
      if (now < start + (record.refreshExpiresAt - start) * REFRESH_AT) continue
      try {
        await deps.refresher.reacquire(record.id, record.credentialsVersion)
        refreshed++
      } catch {
        // Logged by the refresher; backoff or needs_reauth is recorded on the connection.
      }
    }
    return refreshed
  }

  async function purge(): Promise<Record<string, number>> {
    const totals: Record<string, number> = {}
    const now = deps.now()
    const logsBefore =
      options.logRetentionDays > 0 ? now - options.logRetentionDays * 86_400_000 : undefined
    const deliveredEventsBefore =
      now - (options.deliveredEventRetentionMs ?? DELIVERED_EVENT_RETENTION_MS)
    for (;;) {
      const counts = await store.purge({
        now,
        logsBefore,
        deliveredEventsBefore,
        sessionGraceMs: SESSION_GRACE_MS,
        batch: PURGE_BATCH,
      })
      for (const [k, n] of Object.entries(counts)) totals[k] = (totals[k] ?? 0) + n
      if (Object.values(counts).every((n) => n < PURGE_BATCH)) return totals
      // Let calls in between the batches.
      await new Promise((r) => setImmediate(r))
    }
  }

  const timers: NodeJS.Timeout[] = []
  function every(ms: number, name: string, task: () => Promise<unknown>): void {
    if (ms <= 0) return
    let running = false
    const timer = setInterval(() => {
      if (running) return
      running = true
      task()
        .catch((err: unknown) => deps.logger.error({ err }, `${name} failed`))
        .finally(() => (running = false))
    }, ms)
    timer.unref()
    timers.push(timer)
  }
  every(options.refreshIntervalMs, 'background refresh', refreshDue)
  every(options.purgeIntervalMs, 'purge', purge)

  return {
    refreshDue,
    purge,
    stop: () => timers.forEach(clearInterval),
  }
}
