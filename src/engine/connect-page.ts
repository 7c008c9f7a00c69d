/**
 * What the hosted connect page does with a session (docs/connect.md): shows the connectors the
 * session offers (nothing of their auth settings), their fields for the values chosen so far,
 * creates a connection for the session's end user — or re-authorizes the session's `reconnect`
 * connection — and reports the outcome. Browser flows come back to the page's result route.
 *
 * @module
 */
import { connectPageInputSchema } from '../connector/inputs.js'
import type { FieldDefinition } from '../connector/schema.js'
import { PatchbayError, invalidInput, isPatchbayError } from '../errors.js'
import type { ConnectionRecord, ConnectSessionRecord, Store } from '../store/store.js'
import type { ConnectionSecretBox } from './connection-secrets.js'
import { secretFields, type ConnectionFlows } from './connection-flows.js'
import type { ConnectSessions } from './connect-sessions.js'
import {
  connectionFormOf,
  type ConnectorRepository,
  type LoadedConnector,
} from './connector-repository.js'
import type { EngineContext } from './context.js'
import { toFieldIssues } from './issues.js'

type Obj = Record<string, unknown>

/** How many connections one session may start: enough for retries, not a loophole. */
export const MAX_CONNECTIONS_PER_SESSION = 20
/** Where browser flows started from the connect page come back to (the page's result route). */
export const CONNECT_DONE_PATH = '/connect/done'

export { connectPageInputSchema }

export interface Brand {
  name: string | null
  logoUrl: string | null
}

/** A connector as the connect page shows it: nothing about its auth settings. */
export interface ConnectPageConnector {
  id: string
  linkName: string
  name: string
  description: string | null
  logo: string | null
  fields: FieldDefinition[]
  /** Whether connecting sends the browser to the provider. */
  browser: boolean
}

/** A connection as the connect page sees it. */
export interface ConnectPageConnection {
  id: string
  name: string
  status: ConnectionRecord['status']
  statusMessage: string | null
  connector: { id: string; name: string }
  authorizeUrl?: string
}

/** The outcome the result screen shows, and where to report it. */
export interface ConnectPageResult {
  connection: ConnectPageConnection
  allowedOrigin: string | null
  returnUrl: string | null
  brand: Brand
}

export interface ConnectPageSession {
  id: string
  expiresAt: string
  endUser: { id: string; displayName: string | null }
  allowedOrigin: string | null
  returnUrl: string | null
  brand: Brand
  connectors: ConnectPageConnector[]
  reconnect: (ConnectPageConnection & { fields: FieldDefinition[]; browser: boolean }) | null
}

export interface ConnectPage {
  authenticate: ConnectSessions['authenticate']
  brand(): Brand
  describe(s: ConnectSessionRecord): Promise<ConnectPageSession>
  /** A connector's fields for the values chosen so far (a `multi` connector's depend on them). */
  fields(s: ConnectSessionRecord, input: unknown): Promise<ConnectPageConnector>
  connect(s: ConnectSessionRecord, input: unknown): Promise<ConnectPageConnection>
  /** A connection this session created or re-authorized, for the page's result screen. */
  result(s: ConnectSessionRecord, connectionId: string): Promise<ConnectPageResult>
}

function pageConnection(
  record: ConnectionRecord,
  connectorName: string,
  authorizeUrl?: string,
): ConnectPageConnection {
  return {
    id: record.id,
    name: record.name,
    status: record.status,
    statusMessage: record.statusMessage,
    connector: { id: record.connectorId, name: connectorName },
    ...(authorizeUrl ? { authorizeUrl } : {}),
  }
}

function pageConnector(loaded: LoadedConnector, values: Obj = {}): ConnectPageConnector {
  return {
    id: loaded.record.id,
    linkName: loaded.record.linkName,
    name: loaded.definition.name,
    description: loaded.definition.description ?? null,
    logo: loaded.definition.logo ?? null,
    ...connectionFormOf(loaded, values),
  }
}

export function createConnectPage(
  ctx: EngineContext,
  connectors: ConnectorRepository,
  secretBox: ConnectionSecretBox,
  flows: ConnectionFlows,
  sessions: ConnectSessions,
  brand: Brand,
): ConnectPage {
  const store: Store = ctx.store
  const donePath = () => new URL(CONNECT_DONE_PATH, ctx.publicUrl).href

  async function offered(s: ConnectSessionRecord): Promise<LoadedConnector[]> {
    const records = []
    if (s.connectors) {
      for (const id of s.connectors) {
        const record = await store.getConnector(id)
        if (record) records.push(record)
      }
    } else {
      let cursor: string | undefined
      do {
        const page = await store.listConnectors({ limit: 500, cursor, stage: 'ready' })
        records.push(...page.items)
        cursor = page.nextCursor
      } while (cursor)
    }
    const out: LoadedConnector[] = []
    for (const record of records) {
      try {
        if (record.stage === 'ready') out.push(connectors.loaded(record))
      } catch (err) {
        // Its auth type is gone from this server: not offered.
        if (!isPatchbayError(err)) throw err
      }
    }
    return out
  }

  /** The connection a reconnect session is for; gone means the link is done with. */
  async function reconnectTarget(id: string): Promise<ConnectionRecord> {
    const record = await store.getConnection(id)
    if (!record)
      throw new PatchbayError(
        'connect_session.expired',
        'the connection this link reconnects no longer exists; ask the app for a new link',
        { details: { reason: 'deleted' } },
      )
    return record
  }

  /** The connector, if this session may connect it; else `connect_session.forbidden`. */
  async function allowed(
    s: ConnectSessionRecord,
    connector: string | undefined,
  ): Promise<LoadedConnector> {
    const forbidden = () =>
      new PatchbayError(
        'connect_session.forbidden',
        'this connect link does not allow that connector',
        {
          details: [{ path: 'connector', rule: 'is not offered by this connect session' }],
        },
      )
    if (!connector) throw invalidInput([{ path: 'connector', rule: 'is required' }])
    let loaded: LoadedConnector
    try {
      loaded = await connectors.load(connector)
    } catch (err) {
      if (isPatchbayError(err, 'connector.not_found')) throw forbidden()
      throw err
    }
    if (s.connectors && !s.connectors.includes(loaded.record.id)) throw forbidden()
    return loaded
  }

  function parse(input: unknown) {
    const parsed = connectPageInputSchema.safeParse(input)
    if (!parsed.success) throw invalidInput(toFieldIssues(parsed.error))
    return parsed.data
  }

  return {
    authenticate: (token, options) => sessions.authenticate(token, options),
    brand: () => brand,

    async describe(s) {
      let reconnect: ConnectPageSession['reconnect'] = null
      let shown: ConnectPageConnector[] = []
      if (s.reconnect) {
        const record = await reconnectTarget(s.reconnect)
        const loaded = await connectors.load(record.connectorId)
        const page = pageConnector(loaded, { ...record.values, ...secretBox.open(record).values })
        reconnect = {
          ...pageConnection(record, loaded.definition.name),
          fields: secretFields(page.fields),
          browser: page.browser,
        }
      } else {
        shown = (await offered(s)).map((l) => pageConnector(l))
      }
      return {
        id: s.id,
        expiresAt: new Date(s.expiresAt).toISOString(),
        endUser: { id: s.endUser.id, displayName: s.endUser.displayName ?? null },
        allowedOrigin: s.allowedOrigin,
        returnUrl: s.returnUrl,
        brand,
        connectors: shown,
        reconnect,
      }
    },

    async fields(s, input) {
      const data = parse(input)
      return pageConnector(await allowed(s, data.connector), data.values)
    },

    async connect(s, input) {
      const data = parse(input)
      if (s.connectionIds.length >= MAX_CONNECTIONS_PER_SESSION)
        throw new PatchbayError(
          'connect_session.forbidden',
          `this connect link has already started ${MAX_CONNECTIONS_PER_SESSION} connections; ask the app for a new one`,
        )
      if (s.reconnect) {
        const record = await reconnectTarget(s.reconnect)
        if (data.connector !== undefined) {
          const loaded = await allowed(s, data.connector)
          if (loaded.record.id !== record.connectorId)
            throw new PatchbayError(
              'connect_session.forbidden',
              'this connect link only reconnects its one connection',
            )
        }
        const done = await flows.reauthorize(record.id, data.values, {
          sessionId: s.id,
          returnUrl: donePath(),
        })
        // The connection keeps its status until the provider answers; the flow is what is pending.
        const outcome: ConnectPageConnection = done.authorizeUrl
          ? {
              ...pageConnection(done.record, done.connectorName, done.authorizeUrl),
              status: 'pending',
              statusMessage: 'waiting for the user to authorize in the browser',
            }
          : pageConnection(done.record, done.connectorName)
        await sessions.addConnection(s, record.id)
        if (!outcome.authorizeUrl && outcome.status === 'connected') await sessions.complete(s)
        return outcome
      }
      const loaded = await allowed(s, data.connector)
      const created = await flows.create(
        {
          connector: loaded.record.id,
          ...(data.name ? { name: data.name } : {}),
          endUser: s.endUser.id,
          values: data.values,
          returnUrl: donePath(),
        },
        { sessionId: s.id },
      )
      await sessions.addConnection(s, created.id)
      return {
        id: created.id,
        name: created.name,
        status: created.status,
        statusMessage: created.statusMessage,
        connector: { id: created.connector.id, name: created.connector.name },
        ...(created.authorizeUrl ? { authorizeUrl: created.authorizeUrl } : {}),
      }
    },

    async result(s, connectionId) {
      if (!s.connectionIds.includes(connectionId))
        throw new PatchbayError(
          'connection.not_found',
          `no connection "${connectionId}" was made with this connect link`,
        )
      const record = await store.getConnection(connectionId)
      if (!record)
        throw new PatchbayError('connection.not_found', `no connection "${connectionId}"`)
      const connector = await store.getConnector(record.connectorId)
      return {
        connection: pageConnection(record, connector?.name ?? ''),
        allowedOrigin: s.allowedOrigin,
        returnUrl: s.returnUrl,
        brand,
      }
    },
  }
}
