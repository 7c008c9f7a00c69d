/**
 * Values read out of an auth endpoint's JSON answer: the dotted paths that name them, reading one
 * without ever echoing a value, and the `tokenResponseValues` a connector keeps with the
 * connection — Salesforce's `instance_url`, Zoho's `api_domain`, an account or tenant id
 * (docs/auth/oauth2.md, "Values from the token response").
 *
 * A kept value is readable as `{{name}}` in the base URL, `allowedOrigins`, `extra` and saved
 * actions, and shown on the connection (`tokenValues`); one the connector lists in
 * `tokenResponseSecrets` is kept with the tokens instead: sealed, never shown, redacted from logs.
 * A refresh that answers a value again replaces it; one that does not keeps it.
 *
 * @module
 */
import { z } from 'zod'
import { splitPath } from '../lib/json-path.js'
import type { SettingHint } from './presentation.js'
import type { Credentials, TokenValueDeclaration } from './scheme.js'

/** A dotted path into a JSON response: `data.token`, `items.0.id`, `items[0].id`. */
export const jsonPathSchema = z
  .string()
  .max(200)
  .refine((p) => splitPath(p).length > 0, 'must name a value, such as data.token')

/** A value name usable as `{{name}}`. */
export const valueNameSchema = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must start with a letter or _ and use letters, digits and _')
  .max(64)

/** At most this many kept values per token response. */
export const MAX_TOKEN_VALUES = 20

/** A kept value longer than this is not kept: it is shown on the connection and put in URLs. */
export const MAX_TOKEN_VALUE_LENGTH = 2000

/**
 * `tokenResponseValues` (and `tokenResponseSecrets`): the name each value is kept under → where
 * it sits in the answer. `reserved` are the names the auth type keeps for itself.
 */
export function tokenResponseValuesSchema(reserved: readonly string[] = []) {
  return z.record(valueNameSchema, jsonPathSchema).superRefine((values, ctx) => {
    const names = Object.keys(values)
    if (names.length > MAX_TOKEN_VALUES)
      ctx.addIssue({ code: 'custom', message: `must name at most ${MAX_TOKEN_VALUES} values` })
    for (const name of names) {
      if (reserved.includes(name))
        ctx.addIssue({
          code: 'custom',
          path: [name],
          message: `is a name this auth type keeps for itself (${reserved.join(', ')}); pick another`,
        })
    }
  })
}
export type TokenResponseValues = Record<string, string>

/** The builder's hints for the two settings (presentation.ts). */
export const tokenResponseValuesHint: SettingHint = {
  label: 'Values from the token response',
  keyLabel: 'Name',
  valueLabel: 'JSON path',
  hint: 'Kept with the connection, shown on it and usable as {{name}} in the base URL, allowed origins and templates, e.g. instance_url = instance_url (Salesforce).',
}
export const tokenResponseSecretsHint: SettingHint = {
  label: 'Secret values from the token response',
  keyLabel: 'Name',
  valueLabel: 'JSON path',
  hint: 'Kept with the tokens: usable as {{name}} in auth templates, never shown, redacted from logs.',
}

/** The settings that declare kept values, as a scheme reads them. */
export interface TokenValueSettings {
  /** Values that are not secrets: shown on the connection. */
  tokenResponseValues?: TokenResponseValues | undefined
  /** Values that are: sealed with the tokens, never shown. */
  tokenResponseSecrets?: TokenResponseValues | undefined
}

/**
 * The values the settings keep, each with the setting that declares it (`prefix` is where the
 * settings sit, relative to `auth`). Partial settings (a draft's) answer what they name.
 */
export function declaredTokenValues(
  settings: TokenValueSettings,
  prefix = '',
): TokenValueDeclaration[] {
  const of = (key: keyof TokenValueSettings, secret: boolean) =>
    Object.keys(settings[key] ?? {}).map((name) => ({
      name,
      secret,
      path: `${prefix}${key}.${name}`,
    }))
  return [...of('tokenResponseValues', false), ...of('tokenResponseSecrets', true)]
}

/** What a token response's kept values add to its credentials. */
export type KeptValues = Required<Pick<Credentials, 'values' | 'tokenValues'>>

/**
 * Reads the kept values out of a parsed token response: secrets into `values`, the others into
 * `tokenValues`. A value the answer does not have (or that is not a string, number or boolean,
 * or is longer than `MAX_TOKEN_VALUE_LENGTH`) is left out.
 */
export function readTokenValues(body: unknown, settings: TokenValueSettings): KeptValues {
  const out: KeptValues = { values: {}, tokenValues: {} }
  const read = (values: TokenResponseValues | undefined, into: Record<string, string>) => {
    for (const [name, path] of Object.entries(values ?? {})) {
      const found = extractValue(body, path)
      if (found.ok && found.value.length <= MAX_TOKEN_VALUE_LENGTH) into[name] = found.value
    }
  }
  read(settings.tokenResponseValues, out.tokenValues)
  read(settings.tokenResponseSecrets, out.values)
  return out
}

/**
 * `fresh` with the kept values of `previous` it does not answer again: a refresh that leaves a
 * value out keeps it (some providers send an instance URL with the first token only).
 */
export function keepTokenValues(
  previous: Credentials,
  fresh: Credentials,
  settings: TokenValueSettings,
): Credentials {
  const values = { ...fresh.values }
  for (const name of Object.keys(settings.tokenResponseSecrets ?? {})) {
    const before = previous.values[name]
    if (values[name] === undefined && before !== undefined) values[name] = before
  }
  const tokenValues: Record<string, string> = {}
  // Only what is declared now: a value the connector no longer keeps is not carried on.
  for (const name of Object.keys(settings.tokenResponseValues ?? {})) {
    const value = fresh.tokenValues?.[name] ?? previous.tokenValues?.[name]
    if (value !== undefined) tokenValues[name] = value
  }
  return withTokenValues({ ...fresh, values }, tokenValues)
}

/** `credentials` with `tokenValues` set when there are any, and left out otherwise. */
export function withTokenValues(
  credentials: Credentials,
  tokenValues: Record<string, string>,
): Credentials {
  const { tokenValues: _old, ...rest } = credentials
  return Object.keys(tokenValues).length > 0 ? { ...rest, tokenValues } : rest
}

export type Extracted = { ok: true; value: string } | { ok: false; problem: string }

function keysOf(value: object): string {
  const keys = Object.keys(value)
  if (keys.length === 0) return 'it is empty'
  const shown = keys.slice(0, 10).map((k) => (k.length > 40 ? `${k.slice(0, 40)}…` : k))
  return `its keys: ${shown.join(', ')}${keys.length > 10 ? ', …' : ''}`
}

/**
 * Reads a string at `path` in a parsed response. A problem says where the path broke and which
 * keys were there instead, never a value: a response body may hold secrets.
 */
export function extractValue(body: unknown, path: string): Extracted {
  if (body === null || typeof body !== 'object') {
    return { ok: false, problem: `the response is not JSON, so there is nothing at "${path}"` }
  }
  let current: unknown = body
  const walked: string[] = []
  for (const key of splitPath(path)) {
    if (current === null || typeof current !== 'object') {
      return {
        ok: false,
        problem: `nothing at "${path}": "${walked.join('.')}" is ${describeType(current)}, not an object`,
      }
    }
    if (!Object.prototype.hasOwnProperty.call(current, key)) {
      const where = walked.length === 0 ? 'the response' : `"${walked.join('.')}"`
      return {
        ok: false,
        problem: `nothing at "${path}": ${where} has no "${key}" (${keysOf(current)})`,
      }
    }
    current = (current as Record<string, unknown>)[key]
    walked.push(key)
  }
  if (typeof current === 'string' && current !== '') return { ok: true, value: current }
  if (typeof current === 'number' || typeof current === 'boolean') {
    return { ok: true, value: String(current) }
  }
  return { ok: false, problem: `"${path}" is ${describeType(current)}, not a string` }
}

function describeType(value: unknown): string {
  if (value === null) return 'null'
  if (value === '') return 'an empty string'
  if (Array.isArray(value)) return 'an array'
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`
}
