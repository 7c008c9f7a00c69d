/**
 * Redaction for logs (docs/pipeline.md): by name (auth headers, api-key query params, token fields
 * in JSON) and by value (every secret the connection holds, in its raw and encoded forms).
 *
 * @module
 */
import type { Redaction } from './types.js'

export const REDACTED = '[REDACTED]'

const ALWAYS_HEADERS = [
  'authorization',
  'proxy-authorization',
  'cookie',
  'set-cookie',
  'x-api-key',
  'x-auth-token',
  'x-amz-security-token',
]
const SECRET_KEYS =
  /^(access_token|refresh_token|id_token|token|client_secret|password|secret|api_key|apikey|oauth_token_secret|authtoken|session_token|code_verifier)$/i

export function emptyRedaction(): Redaction {
  return { headers: new Set(ALWAYS_HEADERS), query: new Set(), form: new Set(), values: [] }
}

/** Adds a secret value in the forms it may appear in on the wire. */
export function addSecretValue(r: Redaction, raw: unknown): void {
  if (typeof raw !== 'string' || raw.length < 4) return
  const value = raw.toWellFormed()
  const forms = new Set([
    value,
    encodeURIComponent(value),
    new URLSearchParams({ v: value }).toString().slice(2),
  ])
  forms.add(Buffer.from(value).toString('base64'))
  for (const f of forms) if (!r.values.includes(f)) r.values.push(f)
  // Longest first, so a secret that contains another is replaced whole.
  r.values.sort((a, b) => b.length - a.length)
}

export function redactText(text: string, r: Redaction): string {
  let out = text
  for (const v of r.values) if (out.includes(v)) out = out.split(v).join(REDACTED)
  return out
}

export function redactUrl(url: URL, r: Redaction): string {
  if (url.search === '' && url.password === '') return redactText(url.href, r)
  const copy = new URL(url.href)
  for (const key of [...copy.searchParams.keys()]) {
    if (
      r.query.has(key) ||
      SECRET_KEYS.test(key) ||
      key.startsWith('X-Amz-Signature') ||
      key === 'X-Amz-Credential'
    ) {
      copy.searchParams.set(key, REDACTED)
    }
  }
  if (copy.password) copy.password = REDACTED
  return redactText(copy.href.replaceAll(encodeURIComponent(REDACTED), REDACTED), r)
}

export function redactHeaders(
  headers: Record<string, string | string[]>,
  r: Redaction,
): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {}
  for (const [k, v] of Object.entries(headers)) {
    const name = k.toLowerCase()
    if (r.headers.has(name)) out[k] = REDACTED
    else out[k] = Array.isArray(v) ? v.map((x) => redactText(x, r)) : redactText(v, r)
  }
  return out
}

/** Redacts secret-named fields in JSON (deeply) and form bodies, then secret values anywhere. */
export function redactBody(text: string, contentType: string | undefined, r: Redaction): string {
  const type = (contentType ?? '').toLowerCase()
  let out = text
  if (type.includes('json') || /^\s*[[{]/.test(text)) {
    try {
      out = JSON.stringify(redactJson(JSON.parse(text) as unknown, r))
    } catch {
      // not JSON after all
    }
  } else if (type.includes('x-www-form-urlencoded')) {
    const params = new URLSearchParams(text)
    for (const key of [...params.keys()])
      if (r.form.has(key) || SECRET_KEYS.test(key)) params.set(key, REDACTED)
    out = params.toString().replaceAll(encodeURIComponent(REDACTED), REDACTED)
  }
  return redactText(out, r)
}

function redactJson(value: unknown, r: Redaction): unknown {
  if (Array.isArray(value)) return value.map((v) => redactJson(v, r))
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [
        k,
        SECRET_KEYS.test(k) || r.form.has(k) ? REDACTED : redactJson(v, r),
      ]),
    )
  }
  return value
}
