import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestPatchbay, type TestPatchbay } from './helpers/patchbay.js'
import { startUpstream, type Upstream } from './peers/upstream.js'

describe('network safety', () => {
  let up: Upstream
  let hidden: Upstream
  let t: TestPatchbay
  beforeAll(async () => {
    up = await startUpstream()
    hidden = await startUpstream()
    // Private networks refused; only the one upstream is allowed as an exact endpoint.
    t = await startTestPatchbay({
      env: { PATCHBAY_ALLOW_PRIVATE_NETWORK: 'false' },
      allowEndpoints: [new URL(up.origin).host],
    })
  })
  afterAll(async () => {
    await t.close()
    await up.close()
    await hidden.close()
  })

  async function connectionTo(baseUrl: string, name: string): Promise<string> {
    const c = await t.api('POST', '/api/v1/connectors', {
      name,
      baseUrl,
      auth: { type: 'bearer' },
      customAction: { enabled: true },
    })
    await t.api('POST', `/api/v1/connectors/${c.body.id}/ready`)
    return (
      await t.api('POST', '/api/v1/connections', {
        connector: c.body.id,
        values: { token: 'net-token' },
      })
    ).body.id
  }

  it('never calls a cloud metadata address', async () => {
    const id = await connectionTo('http://169.254.169.254/latest/', 'Metadata')
    const res = await t.api('POST', `/api/v1/connections/${id}/request`, { path: 'meta-data' })
    expect(res.status).toBe(400)
    expect(res.body.error.code).toBe('request.network_refused')
    expect(res.body.error.message).toMatch(/never calls/)
  })

  it('refuses loopback by name and by address unless allowed', async () => {
    const byName = await connectionTo(`http://localhost:${hidden.url.split(':')[2]}`, 'By name')
    const byIp = await connectionTo(hidden.url, 'By address')
    for (const id of [byName, byIp]) {
      const res = await t.api('POST', `/api/v1/connections/${id}/request`, { path: 'x' })
      expect(res.status).toBe(400)
      expect(res.body.error.code).toBe('request.network_refused')
      expect(res.body.error.message).toMatch(/PATCHBAY_ALLOW_PRIVATE_NETWORK/)
    }
    expect(hidden.requests).toHaveLength(0)
  })

  it('does not follow a redirect from an allowed API to a refused address', async () => {
    up.route('/jump', (_req, res) => {
      res.writeHead(302, { location: `${hidden.origin}/inside` })
      res.end()
    })
    const id = await connectionTo(up.url, 'Jumper')
    const res = await t.api('POST', `/api/v1/connections/${id}/request`, { path: 'jump' })
    expect(res.body.error?.code ?? res.body.status).toBe('request.network_refused')
    expect(hidden.requests).toHaveLength(0)
    expect(up.requests.at(-1)!.path).toBe('/jump')
  })
})
