/**
 * The model's literal unions, written once: the states of a connector, a connection and a breaker
 * (`docs/concepts.md`), and the HTTP methods requests may use and the kinds of log entries. The store, the engine, the HTTP contract and
 * the web app import them from here.
 *
 * @module
 */

/** A connector's lifecycle stage: `draft` → `ready`, never back (`docs/concepts.md`). */
export const CONNECTOR_STAGES = ['draft', 'ready'] as const
export type Stage = (typeof CONNECTOR_STAGES)[number]

/** A connection's status (`docs/concepts.md#connections`). */
export const CONNECTION_STATUSES = ['pending', 'connected', 'needs_reauth', 'error'] as const
export type ConnectionStatus = (typeof CONNECTION_STATUSES)[number]

/** A circuit breaker's state: closed, open, or letting one trial call through (half open). */
export const BREAKER_STATES = ['closed', 'open', 'half_open'] as const
export type BreakerState = (typeof BREAKER_STATES)[number]

/** The HTTP methods a request, a saved action or an identity request may use. */
export const HTTP_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'] as const
export type HttpMethod = (typeof HTTP_METHODS)[number]

/** What a log entry records. */
export const LOG_KINDS = ['request', 'refresh', 'revoke', 'connect', 'webhook'] as const
export type LogKind = (typeof LOG_KINDS)[number]

/**
 * A webhook event's state in the outbox. `pending`: waiting for (or between) attempts;
 * `delivered`: a 2xx answered it; `dead`: the last attempt failed (dead-lettered), until someone
 * retries it.
 */
export const WEBHOOK_EVENT_STATUSES = ['pending', 'delivered', 'dead'] as const
export type WebhookEventStatus = (typeof WEBHOOK_EVENT_STATUSES)[number]

export function isConnectionStatus(value: unknown): value is ConnectionStatus {
  return (CONNECTION_STATUSES as readonly unknown[]).includes(value)
}
