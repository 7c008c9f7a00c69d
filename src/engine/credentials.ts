/**
 * A connection's credentials at run time: sealed at rest, applied to requests, re-acquired with
 * a single flight per connection in this process and a store lock across processes, committed
 * before use (SPEC §3 "Refresh", §4.6, §7).
 *
 * @module
 */
import { randomUUID } from 'node:crypto'
import { signsRequest, type AuthContext, type Credentials } from '../auth/scheme.js'
import { PatchbayError, isPatchbayError } from '../errors.js'
import type { OutgoingRequest } from '../lib/request.js'
import { MissingTemplateValue, encodeUrlValue, renderTemplate } from '../lib/template.js'
import { addSecretValue, emptyRedaction, redactText, type AuthBinding } from '../pipeline/index.js'
import type { ConnectionRecord } from '../store/store.js'
import type { LoadedConnector } from './connectors.js'
import type { EngineContext } from './context.js'
import { concretePaths, getAt } from './secrets.js'
import { templateScope } from './values.js'

type Obj = Record<string, unknown>

export interface ConnectionSecrets {
  values: Obj
  credentials: Credentials
}

/** Proactive refresh at 85 % of an access token's lifetime (SPEC §3). */
export const REFRESH_AT = 0.85
const LOCK_TTL_MS = 60_000
const MAX_BACKOFF_MS = 15 * 60_000

export function createCredentialService(
  ctx: EngineContext,
  load: (connectorId: string) => Promise<LoadedConnector>,
) {
  const { store, box } = ctx
  const inflight = new Map<string, Promise<ConnectionRecord>>()

  function open(record: Pick<ConnectionRecord, 'id' | 'secrets'>): ConnectionSecrets {
    if (!record.secrets) return { values: {}, credentials: { values: {} } }
    return JSON.parse(box.open(record.secrets, `connection:${record.id}`)) as ConnectionSecrets
  }

  function seal(id: string, secrets: ConnectionSecrets): string {
    return box.seal(JSON.stringify(secrets), `connection:${id}`)
  }

  function authContext(
    loaded: LoadedConnector,
    record: Pick<ConnectionRecord, 'id' | 'values'>,
    secrets: ConnectionSecrets,
  ): AuthContext {
    const values = { ...record.values, ...secrets.values }
    const fields = [
      ...loaded.definition.fields,
      ...loaded.scheme.connectionFields(loaded.settings, values),
    ]
    const actx: AuthContext = {
      settings: loaded.settings,
      values,
      credentials: secrets.credentials,
      render: (template) =>
        renderTemplate(template, {
          ...templateScope(fields, actx.values),
          ...actx.credentials.values,
        }),
      renderUrl: (template) =>
        renderTemplate(
          template,
          { ...templateScope(fields, actx.values), ...actx.credentials.values },
          { encode: encodeUrlValue },
        ),
      http: ctx.http,
      connectorName: loaded.definition.name,
      connectionId: record.id,
      // Joined, not resolved: a public URL may have a path prefix (https://host/patchbay).
      callbackUrl: (path) => `${ctx.publicUrl.replace(/\/+$/, '')}${path}`,
      now: ctx.now,
      registry: ctx.registry,
    }
    return actx
  }

  function redaction(loaded: LoadedConnector, secrets: ConnectionSecrets) {
    const r = emptyRedaction()
    const named = loaded.scheme.redact?.(loaded.settings as never) ?? {}
    for (const h of named.headers ?? []) r.headers.add(h.toLowerCase())
    for (const q of named.query ?? []) r.query.add(q)
    for (const f of named.form ?? []) r.form.add(f)
    const extra = loaded.definition.auth.extra as { headers?: Obj; query?: Obj } | undefined
    for (const h of Object.keys(extra?.headers ?? {})) r.headers.add(h.toLowerCase())
    for (const q of Object.keys(extra?.query ?? {})) r.query.add(q)
    const walk = (v: unknown): void => {
      if (typeof v === 'string') addSecretValue(r, v)
      else if (v && typeof v === 'object') Object.values(v).forEach(walk)
    }
    walk(secrets.values)
    walk(secrets.credentials.values)
    for (const pattern of loaded.scheme.secretSettings ?? []) {
      for (const path of concretePaths(loaded.settings, pattern)) walk(getAt(loaded.settings, path))
    }
    return r
  }

  async function logRefresh(
    record: ConnectionRecord,
    outcome: string,
    error: unknown,
    started: number,
    loaded: LoadedConnector,
    secrets: ConnectionSecrets,
  ) {
    ctx.metrics.refreshes.inc({
      outcome: outcome === 'refreshed' ? 'refreshed' : outcome.replace(/^failed: /, ''),
    })
    const r = redaction(loaded, secrets)
    await store
      .appendLog({
        id: `log_${randomUUID()}`,
        time: ctx.now(),
        connectorId: record.connectorId,
        connectionId: record.id,
        actionId: null,
        kind: 'refresh',
        method: null,
        url: null,
        status: null,
        durationMs: Math.round(performance.now() - started),
        refreshed: outcome === 'refreshed',
        refreshOutcome: outcome,
        breakerState: null,
        error:
          error === undefined
            ? null
            : redactText(
                isPatchbayError(error) ? `${error.code}: ${error.message}` : String(error),
                r,
              ),
        detail: null,
      })
      .catch((err: unknown) => ctx.logger.error({ err }, 'could not log a refresh'))
  }

  /**
   * Re-acquires credentials unless someone already replaced the version the caller saw. Returns
   * the connection as it stands afterwards.
   */
  function reacquire(connectionId: string, staleVersion: number): Promise<ConnectionRecord> {
    const running = inflight.get(connectionId)
    if (running) return running
    const flight = store
      .withLock(`refresh:${connectionId}`, LOCK_TTL_MS, async () => {
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
        const loaded = await load(current.connectorId)
        const secrets = open(current)
        const started = performance.now()
        if (!loaded.scheme.refresh)
          throw new PatchbayError(
            'refresh.unsupported',
            `${loaded.scheme.label} credentials cannot be refreshed`,
          )
        try {
          const credentials = await loaded.scheme.refresh(authContext(loaded, current, secrets))
          const next: ConnectionSecrets = {
            values: secrets.values,
            credentials: { obtainedAt: ctx.now(), ...credentials },
          }
          const version = await store.updateCredentials(current.id, current.credentialsVersion, {
            secrets: seal(current.id, next),
            expiresAt: credentials.expiresAt ?? null,
            refreshExpiresAt: credentials.refreshExpiresAt ?? null,
            status: 'connected',
            statusMessage: null,
          })
          await logRefresh(current, 'refreshed', undefined, started, loaded, {
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
            await store.updateConnection(current.id, {
              status: 'needs_reauth',
              statusMessage: failure.message,
            })
            ctx.events.emit({
              type: 'connection.needs_reauth',
              connectionId: current.id,
              connectorId: current.connectorId,
              endUser: current.endUser,
              at: ctx.now(),
            })
          } else {
            const failures = current.refreshFailures + 1
            const backoff = Math.min(1000 * 2 ** failures, MAX_BACKOFF_MS) * (0.5 + Math.random())
            await store.updateConnection(current.id, {
              refreshFailures: failures,
              refreshNotBefore: ctx.now() + Math.round(backoff),
            })
          }
          await logRefresh(current, `failed: ${failure.code}`, failure, started, loaded, secrets)
          throw failure
        }
      })
      .finally(() => inflight.delete(connectionId))
    inflight.set(connectionId, flight)
    return flight
  }

  /** The pipeline's view of a connection's auth. */
  function bind(loaded: LoadedConnector, record: ConnectionRecord): AuthBinding {
    let current = record
    let secrets = open(record)
    const canRefresh =
      Boolean(loaded.scheme.refresh) &&
      loaded.scheme.canRefresh(
        loaded.settings,
        { ...record.values, ...secrets.values },
        secrets.credentials,
      )
    const extra = loaded.definition.auth.extra as
      { headers?: Record<string, string>; query?: Record<string, string> } | undefined
    const binding: AuthBinding = {
      canRefresh,
      async apply(request: OutgoingRequest) {
        const actx = authContext(loaded, current, secrets)
        // extra query goes on before the scheme so signing schemes (OAuth1, SigV4) cover it.
        const renderExtra = (template: string, where: string): string => {
          try {
            return actx.render(template)
          } catch (err) {
            if (!(err instanceof MissingTemplateValue)) throw err
            throw new PatchbayError(
              'connection.invalid_values',
              `auth.extra.${where} needs the connection value "${err.key}"`,
              {
                details: [
                  { path: `values.${err.key}`, rule: `is required by auth.extra.${where}` },
                ],
              },
            )
          }
        }
        for (const [k, v] of Object.entries(extra?.query ?? {}))
          request.url.searchParams.set(k, renderExtra(v, `query.${k}`))
        // Extra headers go on before a scheme that signs, so the signature covers them too.
        const signs = signsRequest(loaded.scheme, loaded.settings, actx.values)
        const setExtraHeaders = () => {
          for (const [k, v] of Object.entries(extra?.headers ?? {}))
            request.headers[k.toLowerCase()] = renderExtra(v, `headers.${k}`)
        }
        if (signs) setExtraHeaders()
        try {
          await loaded.scheme.apply(actx, request)
        } catch (err) {
          throw isPatchbayError(err)
            ? err
            : new PatchbayError(
                'connector.code_error',
                `the ${loaded.definition.name} connector's auth failed to apply: ${(err as Error).message}`,
                { cause: err },
              )
        }
        if (!signs) setExtraHeaders()
      },
      async reacquire() {
        current = await reacquire(current.id, current.credentialsVersion)
        secrets = open(current)
      },
      async refreshIfDue() {
        const { expiresAt, obtainedAt } = secrets.credentials
        if (!canRefresh || !expiresAt) return { refreshed: false }
        const start = obtainedAt ?? expiresAt - 3_600_000
        const now = ctx.now()
        if (now < start + (expiresAt - start) * REFRESH_AT) return { refreshed: false }
        try {
          await binding.reacquire()
          return { refreshed: true, outcome: 'refreshed ahead of expiry' }
        } catch (err) {
          if (now < expiresAt && !isPatchbayError(err, 'connection.needs_reauth')) {
            return {
              refreshed: false,
              outcome: 'early refresh failed; the current token still works',
            }
          }
          throw err
        }
      },
      redaction: () => redaction(loaded, secrets),
    }
    return binding
  }

  return { open, seal, authContext, bind, reacquire, redaction }
}

export type CredentialService = ReturnType<typeof createCredentialService>

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
    {
      cause: err,
      details: { transient: true },
    },
  )
}
