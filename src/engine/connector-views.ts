/**
 * A connector as the API answers it: the definition with secret settings masked, what keeps a
 * draft from `ready`, its connection fields, and its saved actions with their breakers.
 *
 * @module
 */
import type { AuthRegistry } from '../auth/scheme.js'
import type { ConnectorDefinition } from '../connector/model.js'
import type { CustomAction, FieldDefinition } from '../connector/schema.js'
import type { FieldIssue } from '../errors.js'
import type { ConnectorRecord, Store } from '../store/store.js'
import { actionBreakerKey, type Breakers, type BreakerView } from './breakers.js'
import { mergeFields } from './connection-fields.js'
import type { ConnectorRepository } from './connector-repository.js'
import { missingSettings, schemeFields, settingsOf } from './connector-validation.js'
import { putSecrets, schemeSecrets } from './secrets.js'
import { testedAsIs } from './auth-test.js'

export interface ConnectorView extends Omit<ConnectorDefinition, 'actions'> {
  id: string
  stage: 'draft' | 'ready'
  /** What still keeps a draft from `ready`. */
  missing: FieldIssue[]
  connectionCount: number
  /** Everything a connection of this connector is asked for: its fields and the auth type's. */
  connectionFields: FieldDefinition[]
  /** Present for auth types tested before `ready`: whether the current settings still need it. */
  testRequired?: boolean
  actions: (CustomAction & { breaker: BreakerView })[]
  createdAt: string
  updatedAt: string
}

export type ConnectorViews = (record: ConnectorRecord) => Promise<ConnectorView>

export function createConnectorViews(
  store: Store,
  registry: AuthRegistry,
  repository: ConnectorRepository,
  breakers: Breakers,
): ConnectorViews {
  return async function view(record) {
    const def = record.definition
    const secrets = repository.openSecrets(record)
    const scheme = registry.get(def.auth.type)
    const parsed = scheme?.settings.safeParse(
      putSecrets(settingsOf(def.auth), schemeSecrets(secrets), false),
    )
    const own = scheme && parsed?.success ? schemeFields(scheme, parsed.data as never) : []
    return {
      id: record.id,
      stage: record.stage,
      ...def,
      auth: putSecrets(def.auth, secrets, true) as ConnectorDefinition['auth'],
      actions: await Promise.all(
        def.actions.map(async (a) => ({
          ...a,
          breaker: await breakers.view(actionBreakerKey(record.id, a.id)),
        })),
      ),
      missing: record.stage === 'ready' ? [] : missingSettings(registry, def, secrets),
      ...(scheme?.testBeforeReady
        ? { testRequired: record.stage === 'draft' && !testedAsIs(def) }
        : {}),
      connectionCount: await store.countConnections(record.id),
      connectionFields: mergeFields(def.fields, own),
      createdAt: new Date(record.createdAt).toISOString(),
      updatedAt: new Date(record.updatedAt).toISOString(),
    }
  }
}
