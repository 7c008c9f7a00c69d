/**
 * `createPatchbay`: the whole engine in-process — the same operations the HTTP API and the CLI
 * offer, typed.
 *
 * @module
 */
import { mkdirSync } from 'node:fs'
import { resolve } from 'node:path'
import type { Dispatcher } from 'undici'
import { createBuiltinRegistry } from '../auth/builtin.js'
import type { AuthRegistry, AuthScheme } from '../auth/scheme.js'
import { listQuerySchema, reconnectInputSchema } from '../connector/schema.js'
import { PatchbayError, invalidInput, isPatchbayError } from '../errors.js'
import { createHttpClient } from '../lib/http-client.js'
import { createLogger, type Logger } from '../lib/logger.js'
import { createMetrics } from '../lib/metrics.js'
import { createGuardedAgent } from '../lib/network.js'
import { createPipeline } from '../pipeline/index.js'
import { createKeyring, createSecretBox, staticKeyring } from '../store/crypto.js'
import { openStore } from '../store/open.js'
import {
  emptyBreaker,
  type ConnectionStatus,
  type LogRecord,
  type Page,
  type Store,
} from '../store/store.js'
import { createAdminKeys } from './admin.js'
import { createConnectSessionService } from './connect-sessions.js'
import { loadCodeConnectors } from './code-connectors.js'
import { createConnectionService } from './connections.js'
import {
  actionBreakerKey,
  breakerView,
  connectionBreakerKey,
  createConnectorService,
} from './connectors.js'
import type { EngineContext } from './context.js'
import { createCredentialService, REFRESH_AT } from './credentials.js'
import { createEndUserService } from './end-users.js'
import { createEngineEvents } from './events.js'
import { toFieldIssues } from './issues.js'
import { createReauthorizer } from './reauthorize.js'
import { createRequestService } from './requests.js'
import { rotateSecrets, type RotateOptions } from './rotation.js'
import {
  checkWebhookOptions,
  createWebhookSender,
  webhookOptionsFromEnv,
  type WebhookOptions,
} from './webhooks.js'

export interface PatchbayOptions {
  /** The data folder (`PATCHBAY_DATA_DIR`, default `./.patchbay`): SQLite database and key files. */
  dataDir?: string
  /** `postgres://…` to use PostgreSQL instead of SQLite (`PATCHBAY_DATABASE_URL`). */
  databaseUrl?: string
  /** Where browsers reach the server, for OAuth callbacks (`PATCHBAY_PUBLIC_URL`). */
  publicUrl?: string
  /** Auth types besides the built-in ones. */
  schemes?: AuthScheme<never>[]
  /**
   * A folder of code connectors (`PATCHBAY_CONNECTORS_DIR`): each `.js` / `.mjs` file
   * default-exports `defineConnector(…)` and is loaded at start as a ready connector.
   */
  connectorsDir?: string
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
  /**
   * Signed webhooks for connection events (default from `PATCHBAY_WEBHOOK_URL` and
   * `PATCHBAY_WEBHOOK_SECRET`; `false` turns them off). See webhooks.ts.
   */
  webhook?: WebhookOptions | false
  /** The product name and logo the connect page shows (`PATCHBAY_BRAND_NAME`, `PATCHBAY_BRAND_LOGO_URL`). */
  brand?: { name?: string; logoUrl?: string }
  env?: NodeJS.ProcessEnv
}

export interface LogView extends Omit<LogRecord, 'time'> {
  time: string
}

export async function createPatchbay(options: PatchbayOptions = {}) {
  const env = options.env ?? process.env
  const dataDir = resolve(options.dataDir ?? env.PATCHBAY_DATA_DIR ?? '.patchbay')
  mkdirSync(dataDir, { recursive: true, mode: 0o700 })
  const webhook =
    options.webhook === false ? undefined : (options.webhook ?? webhookOptionsFromEnv(env))
  if (webhook) checkWebhookOptions(webhook)
  // Code connectors first: their auth types join the registry, read lazily by their schemes.
  const connectorsDir = options.connectorsDir ?? env.PATCHBAY_CONNECTORS_DIR
  const code = connectorsDir ? await loadCodeConnectors(connectorsDir, () => registry) : []
  const store =
    options.store ??
    (await openStore({
      dataDir,
      databaseUrl: options.databaseUrl ?? env.PATCHBAY_DATABASE_URL,
      databaseSchema: env.PATCHBAY_DATABASE_SCHEMA,
    }))
  // Key files are re-read when `patchbay secrets rotate` replaces them (crypto.ts).
  const keyring = options.secretKeys
    ? staticKeyring(options.secretKeys)
    : createKeyring(dataDir, env)
  const box = createSecretBox(keyring)
  const registry: AuthRegistry = createBuiltinRegistry([
    ...(options.schemes ?? []),
    ...code.map((c) => c.scheme),
  ])
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
    events: createEngineEvents((err) =>
      ctx.logger.error({ err }, 'a connection event listener failed'),
    ),
  }
  const connectors = createConnectorService(ctx)
  const credentials = createCredentialService(ctx, (id) => connectors.load(id))
  const connections = createConnectionService(ctx, connectors, credentials)
  const reauthorize = createReauthorizer(ctx, connectors, connections, credentials)
  const requests = createRequestService(ctx, connectors, connections, credentials)
  connections.setIdentityProbe((loaded, record) =>
    loaded.scheme.identity
      ? loaded.scheme.identity(credentials.authContext(loaded, record, credentials.open(record)))
      : requests.identityOf(loaded, record),
  )
  for (const c of code) {
    try {
      await connectors.upsertFromCode(c.definition)
    } catch (err) {
      if (!options.store) await store.close()
      throw new PatchbayError(
        'connector.invalid',
        `code connector ${c.file}: ${(err as Error).message}`,
        isPatchbayError(err) ? { details: err.details, cause: err } : { cause: err },
      )
    }
  }

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

  const admin = createAdminKeys(store, dataDir, env)

  // End users and connect sessions (SPEC §8); webhooks hear the connection events.
  const connectSessions = createConnectSessionService(ctx, connectors, connections, credentials, {
    brand: {
      name: options.brand?.name ?? env.PATCHBAY_BRAND_NAME,
      logoUrl: options.brand?.logoUrl ?? env.PATCHBAY_BRAND_LOGO_URL,
    },
  })
  connections.setFlowGuard((sessionId) => connectSessions.checkFlow(sessionId))
  const endUsers = createEndUserService(store, connections, connectSessions)
  const webhooks = webhook ? createWebhookSender(ctx, webhook) : undefined
  if (webhooks) ctx.events.on((event) => webhooks.send(event))

  return {
    store,
    dataDir,
    registry,
    /** Link names of the connectors loaded from `connectorsDir`. */
    codeConnectors: code.map((c) => c.linkName),
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
      /** The auth type's test request (e.g. `http_token`) with sample connection values. */
      testAuth: connectors.testAuth,
    },
    connections: {
      create: connections.create,
      /**
       * Authorizes an existing connection again, keeping its id (a `needs_reauth` one, say):
       * connected at once for direct schemes, or `authorizeUrl` for browser flows.
       */
      async reconnect(id: string, input: unknown = {}) {
        const parsed = reconnectInputSchema.safeParse(input ?? {})
        if (!parsed.success) throw invalidInput(toFieldIssues(parsed.error))
        const done = await reauthorize(id, parsed.data.values ?? {}, {
          sessionId: null,
          returnUrl: parsed.data.returnUrl ?? null,
        })
        const view = await connections.view(done.record)
        return done.authorizeUrl ? { ...view, authorizeUrl: done.authorizeUrl } : view
      },
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
      /** Finishes a browser flow; a reconnect session ends once its connection is re-authorized. */
      async complete(callback: 'oauth' | 'oauth1', params: URLSearchParams) {
        const outcome = await connections.complete(callback, params)
        await connectSessions
          .flowCompleted(outcome)
          .catch((err: unknown) => ctx.logger.error({ err }, 'could not end a connect session'))
        return outcome
      },
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
    /** Admin keys: the bootstrap key, and named, revocable ones (admin.ts). */
    admin,
    /** Creates a connect session for an end user: `{ id, token, url, expiresAt }` (SPEC §8). */
    createConnectSession: connectSessions.create,
    connectSessions: {
      create: connectSessions.create,
      /** Live sessions (never a token). */
      list: connectSessions.list,
      /** Ends a session early. */
      delete: connectSessions.delete,
    },
    /** What the hosted connect page does with a session token (server/connect.ts). */
    connectPage: {
      authenticate: connectSessions.authenticate,
      describe: connectSessions.describe,
      fields: connectSessions.fields,
      connect: connectSessions.connect,
      result: connectSessions.result,
      brand: connectSessions.brand,
    },
    endUsers: {
      list: (query: { limit?: number | string | undefined; cursor?: string | undefined } = {}) =>
        endUsers.list(pageQuery(query)),
      get: endUsers.get,
      /** Deletes (and revokes) all the end user's connections and ends their connect sessions. */
      delete: endUsers.delete,
    },
    webhooks: {
      /** Resolves when no delivery is in flight or waiting for a retry. */
      idle: () => webhooks?.idle() ?? Promise.resolve(),
    },
    secrets: {
      /** Re-seals every secret under a new key while servers run (rotation.ts); `patchbay secrets rotate`. */
      rotate: (rotateOptions?: RotateOptions) =>
        rotateSecrets({ store, keyring, box, dataDir }, rotateOptions),
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
      await webhooks?.close()
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
