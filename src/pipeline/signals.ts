/**
 * Matching `refreshOn` / `detectOn` signals (docs/pipeline.md): an integer matches the status, a
 * string the whole body or the HTML title, `/regex/flags` the body.
 *
 * @module
 */
import type { Signal } from '../connector/schema.js'

export function signalMatches(
  signal: Signal,
  status: number,
  bodyText: string | undefined,
): boolean {
  if (typeof signal === 'number') return signal === status
  if (bodyText === undefined) return false
  const re = /^\/(.+)\/([a-z]*)$/s.exec(signal)
  if (re) return new RegExp(re[1]!, re[2]).test(bodyText)
  if (bodyText.trim() === signal) return true
  const title = /<title[^>]*>([^<]*)<\/title>/i.exec(bodyText)
  return title !== null && title[1]!.trim() === signal
}

export function firstMatch(
  signals: Signal[] | undefined,
  status: number,
  bodyText: string | undefined,
): Signal | undefined {
  return signals?.find((s) => signalMatches(s, status, bodyText))
}

/** Whether matching needs the body's bytes (string or regex signals). */
export function needsBody(signals: Signal[] | undefined): boolean {
  return signals?.some((s) => typeof s === 'string') ?? false
}
