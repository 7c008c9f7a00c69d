/**
 * Mutual TLS for a connection (docs/auth/README.md#tls-tls-client-certificates): the connector's
 * `auth.tls` — certificate, key and extra certificate authorities, each PEM text or a
 * `{{field}}` template naming a connection value — resolved for one connection, checked, and
 * turned into undici agents under the same network policy as every other outgoing call. One
 * pair of agents per distinct certificate, cached (the oldest closed past a bound), all closed
 * with the engine.
 *
 * @module
 */
import { createHash } from 'node:crypto'
import { rootCertificates } from 'node:tls'
import type { Agent } from 'undici'
import { WHOLE_TEMPLATE_RE, type FieldDefinition } from '../connector/schema.js'
import type { ClientTlsSettings } from '../connector/schema.js'
import type { FieldIssue } from '../errors.js'
import { createHttpClient } from '../lib/http-client.js'
import type { HttpClient } from '../lib/http.js'
import { createGuardedAgent, type NetworkPolicy } from '../lib/network.js'
import { keyMatchesCertificate, normalizePem, pemProblem, type PemKind } from '../lib/pem.js'
import { MissingTemplateValue, renderTemplate } from '../lib/template.js'
import type { Transport } from '../pipeline/index.js'
import { invalidValues } from './values.js'

type Obj = Record<string, unknown>

/** The PEM texts one connection uses. */
export interface ClientTlsMaterial {
  cert?: string | undefined
  key?: string | undefined
  ca?: string | undefined
}

export interface ClientTls {
  /** The agents for this material: a certificate presented, or only the authorities trusted. */
  transport(material: ClientTlsMaterial): Transport
  /** An `HttpClient` that presents the certificate (the auth type's token endpoints). */
  http(material: ClientTlsMaterial): HttpClient
  close(): Promise<void>
}

const KINDS: Record<keyof ClientTlsSettings, PemKind> = {
  cert: 'certificate',
  key: 'private key',
  ca: 'certificates',
}

/** Agents kept at most; a connection-level certificate per connection could grow without one. */
const MAX_CACHED = 256

/** PEM checks already made, by a hash of the text: values are checked on every call. */
const checkedPem = new Map<string, string | undefined>()
const CHECKED_KEPT = 1024

function once(parts: string[], check: () => string | undefined): string | undefined {
  const id = createHash('sha256').update(parts.join('\0')).digest('base64url')
  if (checkedPem.has(id)) return checkedPem.get(id)
  const problem = check()
  checkedPem.set(id, problem)
  if (checkedPem.size > CHECKED_KEPT) checkedPem.delete(checkedPem.keys().next().value!)
  return problem
}

const pemProblemOnce = (kind: PemKind, text: string) =>
  once([kind, text], () => pemProblem(kind, text))

const mismatchOnce = (cert: string, key: string) =>
  once(['match', cert, key], () => (keyMatchesCertificate(cert, key) ? undefined : 'mismatch'))

/**
 * The material for one connection: literal settings as they are, templates filled from the
 * connection's values (secret ones included). Throws `connection.invalid_values` naming the
 * value that is missing, is not PEM, or holds a key that is not the certificate's.
 *
 * @param tls the connector's `auth.tls` with its key put back (a secret setting)
 * @param scope the connection's values as templates read them
 */
export function resolveClientTls(
  tls: ClientTlsSettings | undefined,
  scope: Obj,
): ClientTlsMaterial | undefined {
  if (!tls) return undefined
  const out: ClientTlsMaterial = {}
  const from: Partial<Record<keyof ClientTlsSettings, string>> = {}
  const issues: FieldIssue[] = []
  for (const name of ['cert', 'key', 'ca'] as const) {
    const setting = tls[name]
    if (setting === undefined) continue
    const field = WHOLE_TEMPLATE_RE.exec(setting.trim())?.[1]
    if (field === undefined) {
      out[name] = normalizePem(KINDS[name], setting)
      continue
    }
    from[name] = field
    let text: string
    try {
      text = renderTemplate(setting, scope)
    } catch (err) {
      if (!(err instanceof MissingTemplateValue)) throw err
      issues.push({ path: `values.${field}`, rule: `is required by auth.tls.${name}` })
      continue
    }
    const problem = pemProblemOnce(KINDS[name], text)
    if (problem) issues.push({ path: `values.${field}`, rule: problem })
    else out[name] = normalizePem(KINDS[name], text)
  }
  if (!issues.length && out.cert && out.key && (from.cert || from.key)) {
    if (mismatchOnce(out.cert, out.key))
      issues.push({
        path: from.key ? `values.${from.key}` : `values.${from.cert}`,
        rule: 'is not the private key of the client certificate (auth.tls)',
      })
  }
  if (issues.length) throw invalidValues(issues)
  return out
}

/**
 * What is wrong with the templates in `auth.tls` for these connection fields: each must name a
 * field, and the key a `password` field (so that it is sealed at rest with the connection).
 */
export function clientTlsIssues(
  tls: ClientTlsSettings | undefined,
  fields: FieldDefinition[],
): FieldIssue[] {
  const issues: FieldIssue[] = []
  const byName = new Map(fields.map((f) => [f.name, f]))
  for (const name of ['cert', 'key', 'ca'] as const) {
    const field = tls?.[name] && WHOLE_TEMPLATE_RE.exec(tls[name].trim())?.[1]
    if (!field) continue
    const f = byName.get(field.split('.')[0]!)
    if (!f)
      issues.push({
        path: `auth.tls.${name}`,
        rule: `uses {{${field}}}, which is not a connection field`,
      })
    else if (name === 'key' && f.type !== 'password' && !field.includes('.'))
      issues.push({
        path: `auth.tls.key`,
        rule: `uses {{${field}}}, which must be a password field (secret values are encrypted at rest)`,
      })
  }
  return issues
}

export function createClientTls(policy: NetworkPolicy, timeoutMs: number): ClientTls {
  interface Entry {
    transport: Transport
    http: HttpClient
    agents: Agent[]
  }
  const cache = new Map<string, Entry>()

  function entry(material: ClientTlsMaterial): Entry {
    const id = createHash('sha256')
      .update(JSON.stringify([material.cert ?? '', material.key ?? '', material.ca ?? '']))
      .digest('base64url')
    const hit = cache.get(id)
    if (hit) {
      // Most recently used last: the first entry is the one to close.
      cache.delete(id)
      cache.set(id, hit)
      return hit
    }
    // Extra authorities are trusted besides the system's, never instead of them.
    const ca = material.ca ? [...rootCertificates, material.ca] : undefined
    const trusting = createGuardedAgent(policy, {}, ca ? { ca } : {})
    const presenting =
      material.cert && material.key
        ? createGuardedAgent(
            policy,
            {},
            { cert: material.cert, key: material.key, ...(ca ? { ca } : {}) },
          )
        : trusting
    const agents = presenting === trusting ? [trusting] : [presenting, trusting]
    const made: Entry = {
      transport: { withCredentials: presenting, withoutCredentials: trusting },
      http: createHttpClient({ dispatcher: presenting, timeoutMs }),
      agents,
    }
    cache.set(id, made)
    if (cache.size > MAX_CACHED) {
      const [oldest, old] = cache.entries().next().value as [string, Entry]
      cache.delete(oldest)
      // close() lets requests under way finish.
      for (const agent of old.agents) void agent.close().catch(() => undefined)
    }
    return made
  }

  return {
    transport: (material) => entry(material).transport,
    http: (material) => entry(material).http,
    async close() {
      const all = [...cache.values()].flatMap((e) => e.agents)
      cache.clear()
      await Promise.allSettled(all.map((a) => a.close()))
    },
  }
}
