/**
 * Connection events (docs/connect.md): created, reconnected, failed, needs_reauth, deleted. An
 * event is a row of the webhook outbox, written by the store in the same transaction as the change
 * that caused it (`Store` methods' `events`), so a change that committed always has its event and a
 * change that did not never has one; the webhook deliverer (`webhooks.ts`) sends it from there, in
 * whatever process.
 *
 * Rows are written only while a webhook URL is configured: without one there is nobody to tell.
 *
 * @module
 */
import { randomUUID } from 'node:crypto'
import type { ConnectionRecord, NewWebhookEvent } from '../store/store.js'

export const CONNECTION_EVENT_TYPES = [
  'connection.created',
  'connection.reconnected',
  'connection.failed',
  'connection.needs_reauth',
  'connection.deleted',
] as const

export type ConnectionEventType = (typeof CONNECTION_EVENT_TYPES)[number]

export type EventSubject = Pick<ConnectionRecord, 'id' | 'connectorId' | 'endUser'>

export interface EngineEvents {
  /**
   * Makes the change `write` with the outbox rows of one `type` event about `subject` (none when
   * webhooks are off), then wakes this process's deliverer so the event goes out at once.
   */
  recording<T>(
    type: ConnectionEventType,
    subject: EventSubject,
    write: (events: readonly NewWebhookEvent[]) => Promise<T>,
  ): Promise<T>
}

export interface EngineEventsOptions {
  /** Whether events are written at all (a webhook URL is configured). */
  enabled: boolean
  now: () => number
  /** Called after a change with events committed (or failed: a wake-up costs one query). */
  written?: () => void
}

export function createEngineEvents(options: EngineEventsOptions): EngineEvents {
  return {
    async recording(type, subject, write) {
      if (!options.enabled) return write([])
      const event: NewWebhookEvent = {
        id: `evt_${randomUUID()}`,
        type,
        connectionId: subject.id,
        connectorId: subject.connectorId,
        endUser: subject.endUser,
        createdAt: options.now(),
      }
      try {
        return await write([event])
      } finally {
        options.written?.()
      }
    },
  }
}
