/**
 * Connection events (docs/connect.md): emitted where they happen in the engine, heard by the webhook
 * sender. Listeners run synchronously and must not throw or block; a listener that throws is
 * logged and the others still run.
 *
 * @module
 */

export const CONNECTION_EVENT_TYPES = [
  'connection.created',
  'connection.reconnected',
  'connection.failed',
  'connection.needs_reauth',
  'connection.deleted',
] as const

export type ConnectionEventType = (typeof CONNECTION_EVENT_TYPES)[number]

export interface ConnectionEvent {
  type: ConnectionEventType
  connectionId: string
  connectorId: string
  endUser: string | null
  /** When it happened, ms since the epoch. */
  at: number
}

export type ConnectionEventListener = (event: ConnectionEvent) => void

export interface EngineEvents {
  emit(event: ConnectionEvent): void
  /** Adds a listener; returns the function that removes it. */
  on(listener: ConnectionEventListener): () => void
}

export function createEngineEvents(onListenerError: (err: unknown) => void): EngineEvents {
  const listeners = new Set<ConnectionEventListener>()
  return {
    emit(event) {
      for (const listener of listeners) {
        try {
          listener(event)
        } catch (err) {
          onListenerError(err)
        }
      }
    },
    on(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
  }
}
