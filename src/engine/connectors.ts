/**
 * Connectors: validation against the auth registry, Zoho's lifecycle (SPEC §2), secret settings
 * sealed apart from the definition and masked in every answer.
 *
 * @module
 */
import { createHash } from 'node:crypto'
import { isDeepStrictEqual } from 'node:util'
import type { ZodError } from 'zod'
import type { AuthScheme } from '../auth/scheme.js'
import {
  AUTH_COMMON_KEYS,
  authCommonSchema,
  connectorInputSchema,
  connectorPatchSchema,
  type CustomAction,
  type FieldDefinition,
} from '../connector/schema.js'
import { authTestInputSchema } from '../connector/inputs.js'
import { deriveLinkName } from '../connector/rules.js'
import type { BreakerState, Stage } from '../connector/literals.js'
import { PatchbayError, invalidInput, type FieldIssue } from '../errors.js'
import { templateKeys } from '../lib/template.js'
import type { BreakerRecord, ConnectorRecord, Page, PageQuery } from '../store/store.js'
import { newId, type EngineContext } from './context.js'
import { toFieldIssues } from './issues.js'
import { putSecrets, takeSecrets, unmask } from './secrets.js'
import { checkValues, templateScope } from './values.js'

type Obj = Record<string, unknown>

/** The stored definition (validated, defaults applied). `auth` holds no secret settings. */
export interface ConnectorDefinition {
  name: string
  linkName: string
  description?: string
  logo?: string
  baseUrl: string
  allowedOrigins?: string[]
  fields: FieldDefinition[]
  auth: Obj & { type: string }
  customAction: { enabled: boolean; help?: Obj }
  actions: CustomAction[]
  breaker?: { threshold: number; cooldownSeconds: number }
  identity?: { method: string; path: string; valuePath: string }
  /** `code`: loaded from `PATCHBAY_CONNECTORS_DIR`; the API may not change or delete it. */
  source?: 'code'
  /** The last successful test request (`AuthScheme.test`), for the settings it tested. */
  authTest?: AuthTestRecord
}

export interface AuthTestRecord {
  /** SHA-256 of the non-secret settings tested (changed secrets drop the record instead). */
  settingsHash: string
  testedAt: string
}

export interface BreakerView {
  state: BreakerState
  failures: number
  /** When an open breaker lets one trial call through. */
  retryAt: string | null
}

export function breakerView(b: BreakerRecord | undefined): BreakerView {
  return {
    state: b?.state ?? 'closed',
    failures: b?.failures ?? 0,
    retryAt: b?.retryAt ? new Date(b.retryAt).toISOString() : null,
  }
}

export interface ConnectorView extends Omit<ConnectorDefinition, 'actions'> {
  id: string
  stage: Stage
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

/** A connector as the runtime uses it: secrets opened, settings parsed by the scheme. */
export interface LoadedConnector {
  record: ConnectorRecord
  definition: ConnectorDefinition
  scheme: AuthScheme
  settings: Obj
}

const DEFAULT_BREAKER = { threshold: 5, cooldownSeconds: 30 }

export function createConnectorService(ctx: EngineContext) {
  const { store, box, registry } = ctx

  function schemeFor(type: string, issues: FieldIssue[]): AuthScheme | undefined {
    const scheme = registry.get(type)
    if (!scheme) {
      const offered = registry.types().filter((t) => registry.get(t)?.ownedBy === undefined)
      issues.push({ path: 'auth.type', rule: `must be one of ${offered.join(', ')}` })
    }
    return scheme
  }

  /** Auth types bound to one code connector, named anywhere in `auth` (a `multi` option too). */
  function ownedTypeIn(value: unknown, path: string): FieldIssue | undefined {
    if (!value || typeof value !== 'object') return undefined
    const obj = value as Obj
    if (typeof obj.type === 'string' && registry.get(obj.type)?.ownedBy !== undefined) {
      return { path: `${path}.type`, rule: `"${obj.type}" belongs to a code connector` }
    }
    for (const [k, v] of Object.entries(obj)) {
      const found = ownedTypeIn(v, `${path}.${k}`)
      if (found) return found
    }
    return undefined
  }

  function refuseCode(record: ConnectorRecord, what: string): void {
    if ((record.definition as unknown as ConnectorDefinition).source === 'code') {
      throw new PatchbayError(
        'connector.managed_by_code',
        `the connector "${record.name}" is managed by code (PATCHBAY_CONNECTORS_DIR) and cannot be ${what} through the API; change its file and restart the server`,
      )
    }
  }

  /** Whether the connector's current settings passed the auth type's test request. */
  function testedAsIs(def: ConnectorDefinition): boolean {
    return def.authTest?.settingsHash === settingsHash(def.auth)
  }

  /** Validates auth settings; a draft may be incomplete, so only present keys are checked. */
  function checkAuth(
    auth: Obj,
    issues: FieldIssue[],
  ): { auth: Obj & { type: string }; missing: FieldIssue[] } {
    const common = authCommonSchema.safeParse(
      Object.fromEntries(AUTH_COMMON_KEYS.filter((k) => k in auth).map((k) => [k, auth[k]])),
    )
    if (!common.success) issues.push(...toFieldIssues(common.error, 'auth'))
    const type = String(auth.type)
    const scheme = schemeFor(type, issues)
    if (!scheme || !common.success) return { auth: { ...auth, type }, missing: [] }
    const settings = Object.fromEntries(
      Object.entries(auth).filter(([k]) => !(AUTH_COMMON_KEYS as readonly string[]).includes(k)),
    )
    const full = scheme.settings.safeParse(settings)
    if (full.success) return { auth: { ...common.data, ...(full.data as Obj), type }, missing: [] }
    const shape = scheme.settings.shape as Record<
      string,
      {
        safeParse: (v: unknown) => {
          success: boolean
          data?: unknown
          error?: ZodError
        }
      }
    >
    const partial: Obj = {}
    for (const [key, value] of Object.entries(settings)) {
      const field = shape[key]
      if (!field) {
        issues.push({ path: `auth.${key}`, rule: `is not a setting of the ${type} auth type` })
        continue
      }
      const r = field.safeParse(value)
      if (r.success) partial[key] = r.data
      else if (r.error) issues.push(...toFieldIssues(r.error, `auth.${key}`))
    }
    return {
      auth: { ...common.data, ...partial, type },
      missing: toFieldIssues(full.error, 'auth'),
    }
  }

  function validateDefinition(
    input: unknown,
    existing?: { record: ConnectorRecord; secrets: Record<string, string> },
    options: { code?: boolean } = {},
  ): {
    definition: ConnectorDefinition
    secrets: Record<string, string>
    missing: FieldIssue[]
  } {
    const parsed = connectorInputSchema.safeParse(input)
    const issues: FieldIssue[] = parsed.success ? [] : toFieldIssues(parsed.error)
    const raw = (parsed.success ? parsed.data : (input ?? {})) as Obj
    const authIn = structuredClone((raw.auth ?? {}) as Obj)
    if (typeof authIn.type !== 'string') {
      if (!issues.some((i) => i.path.startsWith('auth')))
        issues.push({ path: 'auth.type', rule: 'is required' })
      throw invalidInput(issues)
    }
    const scheme = registry.get(authIn.type)
    if (
      existing &&
      existing.record.definition.auth &&
      (existing.record.definition.auth as Obj).type === authIn.type
    ) {
      unmask(authIn, existing.secrets)
    }
    if (!options.code) {
      const owned = ownedTypeIn(authIn, 'auth')
      if (owned) throw invalidInput([owned])
    }
    const { auth, missing } = checkAuth(authIn, issues)
    if (!parsed.success || issues.length) throw invalidInput(issues)
    const data = parsed.data
    const secrets = takeSecrets(auth, scheme?.secretSettings ?? [])

    // Field names: unique, and not shadowing the auth type's own connection fields.
    const schemeFields = scheme ? safeConnectionFields(scheme, auth) : []
    const seen = new Set<string>()
    data.fields.forEach((f, i) => {
      if (seen.has(f.name))
        issues.push({ path: `fields.${i}.name`, rule: `must be unique ("${f.name}" repeats)` })
      if (schemeFields.some((s) => s.name === f.name)) {
        issues.push({
          path: `fields.${i}.name`,
          rule: `"${f.name}" is already a field of the ${auth.type} auth type`,
        })
      }
      seen.add(f.name)
    })
    const actionNames = new Set<string>()
    const previous = (existing?.record.definition.actions ?? []) as CustomAction[]
    const actions = data.actions.map((a, i): CustomAction => {
      if (actionNames.has(a.name))
        issues.push({ path: `actions.${i}.name`, rule: `must be unique ("${a.name}" repeats)` })
      actionNames.add(a.name)
      const keep = previous.find((p) => (a.id ? p.id === a.id : p.name === a.name))
      if (a.id && !keep)
        issues.push({
          path: `actions.${i}.id`,
          rule: 'is not an action of this connector; omit it for a new action',
        })
      return { ...a, id: keep?.id ?? newId('act') }
    })
    const known = new Set([...data.fields.map((f) => f.name), ...schemeFields.map((f) => f.name)])
    for (const key of templateKeys(data.baseUrl)) {
      if (!known.has(key))
        issues.push({ path: 'baseUrl', rule: `uses {{${key}}}, which is not a connection field` })
    }
    if (issues.length) throw invalidInput(issues)

    const definition: ConnectorDefinition = {
      name: data.name,
      linkName: data.linkName ?? deriveLinkName(data.name),
      baseUrl: data.baseUrl,
      fields: data.fields,
      auth,
      customAction: data.customAction,
      actions,
      ...(data.description !== undefined ? { description: data.description } : {}),
      ...(data.logo !== undefined ? { logo: data.logo } : {}),
      ...(data.allowedOrigins ? { allowedOrigins: data.allowedOrigins } : {}),
      ...(data.breaker ? { breaker: data.breaker } : {}),
      ...(data.identity ? { identity: data.identity } : {}),
    }
    return { definition, secrets, missing }
  }

  function openSecrets(record: ConnectorRecord): Record<string, string> {
    return record.secrets
      ? (JSON.parse(box.open(record.secrets, `connector:${record.id}`)) as Record<string, string>)
      : {}
  }

  function sealSecrets(id: string, secrets: Record<string, string>): string | null {
    return Object.keys(secrets).length ? box.seal(JSON.stringify(secrets), `connector:${id}`) : null
  }

  function missingOf(record: ConnectorRecord): FieldIssue[] {
    if (record.stage === 'ready') return []
    const def = record.definition as unknown as ConnectorDefinition
    const issues: FieldIssue[] = []
    const scheme = registry.get(def.auth.type)
    if (!scheme) return [{ path: 'auth.type', rule: 'is not a known auth type' }]
    const settings = putSecrets(settingsOf(def.auth), openSecrets(record), false)
    const full = scheme.settings.safeParse(settings)
    if (!full.success) issues.push(...toFieldIssues(full.error, 'auth'))
    else
      for (const p of scheme.problems?.(full.data as never) ?? [])
        issues.push({ path: `auth.${p.path}`, rule: p.rule })
    return issues
  }

  async function view(record: ConnectorRecord): Promise<ConnectorView> {
    const def = record.definition as unknown as ConnectorDefinition
    const secrets = openSecrets(record)
    const scheme = registry.get(def.auth.type)
    const settings = putSecrets(settingsOf(def.auth), secrets, false)
    const parsed = scheme?.settings.safeParse(settings)
    return {
      id: record.id,
      stage: record.stage,
      ...def,
      auth: putSecrets(def.auth, secrets, true) as ConnectorDefinition['auth'],
      actions: await Promise.all(
        def.actions.map(async (a) => ({
          ...a,
          breaker: breakerView(await store.getBreaker(actionBreakerKey(record.id, a.id))),
        })),
      ),
      missing: missingOf(record),
      ...(scheme?.testBeforeReady
        ? { testRequired: record.stage === 'draft' && !testedAsIs(def) }
        : {}),
      connectionCount: await store.countConnections(record.id),
      connectionFields: [
        ...def.fields,
        ...(scheme && parsed?.success ? safeConnectionFields(scheme, parsed.data as Obj) : []),
      ],
      createdAt: new Date(record.createdAt).toISOString(),
      updatedAt: new Date(record.updatedAt).toISOString(),
    }
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
    async create(input: unknown): Promise<ConnectorView> {
      const { definition, secrets } = validateDefinition(input)
      const id = newId('cn')
      const now = ctx.now()
      const record: ConnectorRecord = {
        id,
        linkName: definition.linkName,
        name: definition.name,
        stage: 'draft',
        definition: definition as unknown as Obj,
        secrets: sealSecrets(id, secrets),
        createdAt: now,
        updatedAt: now,
        version: 1,
      }
      await store.insertConnector(record)
      return view(record)
    },

    async list(query: PageQuery): Promise<Page<ConnectorView>> {
      const page = await store.listConnectors(query)
      return { ...page, items: await Promise.all(page.items.map(view)) }
    },

    async get(idOrLinkName: string): Promise<ConnectorView> {
      return view(await find(idOrLinkName))
    },

    async update(idOrLinkName: string, patchInput: unknown): Promise<ConnectorView> {
      const parsedPatch = connectorPatchSchema.safeParse(patchInput)
      if (!parsedPatch.success) throw invalidInput(toFieldIssues(parsedPatch.error))
      const patch = parsedPatch.data
      const record = await find(idOrLinkName)
      refuseCode(record, 'changed')
      const {
        authTest,
        source: _source,
        ...before
      } = record.definition as unknown as ConnectorDefinition
      const existingSecrets = openSecrets(record)
      const oldAuth = putSecrets(before.auth, existingSecrets, false)
      const merged: Obj = { ...before, ...patch }
      for (const [k, v] of Object.entries(patch)) if (v === null) delete merged[k]
      if (patch.auth) {
        const typeChanged = patch.auth.type !== before.auth.type
        if (typeChanged && record.stage === 'ready') {
          throw new PatchbayError(
            'connector.auth_type_locked',
            'the auth type can change only while the connector is a draft',
            {
              details: [{ path: 'auth.type', rule: 'is frozen once the connector is ready' }],
            },
          )
        }
      }
      const { definition, secrets } = validateDefinition(merged, {
        record,
        secrets: existingSecrets,
      })
      if (record.stage === 'ready') {
        const connectionCount = await store.countConnections(record.id)
        checkReadyChange(
          before,
          oldAuth,
          definition,
          putSecrets(definition.auth, secrets, false),
          connectionCount,
        )
      }
      // A test stays valid for the settings it tested (compared at `ready`); new secrets void it.
      const kept = authTest && isDeepStrictEqual(secrets, existingSecrets) ? { authTest } : {}
      const next: ConnectorRecord = {
        ...record,
        linkName: definition.linkName,
        name: definition.name,
        definition: { ...definition, ...kept } as unknown as Obj,
        secrets: sealSecrets(record.id, secrets),
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

    async ready(idOrLinkName: string): Promise<ConnectorView> {
      const record = await find(idOrLinkName)
      if (record.stage === 'ready') return view(record)
      const missing = missingOf(record)
      const def = record.definition as unknown as ConnectorDefinition
      const scheme = registry.get(def.auth.type)!
      const settings = putSecrets(settingsOf(def.auth), openSecrets(record), false)
      if (missing.length) {
        throw new PatchbayError(
          'connector.incomplete',
          `the auth settings are not complete: ${missing.map((m) => `${m.path} ${m.rule}`).join('; ')}`,
          { details: missing },
        )
      }
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
      const full = scheme.settings.parse(settings) as Obj
      const auth = { ...pickCommon(def.auth), ...full, type: def.auth.type }
      const secrets = takeSecrets(auth, scheme.secretSettings ?? [])
      const next: ConnectorRecord = {
        ...record,
        stage: 'ready',
        definition: { ...def, auth } as unknown as Obj,
        secrets: sealSecrets(record.id, secrets),
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

    async delete(idOrLinkName: string): Promise<void> {
      const record = await find(idOrLinkName)
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

    /**
     * The auth type's test request (`AuthScheme.test`) with sample connection values; a success
     * is recorded for the settings tested, which lets a type with `testBeforeReady` be marked ready.
     */
    async testAuth(idOrLinkName: string, input: unknown): Promise<Obj & { ok: boolean }> {
      const parsed = authTestInputSchema.safeParse(input ?? {})
      if (!parsed.success) throw invalidInput(toFieldIssues(parsed.error))
      const record = await find(idOrLinkName)
      const def = record.definition as unknown as ConnectorDefinition
      const scheme = registry.get(def.auth.type)
      if (!scheme?.test) {
        throw new PatchbayError(
          'connector.invalid',
          `the ${scheme?.label ?? def.auth.type} auth type has no test request`,
          { details: [{ path: 'auth.type', rule: 'has no test request' }] },
        )
      }
      const secrets = openSecrets(record)
      const settings = scheme.settings.safeParse(putSecrets(settingsOf(def.auth), secrets, false))
      if (!settings.success) {
        const missing = toFieldIssues(settings.error, 'auth')
        throw new PatchbayError(
          'connector.incomplete',
          `complete the auth settings before testing them: ${missing.map((m) => `${m.path} ${m.rule}`).join('; ')}`,
          { details: missing },
        )
      }
      // Only the fields given are checked: the templates the request uses say which it needs.
      const fields = [...def.fields, ...safeConnectionFields(scheme, settings.data as Obj)]
      const given = fields.filter((f) => parsed.data.values[f.name] !== undefined)
      const checked = checkValues(
        given.map((f) => ({ ...f, optional: true })),
        parsed.data.values,
      )
      if (checked.issues.length) {
        throw new PatchbayError(
          'connection.invalid_values',
          checked.issues.map((i) => `${i.path} ${i.rule}`).join('; '),
          { details: checked.issues },
        )
      }
      const values = templateScope(fields, { ...checked.public, ...checked.secret })
      const { ok, report } = await scheme.test({
        settings: settings.data as Obj,
        values,
        http: ctx.http,
      })
      // Whatever the endpoint echoed, the secrets sent to it are not shown again.
      const shown = hideValues(report, [
        ...secretStrings(checked.secret),
        ...secretStrings(secrets),
      ]) as Obj
      if (ok) {
        const fresh = await find(record.id)
        const now = (fresh.definition as unknown as ConnectorDefinition).auth
        // Recorded only if the settings did not change while the test ran.
        if (isDeepStrictEqual(now, def.auth) && fresh.secrets === record.secrets) {
          const authTest: AuthTestRecord = {
            settingsHash: settingsHash(def.auth),
            testedAt: new Date(ctx.now()).toISOString(),
          }
          await store.updateConnector(
            {
              ...fresh,
              definition: { ...fresh.definition, authTest } as Obj,
              updatedAt: ctx.now(),
              version: fresh.version + 1,
            },
            fresh.version,
          )
        }
      }
      return { ok, ...shown }
    },

    /**
     * Creates or replaces the connector a code file defines (by link name), `ready` at once and
     * marked `source: 'code'`. The file is the source of truth, so the ready freeze does not apply.
     */
    async upsertFromCode(input: Obj): Promise<ConnectorView> {
      const existing = await store.getConnector(String(input.linkName))
      if (existing && (existing.definition as unknown as ConnectorDefinition).source !== 'code') {
        throw new PatchbayError(
          'connector.link_name_taken',
          `a connector made through the API already has the link name "${existing.linkName}"; give the code connector another linkName`,
        )
      }
      const { definition, secrets, missing } = validateDefinition(
        input,
        existing ? { record: existing, secrets: openSecrets(existing) } : undefined,
        { code: true },
      )
      if (missing.length) {
        throw new PatchbayError(
          'connector.incomplete',
          `the auth settings are not complete: ${missing.map((m) => `${m.path} ${m.rule}`).join('; ')}`,
          { details: missing },
        )
      }
      const scheme = registry.get(definition.auth.type)!
      const full = scheme.settings.parse(putSecrets(settingsOf(definition.auth), secrets, false))
      const auth = { ...pickCommon(definition.auth), ...(full as Obj), type: definition.auth.type }
      const sealed = takeSecrets(auth, scheme.secretSettings ?? [])
      const now = ctx.now()
      const id = existing?.id ?? newId('cn')
      const record: ConnectorRecord = {
        id,
        linkName: definition.linkName,
        name: definition.name,
        stage: 'ready',
        definition: { ...definition, auth, source: 'code' } as unknown as Obj,
        secrets: sealSecrets(id, sealed),
        createdAt: existing?.createdAt ?? now,
        updatedAt: now,
        version: (existing?.version ?? 0) + 1,
      }
      if (!existing) await store.insertConnector(record)
      else if (
        !isDeepStrictEqual(existing.definition, record.definition) ||
        !isDeepStrictEqual(openSecrets(existing), sealed)
      ) {
        if (!(await store.updateConnector(record, existing.version))) {
          throw new PatchbayError(
            'connector.frozen',
            `the code connector "${definition.name}" changed while it was loaded; start again`,
          )
        }
      } else return view(existing)
      return view(record)
    },

    /** For the runtime: the connector with its secrets and parsed settings. */
    async load(idOrLinkName: string): Promise<LoadedConnector> {
      const record = await find(idOrLinkName)
      const definition = record.definition as unknown as ConnectorDefinition
      const scheme = registry.get(definition.auth.type)
      if (!scheme)
        throw new PatchbayError(
          'connector.invalid',
          `the auth type "${definition.auth.type}" is not available on this server`,
        )
      const settings = putSecrets(settingsOf(definition.auth), openSecrets(record), false)
      const parsed = scheme.settings.safeParse(settings)
      return {
        record,
        definition,
        scheme,
        settings: parsed.success ? (parsed.data as Obj) : settings,
      }
    },

    breakerOf(def: ConnectorDefinition) {
      const b = def.breaker ?? DEFAULT_BREAKER
      return { threshold: b.threshold, cooldownMs: b.cooldownSeconds * 1000 }
    },
  }
}

export type ConnectorService = ReturnType<typeof createConnectorService>

export const actionBreakerKey = (connectorId: string, actionId: string) =>
  `action:${connectorId}:${actionId}`
export const connectionBreakerKey = (connectionId: string) => `connection:${connectionId}`

export function settingsOf(auth: Obj): Obj {
  return Object.fromEntries(
    Object.entries(auth).filter(([k]) => !(AUTH_COMMON_KEYS as readonly string[]).includes(k)),
  )
}

function pickCommon(auth: Obj): Obj {
  return Object.fromEntries(
    Object.entries(auth).filter(([k]) => (AUTH_COMMON_KEYS as readonly string[]).includes(k)),
  )
}

function safeConnectionFields(scheme: AuthScheme, settings: Obj): FieldDefinition[] {
  try {
    return scheme.connectionFields(settings)
  } catch {
    return [] // a draft's incomplete settings may not yet describe fields
  }
}

/**
 * Once ready: auth parameters are frozen (scopes may be added; edited or removed only while no
 * connection exists), as are the base URL, allowed origins and the shape of fields (SPEC §2).
 */
function checkReadyChange(
  before: ConnectorDefinition,
  oldAuth: Obj,
  after: ConnectorDefinition,
  newAuth: Obj,
  connectionCount: number,
): void {
  const frozen = (path: string, rule: string): never => {
    throw new PatchbayError('connector.frozen', `${path} ${rule}`, { details: [{ path, rule }] })
  }
  const { scopes: oldScopes, ...oldRest } = oldAuth
  const { scopes: newScopes, ...newRest } = newAuth
  if (!isDeepStrictEqual(oldRest, newRest)) {
    const key =
      Object.keys({ ...oldRest, ...newRest }).find(
        (k) => !isDeepStrictEqual(oldRest[k], newRest[k]),
      ) ?? ''
    frozen(`auth.${key}`, 'is frozen once the connector is ready (only scopes can be added)')
  }
  const olds = (oldScopes ?? []) as unknown[]
  const news = (newScopes ?? []) as unknown[]
  if (connectionCount > 0) {
    const kept = olds.every((s, i) => isDeepStrictEqual(s, news[i]))
    if (!kept) {
      throw new PatchbayError(
        'connector.scopes_locked',
        'scopes can be added, but not edited or removed, once a connection exists',
        {
          details: [
            { path: 'auth.scopes', rule: 'existing scopes are locked while connections exist' },
          ],
        },
      )
    }
  }
  if (before.baseUrl !== after.baseUrl) frozen('baseUrl', 'is frozen once the connector is ready')
  if (!isDeepStrictEqual(before.allowedOrigins, after.allowedOrigins))
    frozen('allowedOrigins', 'is frozen once the connector is ready')
  if (before.linkName !== after.linkName)
    frozen('linkName', 'is frozen once the connector is ready')
  const shape = (fs: FieldDefinition[]): unknown =>
    fs.map(({ label: _l, hint: _h, ...rest }) => rest)
  if (!isDeepStrictEqual(shape(before.fields), shape(after.fields))) {
    frozen('fields', 'can only have labels and hints edited once the connector is ready')
  }
}

/** SHA-256 of the auth settings as stored (secrets are kept apart), keys sorted. */
function settingsHash(auth: Obj): string {
  return createHash('sha256')
    .update(stableJson(settingsOf(auth)))
    .digest('base64url')
}

function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Obj)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`).join(',')}}`
  }
  return JSON.stringify(value) ?? 'null'
}

export { authTestInputSchema } from '../connector/inputs.js'

function secretStrings(value: unknown): string[] {
  if (typeof value === 'string') return value.length >= 4 ? [value] : []
  if (value && typeof value === 'object') return Object.values(value).flatMap(secretStrings)
  return []
}

/** `value` with every occurrence of a secret replaced by `*****`. */
function hideValues(value: unknown, secrets: string[]): unknown {
  if (secrets.length === 0) return value
  if (typeof value === 'string') {
    return secrets.reduce((text, secret) => text.split(secret).join('*****'), value)
  }
  if (Array.isArray(value)) return value.map((v) => hideValues(v, secrets))
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, hideValues(v, secrets)]))
  }
  return value
}
