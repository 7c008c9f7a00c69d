/**
 * `{{name}}` templates (docs/concepts.md): read a connection's fields, acquired values and
 * `input.x`.
 *
 * @module
 */
import { getPath } from './json-path.js'

const TEMPLATE_RE = /\{\{\s*([\w.[\]-]+)\s*\}\}/g

export type TemplateScope = Record<string, unknown>

/** Thrown when a template names a value the scope does not have. */
export class MissingTemplateValue extends Error {
  constructor(readonly key: string) {
    super(`template value "${key}" is not set`)
    this.name = 'MissingTemplateValue'
  }
}

function stringify(value: unknown): string {
  if (typeof value === 'string') return value
  if (typeof value === 'number' || typeof value === 'boolean') return String(value)
  return JSON.stringify(value)
}

/**
 * Renders `template` against `scope`. A missing value throws `MissingTemplateValue` unless
 * `options.missing` is `'empty'`. `encode` wraps each substituted value (e.g. for URL paths).
 */
export function renderTemplate(
  template: string,
  scope: TemplateScope,
  options: { missing?: 'throw' | 'empty'; encode?: (value: string) => string } = {},
): string {
  return template.replace(TEMPLATE_RE, (_, key: string) => {
    const value = Object.hasOwn(scope, key) ? scope[key] : getPath(scope, key)
    if (value === undefined || value === null) {
      if (options.missing === 'empty') return ''
      throw new MissingTemplateValue(key)
    }
    const text = stringify(value)
    return options.encode ? options.encode(text) : text
  })
}

/** Renders every string inside a JSON-like value. */
export function renderDeep(value: unknown, scope: TemplateScope): unknown {
  if (typeof value === 'string') {
    // A string that is exactly one template keeps the value's own type (numbers, objects).
    const whole = /^\{\{\s*([\w.[\]-]+)\s*\}\}$/.exec(value)
    if (whole) {
      const key = whole[1]!
      const v = Object.hasOwn(scope, key) ? scope[key] : getPath(scope, key)
      if (v === undefined) throw new MissingTemplateValue(key)
      return v
    }
    return renderTemplate(value, scope)
  }
  if (Array.isArray(value)) return value.map((v) => renderDeep(v, scope))
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, renderDeep(v, scope)]))
  }
  return value
}

export function templateKeys(template: string): string[] {
  return [...template.matchAll(TEMPLATE_RE)].map((m) => m[1]!)
}

const LEADING_RE = /^\{\{\s*([\w.[\]-]+)\s*\}\}/

/** The key of a template at the very start of `template` (`{{instance_url}}/api/`), if any. */
export function leadingTemplateKey(template: string): string | undefined {
  return LEADING_RE.exec(template)?.[1]
}

/** `template` without the template at its very start. */
export function afterLeadingTemplate(template: string): string {
  return template.replace(LEADING_RE, '')
}

/**
 * Encodes a value for a URL template: everything that could end the host or path part (`/ ? # @ \`
 * and the rest) is percent-encoded; a `:` before a final port number is kept, so `host:8080` works.
 */
export function encodeUrlValue(value: string): string {
  return encodeURIComponent(value.toWellFormed()).replace(/%3A(?=\d+$)/, ':')
}
