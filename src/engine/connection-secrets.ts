/**
 * A connection's secrets: sealed at rest bound to the connection's id, opened for its auth scheme
 * as an `AuthContext`, named for log redaction, and — with the connector's `auth.tls` — the
 * client certificate its calls present (mutual TLS, `client-tls.ts`).
 *
 * @module
 */
import type { AuthContext, Credentials } from '../auth/scheme.js'
import { encodeUrlValue, renderTemplate } from '../lib/template.js'
import {
  addSecretValue,
  emptyRedaction,
  type Redaction,
  type Transport,
} from '../pipeline/index.js'
import type { ConnectionRecord } from '../store/store.js'
import { resolveClientTls, type ClientTls, type ClientTlsMaterial } from './client-tls.js'
import { connectionFieldsOf, type LoadedConnector } from './connector-repository.js'
import type { EngineContext } from './context.js'
import { concretePaths, getAt } from './secrets.js'
import { templateScope } from './values.js'

type Obj = Record<string, unknown>

/** What `connections.secrets` holds, sealed: secret field values and acquired credentials. */
export interface ConnectionSecrets {
  values: Obj
  credentials: Credentials
}

export interface ConnectionSecretBox {
  open(record: Pick<ConnectionRecord, 'id' | 'secrets'>): ConnectionSecrets
  seal(id: string, secrets: ConnectionSecrets): string
  /** What the connection's scheme hooks read: settings, values, credentials, templates. */
  authContext(
    loaded: LoadedConnector,
    record: Pick<ConnectionRecord, 'id' | 'values'>,
    secrets: ConnectionSecrets,
  ): AuthContext
  /**
   * Names and values to redact from anything logged about this connection. `values` are the
   * secret values as an earlier call listed them (the costly part; they change only with the
   * secrets); the names are asked afresh, as a code connector's `apply` may add some.
   */
  redaction(loaded: LoadedConnector, secrets: ConnectionSecrets, values?: string[]): Redaction
  /**
   * The agents that present the connection's client certificate, when the connector has
   * `auth.tls`; `connection.invalid_values` when a value it names is not usable.
   */
  transport(
    loaded: LoadedConnector,
    record: Pick<ConnectionRecord, 'values'>,
    secrets: ConnectionSecrets,
  ): Transport | undefined
}

export function createConnectionSecrets(
  ctx: EngineContext,
  clientTls: ClientTls,
): ConnectionSecretBox {
  function tlsMaterial(loaded: LoadedConnector, values: Obj): ClientTlsMaterial | undefined {
    const tls = loaded.definition.auth.tls
    if (!tls) return undefined
    const key = loaded.secrets['tls.key']
    return resolveClientTls(
      { ...tls, ...(key !== undefined ? { key } : {}) },
      templateScope(connectionFieldsOf(loaded, values), values),
    )
  }

  return {
    transport(loaded, record, secrets) {
      const material = tlsMaterial(loaded, { ...record.values, ...secrets.values })
      return material && clientTls.transport(material)
    },

    open(record) {
      if (!record.secrets) return { values: {}, credentials: { values: {} } }
      return JSON.parse(
        ctx.box.open(record.secrets, `connection:${record.id}`),
      ) as ConnectionSecrets
    },

    seal: (id, secrets) => ctx.box.seal(JSON.stringify(secrets), `connection:${id}`),

    authContext(loaded, record, secrets) {
      const values = { ...record.values, ...secrets.values }
      const fields = connectionFieldsOf(loaded, values)
      // Token endpoints of an RFC 8705 client see the certificate too.
      const material = tlsMaterial(loaded, values)
      const scope = () => ({
        ...templateScope(fields, actx.values),
        ...actx.credentials.tokenValues,
        ...actx.credentials.values,
      })
      const actx: AuthContext = {
        settings: loaded.settings,
        values,
        credentials: secrets.credentials,
        render: (template) => renderTemplate(template, scope()),
        renderUrl: (template) => renderTemplate(template, scope(), { encode: encodeUrlValue }),
        http: material ? clientTls.http(material) : ctx.http,
        connectorName: loaded.definition.name,
        connectionId: record.id,
        // Joined, not resolved: a public URL may have a path prefix (https://host/patchbay).
        callbackUrl: (path) => `${ctx.publicUrl.replace(/\/+$/, '')}${path}`,
        now: ctx.now,
        registry: ctx.registry,
      }
      return actx
    },

    redaction(loaded, secrets, values) {
      const r = emptyRedaction()
      const named = loaded.scheme.redact?.(loaded.settings as never) ?? {}
      for (const h of named.headers ?? []) r.headers.add(h.toLowerCase())
      for (const q of named.query ?? []) r.query.add(q)
      for (const f of named.form ?? []) r.form.add(f)
      const extra = loaded.definition.auth.extra
      for (const h of Object.keys(extra?.headers ?? {})) r.headers.add(h.toLowerCase())
      for (const q of Object.keys(extra?.query ?? {})) r.query.add(q)
      if (values) return { ...r, values }
      const walk = (v: unknown): void => {
        if (typeof v === 'string') addSecretValue(r, v)
        else if (v && typeof v === 'object') Object.values(v).forEach(walk)
      }
      walk(secrets.values)
      walk(secrets.credentials.values)
      walk(loaded.secrets['tls.key'])
      for (const pattern of loaded.scheme.secretSettings ?? []) {
        for (const path of concretePaths(loaded.settings, pattern))
          walk(getAt(loaded.settings, path))
      }
      return r
    },
  }
}
