import { Readable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { detect } from './detect.js'
import { answer, createFakeTerminal, createTestContext, streamedAnswer } from './testing.js'

describe('detect', () => {
  it('leaves the answer alone when the connector has no detectOn', async () => {
    for (const detectOn of [undefined, []]) {
      const terminal = createFakeTerminal(answer(200, { body: { error: 'quota exceeded' } }))
      const result = await detect(terminal.handler)(createTestContext({ detectOn }))
      expect(result.status).toBe(200)
      expect(result.detected).toBeUndefined()
    }
  })

  it('marks a 200 whose body matches a regex signal as request.detected_error', async () => {
    const terminal = createFakeTerminal(
      answer(200, {
        headers: { 'content-type': 'application/json' },
        body: { ok: false, error: 'Quota exceeded' },
      }),
    )
    const ctx = createTestContext({ detectOn: ['/"ok":\\s*false/'] })
    const result = await detect(terminal.handler)(ctx)
    expect(result.status).toBe(200)
    expect(result.detected?.code).toBe('request.detected_error')
    expect(result.detected?.message).toBe(
      'the response matched the detectOn signal "/\\"ok\\":\\\\s*false/" (status 200)',
    )
    // The caller still gets the body it matched.
    expect(Buffer.from(result.body as Uint8Array).toString()).toBe(
      '{"ok":false,"error":"Quota exceeded"}',
    )
  })

  it('honours regex flags', async () => {
    const terminal = createFakeTerminal(answer(200, { body: 'ERROR: try again' }))
    const result = await detect(terminal.handler)(createTestContext({ detectOn: ['/^error/i'] }))
    expect(result.detected?.code).toBe('request.detected_error')
  })

  it('matches a string signal against the whole body, trimmed, or the HTML title', async () => {
    const whole = createFakeTerminal(answer(200, { body: '  Session expired\n' }))
    expect(
      (await detect(whole.handler)(createTestContext({ detectOn: ['Session expired'] }))).detected,
    ).toBeDefined()
    const titled = createFakeTerminal(
      answer(200, {
        body: '<html><head><title> Session expired </title></head><body>…</body></html>',
      }),
    )
    expect(
      (await detect(titled.handler)(createTestContext({ detectOn: ['Session expired'] }))).detected,
    ).toBeDefined()
    const inside = createFakeTerminal(answer(200, { body: 'Your session expired yesterday' }))
    expect(
      (await detect(inside.handler)(createTestContext({ detectOn: ['Session expired'] }))).detected,
    ).toBeUndefined()
  })

  it('matches a status signal on the status alone', async () => {
    const terminal = createFakeTerminal(answer(202, { body: 'queued' }))
    const result = await detect(terminal.handler)(createTestContext({ detectOn: [202] }))
    expect(result.detected?.message).toBe(
      'the response matched the detectOn signal 202 (status 202)',
    )
    const other = createFakeTerminal(answer(200, { body: '202' }))
    expect(
      (await detect(other.handler)(createTestContext({ detectOn: [202] }))).detected,
    ).toBeUndefined()
  })

  it('names the first signal that matches', async () => {
    const terminal = createFakeTerminal(answer(200, { body: 'a and b' }))
    const result = await detect(terminal.handler)(
      createTestContext({ detectOn: [500, '/b/', '/a/'] }),
    )
    expect(result.detected?.message).toContain('"/b/"')
  })

  it('leaves an answer that matches no signal alone', async () => {
    const terminal = createFakeTerminal(answer(200, { body: { ok: true } }))
    const result = await detect(terminal.handler)(
      createTestContext({ detectOn: ['/"ok":false/', 299] }),
    )
    expect(result.detected).toBeUndefined()
  })

  it('keeps a streamed body streaming when only status signals are set', async () => {
    const streamed = streamedAnswer(200, ['a', 'b'])
    const terminal = createFakeTerminal(streamed)
    const result = await detect(terminal.handler)(
      createTestContext({ stream: true, detectOn: [500] }),
    )
    expect(result.body).toBeInstanceOf(Readable)
    expect(result.body).toBe(streamed.body)
    expect(result.detected).toBeUndefined()
  })

  it('reads a streamed body into memory when a body signal needs it, and keeps its bytes', async () => {
    const terminal = createFakeTerminal(streamedAnswer(200, ['{"status":', '"error"}']))
    const result = await detect(terminal.handler)(
      createTestContext({ stream: true, detectOn: ['/"status":"error"/'] }),
    )
    expect(result.body).toBeInstanceOf(Uint8Array)
    expect(Buffer.from(result.body as Uint8Array).toString()).toBe('{"status":"error"}')
    expect(result.detected?.code).toBe('request.detected_error')
  })
})
