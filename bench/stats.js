/**
 * What both benchmarks share: option checking and the statistics they report.
 *
 * @module
 */
import { readFileSync } from 'node:fs'
import { URL, fileURLToPath } from 'node:url'

/** The built CLI. */
export const MAIN = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url))

/**
 * The arguments that start `patchbay …args` as the installed command does: Node's flags from the
 * first line of `dist/cli/main.js`, then the script.
 *
 * @param {string[]} args
 */
export function patchbayArgs(...args) {
  const shebang = readFileSync(MAIN, 'utf8').split('\n', 1)[0] ?? ''
  return [...shebang.split(/\s+/).filter((word) => word.startsWith('--')), MAIN, ...args]
}

/** A bad command line; the benchmark prints it with its usage and exits 2. */
export class UsageError extends Error {}

/**
 * An integer option within bounds, or the fallback when unset.
 *
 * @param {Record<string, string | undefined>} raw
 * @param {string} name
 * @param {number} fallback
 * @param {number} min
 * @param {number} max
 */
export function integer(raw, name, fallback, min, max) {
  const text = raw[name]
  if (text === undefined || text === '') return fallback
  const n = Number(text)
  if (!Number.isInteger(n) || n < min || n > max)
    throw new UsageError(`--${name} must be an integer from ${min} to ${max}, got "${text}"`)
  return n
}

/**
 * Nearest-rank percentile of sorted values.
 *
 * @param {Float64Array} sorted
 * @param {number} p
 */
export function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))] ?? NaN
}

/** @param {number[]} values */
export function median(values) {
  const s = [...values].sort((a, b) => a - b)
  const mid = s.length >> 1
  return s.length % 2 ? /** @type {number} */ (s[mid]) : (Number(s[mid - 1]) + Number(s[mid])) / 2
}

/**
 * @param {number} x
 * @param {number} digits
 */
export const fixed = (x, digits) => Number(x.toFixed(digits))
