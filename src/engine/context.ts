/**
 * The infrastructure every engine service shares. Services that need one another are handed to
 * each other by the composition root (`create.ts`), never looked up or set afterwards.
 *
 * @module
 */
import { randomBytes } from 'node:crypto'
import type { AuthRegistry } from '../auth/scheme.js'
import type { HttpClient } from '../lib/http.js'
import type { Logger } from '../lib/logger.js'
import type { Metrics } from '../lib/metrics.js'
import type { SecretBox } from '../store/crypto.js'
import type { Store } from '../store/store.js'
import type { EngineEvents } from './events.js'
import type { LogWriter } from './log-writer.js'

export interface EngineContext {
  store: Store
  box: SecretBox
  registry: AuthRegistry
  /** Where browsers reach this server, for OAuth callbacks (`PATCHBAY_PUBLIC_URL`). */
  publicUrl: string
  /** Outgoing HTTP for token endpoints and webhooks, under the network policy. */
  http: HttpClient
  now: () => number
  /** Request timeout for custom actions, ms. */
  timeoutMs: number
  metrics: Metrics
  logger: Logger
  /** Connection events, written to the webhook outbox with the change that causes them. */
  events: EngineEvents
  /** Where every log entry goes (`log-writer.ts`). */
  log: LogWriter
}

export function newId(prefix: string): string {
  return `${prefix}_${randomBytes(12).toString('base64url')}`
}
