/**
 * A connection's base URL and the origins its credentials may go to, resolved from the
 * connector's templates with the connection's values and the values kept from its token response
 * (`tokenResponseValues`: docs/auth/oauth2.md, "Values from the token response").
 *
 * A value fills a part of the URL percent-encoded, so it can never move the request to another
 * host. One thing more is allowed to a kept token-response value, which the provider's own token
 * endpoint answered: standing for the whole origin at the start of the template
 * (`{{instance_url}}/services/data/`). It must then be an http(s) URL without user name,
 * password, query or fragment; the network policy (src/lib/network.ts) still decides which
 * addresses it may reach. The origin guard follows the result, per connection.
 *
 * @module
 */
import type { Credentials } from '../auth/scheme.js'
import { PatchbayError } from '../errors.js'
import {
  afterLeadingTemplate,
  leadingTemplateKey,
  MissingTemplateValue,
  renderTemplate,
} from '../lib/template.js'
import { connectionFieldsOf, type LoadedConnector } from './connector-repository.js'
import { templateScope } from './values.js'

type Obj = Record<string, unknown>

/** The rule a kept value standing for an origin must follow. */
export const ORIGIN_VALUE_RULE =
  'must be an http(s) URL without user name, password, query or fragment'

/** The names of the values the connector's auth type keeps from token responses, and which are secret. */
export function tokenValueNames(loaded: LoadedConnector): {
  all: Set<string>
  secret: Set<string>
} {
  const declared = loaded.scheme.tokenValues?.(loaded.settings as never) ?? []
  return {
    all: new Set(declared.map((d) => d.name)),
    secret: new Set(declared.filter((d) => d.secret).map((d) => d.name)),
  }
}

/**
 * What `{{templates}}` in requests read: the connection's values (multiselects joined) and the
 * token-response values that are not secrets. Acquired secrets stay with the auth scheme.
 */
export function connectionScope(
  loaded: LoadedConnector,
  values: Obj,
  credentials: Pick<Credentials, 'tokenValues'>,
): Obj {
  return {
    ...templateScope(connectionFieldsOf(loaded, values), values),
    ...credentials.tokenValues,
  }
}

/** A kept value as the start of a URL: its origin (and path) without a trailing slash. */
function originValue(value: unknown): string | undefined {
  if (typeof value !== 'string' || /[?#]/.test(value)) return undefined
  let url: URL
  try {
    url = new URL(value)
  } catch {
    return undefined
  }
  if (!/^https?:$/.test(url.protocol) || url.username !== '' || url.password !== '')
    return undefined
  return url.href.replace(/\/+$/, '')
}

function tokenValueError(key: string, missing: boolean, what: string): PatchbayError {
  const rule = missing ? 'was not in the token response' : ORIGIN_VALUE_RULE
  return new PatchbayError(
    'connection.invalid_values',
    missing
      ? `${what} needs {{${key}}}, a value of the token response this connection did not get; reconnect it`
      : `the token response's ${key} does not make ${what}: it ${rule}`,
    { details: [{ path: `tokenValues.${key}`, rule }] },
  )
}

/**
 * Renders a URL template: each value percent-encoded, except a kept token-response value at the
 * start, which stands for the origin. Throws `MissingTemplateValue` for a missing connection
 * value, and `connection.invalid_values` (at `tokenValues.<name>`) for a missing or unfit
 * token-response value.
 */
export function renderConnectionUrl(
  template: string,
  scope: Obj,
  tokenValues: ReadonlySet<string>,
  what: string,
): URL {
  const key = leadingTemplateKey(template)
  let text: string
  if (key !== undefined && tokenValues.has(key)) {
    const value = Object.hasOwn(scope, key) ? scope[key] : undefined
    if (value === undefined || value === null) throw tokenValueError(key, true, what)
    const origin = originValue(value)
    if (origin === undefined) throw tokenValueError(key, false, what)
    const rest = afterLeadingTemplate(template)
    text = origin + renderTemplate(rest, scope, { encode: encodeURIComponent })
  } else {
    text = renderTemplate(template, scope, { encode: encodeURIComponent })
  }
  const url = new URL(text)
  if (url.username !== '' || url.password !== '') throw new TypeError('a URL with credentials')
  return url
}

/** The base URL with the connection's values, or why they do not make one. */
export function baseUrlOf(
  loaded: LoadedConnector,
  scope: Obj,
  tokenValues: ReadonlySet<string>,
): URL | PatchbayError {
  let base: URL
  try {
    base = renderConnectionUrl(loaded.definition.baseUrl, scope, tokenValues, 'the base URL')
  } catch (err) {
    if (err instanceof PatchbayError) return err
    // The connection's values fill the template, so a base URL they break is their fault; the
    // rendered text is not shown, as a template may have put a secret in it.
    const missing = err instanceof MissingTemplateValue ? err.key : undefined
    return new PatchbayError(
      'connection.invalid_values',
      missing
        ? `the base URL needs the connection value "${missing}"`
        : "the connection's values do not render the base URL to a valid URL",
      {
        details: [
          missing
            ? { path: `values.${missing}`, rule: 'is required by the base URL' }
            : { path: 'baseUrl', rule: "must render to a valid URL with the connection's values" },
        ],
        cause: err,
      },
    )
  }
  if (!base.pathname.endsWith('/')) base.pathname += '/'
  return base
}

/**
 * The origins credentials may go to: the base URL's, and each of the connector's
 * `allowedOrigins` the connection's values render (one they cannot render is left out: fewer
 * origins, never more).
 */
export function allowedOriginsOf(
  loaded: LoadedConnector,
  base: URL | PatchbayError,
  scope: Obj,
  tokenValues: ReadonlySet<string>,
): Set<string> {
  const out = new Set<string>(base instanceof URL ? [base.origin] : [])
  for (const template of loaded.definition.allowedOrigins ?? []) {
    try {
      out.add(renderConnectionUrl(template, scope, tokenValues, 'an allowed origin').origin)
    } catch {
      // Left out.
    }
  }
  return out
}

/** Whether a base URL problem comes from the token response (so connecting should fail). */
export function isTokenValueProblem(err: PatchbayError): boolean {
  const details = err.details as { path?: unknown }[] | undefined
  return (
    Array.isArray(details) &&
    details.some((d) => typeof d.path === 'string' && d.path.startsWith('tokenValues.'))
  )
}
