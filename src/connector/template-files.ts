/**
 * The connector templates shipped with the package, read from its `templates/` folder (beside
 * `src/` and `dist/`, so the same relative path works from both) and checked against
 * `connectorTemplateSchema`. A template that does not parse, or whose name is not its file's,
 * is a packaging mistake: reading fails with the file and the rule (the test suite reads every
 * one).
 *
 * @module
 */
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { PatchbayError } from '../errors.js'
import { connectorTemplateSchema, type ConnectorTemplate } from './templates.js'

/** `<package>/templates`: two levels above this file in `src/connector` and `dist/connector`. */
export const TEMPLATES_DIR = fileURLToPath(new URL('../../templates/', import.meta.url))

/** Every template in `dir`, by name, in name order. */
export function readTemplates(dir: string = TEMPLATES_DIR): ConnectorTemplate[] {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
  return files.map((file) => {
    let raw: unknown
    try {
      raw = JSON.parse(readFileSync(join(dir, file), 'utf8'))
    } catch (err) {
      throw new Error(`templates/${file} is not valid JSON: ${(err as Error).message}`)
    }
    const parsed = connectorTemplateSchema.safeParse(raw)
    if (!parsed.success) {
      const first = parsed.error.issues[0]!
      throw new Error(`templates/${file}: ${first.path.join('.')} ${first.message}`)
    }
    if (`${parsed.data.name}.json` !== file)
      throw new Error(`templates/${file}: name must be "${file.replace(/\.json$/, '')}"`)
    return parsed.data
  })
}

let cached: ConnectorTemplate[] | undefined

/** The shipped templates, read once per process (the package's files do not change). */
export function shippedTemplates(): ConnectorTemplate[] {
  cached ??= readTemplates()
  return cached
}

/** One shipped template; `connector.template_not_found` otherwise. */
export function shippedTemplate(name: string): ConnectorTemplate {
  const found = shippedTemplates().find((t) => t.name === name)
  if (!found)
    throw new PatchbayError(
      'connector.template_not_found',
      `no connector template "${name}"; list them with GET /api/v1/connector-templates`,
    )
  return found
}
