/**
 * Connector templates (docs/templates.md): a well-known API's connector definition, shipped as
 * `templates/<name>.json`, with the values each team must bring — the client id and secret it
 * registered with the provider — named as placeholders rather than written in. Filling them
 * gives a connector ready to be created (and marked ready). Pure data and functions, so the web
 * builder shares them; reading the folder is `template-files.ts`.
 *
 * @module
 */
import { z } from 'zod'
import { connectorBaseShape } from './schema.js'

/** A template's name: its file name without `.json`. */
export const TEMPLATE_NAME_RE = /^[a-z][a-z0-9_]{0,49}$/
export const TEMPLATE_NAME_RULE =
  'must start with a lower-case letter and use lower-case letters, digits and _ (at most 50)'

/** Where a placeholder's value goes: a dotted path into the connector definition. */
const definitionPath = z
  .string()
  .regex(/^[A-Za-z_][\w]*(\.[\w-]+)*$/, 'must be a dotted path such as auth.clientId')
  .max(200)

export const templatePlaceholderSchema = z
  .object({
    /** What `-v name=value` (CLI) and the builder call it: `clientId`, `clientSecret`. */
    name: z
      .string()
      .regex(/^[A-Za-z][A-Za-z0-9_]*$/, 'must be letters, digits and _, starting with a letter')
      .max(64),
    label: z.string().min(1).max(100),
    /** Where the value goes in the connector definition, e.g. `auth.clientId`. */
    path: definitionPath,
    /** Asked with a password input and never echoed (a client secret). */
    secret: z.boolean().optional(),
    /** May be left empty (a public PKCE client's secret). */
    optional: z.boolean().optional(),
    /** Where to find the value, e.g. the provider's app settings page. */
    hint: z.string().max(500).optional(),
  })
  .strict()
export type TemplatePlaceholder = z.infer<typeof templatePlaceholderSchema>

export const connectorTemplateSchema = z
  .object({
    name: z.string().regex(TEMPLATE_NAME_RE, TEMPLATE_NAME_RULE),
    /** The provider's name as people know it. */
    title: z.string().min(1).max(100),
    /** What the template connects to and how, and what the team must register. */
    description: z.string().min(1).max(1000),
    /** The provider documentation the endpoints, scopes and rules were taken from. */
    docs: z
      .array(z.url({ protocol: /^https$/ }))
      .min(1)
      .max(10),
    placeholders: z.array(templatePlaceholderSchema).max(10).default([]),
    /** The connector definition, without the placeholders' values. */
    connector: z.record(z.string(), z.unknown()),
  })
  .strict()
  .superRefine((t, ctx) => {
    const names = t.placeholders.map((p) => p.name)
    names.forEach((name, i) => {
      if (names.indexOf(name) !== i)
        ctx.addIssue({
          code: 'custom',
          path: ['placeholders', i, 'name'],
          message: `must be unique ("${name}" repeats)`,
        })
    })
  })
export type ConnectorTemplate = z.infer<typeof connectorTemplateSchema>

/** What the list of templates shows of each. */
export interface TemplateSummary {
  name: string
  title: string
  description: string
  docs: string[]
  /** The connector's auth type, and its OAuth 2.0 grant when it has one. */
  authType: string
  grantType?: string
  placeholders: TemplatePlaceholder[]
}

type Obj = Record<string, unknown>

const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v)

export function summarizeTemplate(template: ConnectorTemplate): TemplateSummary {
  const auth = isObj(template.connector.auth) ? template.connector.auth : {}
  return {
    name: template.name,
    title: template.title,
    description: template.description,
    docs: template.docs,
    authType: typeof auth.type === 'string' ? auth.type : '',
    ...(typeof auth.grantType === 'string' ? { grantType: auth.grantType } : {}),
    placeholders: template.placeholders,
  }
}

/** `definition` with `value` at the dotted `path` (objects on the way are created or copied). */
export function setAtPath(definition: Obj, path: string, value: unknown): Obj {
  const [head, ...rest] = path.split('.')
  const key = head!
  const out: Obj = { ...definition }
  if (rest.length === 0) {
    if (value === undefined) delete out[key]
    else out[key] = value
    return out
  }
  out[key] = setAtPath(isObj(out[key]) ? out[key] : {}, rest.join('.'), value)
  return out
}

/** Why a set of values cannot fill a template: each a `{ path, rule }` naming the value. */
export interface FillIssue {
  path: string
  rule: string
}

/**
 * The template's connector with `values` filled in: a key naming a placeholder sets that
 * placeholder's path; any other key is a dotted path into the definition itself, starting with
 * one of its fields (`name`, `auth.scopeDelimiter`). An empty value leaves a placeholder unset. A required
 * placeholder left unset is reported in `missing` (the connector is then a draft that says so).
 */
export function fillTemplate(
  template: ConnectorTemplate,
  values: Record<string, unknown> = {},
): { connector: Obj; missing: FillIssue[]; issues: FillIssue[] } {
  let connector: Obj = structuredClone(template.connector)
  const issues: FillIssue[] = []
  const byName = new Map(template.placeholders.map((p) => [p.name, p]))
  const filled = new Set<string>()
  for (const [key, value] of Object.entries(values)) {
    const placeholder = byName.get(key)
    if (placeholder) {
      if (value === undefined || value === null || value === '') continue
      if (typeof value !== 'string') {
        issues.push({ path: key, rule: 'must be a string' })
        continue
      }
      connector = setAtPath(connector, placeholder.path, value)
      filled.add(key)
    } else if (
      definitionPath.safeParse(key).success &&
      Object.hasOwn(connectorBaseShape, key.split('.')[0]!)
    ) {
      connector = setAtPath(connector, key, value)
    } else {
      issues.push({
        path: key,
        rule: `is not a placeholder of the ${template.name} template (${[...byName.keys()].join(', ') || 'none'}) nor a path into the connector such as name or auth.scopeDelimiter`,
      })
    }
  }
  const missing = template.placeholders
    .filter((p) => !p.optional && !filled.has(p.name))
    .map((p) => ({ path: p.name, rule: `is required: ${p.label}${p.hint ? ` (${p.hint})` : ''}` }))
  return { connector, missing, issues }
}
