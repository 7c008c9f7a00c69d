import { describe, expect, it } from 'vitest'
import { backoffMs, retryAfterJitterMs, retryAfterMs } from './retry.js'

describe('retryAfterMs (RFC 9110 §10.2.3)', () => {
  const now = Date.parse('2025-01-31T10:00:00Z')

  it('reads delay-seconds', () => {
    expect(retryAfterMs('1', now)).toBe(1000)
    expect(retryAfterMs(' 120 ', now)).toBe(120_000)
    expect(retryAfterMs('0', now)).toBe(0)
    expect(retryAfterMs(['3', '9'], now)).toBe(3000)
  })

  it('reads the three HTTP-date forms, as UTC', () => {
    expect(retryAfterMs('Fri, 31 Jan 2025 10:00:02 GMT', now)).toBe(2000)
    expect(retryAfterMs('Friday, 31-Jan-25 10:00:05 GMT', now)).toBe(5000)
    expect(retryAfterMs('Fri Jan 31 10:00:07 2025', now)).toBe(7000)
  })

  it('treats a date in the past as now', () => {
    expect(retryAfterMs('Fri, 31 Jan 2025 09:59:00 GMT', now)).toBe(0)
  })

  it('ignores values that are neither', () => {
    for (const v of [undefined, '', '-1', '1.5', 'soon', '2025-01-31T10:00:02Z', 'Fri, nonsense'])
      expect(retryAfterMs(v, now), String(v)).toBeUndefined()
  })
})

describe('waits', () => {
  it('backs off 0.5 s, 1 s, 2 s … at most 8 s, between half and all of each', () => {
    expect([1, 2, 3, 4, 5, 6].map((a) => backoffMs(a, () => 0))).toEqual([
      250, 500, 1000, 2000, 4000, 4000,
    ])
    expect([1, 2, 3, 4, 5, 6].map((a) => backoffMs(a, () => 1))).toEqual([
      500, 1000, 2000, 4000, 8000, 8000,
    ])
  })

  it('never waits less than Retry-After asks, and at most 10 % (and 1 s) more', () => {
    expect(retryAfterJitterMs(1000, () => 0)).toBe(1000)
    expect(retryAfterJitterMs(1000, () => 1)).toBe(1100)
    expect(retryAfterJitterMs(60_000, () => 1)).toBe(61_000)
    expect(retryAfterJitterMs(0, () => 1)).toBe(0)
  })
})
