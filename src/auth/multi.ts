/**
 * `multi`: Workato's multiple authentication types in one connector. The connection picks an
 * option with the select field named `selectedBy` (default `auth_type`); every hook then runs the
 * option's own scheme with `ctx.settings` set to that option's settings.
 *
 * ```jsonc
 * { "type": "multi", "selectedBy": "auth_type", "options": {
 *     "api_key": { "label": "API key", "type": "api_key", "params": [{ "name": "Key", "key": "X-Api-Key" }] },
 *     "oauth":   { "label": "OAuth 2.0", "type": "oauth2", "grantType": "authorization_code", … ,
 *                  "fields": [{ "name": "subdomain", "type": "text" }] } } }
 * ```
 *
 * `refreshOn`, `detectOn` and `extra` belong to the `multi` settings, not to an option.
 *
 * @see https://docs.workato.com/developing-connectors/sdk/guides/authentication/multi_auth.html
 * @module
 */
import { z } from 'zod'
import { fieldSchema, type FieldDefinition } from '../connector/schema.js'
import { PatchbayError } from '../errors.js'
import {
  defineAuthScheme,
  signsRequest,
  type AuthContext,
  type AuthRegistry,
  type AuthScheme,
} from './scheme.js'

/** An option: its label and type, its own fields, and the settings of its type. */
export interface MultiOption {
  label: string
  type: string
  /** Fields the connection form shows when this option is selected. */
  fields?: FieldDefinition[] | undefined
  [setting: string]: unknown
}

/** The `multi` settings once parsed: each option holds its type's parsed settings. */
export interface MultiSettings {
  selectedBy: string
  options: Record<string, MultiOption>
}

const OPTION_KEYS = ['label', 'type', 'fields'] as const

/** The option's settings for its own scheme: everything but `label`, `type` and `fields`. */
export function optionSettings(option: MultiOption): Record<string, unknown> {
  const settings: Record<string, unknown> = { ...option }
  for (const key of OPTION_KEYS) delete settings[key]
  return settings
}

/**
 * The `multi` settings schema: each option is validated (and its defaults filled in) by the scheme
 * its `type` names in the registry. `getRegistry` is called only when parsing.
 */
export function createMultiSettings(getRegistry: () => AuthRegistry) {
  const option = z
    .object({
      label: z.string().min(1, 'is required').max(100),
      type: z.string().min(1, 'is required'),
      fields: z.array(fieldSchema).max(100).optional(),
    })
    .loose()
    .transform((value, zctx): MultiOption => {
      if (value.type === 'multi') {
        zctx.addIssue({
          code: 'custom',
          path: ['type'],
          message: 'an option cannot itself be multi',
        })
        return z.NEVER
      }
      const registry = getRegistry()
      const scheme = registry.get(value.type)
      if (!scheme) {
        const known = registry.types().filter((t) => t !== 'multi')
        zctx.addIssue({
          code: 'custom',
          path: ['type'],
          message: `unknown auth type "${value.type}"; use one of: ${known.join(', ')}`,
        })
        return z.NEVER
      }
      const parsed = scheme.settings.safeParse(optionSettings(value))
      if (!parsed.success) {
        // Issue paths are relative to the option, so they read `auth.options.<key>.<setting>`.
        for (const issue of parsed.error.issues) zctx.addIssue({ ...issue })
        return z.NEVER
      }
      return {
        label: value.label,
        type: value.type,
        ...(value.fields ? { fields: value.fields } : {}),
        ...(parsed.data as Record<string, unknown>),
      }
    })

  return z
    .object({
      /** The connection field whose value names the option. */
      selectedBy: z
        .string()
        .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be a field name')
        .max(64)
        .default('auth_type'),
      options: z
        .record(
          z
            .string()
            .regex(/^[A-Za-z0-9_][A-Za-z0-9_-]*$/, 'must use letters, digits, _ and -')
            .max(64),
          option,
        )
        .refine((o) => Object.keys(o).length >= 1, 'needs at least one option')
        .refine((o) => Object.keys(o).length <= 20, 'has at most 20 options'),
    })
    .strict() satisfies z.ZodType<MultiSettings, unknown>
}

/**
 * Creates the `multi` scheme. Its settings are validated by the scheme of each option's type, and
 * `connectionFields`, `canRefresh`, `redact` ask those schemes too, so it needs the registry it is
 * part of; `getRegistry` is called lazily, never at creation:
 *
 * ```ts
 * const registry: AuthRegistry = createAuthRegistry([basicScheme, …, createMultiScheme(() => registry)])
 * ```
 */
/** The option the connection's values select, if they select one. */
function chosenOption(
  s: MultiSettings,
  values: Record<string, unknown> | undefined,
): MultiSettings['options'][string] | undefined {
  const key = values?.[s.selectedBy]
  return typeof key === 'string' && Object.hasOwn(s.options, key) ? s.options[key] : undefined
}

export function createMultiScheme(getRegistry: () => AuthRegistry) {
  const settings = createMultiSettings(getRegistry)
  const schemeOf = (type: string): AuthScheme | undefined => getRegistry().get(type)

  /** The selected option's scheme and a context whose settings are that option's. */
  function select(ctx: AuthContext<MultiSettings>): { scheme: AuthScheme; ctx: AuthContext } {
    const { selectedBy, options } = ctx.settings
    const key = ctx.values[selectedBy]
    const chosen = chosenOption(ctx.settings, ctx.values)
    if (!chosen) {
      const rule = `must be one of: ${Object.keys(options).join(', ')}`
      throw new PatchbayError('connection.invalid_values', `"${selectedBy}" ${rule}`, {
        details: [{ path: selectedBy, rule }],
      })
    }
    const scheme = ctx.registry.get(chosen.type)
    if (!scheme) {
      throw new PatchbayError(
        'connector.invalid',
        `auth option "${String(key)}" has an unknown type "${chosen.type}"`,
      )
    }
    return { scheme, ctx: { ...ctx, settings: optionSettings(chosen) } }
  }

  return defineAuthScheme({
    type: 'multi',
    label: 'Multiple authentication types',
    settings,
    presentation: {
      label: 'Multiple (the user picks one)',
      settings: {
        selectedBy: {
          label: 'Selecting field name',
          placeholder: 'auth_type',
          hint: 'The connection field whose value names the option. Default auth_type.',
        },
        options: {
          label: 'Options',
          widget: 'auth-options',
          itemLabel: 'Option',
          keyPlaceholder: 'api_key',
        },
      },
    },
    /**
     * Secret settings of every type, as paths under `options.*` (the engine must treat `*` as any
     * option key).
     */
    get secretSettings(): readonly string[] {
      const registry = getRegistry()
      return registry
        .types()
        .filter((t) => t !== 'multi') // options cannot be multi (and it would recurse)
        .flatMap((t) => registry.get(t)?.secretSettings ?? [])
        .filter((k, i, all) => all.indexOf(k) === i)
        .map((k) => `options.*.${k}`)
    },
    /**
     * The option select, then the fields of every option, each marked optional: which ones are
     * required depends on the selected option, so the engine validates the values against the
     * selected option's fields (`fields` + its scheme's `connectionFields`) when connecting.
     * A field name two options share appears once (the first option's definition).
     */
    connectionFields(s, values) {
      const picker: FieldDefinition = {
        name: s.selectedBy,
        label: 'Authentication type',
        type: 'select',
        options: Object.entries(s.options).map(([key, o]) => [o.label, key]),
      }
      const chosen = chosenOption(s, values)
      if (chosen) {
        // With the selection known, the selected option's fields, required as they are defined.
        const own = schemeOf(chosen.type)?.connectionFields(optionSettings(chosen), values) ?? []
        return [picker, ...(chosen.fields ?? []), ...own]
      }
      const seen = new Set<string>([s.selectedBy])
      const fields: FieldDefinition[] = [picker]
      for (const o of Object.values(s.options)) {
        const own = schemeOf(o.type)?.connectionFields(optionSettings(o)) ?? []
        for (const field of [...(o.fields ?? []), ...own]) {
          if (seen.has(field.name)) continue
          seen.add(field.name)
          fields.push({ ...field, optional: true })
        }
      }
      return fields
    },
    /** The selected option's answer; none is selected yet: no browser. */
    needsBrowser(s, values) {
      const chosen = chosenOption(s, values)
      return chosen
        ? (schemeOf(chosen.type)?.needsBrowser?.(optionSettings(chosen), values) ?? false)
        : false
    },
    /** Each option's rules between settings, under `options.<key>.`. */
    problems: (s) =>
      Object.entries(s.options).flatMap(([key, o]) =>
        (schemeOf(o.type)?.problems?.(optionSettings(o)) ?? []).map((p) => ({
          path: `options.${key}.${p.path}`,
          rule: p.rule,
        })),
      ),
    /**
     * Every option's kept token-response values, under `options.<key>.` (a name two options keep
     * appears once): a base URL may use what any option provides.
     */
    tokenValues: (s) => {
      const seen = new Set<string>()
      return Object.entries(s.options ?? {}).flatMap(([key, o]) =>
        (schemeOf(o.type)?.tokenValues?.(optionSettings(o)) ?? []).flatMap((v) => {
          if (seen.has(v.name)) return []
          seen.add(v.name)
          return [{ ...v, path: `options.${key}.${v.path}` }]
        }),
      )
    },
    /** The selected option's answer; without values, whether any option can refresh. */
    canRefresh: (s, values, credentials) => {
      const chosen = chosenOption(s, values)
      const candidates = chosen ? [chosen] : Object.values(s.options)
      return candidates.some(
        (o) => schemeOf(o.type)?.canRefresh(optionSettings(o), values, credentials) === true,
      )
    },
    async connect(ctx) {
      const selected = select(ctx)
      return selected.scheme.connect(selected.ctx)
    },
    async complete(ctx, params, flow) {
      const selected = select(ctx)
      if (!selected.scheme.complete) {
        throw new PatchbayError(
          'connection.flow_failed',
          `the selected auth type "${selected.scheme.type}" has no browser flow to complete`,
        )
      }
      return selected.scheme.complete(selected.ctx, params, flow)
    },
    apply(ctx, request) {
      const selected = select(ctx)
      return selected.scheme.apply(selected.ctx, request)
    },
    /** The selected option's answer (an unselected connection fails in `apply`). */
    signsRequest(s, values) {
      const key = values[s.selectedBy]
      const chosen =
        typeof key === 'string' && Object.hasOwn(s.options, key) ? s.options[key] : undefined
      const scheme = chosen && schemeOf(chosen.type)
      return scheme ? signsRequest(scheme, optionSettings(chosen), values) : false
    },
    async refresh(ctx) {
      const selected = select(ctx)
      if (
        !selected.scheme.refresh ||
        !selected.scheme.canRefresh(
          selected.ctx.settings,
          selected.ctx.values,
          selected.ctx.credentials,
        )
      ) {
        throw new PatchbayError(
          'refresh.unsupported',
          `the selected auth type "${selected.scheme.type}" cannot refresh`,
        )
      }
      return selected.scheme.refresh(selected.ctx)
    },
    async revoke(ctx) {
      const selected = select(ctx)
      await selected.scheme.revoke?.(selected.ctx)
    },
    /** Everything any option may put on a request: over-redacting is safe, under-redacting is not. */
    redact(s) {
      const out = { headers: new Set<string>(), query: new Set<string>(), form: new Set<string>() }
      for (const o of Object.values(s.options)) {
        const r = schemeOf(o.type)?.redact?.(optionSettings(o))
        for (const h of r?.headers ?? []) out.headers.add(h)
        for (const q of r?.query ?? []) out.query.add(q)
        for (const f of r?.form ?? []) out.form.add(f)
      }
      return { headers: [...out.headers], query: [...out.query], form: [...out.form] }
    },
  })
}
