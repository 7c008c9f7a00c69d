/**
 * Many processes, one system (docs/pipeline.md): four real `patchbay serve` processes on one
 * PostgreSQL schema, a real authorization server (oidc-provider) and loopback APIs.
 *
 * - 1,000 concurrent calls spread over the four processes on a connection whose token the API has
 *   expired: exactly one token request reaches the authorization server, and every call succeeds.
 * - A circuit breaker opened by failures through some processes fails fast on all of them, and
 *   the single trial after the cool-down closes it for all of them.
 *
 * PostgreSQL only: skipped (with the reason) when the test database is unreachable, failed under
 * CI=true (see helpers/postgres.ts).
 */
import { randomBytes } from 'node:crypto'
import { Pool } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { dropTestSchema, postgresTestUrl, testSchemaName } from './helpers/postgres.js'
import {
  pollUntil,
  requireBuild,
  startServerProcess,
  stopAll,
  type ServerProcess,
} from './helpers/processes.js'
import { startOidcPeer, type OidcPeer } from './peers/oidc.js'
import { json, startUpstream, type Upstream } from './peers/upstream.js'

const databaseUrl = await postgresTestUrl()
const PROCESSES = 4
const CALLS = 1_000

/** An API in front of the provider's protected resource; tokens the test marks expired get 401. */
async function startApi(peer: OidcPeer): Promise<Upstream & { expired: Set<string> }> {
  const api = await startUpstream()
  const expired = new Set<string>()
  api.route('*', async (req, res) => {
    const auth = String(req.headers.authorization ?? '')
    if (expired.has(auth.replace(/^Bearer /, ''))) {
      return json(
        res,
        401,
        { error: 'invalid_token' },
        { 'www-authenticate': 'Bearer error="invalid_token"' },
      )
    }
    const upstream = await fetch(peer.resourceUrl, { headers: { authorization: auth } })
    json(res, upstream.status, await upstream.json())
  })
  return Object.assign(api, { expired })
}

describe.skipIf(!databaseUrl)(
  `${PROCESSES} patchbay serve processes on one PostgreSQL schema`,
  () => {
    const schema = testSchemaName()
    const adminKey = `mp-admin-${randomBytes(12).toString('hex')}`
    const processes: ServerProcess[] = []
    let peer: OidcPeer | undefined
    let api: Awaited<ReturnType<typeof startApi>> | undefined
    let flaky: Upstream | undefined

    beforeAll(async () => {
      requireBuild()
      peer = await startOidcPeer({ accessTokenTtl: 3600 })
      api = await startApi(peer)
      flaky = await startUpstream()
      const env = {
        PATCHBAY_DATABASE_URL: databaseUrl!,
        PATCHBAY_DATABASE_SCHEMA: schema,
        PATCHBAY_SECRET_KEY: randomBytes(32).toString('hex'),
        PATCHBAY_ALLOW_PRIVATE_NETWORK: 'true',
        PATCHBAY_LOG_LEVEL: 'silent',
      }
      // The first process migrates the schema; all share its URL as the public URL, as they
      // would share a load balancer's, so any of them can finish an OAuth flow.
      const first = await startServerProcess({ adminKey, env, name: 'process 0' })
      processes.push(first)
      const rest = await Promise.allSettled(
        Array.from({ length: PROCESSES - 1 }, (_, i) =>
          startServerProcess({ adminKey, env, publicUrl: first.url, name: `process ${i + 1}` }),
        ),
      )
      // Keep every process that started, so afterAll stops it even when another failed.
      for (const r of rest) if (r.status === 'fulfilled') processes.push(r.value)
      const failed = rest.find((r) => r.status === 'rejected')
      if (failed) throw failed.reason
    }, 60_000)

    afterAll(async () => {
      const closing = [stopAll(processes), api?.close(), flaky?.close(), peer?.close()]
      await Promise.allSettled(closing)
      await dropTestSchema(schema)
    }, 60_000)

    it('makes exactly one token request for 1,000 concurrent calls with an expired token, and all succeed', async () => {
      const [p0, p1, , p3] = processes as [
        ServerProcess,
        ServerProcess,
        ServerProcess,
        ServerProcess,
      ]
      const client = peer!.clients.basic
      const connector = await p0.api('POST', '/api/v1/connectors', {
        name: 'Storm',
        baseUrl: api!.url,
        auth: {
          type: 'oauth2',
          grantType: 'authorization_code',
          clientId: client.clientId,
          clientSecret: client.clientSecret,
          clientAuth: 'basic',
          authorizationUrl: peer!.authorizationUrl,
          tokenUrl: peer!.tokenUrl,
          scopes: [
            { name: 'OpenID', value: 'openid' },
            { name: 'Offline', value: 'offline_access' },
            { name: 'Read', value: 'api:read' },
          ],
          scopeDelimiter: ' ',
        },
        customAction: { enabled: true },
      })
      expect(connector.status, JSON.stringify(connector.body)).toBe(201)
      expect((await p0.api('POST', `/api/v1/connectors/${connector.body.id}/ready`)).status).toBe(
        200,
      )

      // Started on one process, finished on another: the OAuth state lives in the database.
      const created = await p1.api('POST', '/api/v1/connections', {
        connector: connector.body.id,
      })
      expect(created.status, JSON.stringify(created.body)).toBe(201)
      const callback = await peer!.follow(created.body.authorizeUrl)
      const onP3 = new URL(callback.pathname + callback.search, p3.url)
      const page = await fetch(onP3, { redirect: 'manual' })
      expect(page.status, await page.clone().text()).toBe(200)
      expect(await page.text()).toContain('is connected')
      const id = created.body.id as string

      const pools = processes.map(
        (p) => new Pool(p.url, { connections: Math.ceil(CALLS / PROCESSES), pipelining: 1 }),
      )
      try {
        const call = async (i: number) => {
          const res = await pools[i % PROCESSES]!.request({
            method: 'POST',
            path: `/api/v1/connections/${id}/request`,
            headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
            body: JSON.stringify({ path: 'me' }),
          })
          const body = (await res.body.json()) as any
          return { process: i % PROCESSES, httpStatus: res.statusCode, body }
        }
        // Every process works with the fresh token (and has its code paths warm).
        const warm = await Promise.all(processes.map((_, i) => call(i)))
        expect(warm.map((r) => [r.httpStatus, r.body.status])).toEqual(
          Array(PROCESSES).fill([200, 200]),
        )
        const token = String(api!.requests.at(-1)!.headers.authorization ?? '').replace(
          /^Bearer /,
          '',
        )
        api!.expired.add(token)
        peer!.resetCounters()
        const apiBefore = api!.requests.length

        const started = performance.now()
        const results = await Promise.all(Array.from({ length: CALLS }, (_, i) => call(i)))
        const seconds = (performance.now() - started) / 1000

        const failed = results.filter((r) => r.httpStatus !== 200 || r.body?.status !== 200)
        expect(failed.slice(0, 5), `${failed.length} of ${CALLS} calls failed`).toEqual([])
        expect(peer!.counters.tokenRequests).toBe(1)
        expect(peer!.counters.tokenRequestsByGrant).toEqual({ refresh_token: 1 })
        // The storm crossed processes: several had calls that met the 401 and waited for the one
        // refresh (made in this process or another) instead of making their own.
        const refreshedBy = processes.map(
          (_, p) => results.filter((r) => r.process === p && r.body.refreshed === true).length,
        )
        expect(refreshedBy.filter((n) => n > 0).length).toBeGreaterThanOrEqual(2)
        // Every refresh attempt is logged: across the four processes, one.
        const refreshes: string[] = []
        for (let cursor: string | undefined, page = 0; page < 20; page++) {
          const logs = await p0.api(
            'GET',
            `/api/v1/logs?connection=${id}&limit=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
          )
          for (const l of logs.body.items as { kind: string; refreshOutcome: string }[])
            if (l.kind === 'refresh') refreshes.push(l.refreshOutcome)
          cursor = logs.body.nextCursor
          if (!cursor) break
        }
        expect(refreshes).toEqual(['refreshed'])
        console.log(
          `refresh storm: ${CALLS} calls over ${PROCESSES} processes in ${seconds.toFixed(2)} s; ` +
            `token requests: ${peer!.counters.tokenRequests}; calls that met the 401 per process: ` +
            `${refreshedBy.join(', ')}; upstream requests: ${api!.requests.length - apiBefore}`,
        )
      } finally {
        await Promise.allSettled(pools.map((p) => p.close()))
      }
    }, 90_000)

    it('opens the breaker for all processes, fails fast without the upstream, and one trial closes it for all', async () => {
      let healthy = false
      // Holds the trial call upstream (once healthy) until the test lets it go.
      let release!: () => void
      const holdTrial = new Promise<void>((r) => (release = r))
      flaky!.route('*', async (_req, res) => {
        if (!healthy) return json(res, 500, { error: 'down' })
        await holdTrial
        json(res, 200, { ok: true })
      })
      const [p0] = processes as [ServerProcess]
      const c = await p0.api('POST', '/api/v1/connectors', {
        name: 'Flaky across processes',
        baseUrl: flaky!.url,
        auth: { type: 'bearer' },
        customAction: { enabled: true },
        breaker: { threshold: 3, cooldownSeconds: 1 },
      })
      expect(c.status, JSON.stringify(c.body)).toBe(201)
      await p0.api('POST', `/api/v1/connectors/${c.body.id}/ready`)
      const conn = await p0.api('POST', '/api/v1/connections', {
        connector: c.body.id,
        values: { token: 'tok' },
      })
      expect(conn.status, JSON.stringify(conn.body)).toBe(201)
      const id = conn.body.id as string
      const call = (p: ServerProcess) =>
        p.api('POST', `/api/v1/connections/${id}/request`, { path: 'x' })

      // Three failures, each through a different process.
      for (const p of processes.slice(0, 3)) {
        const r = await call(p)
        expect([r.status, r.body.status]).toEqual([200, 500])
      }
      const seen = flaky!.requests.length
      // Every process now fails fast, the fourth included, and nothing reaches the upstream.
      for (const p of processes) {
        const r = await call(p)
        expect(r.status, `${p.name}: ${JSON.stringify(r.body)}`).toBe(503)
        expect(r.body.error).toMatchObject({
          code: 'breaker.open',
          details: { state: 'open', failures: 3 },
        })
      }
      expect(flaky!.requests.length).toBe(seen)
      const opened = await processes[3]!.api('GET', `/api/v1/connections/${id}`)
      expect(opened.body.breaker).toMatchObject({ state: 'open', failures: 3 })

      // The upstream recovers; after the cool-down, two calls per process arrive at once. The
      // trial is held upstream until every other call has been answered.
      healthy = true
      const retryAt = Date.parse(opened.body.breaker.retryAt as string)
      await pollUntil('the cool-down to pass', () => Date.now() > retryAt + 20, {
        timeoutMs: 5_000,
      })
      let answered = 0
      const calls = [...processes, ...processes].map((p) =>
        call(p).then((r) => {
          answered++
          return r
        }),
      )
      const others = calls.length - 1
      await pollUntil(`${others} calls to be refused`, () => answered >= others, {
        timeoutMs: 10_000,
      })
      release()
      const results = await Promise.all(calls)
      expect(results.filter((r) => r.status === 200).map((r) => r.body.status)).toEqual([200])
      expect(results.filter((r) => r.status === 503)).toHaveLength(others)
      expect(flaky!.requests.length).toBe(seen + 1)

      // Closed for every process.
      for (const p of processes) {
        const r = await call(p)
        expect([p.name, r.status, r.body.status]).toEqual([p.name, 200, 200])
      }
      const closed = await processes[2]!.api('GET', `/api/v1/connections/${id}`)
      expect(closed.body.breaker).toEqual({ state: 'closed', failures: 0, retryAt: null })
      expect(flaky!.requests.length).toBe(seen + 1 + PROCESSES)
    }, 30_000)
  },
)
