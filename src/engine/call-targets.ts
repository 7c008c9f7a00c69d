/**
 * A connection ready for calls: its connector loaded, its secrets opened, its base URL resolved,
 * its template scope, auth context and redaction built. Building one costs a decrypt, schema
 * parses and URL work, so a process keeps them (a bounded, least-recently-used map) keyed by the
 * versions that change them — the connector's `version` and the connection's
 * `credentialsVersion` — and every call starts with one read of the connection's current versions
 * and status (`Store.getCallState`): a change made by any process (a refresh, a reconnect, a
 * connector edit, a delete) is seen by the next call. A secret-key rotation re-seals the same
 * plaintext, so what is kept stays right.
 *
 * @module
 */
import type { AuthContext } from '../auth/scheme.js'
import { PatchbayError } from '../errors.js'
import { keepRecent } from '../lib/recent.js'
import type { RetryPolicy, Transport } from '../pipeline/index.js'
import type { BreakerRecord, ConnectionRecord, Store } from '../store/store.js'
import { allowedOriginsOf, baseUrlOf, connectionScope, tokenValueNames } from './base-url.js'
import type { ConnectionSecretBox, ConnectionSecrets } from './connection-secrets.js'
import { connectionNotFound } from './connections.js'
import type { ConnectorRepository, LoadedConnector } from './connector-repository.js'
import { retryPolicy } from './executor.js'

type Obj = Record<string, unknown>

export interface CallTarget {
  loaded: LoadedConnector
  record: ConnectionRecord
  secrets: ConnectionSecrets
  /** The connection's values (and its token-response values) as `{{templates}}` in requests read them. */
  scope: Obj
  /** The base URL with the connection's values, or why they do not make one (`base-url.ts`). */
  base: URL | PatchbayError
  /** Origins credentials may go to: the base URL's and the connector's `allowedOrigins`, rendered. */
  allowedOrigins: Set<string>
  authContext: AuthContext
  /** The connector's `retry`, its defaults filled in. */
  retry: RetryPolicy
  /**
   * The agents presenting the connection's client certificate (`auth.tls`), or why its values do
   * not make one.
   */
  transport: Transport | undefined | PatchbayError
  /** The secret values to redact from this connection's logs, in every form they travel in. */
  secretValues: string[]
}

export interface CallTargets {
  /**
   * The connection ready for a call, and the breaker at `breakerKey` as it stands, in one read of
   * the store when nothing changed since the last call.
   */
  get(
    connectionId: string,
    breakerKey: string,
  ): Promise<{ target: CallTarget; breaker: BreakerRecord | undefined }>
  /** A target for a record at hand (not kept): a connection being connected, say. */
  build(loaded: LoadedConnector, record: ConnectionRecord): CallTarget
}

/** How many connections a process keeps ready; each takes a few kilobytes. */
const MAX_KEPT = 5_000

function orError<T>(make: () => T): T | PatchbayError {
  try {
    return make()
  } catch (err) {
    if (err instanceof PatchbayError) return err
    throw err
  }
}

export function createCallTargets(
  store: Store,
  connectors: ConnectorRepository,
  secretBox: ConnectionSecretBox,
): CallTargets {
  const kept = new Map<string, CallTarget>()

  function build(loaded: LoadedConnector, record: ConnectionRecord): CallTarget {
    const secrets = secretBox.open(record)
    const values = { ...record.values, ...secrets.values }
    const scope = connectionScope(loaded, values, secrets.credentials)
    // A refresh that answers a new instance URL bumps the credentials version, so the next call
    // builds its target again and goes (with its credentials) to the new origin only.
    const tokenValues = tokenValueNames(loaded).all
    const base = baseUrlOf(loaded, scope, tokenValues)
    return {
      loaded,
      record,
      secrets,
      scope,
      base,
      allowedOrigins: allowedOriginsOf(loaded, base, scope, tokenValues),
      authContext: secretBox.authContext(loaded, record, secrets),
      retry: retryPolicy(loaded.definition),
      transport: orError(() => secretBox.transport(loaded, record, secrets)),
      secretValues: secretBox.redaction(loaded, secrets).values,
    }
  }

  return {
    build,
    async get(connectionId, breakerKey) {
      const state = await store.getCallState(connectionId, breakerKey)
      if (!state) {
        kept.delete(connectionId)
        throw connectionNotFound(connectionId)
      }
      let target = kept.get(connectionId)
      if (
        !target ||
        target.record.credentialsVersion !== state.credentialsVersion ||
        target.loaded.record.version !== state.connectorVersion
      ) {
        const [record, loaded] = await Promise.all([
          store.getConnection(connectionId),
          connectors.load(state.connectorId),
        ])
        if (!record) throw connectionNotFound(connectionId)
        target = build(loaded, record)
      }
      keepRecent(kept, connectionId, target, MAX_KEPT)
      // Status changes (needs_reauth, a failed flow) do not bump the credentials version.
      const record =
        target.record.status === state.status && target.record.statusMessage === state.statusMessage
          ? target.record
          : { ...target.record, status: state.status, statusMessage: state.statusMessage }
      return {
        target: record === target.record ? target : { ...target, record },
        breaker: state.breaker,
      }
    },
  }
}
