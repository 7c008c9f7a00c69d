import { createServer, type Server } from 'node:http'
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import { rootCertificates, type TLSSocket } from 'node:tls'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { request } from 'undici'
import { makeTestCertificates } from '../../test/helpers/certs.js'
import {
  classifyAddress,
  createGuardedAgent,
  describeTlsFailure,
  NetworkRefusedError,
  type AgentTlsOptions,
} from './network.js'

describe('classifyAddress', () => {
  it.each([
    ['169.254.169.254', 'forbidden'],
    ['169.254.1.1', 'forbidden'],
    ['0.0.0.0', 'forbidden'],
    ['fe80::1', 'forbidden'],
    ['fd00:ec2::254', 'forbidden'],
    ['::ffff:169.254.169.254', 'forbidden'],
    ['224.0.0.1', 'forbidden'],
    ['127.0.0.1', 'loopback'],
    ['127.8.9.1', 'loopback'],
    ['::1', 'loopback'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['10.1.2.3', 'private'],
    ['172.20.0.1', 'private'],
    ['192.168.1.1', 'private'],
    ['fd12::1', 'private'],
    ['8.8.8.8', 'public'],
    ['2001:4860::8888', 'public'],
  ])('%s is %s', (ip, cls) => {
    expect(classifyAddress(ip)).toBe(cls)
  })
})

describe('createGuardedAgent', () => {
  let server: Server
  let port: number
  let hits = 0
  beforeAll(async () => {
    server = createServer((_req, res) => {
      hits++
      res.end('ok')
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    port = (server.address() as AddressInfo).port
  })
  afterAll(() => new Promise<void>((r) => server.close(() => r())))

  const get = async (url: string, agent: ReturnType<typeof createGuardedAgent>) => {
    try {
      const res = await request(url, { dispatcher: agent })
      return await res.body.text()
    } catch (err) {
      return err
    }
  }

  it('refuses loopback by literal and by name unless private networks are allowed', async () => {
    const strict = createGuardedAgent({ allowPrivate: false })
    const before = hits
    const byIp = await get(`http://127.0.0.1:${port}/`, strict)
    const byName = await get(`http://localhost:${port}/`, strict)
    expect(byIp).toBeInstanceOf(NetworkRefusedError)
    expect(
      (byName as Error & { cause?: unknown }).message +
        String((byName as { cause?: unknown }).cause),
    ).toMatch(/loopback|refused|PATCHBAY_ALLOW_PRIVATE_NETWORK/i)
    expect(hits).toBe(before)
    const open = createGuardedAgent({ allowPrivate: true })
    expect(await get(`http://127.0.0.1:${port}/`, open)).toBe('ok')
    expect(await get(`http://localhost:${port}/`, open)).toBe('ok')
    await Promise.all([strict.close(), open.close()])
  })

  it('allows an exact endpoint, and never a metadata address', async () => {
    const agent = createGuardedAgent({
      allowPrivate: false,
      allowEndpoints: new Set([`127.0.0.1:${port}`]),
    })
    expect(await get(`http://127.0.0.1:${port}/`, agent)).toBe('ok')
    const open = createGuardedAgent({ allowPrivate: true })
    const meta = await get('http://169.254.169.254/latest/meta-data/', open)
    expect(meta).toBeInstanceOf(NetworkRefusedError)
    expect((meta as Error).message).toMatch(/never calls/)
    await Promise.all([agent.close(), open.close()])
  })
})

describe('createGuardedAgent with a client certificate', () => {
  const certs = makeTestCertificates()
  let server: HttpsServer
  let port: number
  const seen: (string | undefined)[] = []
  beforeAll(async () => {
    server = createHttpsServer(
      {
        key: certs.server.key,
        cert: certs.server.cert,
        ca: [certs.ca],
        requestCert: true,
        rejectUnauthorized: true,
      },
      (req, res) => {
        seen.push((req.socket as TLSSocket).getPeerX509Certificate?.()?.subject)
        res.end('ok')
      },
    )
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    port = (server.address() as AddressInfo).port
  })
  afterAll(() => new Promise<void>((r) => server.close(() => r())))

  const get = async (agent: ReturnType<typeof createGuardedAgent>) => {
    try {
      const res = await request(`https://127.0.0.1:${port}/`, { dispatcher: agent })
      return await res.body.text()
    } catch (err) {
      return err
    }
  }
  const ca = [...rootCertificates, certs.ca]

  it('presents it, under the same network policy', async () => {
    const agent = createGuardedAgent(
      { allowPrivate: true },
      {},
      { cert: certs.client.cert, key: certs.client.key, ca },
    )
    expect(await get(agent)).toBe('ok')
    expect(seen.at(-1)).toBe('CN=patchbay-client')
    const strict = createGuardedAgent(
      { allowPrivate: false },
      {},
      { cert: certs.client.cert, key: certs.client.key, ca },
    )
    const before = seen.length
    expect(await get(strict)).toBeInstanceOf(NetworkRefusedError)
    expect(seen.length).toBe(before)
    await Promise.all([agent.close(), strict.close()])
  })

  it('says why a handshake failed: no certificate, or an untrusted server', async () => {
    const cases: [AgentTlsOptions, RegExp][] = [
      [{ ca }, /asks for a client certificate/],
      [{}, /not trusted \(SELF_SIGNED_CERT_IN_CHAIN\)/],
    ]
    for (const [tls, message] of cases) {
      const agent = createGuardedAgent({ allowPrivate: true }, {}, tls)
      const err = await get(agent)
      expect(err).toBeInstanceOf(Error)
      expect(describeTlsFailure(err) ?? String(err)).toMatch(message)
      await agent.close()
    }
    expect(describeTlsFailure(new Error('plain'))).toBeUndefined()
  })
})
