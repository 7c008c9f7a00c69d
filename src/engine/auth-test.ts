/**
 * The connector builder's test request (`AuthScheme.test`, e.g. `http_token`'s token request) with
 * sample connection values. A success is recorded with the connector for the settings it tested,
 * which lets a type with `testBeforeReady` be marked ready; changing the settings asks for a new
 * test. What the endpoint answered is shown with every secret sent to it masked.
 *
 * @module
 */
import { createHash } from 'node:crypto'
import { isDeepStrictEqual } from 'node:util'
import { authTestInputSchema } from '../connector/inputs.js'
import type { AuthTestRecord, ConnectorDefinition } from '../connector/model.js'
import { PatchbayError, invalidInput } from '../errors.js'
import type { EngineContext } from './context.js'
import type { ConnectorRepository } from './connector-repository.js'
import { schemeFields, settingsOf } from './connector-validation.js'
import { mergeFields } from './connection-fields.js'
import { toFieldIssues } from './issues.js'
import { putSecrets, schemeSecrets } from './secrets.js'
import { checkValues, invalidValues, templateScope } from './values.js'

type Obj = Record<string, unknown>

export { authTestInputSchema }

/** Whether the connector's current settings passed the auth type's test request. */
export function testedAsIs(def: ConnectorDefinition): boolean {
  return def.authTest?.settingsHash === settingsHash(def.auth)
}

export function createAuthTest(ctx: EngineContext, repository: ConnectorRepository) {
  return async function testAuth(
    idOrLinkName: string,
    input: unknown,
  ): Promise<Obj & { ok: boolean }> {
    const parsed = authTestInputSchema.safeParse(input ?? {})
    if (!parsed.success) throw invalidInput(toFieldIssues(parsed.error))
    const record = await repository.find(idOrLinkName)
    const def = record.definition
    const scheme = ctx.registry.get(def.auth.type)
    if (!scheme?.test) {
      throw new PatchbayError(
        'connector.invalid',
        `the ${scheme?.label ?? def.auth.type} auth type has no test request`,
        { details: [{ path: 'auth.type', rule: 'has no test request' }] },
      )
    }
    const secrets = repository.openSecrets(record)
    const settings = scheme.settings.safeParse(
      putSecrets(settingsOf(def.auth), schemeSecrets(secrets), false),
    )
    if (!settings.success) {
      const missing = toFieldIssues(settings.error, 'auth')
      throw new PatchbayError(
        'connector.incomplete',
        `complete the auth settings before testing them: ${missing.map((m) => `${m.path} ${m.rule}`).join('; ')}`,
        { details: missing },
      )
    }
    // Only the fields given are checked: the templates the request uses say which it needs.
    const fields = mergeFields(def.fields, schemeFields(scheme, settings.data as Obj))
    const given = fields.filter((f) => parsed.data.values[f.name] !== undefined)
    const checked = checkValues(
      given.map((f) => ({ ...f, optional: true })),
      parsed.data.values,
    )
    if (checked.issues.length) throw invalidValues(checked.issues)
    const values = templateScope(fields, { ...checked.public, ...checked.secret })
    const { ok, report } = await scheme.test({
      settings: settings.data as Obj,
      values,
      http: ctx.http,
    })
    // Whatever the endpoint echoed, the secrets sent to it are not shown again.
    const shown = hideValues(report, [...secretStrings(checked.secret), ...secretStrings(secrets)])
    if (ok) {
      const fresh = await repository.find(record.id)
      // Recorded only if the settings did not change while the test ran.
      if (isDeepStrictEqual(fresh.definition.auth, def.auth) && fresh.secrets === record.secrets) {
        const authTest: AuthTestRecord = {
          settingsHash: settingsHash(def.auth),
          testedAt: new Date(ctx.now()).toISOString(),
        }
        await ctx.store.updateConnector(
          {
            ...fresh,
            definition: { ...fresh.definition, authTest },
            updatedAt: ctx.now(),
            version: fresh.version + 1,
          },
          fresh.version,
        )
      }
    }
    return { ok, ...(shown as Obj) }
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
