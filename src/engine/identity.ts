/**
 * Whom a connection is for: the scheme's answer when it has one (a code connector's `identity`
 * lambda), else the connector's `identity` request (e.g. `GET me`, value at `login`) run through
 * the pipeline like any call. Shown on the connection.
 *
 * @module
 */
import { getPath } from '../lib/json-path.js'
import type { ConnectionRecord } from '../store/store.js'
import type { ConnectionSecretBox } from './connection-secrets.js'
import type { LoadedConnector } from './connector-repository.js'
import { envelope } from './envelope.js'
import type { CallTargets } from './call-targets.js'
import type { Executor } from './executor.js'

export type IdentityProbe = (
  loaded: LoadedConnector,
  record: ConnectionRecord,
) => Promise<string | null>

/** Reads an identity out of a JSON response by the connector's `identity.valuePath`. */
export function identityFrom(body: unknown, valuePath: string): string | null {
  const v = getPath(body, valuePath)
  return v === undefined || v === null ? null : String(v)
}

export function createIdentityProbe(
  executor: Executor,
  targets: CallTargets,
  secretBox: ConnectionSecretBox,
): IdentityProbe {
  return async (loaded, record) => {
    if (loaded.scheme.identity)
      return loaded.scheme.identity(secretBox.authContext(loaded, record, secretBox.open(record)))
    const identity = loaded.definition.identity
    if (!identity) return null
    const out = await envelope(
      await executor.execute(
        targets.build(loaded, record),
        { method: identity.method, path: identity.path },
        { actionId: null, stream: false },
      ),
    )
    return out.status < 400 ? identityFrom(out.body, identity.valuePath) : null
  }
}
