/**
 * Connectors as the runtime reads them: the record, its secret settings opened and its settings
 * parsed by the auth scheme. The opened and parsed form is kept per process, keyed by the record's
 * version, so a call that reads the row (it always does) only decrypts and parses again after a
 * change made by any process.
 *
 * @module
 */
import type { AuthScheme } from '../auth/scheme.js'
import type { ConnectorDefinition } from '../connector/model.js'
import type { FieldDefinition } from '../connector/schema.js'
import { PatchbayError } from '../errors.js'
import type { SecretBox } from '../store/crypto.js'
import type { ConnectorRecord, Store } from '../store/store.js'
import type { AuthRegistry } from '../auth/scheme.js'
import { mergeFields } from './connection-fields.js'
import { settingsOf } from './connector-validation.js'
import { putSecrets, schemeSecrets } from './secrets.js'

type Obj = Record<string, unknown>

/** A connector as the runtime uses it: secrets opened, settings parsed by the scheme. */
export interface LoadedConnector {
  record: ConnectorRecord
  definition: ConnectorDefinition
  scheme: AuthScheme
  settings: Obj
  /** The secret settings, by path. */
  secrets: Record<string, string>
}

export interface ConnectorRepository {
  /** The record by id or link name; `connector.not_found` otherwise. */
  find(idOrLinkName: string): Promise<ConnectorRecord>
  /** The connector ready to run; `connector.invalid` when its auth type is not on this server. */
  load(idOrLinkName: string): Promise<LoadedConnector>
  /** The same for a record already read. */
  loaded(record: ConnectorRecord): LoadedConnector
  openSecrets(record: ConnectorRecord): Record<string, string>
  sealSecrets(id: string, secrets: Record<string, string>): string | null
}

/** Everything a connection is asked for, for these values (`multi`'s fields depend on them). */
export function connectionFieldsOf(loaded: LoadedConnector, values?: Obj): FieldDefinition[] {
  return mergeFields(
    loaded.definition.fields,
    loaded.scheme.connectionFields(loaded.settings, values),
  )
}

/** What a connection form shows for the values chosen so far. */
export interface ConnectionForm {
  fields: FieldDefinition[]
  /** Whether connecting with these values sends the user's browser to the provider. */
  browser: boolean
}

/** The connection form for these values; a draft's incomplete settings show its own fields. */
export function connectionFormOf(loaded: LoadedConnector, values: Obj = {}): ConnectionForm {
  let fields: FieldDefinition[]
  try {
    fields = connectionFieldsOf(loaded, values)
  } catch {
    fields = loaded.definition.fields
  }
  return {
    fields,
    browser: loaded.scheme.needsBrowser?.(loaded.settings as never, values) ?? false,
  }
}

export function createConnectorRepository(
  store: Store,
  box: SecretBox,
  registry: AuthRegistry,
): ConnectorRepository {
  const cache = new Map<string, LoadedConnector>()

  function openSecrets(record: ConnectorRecord): Record<string, string> {
    return record.secrets
      ? (JSON.parse(box.open(record.secrets, `connector:${record.id}`)) as Record<string, string>)
      : {}
  }

  function loaded(record: ConnectorRecord): LoadedConnector {
    const hit = cache.get(record.id)
    if (hit && hit.record.version === record.version && hit.record.secrets === record.secrets)
      return hit
    const definition = record.definition
    const scheme = registry.get(definition.auth.type)
    if (!scheme)
      throw new PatchbayError(
        'connector.invalid',
        `the auth type "${definition.auth.type}" is not available on this server`,
      )
    const secrets = openSecrets(record)
    const raw = putSecrets(settingsOf(definition.auth), schemeSecrets(secrets), false)
    const parsed = scheme.settings.safeParse(raw)
    const out: LoadedConnector = {
      record,
      definition,
      scheme,
      settings: parsed.success ? (parsed.data as Obj) : raw,
      secrets,
    }
    cache.set(record.id, out)
    return out
  }

  async function find(idOrLinkName: string): Promise<ConnectorRecord> {
    const record = await store.getConnector(idOrLinkName)
    if (!record) {
      throw new PatchbayError(
        'connector.not_found',
        `no connector "${idOrLinkName}"; list them with GET /api/v1/connectors`,
      )
    }
    return record
  }

  return {
    find,
    loaded,
    load: async (idOrLinkName) => loaded(await find(idOrLinkName)),
    openSecrets,
    sealSecrets: (id, secrets) =>
      Object.keys(secrets).length ? box.seal(JSON.stringify(secrets), `connector:${id}`) : null,
  }
}
