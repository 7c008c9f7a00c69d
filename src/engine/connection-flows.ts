/**
 * Authorizing connections: creating one (connected at once, or pending on a browser flow),
 * finishing a browser flow from its callback, and re-authorizing an existing connection in place
 * (keeping its id). All three go through one core — connect with the scheme, seal, then write the
 * credentials or the flow's state — and record their event with the write that makes it true
 * (`events.ts`): `connection.created`, `connection.reconnected` or `connection.failed`.
 *
 * A flow's `state` is bound to the connection (and the connect session, when one started it),
 * consumed once, and expires in 10 minutes.
 *
 * @module
 */
import { createHash } from 'node:crypto'
import type { ConnectOutcome, Credentials } from '../auth/scheme.js'
import {
  connectionInputSchema,
  reconnectInputSchema,
  type FieldDefinition,
} from '../connector/schema.js'
import { PatchbayError, invalidInput, isPatchbayError } from '../errors.js'
import { redactText } from '../pipeline/index.js'
import type { ConnectionRecord } from '../store/store.js'
import { baseUrlOf, connectionScope, isTokenValueProblem, tokenValueNames } from './base-url.js'
import type { ConnectionSecretBox, ConnectionSecrets } from './connection-secrets.js'
import { findConnection, type ConnectionService, type ConnectionView } from './connections.js'
import {
  connectionFieldsOf,
  type ConnectorRepository,
  type LoadedConnector,
} from './connector-repository.js'
import { newId, type EngineContext } from './context.js'
import type { ConnectionEventType } from './events.js'
import type { IdentityProbe } from './identity.js'
import { toFieldIssues } from './issues.js'
import { checkValues, invalidValues } from './values.js'

type Obj = Record<string, unknown>

const STATE_TTL_MS = 10 * 60_000

export interface CreatedConnection extends ConnectionView {
  authorizeUrl?: string
}

export interface CallbackOutcome {
  connection: ConnectionView | undefined
  returnUrl: string | null
  sessionId: string | null
  error?: PatchbayError
}

export interface FlowOptions {
  /** The connect session the flow belongs to, if any. */
  sessionId?: string | null | undefined
  /** Where the callback sends the browser. */
  returnUrl?: string | null | undefined
}

export interface Reauthorized {
  record: ConnectionRecord
  connectorName: string
  /** Present when the user must authorize at the provider. */
  authorizeUrl?: string
}

/** Whether a connect session may still finish a flow it started (`connect-sessions.ts`). */
export type SessionGuard = (sessionId: string) => Promise<PatchbayError | undefined>

export interface ConnectionFlows {
  /** `POST /connections`: connected, or pending with `authorizeUrl`. */
  create(input: unknown, options?: FlowOptions): Promise<CreatedConnection>
  /** Finishes a browser flow from the callback at `path` with its query. */
  complete(path: string, params: URLSearchParams): Promise<CallbackOutcome>
  /**
   * Authorizes an existing connection again, keeping its id: new secret values may be given
   * (empty keeps the current ones); public values cannot change.
   */
  reauthorize(id: string, submitted: Obj, options?: FlowOptions): Promise<Reauthorized>
  /** `POST /connections/:id/reconnect`. */
  reconnect(id: string, input: unknown): Promise<CreatedConnection>
}

export function hashState(state: string): string {
  return createHash('sha256').update(state).digest('base64url')
}

/**
 * What a reconnect asks for: the password fields (and objects holding some), each optional, since
 * an empty one keeps the current value.
 */
export function secretFields(fields: FieldDefinition[]): FieldDefinition[] {
  const out: FieldDefinition[] = []
  for (const f of fields) {
    if (f.type === 'password')
      out.push({
        ...f,
        optional: true,
        hint: [f.hint, 'Leave empty to keep the current value.'].filter(Boolean).join(' '),
      })
    else if (f.type === 'object') {
      const inner = secretFields(f.properties ?? [])
      if (inner.length) out.push({ ...f, properties: inner })
    }
  }
  return out
}

function isObj(v: unknown): v is Obj {
  return v !== null && typeof v === 'object' && !Array.isArray(v)
}

function deepMerge(base: Obj, over: Obj): Obj {
  const out: Obj = { ...base }
  for (const [k, v] of Object.entries(over)) {
    const b = out[k]
    out[k] = isObj(v) && isObj(b) ? deepMerge(b, v) : v
  }
  return out
}

function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical)
  if (isObj(v))
    return Object.fromEntries(
      Object.keys(v)
        .sort()
        .map((k) => [k, canonical(v[k])]),
    )
  return v
}

const sameJson = (a: unknown, b: unknown) =>
  JSON.stringify(canonical(a)) === JSON.stringify(canonical(b))

export function createConnectionFlows(
  ctx: EngineContext,
  connectors: ConnectorRepository,
  connections: ConnectionService,
  secretBox: ConnectionSecretBox,
  identityOf: IdentityProbe,
  sessionGuard: SessionGuard,
): ConnectionFlows {
  const { store } = ctx

  /** The scheme's `connect`, its errors naming the connector and holding no secret. */
  async function connect(
    loaded: LoadedConnector,
    target: Pick<ConnectionRecord, 'id' | 'values'>,
    secrets: ConnectionSecrets,
    what: string,
  ): Promise<ConnectOutcome> {
    try {
      return await loaded.scheme.connect(secretBox.authContext(loaded, target, secrets))
    } catch (err) {
      const e = flowError(err, loaded, what)
      throw new PatchbayError(
        // Nothing to re-authorize yet: a refused grant here is a failed flow.
        e.code === 'connection.needs_reauth' ? 'connection.flow_failed' : e.code,
        redactText(e.message, secretBox.redaction(loaded, secrets)),
        { details: e.details },
      )
    }
  }

  /** Keeps a pending flow's state, bound to the connection and the session. */
  async function keepFlow(
    connectionId: string,
    outcome: Extract<ConnectOutcome, { status: 'pending' }>,
    options: FlowOptions,
  ): Promise<void> {
    const stateHash = hashState(outcome.state)
    await store.insertOAuthState({
      stateHash,
      connectionId,
      flow: ctx.box.seal(JSON.stringify(outcome.flow), `flow:${stateHash}`),
      returnUrl: options.returnUrl ?? null,
      sessionId: options.sessionId ?? null,
      expiresAt: ctx.now() + STATE_TTL_MS,
    })
  }

  /**
   * Replaces the credentials in one compare-and-set write, with the `event` it causes;
   * `connection.flow_failed` if it lost.
   */
  async function writeCredentials(
    record: ConnectionRecord,
    secrets: ConnectionSecrets,
    what: string,
    event: ConnectionEventType,
  ): Promise<ConnectionRecord> {
    const c = secrets.credentials
    const version = await ctx.events.recording(event, record, (events) =>
      store.updateCredentials(
        record.id,
        record.credentialsVersion,
        {
          secrets: secretBox.seal(record.id, secrets),
          expiresAt: c.expiresAt ?? null,
          refreshExpiresAt: c.refreshExpiresAt ?? null,
          status: 'connected',
          statusMessage: null,
        },
        events,
      ),
    )
    if (version === undefined)
      throw new PatchbayError(
        'connection.flow_failed',
        `the connection changed ${what}; start again`,
      )
    return (await store.getConnection(record.id)) ?? record
  }

  /** Records whom the connection is for; a failing identity request does not fail the connection. */
  async function withIdentity(
    loaded: LoadedConnector,
    record: ConnectionRecord,
  ): Promise<ConnectionRecord> {
    try {
      const identity = await identityOf(loaded, record)
      if (identity !== null) {
        await store.updateConnection(record.id, { identity })
        return { ...record, identity }
      }
    } catch {
      // Identity is informative only.
    }
    return record
  }

  /**
   * Refuses credentials whose token-response values cannot make the base URL (no instance URL,
   * or one with a user name in it): the connection would only fail its calls (base-url.ts).
   */
  function checkTokenValues(loaded: LoadedConnector, values: Obj, credentials: Credentials): void {
    const names = tokenValueNames(loaded).all
    if (names.size === 0) return
    const base = baseUrlOf(loaded, connectionScope(loaded, values, credentials), names)
    if (base instanceof PatchbayError && isTokenValueProblem(base))
      throw new PatchbayError(
        'connection.flow_failed',
        `the ${loaded.definition.name} token response cannot be used: ${base.message}`,
        { details: base.details },
      )
  }

  function checked(loaded: LoadedConnector, values: Obj) {
    const result = checkValues(connectionFieldsOf(loaded, values), values)
    if (result.issues.length) throw invalidValues(result.issues)
    return result
  }

  async function reauthorize(
    id: string,
    submitted: Obj,
    options: FlowOptions = {},
  ): Promise<Reauthorized> {
    const record = await findConnection(store, id)
    const loaded = await connectors.load(record.connectorId)
    const current = secretBox.open(record)
    const values = deepMerge(deepMerge(record.values, current.values), submitted)
    const result = checked(loaded, values)
    if (!sameJson(result.public, record.values))
      throw invalidInput(
        [{ path: 'values', rule: 'only secret values can change when reconnecting' }],
        'only secret values can change when reconnecting; create a new connection to change the others',
      )
    const fresh: ConnectionSecrets = { values: result.secret, credentials: { values: {} } }
    const outcome = await connect(
      loaded,
      { id: record.id, values: result.public },
      fresh,
      'reconnecting',
    )
    if (outcome.status === 'connected') {
      checkTokenValues(loaded, { ...result.public, ...result.secret }, outcome.credentials)
      const after = await writeCredentials(
        record,
        { values: result.secret, credentials: { obtainedAt: ctx.now(), ...outcome.credentials } },
        'while reconnecting',
        'connection.reconnected',
      )
      return { record: after, connectorName: loaded.definition.name }
    }
    // Browser flow: new secret values are kept for `complete`; the credentials stay as they are
    // until the provider answers.
    if (!sameJson(result.secret, current.values)) {
      const version = await store.updateCredentials(record.id, record.credentialsVersion, {
        secrets: secretBox.seal(record.id, {
          values: result.secret,
          credentials: current.credentials,
        }),
        expiresAt: record.expiresAt,
        refreshExpiresAt: record.refreshExpiresAt,
        status: record.status,
        statusMessage: record.statusMessage,
      })
      if (version === undefined)
        throw new PatchbayError(
          'connection.flow_failed',
          'the connection changed while reconnecting; start again',
        )
    }
    await keepFlow(record.id, outcome, options)
    return { record, connectorName: loaded.definition.name, authorizeUrl: outcome.authorizeUrl }
  }

  return {
    reauthorize,

    async create(input, options = {}) {
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
      const values = checked(loaded, data.values)
      const id = newId('co')
      const now = ctx.now()
      const secrets: ConnectionSecrets = { values: values.secret, credentials: { values: {} } }
      const outcome = await connect(loaded, { id, values: values.public }, secrets, 'connecting')
      const pending = outcome.status === 'pending'
      const credentials: Credentials = pending
        ? secrets.credentials
        : { obtainedAt: now, ...outcome.credentials }
      // Before anything is stored: a refused token answer leaves no connection behind.
      if (!pending) checkTokenValues(loaded, { ...values.public, ...values.secret }, credentials)
      const record: ConnectionRecord = {
        id,
        connectorId: loaded.record.id,
        name: data.name ?? loaded.definition.name,
        endUser: data.endUser ?? null,
        status: pending ? 'pending' : 'connected',
        statusMessage: pending ? 'waiting for the user to authorize in the browser' : null,
        identity: null,
        values: values.public,
        secrets: secretBox.seal(id, { values: values.secret, credentials }),
        credentialsVersion: 1,
        expiresAt: credentials.expiresAt ?? null,
        refreshExpiresAt: credentials.refreshExpiresAt ?? null,
        refreshNotBefore: null,
        refreshFailures: 0,
        createdAt: now,
        updatedAt: now,
      }
      // The connection first, then its state: a crash between leaves a pending connection, never
      // a state without one.
      if (outcome.status === 'pending') {
        await store.insertConnection(record)
        await keepFlow(id, outcome, { ...options, returnUrl: data.returnUrl ?? options.returnUrl })
        return { ...(await connections.view(record, loaded)), authorizeUrl: outcome.authorizeUrl }
      }
      await ctx.events.recording('connection.created', record, (events) =>
        store.insertConnection(record, events),
      )
      return connections.view(await withIdentity(loaded, record), loaded)
    },

    async complete(path, params) {
      const callback = ctx.registry.callbacks().find((c) => c.path === path)
      const state = callback?.stateOf(params)
      const stored = state ? await store.consumeOAuthState(hashState(state), ctx.now()) : undefined
      if (!stored) {
        throw new PatchbayError(
          'oauth.state_invalid',
          'this authorization link is unknown, already used or expired (links last 10 minutes); start the connection again',
        )
      }
      const record = await findConnection(store, stored.connectionId)
      const loaded = await connectors.load(record.connectorId)
      const flow = JSON.parse(ctx.box.open(stored.flow, `flow:${stored.stateHash}`)) as Record<
        string,
        string
      >
      const secrets = secretBox.open(record)
      const outcome = (
        connection: ConnectionView | undefined,
        error?: PatchbayError,
      ): CallbackOutcome => ({
        connection,
        returnUrl: stored.returnUrl,
        sessionId: stored.sessionId,
        ...(error ? { error } : {}),
      })
      // Credentials already held: this flow re-authorizes a connection that was connected.
      const reconnecting = Object.keys(secrets.credentials.values).length > 0
      const fail = async (error: PatchbayError): Promise<CallbackOutcome> => {
        const message = redactText(error.message, secretBox.redaction(loaded, secrets))
        await ctx.events.recording('connection.failed', record, (events) =>
          store.updateConnection(record.id, { status: 'error', statusMessage: message }, events),
        )
        return outcome(
          await connections.view({ ...record, status: 'error', statusMessage: message }, loaded),
          error,
        )
      }
      const refused = stored.sessionId ? await sessionGuard(stored.sessionId) : undefined
      if (refused) return fail(refused)
      if (!loaded.scheme.complete)
        return fail(
          new PatchbayError('connection.flow_failed', `${loaded.scheme.label} has no browser flow`),
        )
      let credentials: Credentials
      try {
        credentials = await loaded.scheme.complete(
          secretBox.authContext(loaded, record, secrets),
          params,
          flow,
        )
        checkTokenValues(loaded, { ...record.values, ...secrets.values }, credentials)
      } catch (err) {
        return fail(flowError(err, loaded, 'authorizing'))
      }
      let after: ConnectionRecord
      try {
        after = await writeCredentials(
          record,
          { values: secrets.values, credentials: { obtainedAt: ctx.now(), ...credentials } },
          'during authorization',
          reconnecting ? 'connection.reconnected' : 'connection.created',
        )
      } catch (err) {
        if (isPatchbayError(err)) return fail(err)
        throw err
      }
      after = await withIdentity(loaded, after)
      return outcome(await connections.view(after, loaded))
    },

    async reconnect(id, input) {
      const parsed = reconnectInputSchema.safeParse(input ?? {})
      if (!parsed.success) throw invalidInput(toFieldIssues(parsed.error))
      const done = await reauthorize(id, parsed.data.values ?? {}, {
        sessionId: null,
        returnUrl: parsed.data.returnUrl ?? null,
      })
      const view = await connections.view(done.record)
      return done.authorizeUrl ? { ...view, authorizeUrl: done.authorizeUrl } : view
    },
  }
}

/** Wraps errors thrown inside a scheme (or a code connector) so they name the connector. */
function flowError(err: unknown, loaded: LoadedConnector, what: string): PatchbayError {
  if (isPatchbayError(err)) return err
  return new PatchbayError(
    'connection.flow_failed',
    `${what} for the ${loaded.definition.name} connector failed: ${(err as Error).message}`,
    { cause: err },
  )
}
