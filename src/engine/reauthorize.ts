/**
 * Re-authorizing an existing connection, keeping its id (SPEC §8 `reconnect`): straight away for
 * direct schemes (new credentials replace the old in one compare-and-set write), or a new
 * authorize URL whose OAuth state is bound to the connection (and the connect session), finished
 * by `connections.complete` like any browser flow. Secret values may be typed again (empty keeps
 * the current ones); public values cannot change, since a connection's values are fixed at
 * creation.
 *
 * @module
 */
import type { FieldDefinition } from '../connector/schema.js'
import { PatchbayError, invalidInput, isPatchbayError } from '../errors.js'
import { redactText } from '../pipeline/index.js'
import type { ConnectionRecord } from '../store/store.js'
import { hashState, type ConnectionService } from './connections.js'
import type { ConnectorService } from './connectors.js'
import type { EngineContext } from './context.js'
import type { CredentialService } from './credentials.js'
import { checkValues } from './values.js'

type Obj = Record<string, unknown>

/** OAuth state lifetime, as for new connections (connections.ts). */
const STATE_TTL_MS = 10 * 60_000

export interface ReauthorizeOptions {
  /** The connect session the browser flow belongs to, if any. */
  sessionId: string | null
  /** Where the callback sends the browser. */
  returnUrl: string | null
}

export interface Reauthorized {
  record: ConnectionRecord
  connectorName: string
  /** Present when the user must authorize at the provider. */
  authorizeUrl?: string
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

function deepMerge(base: Obj, over: Obj): Obj {
  const out: Obj = { ...base }
  for (const [k, v] of Object.entries(over)) {
    const b = out[k]
    out[k] =
      v &&
      typeof v === 'object' &&
      !Array.isArray(v) &&
      b &&
      typeof b === 'object' &&
      !Array.isArray(b)
        ? deepMerge(b as Obj, v as Obj)
        : v
  }
  return out
}

function sameJson(a: unknown, b: unknown): boolean {
  const canon = (v: unknown): unknown =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(
          Object.keys(v)
            .sort()
            .map((k) => [k, canon((v as Obj)[k])]),
        )
      : Array.isArray(v)
        ? v.map(canon)
        : v
  return JSON.stringify(canon(a)) === JSON.stringify(canon(b))
}

export function createReauthorizer(
  ctx: EngineContext,
  connectors: ConnectorService,
  connections: ConnectionService,
  credentials: CredentialService,
) {
  const { store } = ctx
  /**
   * Re-authorizes an existing connection, keeping its id: straight away for direct schemes, or a
   * new authorize URL whose state is bound to the connection and the session. Secret values may be
   * typed again (empty keeps the current ones); public values cannot change.
   */
  return async function reauthorize(
    connectionId: string,
    submitted: Obj,
    options: ReauthorizeOptions,
  ): Promise<Reauthorized> {
    const record = await connections.find(connectionId)
    const loaded = await connectors.load(record.connectorId)
    const secrets = credentials.open(record)
    const values = deepMerge(deepMerge(record.values, secrets.values), submitted)
    const fields = [
      ...loaded.definition.fields,
      ...loaded.scheme.connectionFields(loaded.settings, values),
    ]
    const checked = checkValues(fields, values)
    if (checked.issues.length)
      throw new PatchbayError(
        'connection.invalid_values',
        checked.issues.map((i) => `${i.path} ${i.rule}`).join('; '),
        { details: checked.issues },
      )
    if (!sameJson(checked.public, record.values))
      throw invalidInput(
        [{ path: 'values', rule: 'only secret values can change when reconnecting' }],
        'only secret values can change when reconnecting; create a new connection to change the others',
      )
    const fresh = { values: checked.secret, credentials: { values: {} } }
    let outcome
    try {
      outcome = await loaded.scheme.connect(
        credentials.authContext(loaded, { id: record.id, values: checked.public }, fresh),
      )
    } catch (err) {
      const e = isPatchbayError(err)
        ? err
        : new PatchbayError(
            'connection.flow_failed',
            `reconnecting failed: ${(err as Error).message}`,
          )
      throw new PatchbayError(
        e.code === 'connection.needs_reauth' ? 'connection.flow_failed' : e.code,
        redactText(e.message, credentials.redaction(loaded, fresh)),
        { details: e.details },
      )
    }
    const now = ctx.now()
    if (outcome.status === 'connected') {
      const creds = { obtainedAt: now, ...outcome.credentials }
      const version = await store.updateCredentials(record.id, record.credentialsVersion, {
        secrets: credentials.seal(record.id, { values: checked.secret, credentials: creds }),
        expiresAt: creds.expiresAt ?? null,
        refreshExpiresAt: creds.refreshExpiresAt ?? null,
        status: 'connected',
        statusMessage: null,
      })
      if (version === undefined)
        throw new PatchbayError(
          'connection.flow_failed',
          'the connection changed while reconnecting; start again',
        )
      await store.updateConnection(record.id, { refreshFailures: 0, refreshNotBefore: null })
      const after = (await store.getConnection(record.id)) ?? record
      ctx.events.emit({
        type: 'connection.created',
        connectionId: record.id,
        connectorId: record.connectorId,
        endUser: record.endUser,
        at: now,
      })
      return { record: after, connectorName: loaded.definition.name }
    }
    // Browser flow: new secret values (if any) are kept for `complete`; the credentials stay
    // as they are until the provider answers.
    if (!sameJson(checked.secret, secrets.values)) {
      const version = await store.updateCredentials(record.id, record.credentialsVersion, {
        secrets: credentials.seal(record.id, {
          values: checked.secret,
          credentials: secrets.credentials,
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
    const stateHash = hashState(outcome.state)
    await store.insertOAuthState({
      stateHash,
      connectionId: record.id,
      flow: ctx.box.seal(JSON.stringify(outcome.flow), `flow:${stateHash}`),
      returnUrl: options.returnUrl,
      sessionId: options.sessionId,
      expiresAt: now + STATE_TTL_MS,
    })
    return { record, connectorName: loaded.definition.name, authorizeUrl: outcome.authorizeUrl }
  }
}
