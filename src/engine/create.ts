/**
 * The composition root: `createPatchbay` opens the store and the keys, builds every service with
 * the collaborators it declares, and answers the `Patchbay` interface (`patchbay.ts`).
 *
 * @module
 */
import { mkdirSync } from 'node:fs'
import { resolve } from 'node:path'
import { createBuiltinRegistry } from '../auth/builtin.js'
import type { AuthRegistry } from '../auth/scheme.js'
import { listQuerySchema } from '../connector/schema.js'
import { PatchbayError, invalidInput, isPatchbayError } from '../errors.js'
import { createHttpClient } from '../lib/http-client.js'
import { createLogger } from '../lib/logger.js'
import { createMetrics } from '../lib/metrics.js'
import { createGuardedAgent } from '../lib/network.js'
import { createPipeline } from '../pipeline/index.js'
import {
  createKeyring,
  createSecretBox,
  staticKeyring,
  type Keyring,
  type SecretBox,
} from '../store/crypto.js'
import { openStore } from '../store/open.js'
import type { PageQuery } from '../store/store.js'
import { createActionService } from './actions.js'
import { createAdminKeys } from './admin.js'
import { createAuthBinder } from './auth-binding.js'
import { createAuthTest } from './auth-test.js'
import { checkLogRetentionDays, startBackground } from './background.js'
import { createBreakers } from './breakers.js'
import { createCallTargets } from './call-targets.js'
import { createClientTls } from './client-tls.js'
import { loadCodeConnectors, upsertCodeConnector } from './code-connectors.js'
import { createConnectPage } from './connect-page.js'
import { createConnectSessions } from './connect-sessions.js'
import { createConnectionFlows } from './connection-flows.js'
import { createConnectionSecrets } from './connection-secrets.js'
import { createConnectionService } from './connections.js'
import { createConnectorRepository } from './connector-repository.js'
import { createConnectorViews } from './connector-views.js'
import { createConnectorService } from './connectors.js'
import type { EngineContext } from './context.js'
import { createEndUserService } from './end-users.js'
import { createEngineEvents } from './events.js'
import { createExecutor } from './executor.js'
import { createIdentityProbe } from './identity.js'
import { toFieldIssues } from './issues.js'
import { keyCheckProblem, verifySecretKey } from './key-check.js'
import { createLogWriter } from './log-writer.js'
import { createMcpKeys } from './mcp-keys.js'
import type { Patchbay, PatchbayOptions, PageInput } from './patchbay.js'
import { createRefresher } from './refresher.js'
import { createRequestService } from './requests.js'
import { rotateSecrets } from './rotation.js'
import { createUiSessions } from './ui-sessions.js'
import {
  checkWebhookOptions,
  createWebhookDeliverer,
  createWebhookEvents,
  webhookOptionsFromEnv,
  WEBHOOK_TIMEOUT_MS,
  type WebhookDeliverer,
} from './webhooks.js'

function pageQuery(q: PageInput): PageQuery {
  const parsed = listQuerySchema.safeParse({ limit: q.limit, cursor: q.cursor })
  if (!parsed.success) throw invalidInput(toFieldIssues(parsed.error))
  return parsed.data
}

export async function createPatchbay(options: PatchbayOptions = {}): Promise<Patchbay> {
  const env = options.env ?? process.env
  const dataDir = resolve(options.dataDir ?? env.PATCHBAY_DATA_DIR ?? '.patchbay')
  mkdirSync(dataDir, { recursive: true, mode: 0o700 })
  const webhook =
    options.webhook === false ? undefined : (options.webhook ?? webhookOptionsFromEnv(env))
  if (webhook) checkWebhookOptions(webhook)
  const logRetentionDays = checkLogRetentionDays(
    options.logRetentionDays ?? env.PATCHBAY_LOG_RETENTION_DAYS,
  )
  // Code connectors first: their auth types join the registry, read lazily by their schemes.
  const connectorsDir = options.connectorsDir ?? env.PATCHBAY_CONNECTORS_DIR
  const code = connectorsDir ? await loadCodeConnectors(connectorsDir, () => registry) : []
  const registry: AuthRegistry = createBuiltinRegistry([
    ...(options.schemes ?? []),
    ...code.map((c) => c.scheme),
  ])
  const store =
    options.store ??
    (await openStore({
      dataDir,
      databaseUrl: options.databaseUrl ?? env.PATCHBAY_DATABASE_URL,
      databaseSchema: env.PATCHBAY_DATABASE_SCHEMA,
    }))
  // Key files are re-read when `patchbay secrets rotate` replaces them (crypto.ts).
  let keyring: Keyring
  let box: SecretBox
  try {
    keyring = options.secretKeys ? staticKeyring(options.secretKeys) : createKeyring(dataDir, env)
    box = createSecretBox(keyring)
    // Before anything is sealed or opened: a process with another key than the database's
    // refuses to start rather than fail every call (key-check.ts).
    await verifySecretKey({ store, box, keyring, dataDir })
  } catch (err) {
    if (!options.store) await store.close()
    throw err
  }
  const keyCheck = { store, box, keyring, dataDir }
  const allowPrivate =
    options.allowPrivateNetwork ?? /^(1|true|yes)$/i.test(env.PATCHBAY_ALLOW_PRIVATE_NETWORK ?? '')
  const allowEndpoints = new Set(options.allowEndpoints ?? [])
  const dispatcher = options.dispatcher ?? createGuardedAgent({ allowPrivate, allowEndpoints })
  const timeoutMs = options.timeoutMs ?? 30_000
  const logger = options.logger ?? createLogger(env)
  const now = Date.now
  const log = createLogWriter(store, logger, now)
  const deliverer: WebhookDeliverer | undefined = webhook
    ? createWebhookDeliverer(
        {
          store,
          // Receivers are asked to answer quickly; a shorter timeout also bounds the claim lease.
          http: createHttpClient({ dispatcher, timeoutMs: WEBHOOK_TIMEOUT_MS }),
          log,
          logger,
          now,
        },
        webhook,
      )
    : undefined

  const ctx: EngineContext = {
    store,
    box,
    registry,
    publicUrl: options.publicUrl ?? env.PATCHBAY_PUBLIC_URL ?? 'http://127.0.0.1:4000',
    http: createHttpClient({ dispatcher, timeoutMs }),
    now,
    timeoutMs,
    metrics: createMetrics({ defaultMetrics: options.defaultMetrics ?? false }),
    logger,
    events: createEngineEvents({
      enabled: deliverer !== undefined,
      now,
      written: () => deliverer?.wake(),
    }),
    log,
  }

  const breakers = createBreakers(store)
  const repository = createConnectorRepository(store, box, registry)
  const connectorViews = createConnectorViews(store, registry, repository, breakers)
  const connectors = createConnectorService(ctx, repository, connectorViews)
  const testAuth = createAuthTest(ctx, repository)
  // Mutual TLS agents, one pair per client certificate, under the same network policy.
  const clientTls = createClientTls({ allowPrivate, allowEndpoints }, timeoutMs)
  const secretBox = createConnectionSecrets(ctx, clientTls)
  const refresher = createRefresher(ctx, repository, secretBox)
  const bindAuth = createAuthBinder(ctx, secretBox, refresher)
  const executor = createExecutor(ctx, createPipeline(dispatcher), bindAuth, breakers)
  const targets = createCallTargets(store, repository, secretBox)
  const connections = createConnectionService(ctx, repository, secretBox, refresher, breakers)
  const sessions = createConnectSessions(ctx)
  const flows = createConnectionFlows(
    ctx,
    repository,
    connections,
    secretBox,
    createIdentityProbe(executor, targets, secretBox),
    sessions.guard,
  )
  const connectPage = createConnectPage(ctx, repository, secretBox, flows, sessions, {
    name: (options.brand?.name ?? env.PATCHBAY_BRAND_NAME)?.trim() || null,
    logoUrl: (options.brand?.logoUrl ?? env.PATCHBAY_BRAND_LOGO_URL)?.trim() || null,
  })
  const requests = createRequestService(store, targets, executor)
  const actions = createActionService(store, targets, executor, breakers)
  const endUsers = createEndUserService(store, connections, sessions)
  const admin = createAdminKeys(store, dataDir, env)
  const mcpKeys = createMcpKeys(store, now)
  const uiSessions = createUiSessions(store, admin, now, options.uiSessionSeconds ?? 12 * 60 * 60)
  const webhookEvents = createWebhookEvents(store, now, deliverer)

  for (const c of code) {
    try {
      await upsertCodeConnector(ctx, repository, c.definition)
    } catch (err) {
      if (!options.store) await store.close()
      throw new PatchbayError(
        'connector.invalid',
        `code connector ${c.file}: ${(err as Error).message}`,
        isPatchbayError(err) ? { details: err.details, cause: err } : { cause: err },
      )
    }
  }

  // Events left in the outbox (by this process before a restart, or by others) go out now.
  deliverer?.wake()
  const background = startBackground(
    { store, refresher, secretBox, logger, now },
    {
      refreshIntervalMs: options.refreshIntervalMs ?? 30_000,
      purgeIntervalMs: options.purgeIntervalMs ?? 10 * 60_000,
      logRetentionDays,
    },
  )

  async function readiness(): Promise<{ ready: boolean; reason?: string }> {
    let reason: string | undefined
    try {
      reason = await keyCheckProblem(keyCheck)
    } catch {
      return { ready: false, reason: 'the database does not answer' }
    }
    return reason === undefined ? { ready: true } : { ready: false, reason }
  }

  return {
    dataDir,
    storeDialect: store.dialect,
    registry,
    codeConnectors: code.map((c) => c.linkName),
    get publicUrl() {
      return ctx.publicUrl
    },
    setPublicUrl(url) {
      ctx.publicUrl = url.replace(/\/$/, '')
    },
    connectors: {
      create: connectors.create,
      list: (query = {}) => connectors.list(pageQuery(query)),
      get: connectors.get,
      update: connectors.update,
      ready: connectors.ready,
      delete: connectors.delete,
      testAuth,
      connectionForm: connectors.connectionForm,
    },
    connections: {
      create: (input) => flows.create(input),
      reconnect: (id, input = {}) => flows.reconnect(id, input),
      get: connections.get,
      list: (filter = {}) => connections.list({ ...filter, ...pageQuery(filter) }),
      delete: connections.delete,
      test: requests.test,
      refresh: connections.refresh,
      request: requests.request,
      proxy: requests.proxy,
      async complete(path, params) {
        const outcome = await flows.complete(path, params)
        await sessions
          .flowCompleted(outcome)
          .catch((err: unknown) => logger.error({ err }, 'could not end a connect session'))
        return outcome
      },
      resetBreaker: connections.resetBreaker,
    },
    actions,
    logs: {
      async list(filter = {}) {
        // This process's own entries first: a call's log line is readable once it answered.
        await ctx.log.flush()
        const page = await store.listLogs({
          ...pageQuery(filter),
          connectorId: filter.connector,
          connectionId: filter.connection,
          actionId: filter.action,
          mcpKeyId: filter.mcpKey,
          tool: filter.tool,
        })
        return {
          ...page,
          items: page.items.map((l) => ({ ...l, time: new Date(l.time).toISOString() })),
        }
      },
    },
    admin,
    mcpKeys,
    uiSessions,
    createConnectSession: sessions.create,
    connectSessions: { create: sessions.create, list: sessions.list, delete: sessions.delete },
    connectPage,
    endUsers: {
      list: (query = {}) => endUsers.list(pageQuery(query)),
      get: endUsers.get,
      delete: endUsers.delete,
    },
    webhooks: { idle: () => deliverer?.idle() ?? Promise.resolve() },
    webhookEvents: {
      list: (filter = {}) => webhookEvents.list({ ...filter, ...pageQuery(filter) }),
      get: webhookEvents.get,
      retry: webhookEvents.retry,
    },
    secrets: {
      rotate: (rotateOptions) => rotateSecrets({ store, keyring, box, dataDir }, rotateOptions),
    },
    refreshDue: background.refreshDue,
    purge: background.purge,
    async seedOnce(name) {
      const key = `${name}_seeded`
      if ((await store.getMeta(key)) !== undefined) return false
      await store.setMeta(key, new Date(now()).toISOString())
      return true
    },
    metrics: ctx.metrics,
    logger,
    readiness,
    async ready() {
      return (await readiness()).ready
    },
    allowEndpoint(endpoint) {
      allowEndpoints.add(endpoint)
    },
    async close() {
      background.stop()
      await deliverer?.close()
      await ctx.log.close()
      if (!options.dispatcher) await (dispatcher as { close?: () => Promise<void> }).close?.()
      await clientTls.close()
      if (!options.store) await store.close()
    },
  }
}
