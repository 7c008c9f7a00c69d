/**
 * A connector as it is stored and run: the validated definition with its defaults applied. Secret
 * auth settings are kept apart (sealed in the store's `secrets` column), so `auth` never holds one.
 *
 * @module
 */
import type {
  ClientTlsSettings,
  CustomAction,
  FieldDefinition,
  RateLimitSettings,
  RetrySettings,
  Signal,
} from './schema.js'

export type { Stage as ConnectorStage } from './literals.js'

/** The auth settings as stored: the scheme's own settings plus the common keys. */
export interface StoredAuth extends Record<string, unknown> {
  type: string
  refreshOn?: Signal[]
  detectOn?: Signal[]
  extra?: { headers?: Record<string, string>; query?: Record<string, string> }
  /** Mutual TLS; `tls.key` is kept apart with the other secret settings. */
  tls?: ClientTlsSettings
}

export interface ConnectorDefinition {
  name: string
  linkName: string
  description?: string
  logo?: string
  baseUrl: string
  allowedOrigins?: string[]
  fields: FieldDefinition[]
  auth: StoredAuth
  customAction: { enabled: boolean; help?: Record<string, unknown> }
  actions: CustomAction[]
  breaker?: { threshold: number; cooldownSeconds: number }
  /** Retrying 429 and 503 answers; the defaults apply when absent (`pipeline/retry.ts`). */
  retry?: RetrySettings
  /** The connector's own per-connection limit, shared by every process (`pipeline/rate-limit.ts`). */
  rateLimit?: RateLimitSettings
  identity?: { method: string; path: string; valuePath: string }
  /** `code`: loaded from `PATCHBAY_CONNECTORS_DIR`; the API may not change or delete it. */
  source?: 'code'
  /** The last successful test request (`AuthScheme.test`), for the settings it tested. */
  authTest?: AuthTestRecord
}

export interface AuthTestRecord {
  /** SHA-256 of the non-secret settings tested (changed secrets drop the record instead). */
  settingsHash: string
  testedAt: string
}
