/**
 * `createPatchbay`: the whole engine in-process — the same operations the HTTP API and the CLI
 * offer, typed.
 *
 * @module
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import type { Dispatcher } from 'undici'
import { createBuiltinRegistry } from '../auth/builtin.js'
import type { AuthRegistry, AuthScheme } from '../auth/scheme.js'
import { listQuerySchema } from '../connector/schema.js'
import { invalidInput } from '../errors.js'
import { createHttpClient } from '../lib/http-client.js'
import { createLogger, type Logger } from '../lib/logger.js'
import { createMetrics } from '../lib/metrics.js'
import { createGuardedAgent } from '../lib/network.js'
import { createPipeline } from '../pipeline/index.js'
import { createSecretBox, loadSecretKeys } from '../store/crypto.js'
import { openStore } from '../store/open.js'
import {
  emptyBreaker,
  type ConnectionStatus,
  type LogRecord,
  type Page,
  type Store,
} from '../store/store.js'
import { createConnectionService } from './connections.js'
import {
  actionBreakerKey,
  breakerView,
  connectionBreakerKey,
  createConnectorService,
} from './connectors.js'
import type { EngineContext } from './context.js'
import { createCredentialService, REFRESH_AT } from './credentials.js'
import { toFieldIssues } from './issues.js'
import { createRequestService } from './requests.js'

export interface PatchbayOptions {
  /** The data folder (`PATCHBAY_DATA_DIR`, default `./.patchbay`): SQLite database and key files. */
  dataDir?: string
  /** `postgres://…` to use PostgreSQL instead of SQLite (`PATCHBAY_DATABASE_URL`). */
  databaseUrl?: string
  /** Where browsers reach the server, for OAuth callbacks (`PATCHBAY_PUBLIC_URL`). */
  publicUrl?: string
  /** Auth types besides the built-in ones. */
  schemes?: AuthScheme<never>[]
  /** A ready store, instead of opening one from `dataDir` / `databaseUrl`. */
  store?: Store
  /** Secret keys (first seals); default `PATCHBAY_SECRET_KEY` or the data folder's key file. */
  secretKeys?: Buffer[]
  /** Custom-action timeout, ms (default 30 s). */
  timeoutMs?: number
  /** How often the background refresher looks for refresh tokens about to lapse, ms (default 30 s; 0 = off). */
  refreshIntervalMs?: number
  /** Structured logs (default: pino at `PATCHBAY_LOG_LEVEL`, JSON on stdout). */
  logger?: Logger
  /** Also export Node's process metrics on `/metrics`. */
  defaultMetrics?: boolean
  /** The undici dispatcher for all outgoing calls (default: one that obeys the network policy). */
  dispatcher?: Dispatcher
  /**
   * Let outgoing calls reach loopback and private networks (`PATCHBAY_ALLOW_PRIVATE_NETWORK`).
   * Link-local and metadata addresses stay refused either way.
   */
  allowPrivateNetwork?: boolean
  /** Exact `address:port` pairs allowed even when private networks are not (the built-in demo API). */
  allowEndpoints?: string[]
  env?: NodeJS.ProcessEnv
}

export interface LogView extends Omit<LogRecord, 'time'> {
  time: string
}

export async function createPatchbay(options: PatchbayOptions = {}) {
  const env = options.env ?? process.env
  const dataDir = resolve(options.dataDir ?? env.PATCHBAY_DATA_DIR ?? '.patchbay')
  mkdirSync(dataDir, { recursive: true, mode: 0o700 })
  const store =
    options.store ??
    (await openStore({
      dataDir,
      databaseUrl: options.databaseUrl ?? env.PATCHBAY_DATABASE_URL,
      databaseSchema: env.PATCHBAY_DATABASE_SCHEMA,
    }))
  const box = createSecretBox(options.secretKeys ?? loadSecretKeys(dataDir, env))
  const registry: AuthRegistry = createBuiltinRegistry(options.schemes ?? [])
  const allowPrivate =
    options.allowPrivateNetwork ?? /^(1|true|yes)$/i.test(env.PATCHBAY_ALLOW_PRIVATE_NETWORK ?? '')
  const allowEndpoints = new Set(options.allowEndpoints ?? [])
  const dispatcher = options.dispatcher ?? createGuardedAgent({ allowPrivate, allowEndpoints })
  const ctx: EngineContext = {
    store,
    box,
    registry,
    publicUrl: options.publicUrl ?? env.PATCHBAY_PUBLIC_URL ?? 'http://127.0.0.1:4000',
    http: createHttpClient({ dispatcher, timeoutMs: options.timeoutMs ?? 30_000 }),
    pipeline: createPipeline(dispatcher),
    now: Date.now,
    timeoutMs: options.timeoutMs ?? 30_000,
    metrics: createMetrics({ defaultMetrics: options.defaultMetrics ?? false }),
    logger: options.logger ?? createLogger(env),
  }
  const connectors = createConnectorService(ctx)
  const credentials = createCredentialService(ctx, (id) => connectors.load(id))
  const connections = createConnectionService(ctx, connectors, credentials)
  const requests = createRequestService(ctx, connectors, connections, credentials)
  connections.setIdentityProbe((loaded, record) => requests.identityOf(loaded, record))

  /** Keeps connections whose refresh token would lapse alive, with no traffic (SPEC §3). */
  async function refreshDue(): Promise<number> {
    const now = ctx.now()
    const due = await store.listRefreshDue(0, now + 24 * 3_600_000, now, 100)
    let refreshed = 0
    for (const record of due) {
      if (record.refreshExpiresAt === null) continue
      const { credentials: c } = credentials.open(record)
      const start = c.obtainedAt ?? record.updatedAt
      if (now < start + (record.refreshExpiresAt - start) * REFRESH_AT) continue
      try {
        await credentials.reacquire(record.id, record.credentialsVersion)
        refreshed++
      } catch {
        // Logged by reacquire; backoff or needs_reauth is recorded on the connection.
      }
    }
    return refreshed
  }

  const interval = options.refreshIntervalMs ?? 30_000
  let timer: NodeJS.Timeout | undefined
  if (interval > 0) {
    timer = setInterval(
      () =>
        void refreshDue().catch((err: unknown) =>
          ctx.logger.error({ err }, 'background refresh failed'),
        ),
      interval,
    )
    timer.unref()
  }

  const admin = {
    /** The admin key: `PATCHBAY_ADMIN_KEY`, or one generated on first start into `<dataDir>/admin.key` (0600). */
    ensureKey(): { key: string; generated: boolean; file?: string } {
      if (env.PATCHBAY_ADMIN_KEY) return { key: env.PATCHBAY_ADMIN_KEY, generated: false }
      const file = join(dataDir, 'admin.key')
      if (existsSync(file))
        return { key: readFileSync(file, 'utf8').trim(), generated: false, file }
      const key = `pbk_${randomBytes(32).toString('base64url')}`
      writeFileSync(file, key + '\n', { mode: 0o600, flag: 'wx' })
      return { key, generated: true, file }
    },
  }

  return {
    store,
    dataDir,
    registry,
    get publicUrl(): string {
      return ctx.publicUrl
    },
    /** Sets where browsers reach the server (when it is known only once it listens). */
    setPublicUrl(url: string): void {
      ctx.publicUrl = url.replace(/\/$/, '')
    },
    connectors: {
      create: connectors.create,
      list: (query: { limit?: number | string | undefined; cursor?: string | undefined } = {}) =>
        connectors.list(pageQuery(query)),
      get: connectors.get,
      update: connectors.update,
      ready: connectors.ready,
      delete: connectors.delete,
    },
    connections: {
      create: connections.create,
      get: connections.get,
      list: (
        filter: {
          connector?: string
          endUser?: string
          status?: ConnectionStatus
          limit?: number
          cursor?: string
        } = {},
      ) => connections.list({ ...filter, ...pageQuery(filter) }),
      delete: connections.delete,
      test: requests.test,
      refresh: connections.refresh,
      request: requests.request,
      proxy: requests.proxy,
      complete: connections.complete,
      /** Closes a connection's breaker by hand. */
      async resetBreaker(id: string) {
        await connections.find(id)
        const key = connectionBreakerKey(id)
        return breakerView(await store.updateBreaker(key, () => emptyBreaker(key)))
      },
    },
    actions: {
      run: requests.runAction,
      async get(actionId: string) {
        const { connectorId, action } = await requests.findAction(actionId)
        return {
          ...action,
          connectorId,
          breaker: breakerView(await store.getBreaker(actionBreakerKey(connectorId, action.id))),
        }
      },
      /** Closes an action's breaker by hand. */
      async resetBreaker(actionId: string) {
        const { connectorId, action } = await requests.findAction(actionId)
        const key = actionBreakerKey(connectorId, action.id)
        return breakerView(await store.updateBreaker(key, () => emptyBreaker(key)))
      },
    },
    logs: {
      async list(
        filter: {
          connector?: string
          connection?: string
          action?: string
          limit?: number
          cursor?: string
        } = {},
      ): Promise<Page<LogView>> {
        const page = await store.listLogs({
          ...pageQuery(filter),
          connectorId: filter.connector,
          connectionId: filter.connection,
          actionId: filter.action,
        })
        return {
          ...page,
          items: page.items.map((l) => ({ ...l, time: new Date(l.time).toISOString() })),
        }
      },
    },
    admin: {
      ...admin,
      async verify(candidate: string): Promise<boolean> {
        const expected = admin.ensureKey().key
        const a = createHash('sha256').update(candidate).digest()
        const b = createHash('sha256').update(expected).digest()
        return Promise.resolve(timingSafeEqual(a, b))
      },
    },
    refreshDue,
    metrics: ctx.metrics,
    logger: ctx.logger,
    /** Ready when the store answers. */
    async ready(): Promise<boolean> {
      try {
        await store.getMeta('ready_probe')
        return true
      } catch {
        return false
      }
    },
    /** Allows one more exact `address:port` (the server adds its own, for the demo API). */
    allowEndpoint(endpoint: string): void {
      allowEndpoints.add(endpoint)
    },
    async close(): Promise<void> {
      if (timer) clearInterval(timer)
      if (!options.dispatcher) await (dispatcher as { close?: () => Promise<void> }).close?.()
      if (!options.store) await store.close()
    },
  }
}

export type Patchbay = Awaited<ReturnType<typeof createPatchbay>>

function pageQuery(q: { limit?: number | string | undefined; cursor?: string | undefined }): {
  limit: number
  cursor?: string
} {
  const parsed = listQuerySchema.safeParse({ limit: q.limit, cursor: q.cursor })
  if (!parsed.success) throw invalidInput(toFieldIssues(parsed.error))
  return parsed.data.cursor
    ? { limit: parsed.data.limit, cursor: parsed.data.cursor }
    : { limit: parsed.data.limit }
}
