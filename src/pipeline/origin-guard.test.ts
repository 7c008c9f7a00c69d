import { describe, expect, it } from 'vitest'
import { PatchbayError } from '../errors.js'
import { applyAuth } from './apply-auth.js'
import { compose } from './compose.js'
import { originGuard } from './origin-guard.js'
import { answer, createFakeAuth, createFakeTerminal, createTestContext } from './testing.js'

async function refusal(promise: Promise<unknown>): Promise<PatchbayError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(err).toBeInstanceOf(PatchbayError)
  return err as PatchbayError
}

describe('the origin guard', () => {
  it('passes a request on the connector’s origin to the next step unchanged', async () => {
    const terminal = createFakeTerminal(answer(200, { body: 'ok' }))
    const ctx = createTestContext({ url: 'https://api.test/v1/items?page=2' })
    const result = await originGuard(terminal.handler)(ctx)
    expect(result.status).toBe(200)
    expect(terminal.calls).toHaveLength(1)
    expect(terminal.calls[0]!.request.url.href).toBe('https://api.test/v1/items?page=2')
  })

  it('passes a request on any of the allowed origins', async () => {
    const terminal = createFakeTerminal(answer(200))
    const ctx = createTestContext({
      url: 'https://files.api.test/f/1',
      allowedOrigins: ['https://api.test', 'https://files.api.test'],
    })
    await originGuard(terminal.handler)(ctx)
    expect(terminal.calls).toHaveLength(1)
  })

  it('compares origins after URL normalisation, so a default port is the same origin', async () => {
    const terminal = createFakeTerminal(answer(200))
    const ctx = createTestContext({
      url: 'https://API.test:443/x',
      allowedOrigins: ['https://api.test'],
    })
    await originGuard(terminal.handler)(ctx)
    expect(terminal.calls).toHaveLength(1)
  })

  it.each([
    ['another host', 'https://evil.test/v1/items'],
    ['a subdomain', 'https://eu.api.test/v1/items'],
    ['another scheme', 'http://api.test/v1/items'],
    ['another port', 'https://api.test:8443/v1/items'],
  ])('refuses %s with request.origin_refused, naming the url field', async (_what, url) => {
    const terminal = createFakeTerminal()
    const ctx = createTestContext({ url, allowedOrigins: ['https://api.test'] })
    const err = await refusal(originGuard(terminal.handler)(ctx))
    expect(err.code).toBe('request.origin_refused')
    expect(err.message).toContain(new URL(url).origin)
    expect(err.message).toContain('credentials only go to https://api.test')
    expect(err.details).toEqual([{ path: 'url', rule: 'must be on the connector’s origin' }])
    expect(terminal.calls).toHaveLength(0)
  })

  it('lists every allowed origin in the refusal', async () => {
    const ctx = createTestContext({
      url: 'https://evil.test/',
      allowedOrigins: ['https://api.test', 'https://files.api.test'],
    })
    const err = await refusal(originGuard(createFakeTerminal().handler)(ctx))
    expect(err.message).toContain('https://api.test, https://files.api.test')
  })

  it('refuses before any credentials are applied', async () => {
    const auth = createFakeAuth()
    const terminal = createFakeTerminal()
    const ctx = createTestContext({
      url: 'https://evil.test/',
      allowedOrigins: ['https://api.test'],
      auth,
    })
    const err = await refusal(compose([originGuard, applyAuth], terminal.handler)(ctx))
    expect(err.code).toBe('request.origin_refused')
    expect(auth.calls.apply).toBe(0)
    expect(ctx.meta.sent).toBeUndefined()
    expect(terminal.calls).toHaveLength(0)
  })
})
