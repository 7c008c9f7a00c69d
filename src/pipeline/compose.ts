/**
 * Composes steps around a terminal handler: `compose([a, b], send)` runs a → b → send.
 *
 * @module
 */
import type { Handler, Step } from './types.js'

export function compose(steps: Step[], terminal: Handler): Handler {
  return steps.reduceRight<Handler>((next, step) => step(next), terminal)
}
