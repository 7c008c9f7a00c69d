/**
 * A connector's own `rateLimit` holds per connection across processes: two real `patchbay serve`
 * processes on one PostgreSQL schema share one count, so of many concurrent calls spread over
 * both, exactly `requests` reach the upstream in a window and the rest are refused with
 * `request.rate_limited`.
 *
 * PostgreSQL only: skipped (with the reason) when the test database is unreachable, failed under
 * CI=true (see helpers/postgres.ts).
 */
import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { dropTestSchema, postgresTestUrl, testSchemaName } from './helpers/postgres.js'
import {
  pollUntil,
  requireBuild,
  startServerProcess,
  stopAll,
  type ServerProcess,
} from './helpers/processes.js'
import { json, startUpstream, type Upstream } from './peers/upstream.js'

const databaseUrl = await postgresTestUrl()
const LIMIT = 6
const CALLS = 20
const PERIOD_MS = 60_000

describe.skipIf(!databaseUrl)('rateLimit across two patchbay serve processes', () => {
  const schema = testSchemaName()
  const adminKey = `rl-admin-${randomBytes(12).toString('hex')}`
  const processes: ServerProcess[] = []
  let up: Upstream | undefined

  beforeAll(async () => {
    requireBuild()
    up = await startUpstream()
    up.route('*', (_req, res) => json(res, 200, { ok: true }))
    const env = {
      PATCHBAY_DATABASE_URL: databaseUrl!,
      PATCHBAY_DATABASE_SCHEMA: schema,
      PATCHBAY_SECRET_KEY: randomBytes(32).toString('hex'),
      PATCHBAY_ALLOW_PRIVATE_NETWORK: 'true',
    }
    // The first migrates the schema; the second starts on it.
    processes.push(await startServerProcess({ adminKey, env, name: 'process 0' }))
    processes.push(await startServerProcess({ adminKey, env, name: 'process 1' }))
  }, 60_000)

  afterAll(async () => {
    await Promise.allSettled([stopAll(processes), up?.close()])
    await dropTestSchema(schema)
  }, 60_000)

  it(`lets exactly ${LIMIT} of ${CALLS} concurrent calls through, whichever process takes them`, async () => {
    const [p0, p1] = processes as [ServerProcess, ServerProcess]
    const connector = await p0.api('POST', '/api/v1/connectors', {
      name: 'Shared limit',
      baseUrl: up!.url,
      auth: { type: 'bearer' },
      customAction: { enabled: true },
      rateLimit: { requests: LIMIT, perSeconds: PERIOD_MS / 1000, maxWaitSeconds: 0 },
    })
    expect(connector.status, JSON.stringify(connector.body)).toBe(201)
    expect((await p0.api('POST', `/api/v1/connectors/${connector.body.id}/ready`)).status).toBe(200)
    const conn = await p1.api('POST', '/api/v1/connections', {
      connector: connector.body.id,
      values: { token: 'shared-token' },
    })
    expect(conn.status).toBe(201)
    // Start well inside a window, so that every call counts in the same one.
    await pollUntil(
      'a fresh part of the rate-limit window',
      () => {
        const left = PERIOD_MS - (Date.now() % PERIOD_MS)
        return left > 15_000
      },
      { timeoutMs: PERIOD_MS, intervalMs: 100 },
    )
    const before = up!.requests.length
    const results = await Promise.all(
      Array.from({ length: CALLS }, (_, i) =>
        processes[i % 2]!.api('POST', `/api/v1/connections/${conn.body.id}/request`, {
          path: `item/${i}`,
        }),
      ),
    )
    const passed = results.filter((r) => r.status === 200)
    const refused = results.filter((r) => r.status === 429)
    expect(passed).toHaveLength(LIMIT)
    expect(passed.every((r) => r.body.status === 200)).toBe(true)
    expect(refused).toHaveLength(CALLS - LIMIT)
    for (const r of refused) {
      expect(r.body.error.code).toBe('request.rate_limited')
      expect(r.body.error.details.retryAfter).toBeGreaterThan(0)
    }
    expect(up!.requests.length - before).toBe(LIMIT)
    // The count is the connection's, whichever process asks: a further call fails on both.
    for (const p of processes) {
      const again = await p.api('POST', `/api/v1/connections/${conn.body.id}/request`, {
        path: 'again',
      })
      expect(again.status).toBe(429)
    }
    expect(up!.requests.length - before).toBe(LIMIT)
  }, 120_000)
})
