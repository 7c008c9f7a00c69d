/**
 * `Patchbay`: the whole engine in-process — the same operations the HTTP API and the CLI offer,
 * typed. `createPatchbay` (`create.ts`) builds one.
 *
 * @module
 */
import type { Dispatcher } from 'undici'
import type { AuthRegistry, AuthScheme } from '../auth/scheme.js'
import type { Logger } from '../lib/logger.js'
import type { Metrics } from '../lib/metrics.js'
import type { ConnectionStatus, LogRecord, Page, Store } from '../store/store.js'
import type { ActionService } from './actions.js'
import type { AdminKeys } from './admin.js'
import type { BreakerView } from './breakers.js'
import type { ConnectPage } from './connect-page.js'
import type { ConnectSessions, CreatedConnectSession } from './connect-sessions.js'
import type { CallbackOutcome, CreatedConnection } from './connection-flows.js'
import type { ConnectionView } from './connections.js'
import type { ConnectionForm } from './connector-repository.js'
import type { ConnectorView } from './connector-views.js'
import type { EndUserService } from './end-users.js'
import type { RequestOutcome } from './envelope.js'
import type { CallerInfo } from './executor.js'
import type { McpKeys } from './mcp-keys.js'
import type { ProxyRequest, ProxyResponse, TestOutcome } from './requests.js'
import type { RotateOptions, RotationResult } from './rotation.js'
import type { UiSessions } from './ui-sessions.js'
import type { WebhookEventView, WebhookEvents, WebhookOptions } from './webhooks.js'

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
  /** A ready store, instead of opening one from `dataDir` / `databaseUrl`; the caller closes it. */
  store?: Store
  /** Secret keys (first seals); default `PATCHBAY_SECRET_KEY` or the data folder's key file. */
  secretKeys?: Buffer[]
  /** Custom-action timeout, ms (default 30 s). */
  timeoutMs?: number
  /** How often the background refresher looks for refresh tokens about to lapse, ms (default 30 s; 0 = off). */
  refreshIntervalMs?: number
  /** How often expired sessions and old logs are purged, ms (default 10 minutes; 0 = off). */
  purgeIntervalMs?: number
  /**
   * Logs older than this many days are purged (`PATCHBAY_LOG_RETENTION_DAYS`, default 30; 0 keeps
   * all): a whole number from 0 to 36500, else `createPatchbay` throws naming the setting.
   */
  logRetentionDays?: number
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
  /** Web UI session lifetime, seconds (default 12 hours). */
  uiSessionSeconds?: number
  env?: NodeJS.ProcessEnv
}

export interface LogView extends Omit<LogRecord, 'time'> {
  time: string
}

export interface PageInput {
  limit?: number | string | undefined
  cursor?: string | undefined
}

export interface Patchbay {
  /** The data folder: SQLite database and key files. */
  readonly dataDir: string
  /** `sqlite` or `postgres`. */
  readonly storeDialect: string
  readonly registry: AuthRegistry
  /** Link names of the connectors loaded from `connectorsDir`. */
  readonly codeConnectors: string[]
  /** Where browsers reach the server. */
  readonly publicUrl: string
  /** Sets where browsers reach the server (when it is known only once it listens). */
  setPublicUrl(url: string): void

  connectors: {
    create(input: unknown): Promise<ConnectorView>
    list(query?: PageInput): Promise<Page<ConnectorView>>
    get(idOrLinkName: string): Promise<ConnectorView>
    update(idOrLinkName: string, patch: unknown): Promise<ConnectorView>
    /** Draft → Ready, when the auth settings are complete. */
    ready(idOrLinkName: string): Promise<ConnectorView>
    delete(idOrLinkName: string): Promise<void>
    /** The auth type's test request (e.g. `http_token`) with sample connection values. */
    testAuth(
      idOrLinkName: string,
      input: unknown,
    ): Promise<Record<string, unknown> & { ok: boolean }>
    /** A connection form's fields and whether it uses the browser, for `{ values }` so far. */
    connectionForm(idOrLinkName: string, input: unknown): Promise<ConnectionForm>
  }

  connections: {
    create(input: unknown): Promise<CreatedConnection>
    /**
     * Authorizes an existing connection again, keeping its id (a `needs_reauth` one, say):
     * connected at once for direct schemes, or `authorizeUrl` for browser flows.
     */
    reconnect(id: string, input?: unknown): Promise<CreatedConnection>
    get(id: string): Promise<ConnectionView>
    list(
      filter?: PageInput & { connector?: string; endUser?: string; status?: ConnectionStatus },
    ): Promise<Page<ConnectionView>>
    /** Deletes a connection, revoking its tokens at the provider where it can. */
    delete(id: string): Promise<{ revoked: boolean | null }>
    test(id: string): Promise<TestOutcome>
    refresh(id: string): Promise<ConnectionView>
    /**
     * An ad-hoc custom action: the upstream's answer in the envelope. `caller` names the MCP key
     * and tool in the log entry.
     */
    request(id: string, input: unknown, caller?: CallerInfo): Promise<RequestOutcome>
    /** The streaming proxy: the upstream's answer as it is. */
    proxy(id: string, request: ProxyRequest): Promise<ProxyResponse>
    /**
     * Finishes a browser flow at the callback route `path` (one of `registry.callbacks()`); a
     * reconnect session ends once its connection is re-authorized.
     */
    complete(path: string, params: URLSearchParams): Promise<CallbackOutcome>
    /** Closes a connection's breaker by hand. */
    resetBreaker(id: string): Promise<BreakerView>
  }

  actions: ActionService

  logs: {
    list(
      filter?: PageInput & {
        connector?: string
        connection?: string
        action?: string
        /** Entries made by this MCP key's tool calls. */
        mcpKey?: string
        /** Entries made by calls of this MCP tool. */
        tool?: string
      },
    ): Promise<Page<LogView>>
  }

  /** Admin keys: the bootstrap key, and named, revocable ones. */
  admin: AdminKeys
  /** Scoped MCP keys for AI agents (docs/mcp.md): created, listed, revoked, authenticated. */
  mcpKeys: McpKeys
  /** Web UI sessions. */
  uiSessions: UiSessions
  /** Creates a connect session for an end user: `{ id, token, url, expiresAt }`. */
  createConnectSession(input: unknown): Promise<CreatedConnectSession>
  connectSessions: Pick<ConnectSessions, 'create' | 'list' | 'delete'>
  /** What the hosted connect page does with a session token. */
  connectPage: ConnectPage
  endUsers: {
    list(query?: PageInput): Promise<Awaited<ReturnType<EndUserService['list']>>>
    get: EndUserService['get']
    /** Deletes (and revokes) all the end user's connections and ends their connect sessions. */
    delete: EndUserService['delete']
  }
  webhooks: {
    /** Resolves when no webhook event is pending in the outbox and none is in flight here. */
    idle(): Promise<void>
  }
  /** The webhook outbox: events pending, delivered and dead-lettered, and retrying dead ones. */
  webhookEvents: {
    list(
      filter?: PageInput & { status?: string; connection?: string },
    ): Promise<Page<WebhookEventView>>
    get: WebhookEvents['get']
    /** Sends a dead-lettered event again (same event id); `webhook_event.not_dead` otherwise. */
    retry: WebhookEvents['retry']
  }
  secrets: {
    /** Re-seals every secret under a new key while servers run; `patchbay secrets rotate`. */
    rotate(options?: RotateOptions): Promise<RotationResult>
  }
  /** One pass of the background refresher (it also runs on its own timer). */
  refreshDue(): Promise<number>
  /** One purge of expired sessions, states and old logs (it also runs on its own timer). */
  purge(): Promise<Record<string, number>>
  /** Whether the example connector was seeded into this store already; marks it seeded. */
  seedOnce(name: string): Promise<boolean>
  metrics: Metrics
  logger: Logger
  /**
   * Ready when the store answers and this process's secret key opens what it holds (a process
   * left on an old key after a rotation is not); `reason` says why not.
   */
  readiness(): Promise<{ ready: boolean; reason?: string }>
  /** `readiness().ready`. */
  ready(): Promise<boolean>
  /** Allows one more exact `address:port` (the server adds its own, for the demo API). */
  allowEndpoint(endpoint: string): void
  /** Flushes logs, stops timers and webhooks, closes what it opened. */
  close(): Promise<void>
}
