/**
 * What the engine's services share.
 *
 * @module
 */
import { randomBytes } from 'node:crypto'
import type { AuthRegistry } from '../auth/scheme.js'
import type { Logger } from '../lib/logger.js'
import type { Metrics } from '../lib/metrics.js'
import type { HttpClient } from '../lib/http.js'
import type { Handler } from '../pipeline/index.js'
import type { SecretBox } from '../store/crypto.js'
import type { Store } from '../store/store.js'
import type { EngineEvents } from './events.js'

export interface EngineContext {
  store: Store
  box: SecretBox
  registry: AuthRegistry
  /** Where browsers reach this server, for OAuth callbacks (`PATCHBAY_PUBLIC_URL`). */
  publicUrl: string
  http: HttpClient
  pipeline: Handler
  now: () => number
  /** Request timeout for custom actions, ms. */
  timeoutMs: number
  metrics: Metrics
  logger: Logger
  /** Connection events (created, failed, needs_reauth, deleted), heard by the webhook sender. */
  events: EngineEvents
}

export function newId(prefix: string): string {
  return `${prefix}_${randomBytes(12).toString('base64url')}`
}
