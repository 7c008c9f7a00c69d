/**
 * Connectors through the API: created as drafts, changed under the lifecycle rules
 * (`connector-lifecycle.ts`), marked ready, deleted when no connection uses them. Secret settings
 * are sealed apart from the definition and masked in every answer.
 *
 * @module
 */
import { isDeepStrictEqual } from 'node:util'
import { connectionFormInputSchema } from '../connector/inputs.js'
import { connectorPatchSchema } from '../connector/schema.js'
import { PatchbayError, invalidInput } from '../errors.js'
import type { ConnectorRecord, Page, PageQuery } from '../store/store.js'
import { testedAsIs } from './auth-test.js'
import { checkReadyChange } from './connector-lifecycle.js'
import {
  connectionFormOf,
  type ConnectionForm,
  type ConnectorRepository,
} from './connector-repository.js'
import {
  completeAuth,
  incompleteSettings,
  missingSettings,
  validateDefinition,
} from './connector-validation.js'
import type { ConnectorView, ConnectorViews } from './connector-views.js'
import { newId, type EngineContext } from './context.js'
import { toFieldIssues } from './issues.js'
import { putSecrets } from './secrets.js'

type Obj = Record<string, unknown>

export interface ConnectorService {
  create(input: unknown): Promise<ConnectorView>
  list(query: PageQuery): Promise<Page<ConnectorView>>
  get(idOrLinkName: string): Promise<ConnectorView>
  update(idOrLinkName: string, patch: unknown): Promise<ConnectorView>
  ready(idOrLinkName: string): Promise<ConnectorView>
  delete(idOrLinkName: string): Promise<void>
  /**
   * What a connection form asks for, and whether it goes through the browser, for the values
   * chosen so far (a `multi` connector's depend on the option picked).
   */
  connectionForm(idOrLinkName: string, input: unknown): Promise<ConnectionForm>
}

export { connectionFormInputSchema }

function refuseCode(record: ConnectorRecord, what: string): void {
  if (record.definition.source === 'code') {
    throw new PatchbayError(
      'connector.managed_by_code',
      `the connector "${record.name}" is managed by code (PATCHBAY_CONNECTORS_DIR) and cannot be ${what} through the API; change its file and restart the server`,
    )
  }
}

export function createConnectorService(
  ctx: EngineContext,
  repository: ConnectorRepository,
  view: ConnectorViews,
): ConnectorService {
  const { store, registry } = ctx

  return {
    async create(input) {
      const { definition, secrets } = validateDefinition(registry, input)
      const id = newId('cn')
      const now = ctx.now()
      const record: ConnectorRecord = {
        id,
        linkName: definition.linkName,
        name: definition.name,
        stage: 'draft',
        definition,
        secrets: repository.sealSecrets(id, secrets),
        createdAt: now,
        updatedAt: now,
        version: 1,
      }
      await store.insertConnector(record)
      return view(record)
    },

    async list(query) {
      const page = await store.listConnectors(query)
      return { ...page, items: await Promise.all(page.items.map(view)) }
    },

    async get(idOrLinkName) {
      return view(await repository.find(idOrLinkName))
    },

    async update(idOrLinkName, patchInput) {
      const parsedPatch = connectorPatchSchema.safeParse(patchInput)
      if (!parsedPatch.success) throw invalidInput(toFieldIssues(parsedPatch.error))
      const patch = parsedPatch.data
      const record = await repository.find(idOrLinkName)
      refuseCode(record, 'changed')
      const { authTest, source: _source, ...before } = record.definition
      const existingSecrets = repository.openSecrets(record)
      // Without `auth`, the stored one stays as it is, its secret settings with it (masked here,
      // unmasked by validation like a PATCH that sends the masks back).
      const merged: Obj = {
        ...before,
        ...(patch.auth === undefined
          ? { auth: putSecrets(before.auth, existingSecrets, true) }
          : {}),
        ...patch,
      }
      for (const [k, v] of Object.entries(patch)) if (v === null) delete merged[k]
      if (patch.auth && patch.auth.type !== before.auth.type && record.stage === 'ready') {
        throw new PatchbayError(
          'connector.auth_type_locked',
          'the auth type can change only while the connector is a draft',
          { details: [{ path: 'auth.type', rule: 'is frozen once the connector is ready' }] },
        )
      }
      const { definition, secrets } = validateDefinition(registry, merged, {
        definition: record.definition,
        secrets: existingSecrets,
      })
      if (record.stage === 'ready') {
        checkReadyChange(
          registry.get(definition.auth.type)!,
          before as typeof definition,
          putSecrets(before.auth, existingSecrets, false),
          definition,
          putSecrets(definition.auth, secrets, false),
          await store.countConnections(record.id),
        )
      }
      // A test stays valid for the settings it tested (compared at `ready`); new secrets void it.
      const kept = authTest && isDeepStrictEqual(secrets, existingSecrets) ? { authTest } : {}
      const next: ConnectorRecord = {
        ...record,
        linkName: definition.linkName,
        name: definition.name,
        definition: { ...definition, ...kept },
        secrets: repository.sealSecrets(record.id, secrets),
        updatedAt: ctx.now(),
        version: record.version + 1,
      }
      if (!(await store.updateConnector(next, record.version))) {
        throw new PatchbayError(
          'connector.frozen',
          'the connector changed while this update ran; read it again and retry',
        )
      }
      return view(next)
    },

    async ready(idOrLinkName) {
      const record = await repository.find(idOrLinkName)
      if (record.stage === 'ready') return view(record)
      const def = record.definition
      const secrets = repository.openSecrets(record)
      const missing = missingSettings(registry, def, secrets)
      if (missing.length) throw incompleteSettings(missing)
      const scheme = registry.get(def.auth.type)!
      if (scheme.testBeforeReady && !testedAsIs(def)) {
        throw new PatchbayError(
          'connector.incomplete',
          `the ${scheme.label} settings must pass a test request before the connector is ready: run POST /api/v1/connectors/${record.id}/test-token with { "values": { … } } (CLI: patchbay connector test-token ${record.linkName} -v key=value), then mark it ready`,
          {
            details: [
              { path: 'auth', rule: 'needs a successful test request of the current settings' },
            ],
          },
        )
      }
      // Store the complete settings with their defaults, as the runtime will read them.
      const complete = completeAuth(scheme, def.auth, secrets)
      const next: ConnectorRecord = {
        ...record,
        stage: 'ready',
        definition: { ...def, auth: complete.auth },
        secrets: repository.sealSecrets(record.id, complete.secrets),
        updatedAt: ctx.now(),
        version: record.version + 1,
      }
      if (!(await store.updateConnector(next, record.version))) {
        throw new PatchbayError(
          'connector.frozen',
          'the connector changed while this ran; try again',
        )
      }
      return view(next)
    },

    async connectionForm(idOrLinkName, input) {
      const parsed = connectionFormInputSchema.safeParse(input ?? {})
      if (!parsed.success) throw invalidInput(toFieldIssues(parsed.error))
      return connectionFormOf(await repository.load(idOrLinkName), parsed.data.values)
    },

    async delete(idOrLinkName) {
      const record = await repository.find(idOrLinkName)
      refuseCode(record, 'deleted')
      const count = await store.countConnections(record.id)
      if (count > 0) {
        throw new PatchbayError(
          'connector.in_use',
          `the connector has ${count} connection${count > 1 ? 's' : ''}; delete them first`,
          { details: { connectionCount: count } },
        )
      }
      await store.deleteConnector(record.id)
    },
  }
}
