import { describe, expect, it } from 'vitest'
import { PatchbayError } from '../errors.js'
import { setBodyField } from '../lib/request.js'
import { applyAuth } from './apply-auth.js'
import { answer, createFakeAuth, createFakeTerminal, createTestContext } from './testing.js'

describe('apply auth', () => {
  it('puts the credentials on a copy of the request and sends the copy', async () => {
    const auth = createFakeAuth()
    const terminal = createFakeTerminal(answer(200))
    const ctx = createTestContext({ auth, headers: { accept: 'application/json' } })
    await applyAuth(terminal.handler)(ctx)
    expect(auth.calls.apply).toBe(1)
    expect(terminal.calls[0]!.sent?.headers).toEqual({
      accept: 'application/json',
      authorization: 'Bearer tok-1',
    })
    // The request steps retry from is left without credentials.
    expect(ctx.request.headers).toEqual({ accept: 'application/json' })
    expect(terminal.calls[0]!.request.headers).toEqual({ accept: 'application/json' })
  })

  it('starts each pass from the request without credentials, so a retry does not stack them', async () => {
    const auth = createFakeAuth({
      apply: (req) => {
        req.url.searchParams.append('sig', 'abc')
        setBodyField(req, 'token', 'tok')
      },
    })
    const terminal = createFakeTerminal(answer(401), answer(200))
    const ctx = createTestContext({
      auth,
      method: 'POST',
      url: 'https://api.test/v1/items?page=1',
      body: { kind: 'form', fields: [['name', 'x']] },
    })
    const step = applyAuth(terminal.handler)
    await step(ctx)
    await step(ctx)
    for (const call of terminal.calls) {
      expect(call.sent?.url.href).toBe('https://api.test/v1/items?page=1&sig=abc')
      expect(call.sent?.body).toEqual({
        kind: 'form',
        fields: [
          ['name', 'x'],
          ['token', 'tok'],
        ],
      })
    }
    expect(ctx.request.url.href).toBe('https://api.test/v1/items?page=1')
    expect(ctx.request.body).toEqual({ kind: 'form', fields: [['name', 'x']] })
  })

  it('sends a copy without credentials once they are withheld', async () => {
    const auth = createFakeAuth()
    const terminal = createFakeTerminal(answer(200))
    const ctx = createTestContext({ auth, headers: { accept: 'text/plain' } })
    ctx.meta.credentialsWithheld = true
    await applyAuth(terminal.handler)(ctx)
    expect(auth.calls.apply).toBe(0)
    expect(terminal.calls[0]!.sent?.headers).toEqual({ accept: 'text/plain' })
    expect(terminal.calls[0]!.sent).not.toBe(ctx.request)
  })

  it('fails the call without sending when the credentials cannot be applied', async () => {
    const failure = new PatchbayError('connection.invalid_values', 'auth.extra.headers.X needs "y"')
    const auth = createFakeAuth({
      apply: () => {
        throw failure
      },
    })
    const terminal = createFakeTerminal()
    await expect(applyAuth(terminal.handler)(createTestContext({ auth }))).rejects.toBe(failure)
    expect(terminal.calls).toHaveLength(0)
  })
})
