/**
 * Connections as the API reads and removes them: never answered with a secret; deleted with their
 * tokens revoked where the scheme can; refreshed by hand. Creating and authorizing them is
 * `connection-flows.ts`.
 *
 * @module
 */
import { PatchbayError, isPatchbayError } from '../errors.js'
import { redactText } from '../pipeline/index.js'
import type {
  ConnectionFilter,
  ConnectionRecord,
  ConnectorRecord,
  ConnectionStatus,
  Page,
  Store,
} from '../store/store.js'
import { breakerView, connectionBreakerKey, type Breakers, type BreakerView } from './breakers.js'
import type { ConnectionSecretBox } from './connection-secrets.js'
import type { ConnectorRepository, LoadedConnector } from './connector-repository.js'
import type { EngineContext } from './context.js'
import type { Refresher } from './refresher.js'

export interface ConnectionView {
  id: string
  connector: { id: string; linkName: string; name: string }
  name: string
  endUser: string | null
  status: ConnectionStatus
  statusMessage: string | null
  identity: string | null
  /** Non-secret values; secret fields are listed by name in `secretsSet` only. */
  values: Record<string, unknown>
  secretsSet: string[]
  /**
   * Values kept from the provider's token response that are not secrets (the connector's
   * `tokenResponseValues`: an instance URL, an account id), as the last token answer left them.
   */
  tokenValues: Record<string, string>
  /** The breaker around this connection's ad-hoc calls. */
  breaker: BreakerView
  expiresAt: string | null
  refreshExpiresAt: string | null
  createdAt: string
  updatedAt: string
}

export interface ConnectionService {
  /** The record; `connection.not_found` otherwise. */
  find(id: string): Promise<ConnectionRecord>
  view(record: ConnectionRecord, loaded?: LoadedConnector): Promise<ConnectionView>
  /** Views of a page of connections: one read of their connectors and one of their breakers. */
  views(records: ConnectionRecord[]): Promise<ConnectionView[]>
  get(id: string): Promise<ConnectionView>
  list(
    filter: Omit<ConnectionFilter, 'connectorId'> & { connector?: string | undefined },
  ): Promise<Page<ConnectionView>>
  /** Deletes a connection, revoking its tokens first where the scheme can (best effort, logged). */
  delete(id: string): Promise<{ revoked: boolean | null }>
  /** Forces a refresh now. */
  refresh(id: string): Promise<ConnectionView>
  /** Closes the breaker around the connection's ad-hoc calls. */
  resetBreaker(id: string): Promise<BreakerView>
}

const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString())

export function connectionNotFound(id: string): PatchbayError {
  return new PatchbayError(
    'connection.not_found',
    `no connection "${id}"; list them with GET /api/v1/connections`,
  )
}

export async function findConnection(store: Store, id: string): Promise<ConnectionRecord> {
  const record = await store.getConnection(id)
  if (!record) throw connectionNotFound(id)
  return record
}

export function createConnectionService(
  ctx: EngineContext,
  connectors: ConnectorRepository,
  secretBox: ConnectionSecretBox,
  refresher: Refresher,
  breakers: Breakers,
): ConnectionService {
  const { store } = ctx
  const find = (id: string) => findConnection(store, id)

  function toView(
    record: ConnectionRecord,
    connector: Pick<ConnectorRecord, 'linkName' | 'name'> | undefined,
    breaker: BreakerView,
  ): ConnectionView {
    const secrets = secretBox.open(record)
    return {
      id: record.id,
      connector: {
        id: record.connectorId,
        linkName: connector?.linkName ?? '',
        name: connector?.name ?? '',
      },
      name: record.name,
      endUser: record.endUser,
      status: record.status,
      statusMessage: record.statusMessage,
      identity: record.identity,
      values: record.values,
      secretsSet: Object.keys(secrets.values),
      tokenValues: { ...secrets.credentials.tokenValues },
      breaker,
      expiresAt: iso(record.expiresAt),
      refreshExpiresAt: iso(record.refreshExpiresAt),
      createdAt: new Date(record.createdAt).toISOString(),
      updatedAt: new Date(record.updatedAt).toISOString(),
    }
  }

  async function view(record: ConnectionRecord, loaded?: LoadedConnector): Promise<ConnectionView> {
    const connector = loaded?.record ?? (await store.getConnector(record.connectorId))
    return toView(record, connector, await breakers.view(connectionBreakerKey(record.id)))
  }

  async function views(records: ConnectionRecord[]): Promise<ConnectionView[]> {
    const connectorIds = [...new Set(records.map((r) => r.connectorId))]
    const [connectors, breakerRecords] = await Promise.all([
      Promise.all(connectorIds.map((id) => store.getConnector(id))),
      store.getBreakers(records.map((r) => connectionBreakerKey(r.id))),
    ])
    const byId = new Map(connectors.flatMap((c) => (c ? [[c.id, c] as const] : [])))
    const byKey = new Map(breakerRecords.map((b) => [b.key, b]))
    return records.map((r) =>
      toView(r, byId.get(r.connectorId), breakerView(byKey.get(connectionBreakerKey(r.id)))),
    )
  }

  return {
    find,
    view,
    views,

    async get(id) {
      return view(await find(id))
    },

    async list({ connector, ...rest }) {
      const connectorId = connector ? (await connectors.find(connector)).id : undefined
      const page = await store.listConnections({ ...rest, connectorId })
      return { ...page, items: await views(page.items) }
    },

    async delete(id) {
      const record = await find(id)
      const loaded = await connectors.load(record.connectorId)
      let revoked: boolean | null = null
      if (loaded.scheme.revoke && record.status !== 'pending') {
        const secrets = secretBox.open(record)
        let error: unknown
        try {
          await loaded.scheme.revoke(secretBox.authContext(loaded, record, secrets))
          revoked = true
        } catch (err) {
          revoked = false
          error = err
        }
        ctx.log.write({
          kind: 'revoke',
          connectorId: record.connectorId,
          connectionId: record.id,
          error:
            error === undefined
              ? null
              : redactText(
                  String(isPatchbayError(error) ? error.message : error),
                  secretBox.redaction(loaded, secrets),
                ),
          detail: { revoked },
        })
      }
      await ctx.events.recording('connection.deleted', record, (events) =>
        store.deleteConnection(record.id, events),
      )
      return { revoked }
    },

    async refresh(id) {
      const record = await find(id)
      const loaded = await connectors.load(record.connectorId)
      const secrets = secretBox.open(record)
      const values = { ...record.values, ...secrets.values }
      if (
        !loaded.scheme.refresh ||
        !loaded.scheme.canRefresh(loaded.settings, values, secrets.credentials)
      ) {
        throw new PatchbayError(
          'refresh.unsupported',
          `${loaded.scheme.label} connections have nothing to refresh`,
        )
      }
      if (record.status === 'pending')
        throw new PatchbayError(
          'connection.not_connected',
          'the connection is still waiting for authorization',
        )
      return view(await refresher.reacquire(record.id, record.credentialsVersion), loaded)
    },

    async resetBreaker(id) {
      await find(id)
      return breakers.reset(connectionBreakerKey(id))
    },
  }
}
