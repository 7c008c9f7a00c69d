/**
 * Connections: created against a ready connector with values checked against its fields,
 * connected directly or through a browser flow (state bound to the pending connection, consumed
 * once, 10-minute expiry), never answered with a secret.
 *
 * @module
 */
import { createHash, randomUUID } from 'node:crypto'
import type { Credentials } from '../auth/scheme.js'
import { connectionInputSchema } from '../connector/schema.js'
import { PatchbayError, invalidInput, isPatchbayError } from '../errors.js'
import { getPath } from '../lib/json-path.js'
import { redactText } from '../pipeline/index.js'
import type { ConnectionFilter, ConnectionRecord, ConnectionStatus, Page } from '../store/store.js'
import {
  breakerView,
  connectionBreakerKey,
  type BreakerView,
  type ConnectorService,
  type LoadedConnector,
} from './connectors.js'
import { newId, type EngineContext } from './context.js'
import type { CredentialService } from './credentials.js'
import { toFieldIssues } from './issues.js'
import { checkValues } from './values.js'

const STATE_TTL_MS = 10 * 60_000

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
  /** The breaker around this connection's ad-hoc calls. */
  breaker: BreakerView
  expiresAt: string | null
  refreshExpiresAt: string | null
  createdAt: string
  updatedAt: string
}

export interface CreatedConnection extends ConnectionView {
  authorizeUrl?: string
}

export interface CallbackOutcome {
  connection: ConnectionView | undefined
  returnUrl: string | null
  sessionId: string | null
  error?: PatchbayError
}

/** Runs an identity request through the pipeline; provided by the request service. */
export type IdentityProbe = (
  loaded: LoadedConnector,
  record: ConnectionRecord,
) => Promise<string | null>

/** Refuses to finish a browser flow started by a connect session that is no longer live (SPEC §8). */
export type FlowGuard = (sessionId: string) => Promise<PatchbayError | undefined>

export function hashState(state: string): string {
  return createHash('sha256').update(state).digest('base64url')
}

export function createConnectionService(
  ctx: EngineContext,
  connectors: ConnectorService,
  credentials: CredentialService,
) {
  const { store } = ctx
  let identityProbe: IdentityProbe = () => Promise.resolve(null)
  let flowGuard: FlowGuard = () => Promise.resolve(undefined)
  const emit = (
    type: 'connection.created' | 'connection.failed' | 'connection.deleted',
    record: Pick<ConnectionRecord, 'id' | 'connectorId' | 'endUser'>,
  ) =>
    ctx.events.emit({
      type,
      connectionId: record.id,
      connectorId: record.connectorId,
      endUser: record.endUser,
      at: ctx.now(),
    })

  async function find(id: string): Promise<ConnectionRecord> {
    const record = await store.getConnection(id)
    if (!record)
      throw new PatchbayError(
        'connection.not_found',
        `no connection "${id}"; list them with GET /api/v1/connections`,
      )
    return record
  }

  async function view(record: ConnectionRecord, loaded?: LoadedConnector): Promise<ConnectionView> {
    const connector = loaded?.record ?? (await store.getConnector(record.connectorId))
    const secrets = credentials.open(record)
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
      breaker: breakerView(await store.getBreaker(connectionBreakerKey(record.id))),
      expiresAt: record.expiresAt === null ? null : new Date(record.expiresAt).toISOString(),
      refreshExpiresAt:
        record.refreshExpiresAt === null ? null : new Date(record.refreshExpiresAt).toISOString(),
      createdAt: new Date(record.createdAt).toISOString(),
      updatedAt: new Date(record.updatedAt).toISOString(),
    }
  }

  async function finishConnected(
    loaded: LoadedConnector,
    record: ConnectionRecord,
  ): Promise<ConnectionRecord> {
    try {
      const identity = await identityProbe(loaded, record)
      if (identity !== null) {
        await store.updateConnection(record.id, { identity })
        return { ...record, identity }
      }
    } catch {
      // Identity is informative; a failing identity request does not fail the connection.
    }
    return record
  }

  function credentialsColumns(c: Credentials) {
    return { expiresAt: c.expiresAt ?? null, refreshExpiresAt: c.refreshExpiresAt ?? null }
  }

  /** Wraps errors thrown inside a scheme (or a code connector) so they name the connector. */
  function flowError(err: unknown, loaded: LoadedConnector, what: string): PatchbayError {
    if (isPatchbayError(err)) return err
    return new PatchbayError(
      'connection.flow_failed',
      `${what} for the ${loaded.definition.name} connector failed: ${(err as Error).message}`,
      {
        cause: err,
      },
    )
  }

  return {
    setIdentityProbe(probe: IdentityProbe) {
      identityProbe = probe
    },

    setFlowGuard(guard: FlowGuard) {
      flowGuard = guard
    },

    async create(input: unknown, options: { sessionId?: string } = {}): Promise<CreatedConnection> {
      const parsed = connectionInputSchema.safeParse(input)
      if (!parsed.success) throw invalidInput(toFieldIssues(parsed.error))
      const data = parsed.data
      const loaded = await connectors.load(data.connector)
      if (loaded.record.stage !== 'ready') {
        throw new PatchbayError(
          'connector.not_ready',
          `the connector "${loaded.definition.name}" is a draft; mark it ready first (POST /api/v1/connectors/${loaded.record.id}/ready)`,
        )
      }
      const fields = [
        ...loaded.definition.fields,
        ...loaded.scheme.connectionFields(loaded.settings, data.values),
      ]
      const checked = checkValues(fields, data.values)
      if (checked.issues.length) {
        throw new PatchbayError(
          'connection.invalid_values',
          checked.issues.map((i) => `${i.path} ${i.rule}`).join('; '),
          { details: checked.issues },
        )
      }
      const id = newId('co')
      const now = ctx.now()
      const secrets = { values: checked.secret, credentials: { values: {} } as Credentials }
      const base = { id, values: checked.public }
      let outcome
      try {
        outcome = await loaded.scheme.connect(credentials.authContext(loaded, base, secrets))
      } catch (err) {
        const e = flowError(err, loaded, 'connecting')
        throw new PatchbayError(
          e.code === 'connection.needs_reauth' ? 'connection.flow_failed' : e.code,
          redactText(e.message, credentials.redaction(loaded, secrets)),
          { details: e.details },
        )
      }
      const record: ConnectionRecord = {
        id,
        connectorId: loaded.record.id,
        name: data.name ?? loaded.definition.name,
        endUser: data.endUser ?? null,
        status: outcome.status === 'connected' ? 'connected' : 'pending',
        statusMessage:
          outcome.status === 'pending' ? 'waiting for the user to authorize in the browser' : null,
        identity: null,
        values: checked.public,
        secrets: null,
        credentialsVersion: 1,
        expiresAt: null,
        refreshExpiresAt: null,
        refreshNotBefore: null,
        refreshFailures: 0,
        createdAt: now,
        updatedAt: now,
      }
      if (outcome.status === 'connected') {
        const creds = { obtainedAt: now, ...outcome.credentials }
        Object.assign(record, credentialsColumns(creds), {
          secrets: credentials.seal(id, { values: checked.secret, credentials: creds }),
        })
        await store.insertConnection(record)
        emit('connection.created', record)
        return view(await finishConnected(loaded, record), loaded)
      }
      record.secrets = credentials.seal(id, secrets)
      const stateHash = hashState(outcome.state)
      // The connection first, then its state: a crash between leaves a pending connection, never a state without one.
      await store.insertConnection(record)
      await store.insertOAuthState({
        stateHash,
        connectionId: id,
        flow: ctx.box.seal(JSON.stringify(outcome.flow), `flow:${stateHash}`),
        returnUrl: data.returnUrl ?? null,
        sessionId: options.sessionId ?? null,
        expiresAt: now + STATE_TTL_MS,
      })
      return { ...(await view(record, loaded)), authorizeUrl: outcome.authorizeUrl }
    },

    /** Finishes a browser flow from `/oauth/callback` (state) or `/oauth1/callback` (oauth_token). */
    async complete(
      callback: 'oauth' | 'oauth1',
      params: URLSearchParams,
    ): Promise<CallbackOutcome> {
      // OAuth1 providers name the pending token in `oauth_token`, or in `denied` when refused.
      const state =
        callback === 'oauth'
          ? params.get('state')
          : (params.get('oauth_token') ?? params.get('denied'))
      const stored = state ? await store.consumeOAuthState(hashState(state), ctx.now()) : undefined
      if (!stored) {
        throw new PatchbayError(
          'oauth.state_invalid',
          'this authorization link is unknown, already used or expired (links last 10 minutes); start the connection again',
        )
      }
      const record = await find(stored.connectionId)
      const loaded = await connectors.load(record.connectorId)
      const flow = JSON.parse(ctx.box.open(stored.flow, `flow:${stored.stateHash}`)) as Record<
        string,
        string
      >
      const secrets = credentials.open(record)
      const fail = async (error: PatchbayError): Promise<CallbackOutcome> => {
        const message = redactText(error.message, credentials.redaction(loaded, secrets))
        await store.updateConnection(record.id, { status: 'error', statusMessage: message })
        emit('connection.failed', record)
        return {
          connection: await view({ ...record, status: 'error', statusMessage: message }, loaded),
          returnUrl: stored.returnUrl,
          sessionId: stored.sessionId,
          error,
        }
      }
      const refused = stored.sessionId ? await flowGuard(stored.sessionId) : undefined
      if (refused) return fail(refused)
      if (params.has('error')) {
        const description = params.get('error_description')
        return fail(
          new PatchbayError(
            'oauth.provider_error',
            `the provider refused: ${params.get('error')}${description ? ` (${description})` : ''}`,
          ),
        )
      }
      if (!loaded.scheme.complete)
        return fail(
          new PatchbayError('connection.flow_failed', `${loaded.scheme.label} has no browser flow`),
        )
      let creds: Credentials
      try {
        creds = await loaded.scheme.complete(
          credentials.authContext(loaded, record, secrets),
          params,
          flow,
        )
      } catch (err) {
        return fail(flowError(err, loaded, 'authorizing'))
      }
      const full = { obtainedAt: ctx.now(), ...creds }
      const version = await store.updateCredentials(record.id, record.credentialsVersion, {
        secrets: credentials.seal(record.id, { values: secrets.values, credentials: full }),
        ...credentialsColumns(full),
        status: 'connected',
        statusMessage: null,
      })
      if (version === undefined)
        return fail(
          new PatchbayError(
            'connection.flow_failed',
            'the connection changed during authorization; start again',
          ),
        )
      const after = await finishConnected(loaded, (await store.getConnection(record.id))!)
      emit('connection.created', after)
      return {
        connection: await view(after, loaded),
        returnUrl: stored.returnUrl,
        sessionId: stored.sessionId,
      }
    },

    async get(id: string): Promise<ConnectionView> {
      return view(await find(id))
    },

    async list(
      filter: Omit<ConnectionFilter, 'connectorId'> & { connector?: string | undefined },
    ): Promise<Page<ConnectionView>> {
      const { connector, ...rest } = filter
      const connectorId = connector ? (await connectors.load(connector)).record.id : undefined
      const page = await store.listConnections({ ...rest, connectorId })
      return { ...page, items: await Promise.all(page.items.map((r) => view(r))) }
    },

    /** Deletes a connection, revoking its tokens first where the scheme can (best effort, logged). */
    async delete(id: string): Promise<{ revoked: boolean | null }> {
      const record = await find(id)
      const loaded = await connectors.load(record.connectorId)
      let revoked: boolean | null = null
      if (loaded.scheme.revoke && record.status !== 'pending') {
        const secrets = credentials.open(record)
        let error: unknown
        try {
          await loaded.scheme.revoke(credentials.authContext(loaded, record, secrets))
          revoked = true
        } catch (err) {
          revoked = false
          error = err
        }
        await store.appendLog({
          id: `log_${randomUUID()}`,
          time: ctx.now(),
          connectorId: record.connectorId,
          connectionId: record.id,
          actionId: null,
          kind: 'revoke',
          method: null,
          url: null,
          status: null,
          durationMs: null,
          refreshed: false,
          refreshOutcome: null,
          breakerState: null,
          error:
            error === undefined
              ? null
              : redactText(
                  String(isPatchbayError(error) ? error.message : error),
                  credentials.redaction(loaded, secrets),
                ),
          detail: { revoked },
        })
      }
      if (await store.deleteConnection(record.id)) emit('connection.deleted', record)
      return { revoked }
    },

    /** Forces a refresh now. */
    async refresh(id: string): Promise<ConnectionView> {
      const record = await find(id)
      const loaded = await connectors.load(record.connectorId)
      const secrets = credentials.open(record)
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
      return view(await credentials.reacquire(record.id, record.credentialsVersion), loaded)
    },

    find,
    view,
  }
}

export type ConnectionService = ReturnType<typeof createConnectionService>

/** Reads an identity out of a JSON response by the connector's `identity.valuePath`. */
export function identityFrom(body: unknown, valuePath: string): string | null {
  const v = getPath(body, valuePath)
  return v === undefined || v === null ? null : String(v)
}
