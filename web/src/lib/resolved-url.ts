/**
 * The URL a console request goes to, worked out as the server does (`src/engine/requests.ts`):
 * the base URL's `{{…}}` templates filled by the one template function (`src/lib/template.ts`)
 * from the same scope (multiselects joined, object fields nested), each value URL-encoded; a
 * relative path joined to it; the query set on it.
 */
import { templateScope } from '../../../src/engine/values.js'
import { MissingTemplateValue, renderTemplate } from '../../../src/lib/template.js'
import type { ConnectionView, ConnectorView } from '../api.js'

/** Stands in for a secret value: the server has it, the browser never does. */
export const SECRET_SHOWN = '*****'

export function resolvedUrl(
  connector: Pick<ConnectorView, 'baseUrl' | 'connectionFields'> | undefined,
  connection: Pick<ConnectionView, 'values' | 'secretsSet'> | undefined,
  path: string,
  query: Record<string, string> | undefined,
): string {
  if (!connector) return path
  const values: Record<string, unknown> = { ...connection?.values }
  for (const name of connection?.secretsSet ?? []) values[name] = SECRET_SHOWN
  let base: string
  try {
    base = renderTemplate(connector.baseUrl, templateScope(connector.connectionFields, values), {
      encode: encodeURIComponent,
    })
  } catch (err) {
    // The server refuses such a call: say why instead of a URL.
    if (err instanceof MissingTemplateValue)
      return `the base URL needs the connection value "${err.key}"`
    throw err
  }
  try {
    const b = new URL(base)
    if (!b.pathname.endsWith('/')) b.pathname += '/'
    const url = /^https?:\/\//i.test(path) ? new URL(path) : new URL(path.replace(/^\/+/, ''), b)
    for (const [k, v] of Object.entries(query ?? {})) url.searchParams.set(k, v)
    return decodeURI(url.href)
  } catch {
    return base + path
  }
}
