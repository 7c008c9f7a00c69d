import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { PatchbayError, type ErrorCode } from '../errors.js'
import { breaker, isBreakerFailure } from './breaker.js'
import {
  answer,
  createFakeObserver,
  createFakeTerminal,
  createTestContext,
  createTestStore,
  deferred,
  TEST_BREAKER_KEY,
  type FakeObserver,
  type Scripted,
  type TestStore,
} from './testing.js'
import type { PipelineContext, PipelineResult } from './types.js'

const COOLDOWN_MS = 60_000
const THRESHOLD = 3

let store: TestStore
let observer: FakeObserver
beforeEach(async () => {
  store = await createTestStore()
  observer = createFakeObserver()
})
afterEach(() => store.close())

/** One call through the breaker, on a fresh context sharing the store: as the engine makes them. */
async function call(
  scripted: Scripted,
  options: { breakerKey?: string } = {},
): Promise<{ ctx: PipelineContext; result?: PipelineResult; error?: unknown; sent: number }> {
  const terminal = createFakeTerminal(scripted)
  const ctx = createTestContext({
    store,
    observer,
    breaker: { threshold: THRESHOLD, cooldownMs: COOLDOWN_MS },
    ...options,
  })
  try {
    const result = await breaker(terminal.handler)(ctx)
    return { ctx, result, sent: terminal.calls.length }
  } catch (error) {
    return { ctx, error, sent: terminal.calls.length }
  }
}

const failures = async (key = TEST_BREAKER_KEY) => (await store.breaker(key))?.failures ?? 0

async function openIt(): Promise<void> {
  for (let i = 0; i < THRESHOLD; i++) await call(answer(500))
  expect((await store.breaker())?.state).toBe('open')
}

/** Puts the cool-down in the past instead of waiting it out. */
const coolDown = () => store.setBreaker((b) => ({ ...b, retryAt: Date.now() - 1 }))

describe('the breaker', () => {
  it('lets calls through while closed and writes nothing for a success', async () => {
    const { result, ctx, sent } = await call(answer(200))
    expect(result?.status).toBe(200)
    expect(sent).toBe(1)
    expect(ctx.meta.breakerState).toBe('closed')
    expect(await store.breaker()).toBeUndefined()
  })

  it.each([500, 502, 503, 429, 401])('counts a %i as a failure', async (status) => {
    const { result, ctx } = await call(answer(status))
    expect(result?.status).toBe(status)
    expect(await failures()).toBe(1)
    expect(ctx.meta.breakerState).toBe('closed')
  })

  it('counts a detectOn match (or a retry refused again) as a failure', async () => {
    const detected = answer(200)
    detected.detected = new PatchbayError('request.detected_error', 'matched')
    await call(detected)
    const rejected = answer(401)
    rejected.detected = new PatchbayError('request.auth_rejected', 'again')
    await call(rejected)
    expect(await failures()).toBe(2)
  })

  it.each([200, 204, 302, 400, 403, 404, 409, 422])('does not count a %i', async (status) => {
    await call(answer(500))
    await call(answer(status))
    // A success resets the count; a caller's mistake says nothing about the upstream's health.
    expect(await failures()).toBe(0)
  })

  it.each<ErrorCode>([
    'request.timeout',
    'request.upstream_unreachable',
    'refresh.failed',
    'connector.code_error',
  ])('counts a thrown %s as a failure and rethrows it', async (code) => {
    const thrown = new PatchbayError(code, 'down')
    const { error } = await call(thrown)
    expect(error).toBe(thrown)
    expect(await failures()).toBe(1)
  })

  it('counts a thrown error that is not a PatchbayError as a failure', async () => {
    const thrown = new TypeError('socket hang up')
    expect((await call(thrown)).error).toBe(thrown)
    expect(await failures()).toBe(1)
  })

  it.each<ErrorCode>(['request.origin_refused', 'request.network_refused', 'request.invalid'])(
    'does not count a refusal of the request itself (%s)',
    async (code) => {
      await call(answer(500))
      const thrown = new PatchbayError(code, 'refused')
      expect((await call(thrown)).error).toBe(thrown)
      expect(await failures()).toBe(1)
    },
  )

  it('opens after the threshold of consecutive failures, and tells the observer once', async () => {
    const before = Date.now()
    await call(answer(500))
    await call(new PatchbayError('request.timeout', 'slow'))
    expect(observer.opened).toBe(0)
    const { ctx } = await call(answer(429))
    const b = await store.breaker()
    expect(b).toMatchObject({ state: 'open', failures: 3, trialAt: null })
    expect(b!.openedAt).toBeGreaterThanOrEqual(before)
    expect(b!.retryAt).toBe(b!.openedAt! + COOLDOWN_MS)
    expect(ctx.meta.breakerState).toBe('open')
    expect(observer.opened).toBe(1)
  })

  it('needs the failures to be consecutive', async () => {
    await call(answer(500))
    await call(answer(500))
    await call(answer(200))
    await call(answer(500))
    await call(answer(500))
    expect(await store.breaker()).toMatchObject({ state: 'closed', failures: 2 })
  })

  it('fails fast while open with breaker.open, without calling the next step', async () => {
    await openIt()
    const { error, ctx, sent } = await call(answer(200))
    const b = (await store.breaker())!
    expect(sent).toBe(0)
    expect(error).toBeInstanceOf(PatchbayError)
    const err = error as PatchbayError
    expect(err.code).toBe('breaker.open')
    expect(err.message).toBe(
      `the circuit breaker is open after 3 consecutive failures; calls resume after ${new Date(b.retryAt!).toISOString()}`,
    )
    expect(err.details).toEqual({
      breaker: TEST_BREAKER_KEY,
      state: 'open',
      failures: 3,
      retryAt: b.retryAt,
    })
    expect(ctx.meta.breakerState).toBe('open')
    // Failing fast is not a new failure.
    expect(b.failures).toBe(3)
  })

  it('lets exactly one trial through after the cool-down, and a good one closes it', async () => {
    await openIt()
    await coolDown()
    const held = deferred<PipelineResult>()
    const terminal = createFakeTerminal(() => held.promise)
    const trialCtx = createTestContext({
      store,
      observer,
      breaker: { threshold: THRESHOLD, cooldownMs: COOLDOWN_MS },
    })
    const trial = breaker(terminal.handler)(trialCtx)
    await terminal.called(1)
    expect(trialCtx.meta.breakerState).toBe('half_open')
    const b = (await store.breaker())!
    expect(b.state).toBe('half_open')

    // While the trial is out, other calls still fail fast.
    const meanwhile = await call(answer(200))
    expect(meanwhile.sent).toBe(0)
    expect((meanwhile.error as PatchbayError).code).toBe('breaker.open')
    expect((meanwhile.error as PatchbayError).details).toMatchObject({
      state: 'half_open',
      retryAt: b.trialAt! + COOLDOWN_MS,
    })

    held.resolve(answer(200))
    expect((await trial).status).toBe(200)
    expect(trialCtx.meta.breakerState).toBe('closed')
    expect(await store.breaker()).toEqual({
      key: TEST_BREAKER_KEY,
      state: 'closed',
      failures: 0,
      openedAt: null,
      retryAt: null,
      trialAt: null,
    })
    expect((await call(answer(200))).sent).toBe(1)
  })

  it('opens again for another cool-down when the trial fails', async () => {
    await openIt()
    await coolDown()
    const before = Date.now()
    const { ctx, sent } = await call(answer(503))
    expect(sent).toBe(1)
    const b = (await store.breaker())!
    expect(b).toMatchObject({ state: 'open', failures: 4, trialAt: null })
    expect(b.retryAt).toBeGreaterThanOrEqual(before + COOLDOWN_MS)
    expect(ctx.meta.breakerState).toBe('open')
    expect(observer.opened).toBe(2)
    expect((await call(answer(200))).sent).toBe(0)
  })

  it('lets another trial through one cool-down after a trial that never reported back', async () => {
    await openIt()
    // A trial went out and its process died: half-open, with the trial a cool-down ago.
    await store.setBreaker((b) => ({
      ...b,
      state: 'half_open',
      retryAt: null,
      trialAt: Date.now() - COOLDOWN_MS,
    }))
    const { result, sent } = await call(answer(200))
    expect(sent).toBe(1)
    expect(result?.status).toBe(200)
    expect((await store.breaker())?.state).toBe('closed')
  })

  it('does not count a refusal that was the trial, and holds further calls until the trial lapses', async () => {
    await openIt()
    await coolDown()
    const { error } = await call(new PatchbayError('request.origin_refused', 'no'))
    expect((error as PatchbayError).code).toBe('request.origin_refused')
    expect(await store.breaker()).toMatchObject({ state: 'half_open', failures: 3 })
    expect((await call(answer(200))).sent).toBe(0)
  })

  it('keeps one breaker per key', async () => {
    await openIt()
    const other = await call(answer(200), { breakerKey: 'action:cn_test:act_1' })
    expect(other.sent).toBe(1)
    expect(await store.breaker('action:cn_test:act_1')).toBeUndefined()
  })
})

describe('isBreakerFailure', () => {
  it('reads 5xx, 429, 401 and detected answers as failures, and nothing else', () => {
    const statuses = [200, 201, 301, 400, 401, 403, 404, 429, 499, 500, 599]
    expect(statuses.filter((status) => isBreakerFailure(answer(status)))).toEqual([
      401, 429, 500, 599,
    ])
    const detected = answer(204)
    detected.detected = new PatchbayError('request.detected_error', 'x')
    expect(isBreakerFailure(detected)).toBe(true)
  })
})
