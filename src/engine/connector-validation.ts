/**
 * A connector definition checked against the connector schema and its auth type's settings: a
 * draft may be incomplete (only the settings present are checked, and what is missing is listed),
 * `ready` needs them whole. Secret settings come out of the definition, to be sealed apart.
 *
 * @module
 */
import type { ZodError } from 'zod'
import type { AuthRegistry, AuthScheme, TokenValueDeclaration } from '../auth/scheme.js'
import type { ConnectorDefinition, StoredAuth } from '../connector/model.js'
import { deriveLinkName } from '../connector/rules.js'
import {
  AUTH_COMMON_KEYS,
  AUTH_COMMON_SECRETS,
  authCommonSchema,
  connectorInputSchema,
  type CustomAction,
  type FieldDefinition,
} from '../connector/schema.js'
import { PatchbayError, invalidInput, type FieldIssue } from '../errors.js'
import { leadingTemplateKey, templateKeys } from '../lib/template.js'
import { mergeFields, redeclarationIssues } from './connection-fields.js'
import { newId } from './context.js'
import { toFieldIssues } from './issues.js'
import { clientTlsIssues } from './client-tls.js'
import { MASK, commonSecrets, putSecrets, schemeSecrets, takeSecrets, unmask } from './secrets.js'

type Obj = Record<string, unknown>

export interface ValidatedConnector {
  definition: ConnectorDefinition
  /** Secret settings by path, taken out of `definition.auth`. */
  secrets: Record<string, string>
  /** What keeps the settings from `ready`. */
  missing: FieldIssue[]
}

export interface ExistingConnector {
  definition: ConnectorDefinition
  secrets: Record<string, string>
}

/** The auth settings without the keys every type shares. */
export function settingsOf(auth: Obj): Obj {
  return Object.fromEntries(
    Object.entries(auth).filter(([k]) => !(AUTH_COMMON_KEYS as readonly string[]).includes(k)),
  )
}

export function pickCommon(auth: Obj): Obj {
  return Object.fromEntries(
    Object.entries(auth).filter(([k]) => (AUTH_COMMON_KEYS as readonly string[]).includes(k)),
  )
}

/** The auth type's connection fields, or none while a draft's settings cannot describe them. */
export function schemeFields(scheme: AuthScheme, settings: Obj, values?: Obj): FieldDefinition[] {
  try {
    return scheme.connectionFields(settings, values)
  } catch {
    return []
  }
}

/** The values the auth type keeps from token responses, or none while a draft's settings cannot say. */
export function schemeTokenValues(scheme: AuthScheme, settings: Obj): TokenValueDeclaration[] {
  try {
    return scheme.tokenValues?.(settings) ?? []
  } catch {
    return []
  }
}

/** A kept token-response value takes one name, which no connection field has. */
function tokenValueIssues(kept: TokenValueDeclaration[], fields: Set<string>): FieldIssue[] {
  const issues: FieldIssue[] = []
  const seen = new Set<string>()
  for (const value of kept) {
    const path = `auth.${value.path}`
    if (seen.has(value.name))
      issues.push({ path, rule: `keeps "${value.name}" a second time; each value has one name` })
    else if (fields.has(value.name))
      issues.push({
        path,
        rule: `is also a connection field: {{${value.name}}} would be ambiguous; pick another name`,
      })
    seen.add(value.name)
  }
  return issues
}

/**
 * A URL template (`baseUrl`, an allowed origin) may use connection fields and the token-response
 * values that are not secrets (a URL is shown and logged), and only such a value may stand for
 * the origin at its start (engine/base-url.ts).
 */
function urlTemplateIssues(
  path: string,
  template: string,
  fields: Set<string>,
  kept: TokenValueDeclaration[],
): FieldIssue[] {
  const issues: FieldIssue[] = []
  const byName = new Map(kept.map((v) => [v.name, v]))
  for (const key of templateKeys(template)) {
    if (fields.has(key)) continue
    const value = byName.get(key)
    if (!value)
      issues.push({
        path,
        rule: `uses {{${key}}}, which is not a connection field${kept.length ? ' or a value kept from the token response' : ''}`,
      })
    else if (value.secret)
      issues.push({
        path,
        rule: `uses {{${key}}}, a secret value of the token response: a URL is shown and logged, so keep it in tokenResponseValues instead`,
      })
  }
  const lead = leadingTemplateKey(template)
  if (lead !== undefined && !byName.has(lead)) {
    issues.push({
      path,
      rule: `starts with {{${lead}}}: only a value kept from the token response (tokenResponseValues) can stand for the origin; a connection field fills a part of it, as in https://{{${lead}}}.example.com/`,
    })
  }
  return issues
}

/** Types a code connector owns may appear only in that connector (a `multi` option too). */
function ownedTypeIn(registry: AuthRegistry, value: unknown, path: string): FieldIssue | undefined {
  if (!value || typeof value !== 'object') return undefined
  const obj = value as Obj
  if (typeof obj.type === 'string' && registry.get(obj.type)?.ownedBy !== undefined) {
    return { path: `${path}.type`, rule: `"${obj.type}" belongs to a code connector` }
  }
  for (const [k, v] of Object.entries(obj)) {
    const found = ownedTypeIn(registry, v, `${path}.${k}`)
    if (found) return found
  }
  return undefined
}

/** Validates auth settings; a draft may be incomplete, so only present keys are checked. */
function checkAuth(
  registry: AuthRegistry,
  auth: Obj,
  issues: FieldIssue[],
): { auth: StoredAuth; missing: FieldIssue[] } {
  const common = authCommonSchema.safeParse(pickCommon(auth))
  if (!common.success) issues.push(...toFieldIssues(common.error, 'auth'))
  const type = String(auth.type)
  const scheme = registry.get(type)
  if (!scheme) {
    const offered = registry.types().filter((t) => registry.get(t)?.ownedBy === undefined)
    issues.push({ path: 'auth.type', rule: `must be one of ${offered.join(', ')}` })
  }
  if (!scheme || !common.success) return { auth: { ...auth, type }, missing: [] }
  const settings = settingsOf(auth)
  const full = scheme.settings.safeParse(settings)
  if (full.success) return { auth: { ...common.data, ...(full.data as Obj), type }, missing: [] }
  const shape = scheme.settings.shape as Record<string, { safeParse: (v: unknown) => ParseResult }>
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
  return { auth: { ...common.data, ...partial, type }, missing: toFieldIssues(full.error, 'auth') }
}

type ParseResult = { success: boolean; data?: unknown; error?: ZodError }

/**
 * Checks a connector definition (create, update, a code connector's file). With `existing`, masked
 * secret settings (`********`) keep their stored values and saved actions keep their ids.
 */
export function validateDefinition(
  registry: AuthRegistry,
  input: unknown,
  existing?: ExistingConnector,
  options: { code?: boolean } = {},
): ValidatedConnector {
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
  if (existing?.definition.auth.type === authIn.type) unmask(authIn, existing.secrets)
  if (!options.code) {
    const owned = ownedTypeIn(registry, authIn, 'auth')
    if (owned) throw invalidInput([owned])
  }
  const { auth, missing } = checkAuth(registry, authIn, issues)
  if (!parsed.success || issues.length) throw invalidInput(issues)
  const data = parsed.data
  const secrets = takeSecrets(auth, [...(scheme?.secretSettings ?? []), ...AUTH_COMMON_SECRETS])
  if (secrets['tls.key'] === MASK)
    issues.push({ path: 'auth.tls.key', rule: 'is masked, but no key is stored: give the PEM key' })

  // A field that re-declares one of the auth type's and names no type takes the auth type's.
  const ownFields = scheme
    ? schemeFields(scheme, putSecrets(settingsOf(auth), schemeSecrets(secrets), false))
    : []
  const rawFields = ((input as Obj | null)?.fields ?? []) as Obj[]
  const fields = data.fields.map((f, i) => {
    const base = ownFields.find((s) => s.name === f.name)
    return base && rawFields[i]?.type === undefined ? { ...f, type: base.type } : f
  })
  const seen = new Set<string>()
  fields.forEach((f, i) => {
    if (seen.has(f.name))
      issues.push({ path: `fields.${i}.name`, rule: `must be unique ("${f.name}" repeats)` })
    seen.add(f.name)
  })
  issues.push(...redeclarationIssues(fields, ownFields, auth.type))

  const actionNames = new Set<string>()
  const previous = existing?.definition.actions ?? []
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
  issues.push(
    ...clientTlsIssues(
      { ...auth.tls, ...(secrets['tls.key'] !== undefined ? { key: secrets['tls.key'] } : {}) },
      mergeFields(fields, ownFields),
    ),
  )
  const known = new Set(mergeFields(fields, ownFields).map((f) => f.name))
  const kept = scheme ? schemeTokenValues(scheme, putSecrets(settingsOf(auth), secrets, false)) : []
  issues.push(...tokenValueIssues(kept, known))
  const urls: [path: string, template: string][] = [
    ['baseUrl', data.baseUrl],
    ...(data.allowedOrigins ?? []).map((o, i): [string, string] => [`allowedOrigins.${i}`, o]),
  ]
  for (const [path, template] of urls)
    issues.push(...urlTemplateIssues(path, template, known, kept))
  if (issues.length) throw invalidInput(issues)

  const definition: ConnectorDefinition = {
    name: data.name,
    linkName: data.linkName ?? deriveLinkName(data.name),
    baseUrl: data.baseUrl,
    fields,
    auth,
    customAction: data.customAction,
    actions,
    ...(data.description !== undefined ? { description: data.description } : {}),
    ...(data.logo !== undefined ? { logo: data.logo } : {}),
    ...(data.allowedOrigins ? { allowedOrigins: data.allowedOrigins } : {}),
    ...(data.breaker ? { breaker: data.breaker } : {}),
    ...(data.retry ? { retry: data.retry } : {}),
    ...(data.rateLimit ? { rateLimit: data.rateLimit } : {}),
    ...(data.identity ? { identity: data.identity } : {}),
  }
  return { definition, secrets, missing }
}

/** What keeps a draft's settings from `ready` (the schema's rules, then the scheme's own). */
export function missingSettings(
  registry: AuthRegistry,
  definition: ConnectorDefinition,
  secrets: Record<string, string>,
): FieldIssue[] {
  const scheme = registry.get(definition.auth.type)
  if (!scheme) return [{ path: 'auth.type', rule: 'is not a known auth type' }]
  const full = scheme.settings.safeParse(
    putSecrets(settingsOf(definition.auth), schemeSecrets(secrets), false),
  )
  if (!full.success) return toFieldIssues(full.error, 'auth')
  return (scheme.problems?.(full.data as never) ?? []).map((p) => ({
    path: `auth.${p.path}`,
    rule: p.rule,
  }))
}

/** The complete settings with their defaults, as the runtime reads them, secrets taken apart. */
export function completeAuth(
  scheme: AuthScheme,
  auth: StoredAuth,
  secrets: Record<string, string>,
): { auth: StoredAuth; secrets: Record<string, string> } {
  const full = scheme.settings.parse(
    putSecrets(settingsOf(auth), schemeSecrets(secrets), false),
  ) as Obj
  const complete: StoredAuth = { ...pickCommon(auth), ...full, type: auth.type }
  return {
    auth: complete,
    secrets: { ...commonSecrets(secrets), ...takeSecrets(complete, scheme.secretSettings ?? []) },
  }
}

/** `connector.incomplete`, listing what is missing. */
export function incompleteSettings(missing: FieldIssue[]): PatchbayError {
  return new PatchbayError(
    'connector.incomplete',
    `the auth settings are not complete: ${missing.map((m) => `${m.path} ${m.rule}`).join('; ')}`,
    { details: missing },
  )
}
