/**
 * Re-acquiring a connection's credentials: one flight per connection in this process, a store
 * lock across processes, then a re-read — whoever finds the version it saw already replaced uses
 * the new credentials instead of refreshing again. New credentials are committed (fenced by the
 * lock) before anything uses them. A dead grant turns the connection `needs_reauth`; a transient
 * failure backs off with jitter, so refreshes never loop.
 *
 * @module
 */
import { PatchbayError, isPatchbayError } from '../errors.js'
import { redactText } from '../pipeline/index.js'
import type { ConnectionRecord } from '../store/store.js'
import type { ConnectionSecretBox, ConnectionSecrets } from './connection-secrets.js'
import type { ConnectorRepository, LoadedConnector } from './connector-repository.js'
import type { EngineContext } from './context.js'

/** Proactive refresh at 85 % of an access token's lifetime. */
export const REFRESH_AT = 0.85
const LOCK_TTL_MS = 60_000
const MAX_BACKOFF_MS = 15 * 60_000

export interface Refresher {
  /**
   * Re-acquires credentials unless someone already replaced the version the caller saw. Returns
   * the connection as it stands afterwards.
   */
  reacquire(connectionId: string, staleVersion: number): Promise<ConnectionRecord>
  /** Whether a re-acquire for the connection is under way in this process. */
  inFlight(connectionId: string): boolean
}

export function needsReauth(message: string | null): PatchbayError {
  return new PatchbayError(
    'connection.needs_reauth',
    message ?? 'the connection must be authorized again: reconnect it',
  )
}

function classify(err: unknown, connectorName: string): PatchbayError {
  if (isPatchbayError(err)) return err
  return new PatchbayError(
    'refresh.failed',
    `the ${connectorName} connector's refresh failed: ${(err as Error).message}`,
    { cause: err, details: { transient: true } },
  )
}

export function createRefresher(
  ctx: EngineContext,
  connectors: ConnectorRepository,
  secretBox: ConnectionSecretBox,
): Refresher {
  const { store } = ctx
  const inflight = new Map<string, Promise<ConnectionRecord>>()

  function logRefresh(
    record: ConnectionRecord,
    outcome: string,
    error: unknown,
    started: number,
    loaded: LoadedConnector,
    secrets: ConnectionSecrets,
  ): void {
    ctx.metrics.refreshes.inc({
      outcome: outcome === 'refreshed' ? 'refreshed' : outcome.replace(/^failed: /, ''),
    })
    ctx.log.write({
      kind: 'refresh',
      connectorId: record.connectorId,
      connectionId: record.id,
      durationMs: Math.round(performance.now() - started),
      refreshed: outcome === 'refreshed',
      refreshOutcome: outcome,
      error:
        error === undefined
          ? null
          : redactText(
              isPatchbayError(error) ? `${error.code}: ${error.message}` : String(error),
              secretBox.redaction(loaded, secrets),
            ),
    })
  }

  function reacquire(connectionId: string, staleVersion: number): Promise<ConnectionRecord> {
    const running = inflight.get(connectionId)
    if (running) return running
    const flight = store
      .withLock(`refresh:${connectionId}`, LOCK_TTL_MS, async (lock) => {
        const current = await store.getConnection(connectionId)
        if (!current)
          throw new PatchbayError('connection.not_found', `no connection "${connectionId}"`)
        if (current.credentialsVersion !== staleVersion) return current // another caller refreshed
        if (current.status === 'needs_reauth') throw needsReauth(current.statusMessage)
        const now = ctx.now()
        if (current.refreshNotBefore !== null && current.refreshNotBefore > now) {
          throw new PatchbayError(
            'refresh.failed',
            `the last refresh failed; the next try is after ${new Date(current.refreshNotBefore).toISOString()}`,
            { details: { transient: true, retryAt: current.refreshNotBefore } },
          )
        }
        const loaded = await connectors.load(current.connectorId)
        const secrets = secretBox.open(current)
        const started = performance.now()
        if (!loaded.scheme.refresh)
          throw new PatchbayError(
            'refresh.unsupported',
            `${loaded.scheme.label} credentials cannot be refreshed`,
          )
        try {
          const credentials = await loaded.scheme.refresh(
            secretBox.authContext(loaded, current, secrets),
          )
          const next: ConnectionSecrets = {
            values: secrets.values,
            credentials: { obtainedAt: ctx.now(), ...credentials },
          }
          const version = await lock.updateCredentials(current.id, current.credentialsVersion, {
            secrets: secretBox.seal(current.id, next),
            expiresAt: credentials.expiresAt ?? null,
            refreshExpiresAt: credentials.refreshExpiresAt ?? null,
            status: 'connected',
            statusMessage: null,
          })
          logRefresh(current, 'refreshed', undefined, started, loaded, {
            values: secrets.values,
            credentials: { values: { ...secrets.credentials.values, ...credentials.values } },
          })
          const after = await store.getConnection(current.id)
          if (version === undefined || !after)
            throw new PatchbayError(
              'refresh.failed',
              'the connection changed during the refresh; try again',
            )
          return after
        } catch (err) {
          const failure = classify(err, loaded.definition.name)
          if (failure.code === 'connection.needs_reauth') {
            await ctx.events.recording('connection.needs_reauth', current, (events) =>
              store.updateConnection(
                current.id,
                { status: 'needs_reauth', statusMessage: failure.message },
                events,
              ),
            )
          } else {
            const failures = current.refreshFailures + 1
            const backoff = Math.min(1000 * 2 ** failures, MAX_BACKOFF_MS) * (0.5 + Math.random())
            await store.updateConnection(current.id, {
              refreshFailures: failures,
              refreshNotBefore: ctx.now() + Math.round(backoff),
            })
          }
          logRefresh(current, `failed: ${failure.code}`, failure, started, loaded, secrets)
          throw failure
        }
      })
      .finally(() => inflight.delete(connectionId))
    inflight.set(connectionId, flight)
    return flight
  }

  return { reacquire, inFlight: (connectionId) => inflight.has(connectionId) }
}
