/**
 * Connection values of every field type against the harness's ready connector, and values that
 * break its base URL template (a host that is a connection value).
 *
 * @module
 */
import fc from 'fast-check'
import { expect, it } from 'vitest'
import { badString, connectionInput } from './arbitraries.js'
import { describeFuzz, params, PROPERTY_TIMEOUT_MS } from './harness.js'

await describeFuzz('connection values', (f) => {
  it(
    'answers connection values of every field type with a 201 or a named 4xx',
    async () => {
      // A value that goes into a header through the auth scheme (api_key, bearer) with CR, LF,
      // NUL or a character beyond U+00FF is refused at creation (it once failed every call later).
      const headerBreaking = {
        connector: f.target.id,
        values: { region: 'eu', tier: 'pro', 'X-Api-Key': 'k\r\nX-Injected: 1' },
      }
      await fc.assert(
        fc.asyncProperty(connectionInput(f.target), async (body) => {
          const res = await f.sendJson('POST', '/api/v1/connections', body)
          const what = `POST /connections ${JSON.stringify(body)?.slice(0, 400)}`
          f.check(res, what)
          if (!f.recordConnection(res)) return
          // The values it was created with flow into the base URL template and the auth header.
          const ping = await f.sendJson(
            'POST',
            `/api/v1/connections/${res.body.id as string}/request`,
            {
              path: 'ping',
            },
          )
          f.check(ping, `request through ${what}`)
          const read = await f.send('GET', `/api/v1/connections/${res.body.id as string}`)
          f.check(read, `read back ${what}`)
          expect(read.status).toBe(200)
          expect(read.body.values).toEqual(res.body.values)
        }),
        { ...params(350), examples: [[headerBreaking]] },
      )
    },
    PROPERTY_TIMEOUT_MS,
  )

  it(
    'answers values that break the base URL template with a named 4xx, never a 5xx',
    async () => {
      // Hosts that never reach the network: link-local (refused by the network rules) or text
      // that cannot be a host once encoded.
      const cannotBeHost = (v: string) => {
        try {
          new URL(`http://${encodeURIComponent(v)}/`)
          return false
        } catch {
          return true // not a host, or an unpaired surrogate encodeURIComponent refuses
        }
      }
      const host = fc.oneof(
        fc.constantFrom('169.254.169.254', '169.254.0.1', '[fe80::1]', 'a b', '%', '[', 'a:b'),
        badString.filter(cannotBeHost),
      )
      await fc.assert(
        fc.asyncProperty(host, async (h) => {
          const body = { connector: f.hostTemplate.id, values: { host: h, token: 't' } }
          const res = await f.sendJson('POST', '/api/v1/connections', body)
          const what = `POST /connections ${JSON.stringify(body)}`
          f.check(res, what)
          if (!f.recordConnection(res)) return
          const ping = await f.sendJson(
            'POST',
            `/api/v1/connections/${res.body.id as string}/request`,
            { path: 'ping' },
          )
          f.check(ping, `request through ${what}`)
          expect(ping.status, ping.text).toBeGreaterThanOrEqual(400)
        }),
        params(150),
      )
    },
    PROPERTY_TIMEOUT_MS,
  )
})
