/**
 * Circuit breakers, as the engine keeps them: one per saved action and one per connection's ad-hoc
 * calls, their state in the store (so every process shares it), handed to the pipeline as a
 * `BreakerPort`, shown in views and closed by hand. The state machine itself is the pipeline's
 * breaker step (`pipeline/breaker.ts`).
 *
 * @module
 */
import type { ConnectorDefinition } from '../connector/model.js'
import type { BreakerPort, BreakerSettings } from '../pipeline/index.js'
import { emptyBreaker, type BreakerRecord, type Store } from '../store/store.js'

export interface BreakerView {
  state: 'closed' | 'open' | 'half_open'
  failures: number
  /** When an open breaker lets one trial call through. */
  retryAt: string | null
}

const DEFAULT_BREAKER = { threshold: 5, cooldownSeconds: 30 }

export const actionBreakerKey = (connectorId: string, actionId: string) =>
  `action:${connectorId}:${actionId}`
export const connectionBreakerKey = (connectionId: string) => `connection:${connectionId}`

export function breakerView(b: BreakerRecord | undefined): BreakerView {
  return {
    state: b?.state ?? 'closed',
    failures: b?.failures ?? 0,
    retryAt: b?.retryAt ? new Date(b.retryAt).toISOString() : null,
  }
}

export function breakerSettings(def: Pick<ConnectorDefinition, 'breaker'>): BreakerSettings {
  const b = def.breaker ?? DEFAULT_BREAKER
  return { threshold: b.threshold, cooldownMs: b.cooldownSeconds * 1000 }
}

export interface Breakers {
  /**
   * The breaker for one call, as the pipeline uses it; `current` is the record the call's first
   * read of the store found (its first `read()` answers it instead of reading again).
   */
  port(
    key: string,
    settings: BreakerSettings,
    current?: { record: BreakerRecord | undefined },
  ): BreakerPort
  view(key: string): Promise<BreakerView>
  /** Closes a breaker by hand. */
  reset(key: string): Promise<BreakerView>
}

export function createBreakers(store: Store): Breakers {
  return {
    port(key, settings, current) {
      let first = current
      return {
        key,
        settings,
        read() {
          if (!first) return store.getBreaker(key)
          const { record } = first
          first = undefined
          return Promise.resolve(record)
        },
        update: (transition) => store.updateBreaker(key, transition),
      }
    },
    view: async (key) => breakerView(await store.getBreaker(key)),
    reset: async (key) => breakerView(await store.updateBreaker(key, () => emptyBreaker(key))),
  }
}
