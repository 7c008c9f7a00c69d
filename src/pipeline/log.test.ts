import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { PatchbayError } from '../errors.js'
import { applyAuth } from './apply-auth.js'
import { compose } from './compose.js'
import { log } from './log.js'
import { originGuard } from './origin-guard.js'
import { followRedirects } from './redirect.js'
import {
  answer,
  createFakeAuth,
  createFakeObserver,
  createFakeTerminal,
  createTestContext,
  createTestStore,
  streamedAnswer,
  type FakeObserver,
  type Scripted,
  type TestContextOptions,
  type TestStore,
} from './testing.js'
import type { Step } from './types.js'

let store: TestStore
let observer: FakeObserver
beforeEach(async () => {
  store = await createTestStore()
  observer = createFakeObserver()
})
afterEach(async () => {
  await store.close().catch(() => {}) // one test closes it itself
})

/** Log outermost, then `steps`, then the fake terminal. */
function pipeline(options: TestContextOptions, steps: Step[], ...script: Scripted[]) {
  const terminal = createFakeTerminal(...script)
  const ctx = createTestContext({ store, observer, ...options })
  return { ctx, terminal, run: () => compose([log, ...steps], terminal.handler)(ctx) }
}

async function onlyEntry() {
  const entries = await store.logs()
  expect(entries).toHaveLength(1)
  return entries[0]!
}

describe('log', () => {
  it('writes one entry for an answered call: the request as sent, the answer, and the call', async () => {
    const before = Date.now()
    const { run } = pipeline(
      {
        method: 'POST',
        body: { kind: 'json', value: { name: 'Ann' } },
        headers: { accept: 'application/json' },
      },
      [applyAuth],
      answer(201, {
        headers: { 'content-type': 'application/json' },
        body: { id: 7, name: 'Ann' },
      }),
    )
    expect((await run()).status).toBe(201)
    const entry = await onlyEntry()
    expect(entry).toEqual({
      id: expect.stringMatching(/^log_[0-9a-f-]{36}$/),
      time: expect.any(Number),
      connectorId: 'cn_test',
      connectionId: 'co_test',
      actionId: null,
      kind: 'request',
      method: 'POST',
      url: 'https://api.test/v1/items',
      status: 201,
      durationMs: expect.any(Number),
      refreshed: false,
      refreshOutcome: null,
      breakerState: null,
      mcpKeyId: null,
      tool: null,
      error: null,
      detail: {
        request: {
          headers: { accept: 'application/json', authorization: '[REDACTED]' },
          body: '{"name":"Ann"}',
        },
        response: {
          headers: { 'content-type': 'application/json' },
          body: '{"id":7,"name":"Ann"}',
        },
      },
    })
    expect(entry.time).toBeGreaterThanOrEqual(before)
    expect(Number.isInteger(entry.durationMs) && entry.durationMs! >= 0).toBe(true)
    expect(observer.calls).toEqual([{ outcome: '2xx', durationMs: entry.durationMs }])
  })

  it('records what the steps inside noted: refresh, breaker state, the action', async () => {
    const { run } = pipeline({ log: { actionId: 'act_1' } }, [], (ctx) => {
      ctx.meta.refreshed = true
      ctx.meta.refreshOutcome = 'refreshed after status 401; retried once'
      ctx.meta.breakerState = 'half_open'
      return answer(204)
    })
    await run()
    expect(await onlyEntry()).toMatchObject({
      actionId: 'act_1',
      status: 204,
      refreshed: true,
      refreshOutcome: 'refreshed after status 401; retried once',
      breakerState: 'half_open',
    })
  })

  it('redacts secret headers and query parameters by name, and secret values everywhere', async () => {
    const auth = createFakeAuth({
      secrets: ['hunter2-password'],
      redact: { headers: ['X-Acme-Key'], query: ['key'] },
      apply: (req) => {
        req.headers['x-acme-key'] = 'plain-looking'
        req.url.searchParams.set('key', 'plain-looking')
        req.headers['authorization'] = 'Bearer tok-1'
      },
    })
    const { run } = pipeline(
      {
        auth,
        url: 'https://api.test/v1/users/hunter2-password?access_token=abc&page=2',
        headers: { cookie: 'sid=1', 'x-note': 'pass hunter2-password' },
        method: 'POST',
        body: {
          kind: 'form',
          fields: [
            ['password', 'pw-1'],
            ['user', 'ann'],
            ['memo', 'tok-1'],
          ],
        },
      },
      [applyAuth],
      answer(200, {
        headers: {
          'content-type': 'application/json',
          'set-cookie': ['a=1', 'b=2'],
          'x-echo': 'tok-1',
        },
        body: { data: { refresh_token: 'r-9', user: 'ann', note: 'hunter2-password' } },
      }),
    )
    await run()
    const entry = await onlyEntry()
    expect(entry.url).toBe(
      'https://api.test/v1/users/[REDACTED]?access_token=[REDACTED]&page=2&key=[REDACTED]',
    )
    expect(entry.detail).toEqual({
      request: {
        headers: {
          cookie: '[REDACTED]',
          'x-note': 'pass [REDACTED]',
          'x-acme-key': '[REDACTED]',
          authorization: '[REDACTED]',
        },
        body: 'password=[REDACTED]&user=ann&memo=[REDACTED]',
      },
      response: {
        headers: {
          'content-type': 'application/json',
          'set-cookie': '[REDACTED]',
          'x-echo': '[REDACTED]',
        },
        body: '{"data":{"refresh_token":"[REDACTED]","user":"ann","note":"[REDACTED]"}}',
      },
    })
    const stored = JSON.stringify(entry)
    for (const secret of ['tok-1', 'hunter2-password', 'plain-looking', 'pw-1', 'r-9', 'abc'])
      expect(stored).not.toContain(secret)
  })

  it('writes one entry when the call throws, with the error redacted, and rethrows it', async () => {
    const thrown = new PatchbayError(
      'request.upstream_unreachable',
      'could not reach it with tok-1',
    )
    const { run } = pipeline({}, [applyAuth], thrown)
    await expect(run()).rejects.toBe(thrown)
    const entry = await onlyEntry()
    expect(entry).toMatchObject({
      method: 'GET',
      url: 'https://api.test/v1/items',
      status: null,
      error: 'request.upstream_unreachable: could not reach it with [REDACTED]',
    })
    expect(entry.detail).toEqual({
      request: { headers: { authorization: '[REDACTED]' }, body: null },
    })
    expect(observer.calls.map((c) => c.outcome)).toEqual(['request.upstream_unreachable'])
  })

  it('writes the error of a throw that is not a PatchbayError as its text', async () => {
    const { run } = pipeline({}, [], new TypeError('socket hang up'))
    await expect(run()).rejects.toThrow('socket hang up')
    expect((await onlyEntry()).error).toBe('TypeError: socket hang up')
    expect(observer.calls.map((c) => c.outcome)).toEqual(['error'])
  })

  it('logs a call the origin guard refused, with the request as it was given', async () => {
    const { run, terminal } = pipeline(
      { url: 'https://evil.test/x?token=t-1', allowedOrigins: ['https://api.test'] },
      [originGuard, applyAuth],
    )
    await expect(run()).rejects.toMatchObject({ code: 'request.origin_refused' })
    expect(terminal.calls).toHaveLength(0)
    const entry = await onlyEntry()
    expect(entry).toMatchObject({
      url: 'https://evil.test/x?token=[REDACTED]',
      status: null,
      breakerState: null,
      error: expect.stringMatching(/^request\.origin_refused: https:\/\/evil\.test is not/),
    })
    expect(entry.detail).toEqual({ request: { headers: {}, body: null } })
  })

  it('logs the request as last sent, after a redirect', async () => {
    const { run } = pipeline(
      {},
      [followRedirects, applyAuth],
      answer(302, { headers: { location: '/v2/items?page=1' } }),
      answer(200),
    )
    await run()
    expect((await onlyEntry()).url).toBe('https://api.test/v2/items?page=1')
  })

  it('writes the detectOn message as the error of an answered call', async () => {
    const hidden = answer(200, { body: 'quota' })
    hidden.detected = new PatchbayError(
      'request.detected_error',
      'the response matched the detectOn signal "quota" (status 200)',
    )
    const { run } = pipeline({}, [], hidden)
    await run()
    expect(await onlyEntry()).toMatchObject({
      status: 200,
      error: 'the response matched the detectOn signal "quota" (status 200)',
    })
  })

  it('summarises bodies it does not show: streamed, binary, and too long', async () => {
    const streamed = pipeline({ stream: true }, [], streamedAnswer(200, ['chunk']))
    await streamed.run()
    const binary = pipeline(
      {
        method: 'PUT',
        body: { kind: 'raw', bytes: new Uint8Array(10), contentType: 'application/octet-stream' },
      },
      [],
      answer(200, { headers: { 'content-type': 'image/png' }, body: new Uint8Array(1234) }),
    )
    await binary.run()
    const long = pipeline(
      {},
      [],
      answer(200, { headers: { 'content-type': 'text/plain' }, body: 'x'.repeat(5000) }),
    )
    await long.run()
    const [s, b, l] = (await store.logs()).map((e) => e.detail as any)
    expect(s.response.body).toBe('(streamed)')
    expect(b.request.body).toBe('(10 bytes, application/octet-stream)')
    expect(b.response.body).toBe('(1234 bytes, image/png)')
    expect(l.response.body).toBe(`${'x'.repeat(4096)}… (truncated)`)
  })

  it('answers the call when the entry cannot be made, and tells the observer', async () => {
    const sink = {
      write() {
        throw new Error('the log writer is gone')
      },
    }
    const { run } = pipeline({ log: { sink } }, [], answer(200, { body: 'ok' }))
    expect((await run()).status).toBe(200)
    expect(observer.logFailures).toHaveLength(1)
    expect(observer.calls.map((c) => c.outcome)).toEqual(['2xx'])
  })
})
