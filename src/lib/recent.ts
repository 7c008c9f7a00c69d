/**
 * A `Map` used as a bounded least-recently-used cache: insertion order is recency order.
 *
 * @module
 */

/** Sets `key` as the most recently used entry of `map`; past `max` entries, drops the oldest. */
export function keepRecent<K, V>(map: Map<K, V>, key: K, value: V, max: number): void {
  map.delete(key)
  map.set(key, value)
  if (map.size > max) map.delete(map.keys().next().value!)
}
