/**
 * `patchbay serve --workers 2`: two worker processes behind one port behave as one system, on
 * SQLite and on PostgreSQL — both serve, a storm of calls on an expired token makes one token
 * request, a breaker opened through one worker is open in the other, a UI session opened through
 * one is valid in all, a worker that dies is replaced, and SIGTERM lets a call in flight finish
 * before every process exits.
 */
import { randomBytes } from 'node:crypto'
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs'
import { availableParallelism, tmpdir } from 'node:os'
import { join } from 'node:path'
import { Agent, request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { dropTestSchema, postgresTestUrl, testSchemaName } from './helpers/postgres.js'
import {
  pollUntil,
  requireBuild,
  startServerProcess,
  tokenConnection,
  type ServerProcess,
} from './helpers/processes.js'
import { workerExecArgv } from '../src/server/cluster.js'
import { startTokenServer, type TokenServer } from './peers/token-server.js'

const databaseUrl = await postgresTestUrl()
const kinds = databaseUrl ? (['sqlite', 'postgres'] as const) : (['sqlite'] as const)

/** The children of a process (Linux `/proc`), by pid. */
function childrenOf(pid: number): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .flatMap((d) => {
      try {
        const stat = readFileSync(`/proc/${d}/stat`, 'utf8')
        const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
        return ppid === pid ? [Number(d)] : []
      } catch {
        return []
      }
    })
}

/** CPU time a process has used, in clock ticks (user + system). */
function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return Number(fields[11]) + Number(fields[12])
}

for (const kind of kinds) {
  describe(`serve --workers 2 on ${kind}`, () => {
    const adminKey = `wk-admin-${randomBytes(12).toString('hex')}`
    const schema = testSchemaName()
    const dataDir = mkdtempSync(join(tmpdir(), 'patchbay-workers-'))
    let server: ServerProcess
    let tokens: TokenServer
    // A fresh connection per call, so the calls spread over the workers.
    const fresh = new Agent({ pipelining: 0, keepAliveTimeout: 1 })
    const env = {
      PATCHBAY_DATA_DIR: dataDir,
      PATCHBAY_SECRET_KEY: randomBytes(32).toString('hex'),
      PATCHBAY_ALLOW_PRIVATE_NETWORK: 'true',
      ...(kind === 'postgres'
        ? { PATCHBAY_DATABASE_URL: databaseUrl!, PATCHBAY_DATABASE_SCHEMA: schema }
        : {}),
    }

    async function call(method: string, path: string, body?: unknown, headers = {}) {
      const res = await request(`${server.url}${path}`, {
        method: method as 'GET',
        dispatcher: fresh,
        headers: {
          authorization: `Bearer ${adminKey}`,
          connection: 'close',
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...headers,
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      })
      const text = await res.body.text()
      return {
        status: res.statusCode,
        headers: res.headers,
        body: text ? (JSON.parse(text) as any) : null,
      }
    }

    const tokenConnector = (name: string, breaker?: { threshold: number }) =>
      tokenConnection(
        server,
        tokens.url,
        name,
        breaker ? { breaker: { ...breaker, cooldownSeconds: 3600 } } : {},
      )

    beforeAll(async () => {
      requireBuild()
      tokens = await startTokenServer()
      server = await startServerProcess({
        adminKey,
        env,
        workers: 2,
        name: `--workers 2 (${kind})`,
      })
      await pollUntil('two workers', () => childrenOf(server.pid).length === 2)
    })
    afterAll(async () => {
      await server?.stop(10_000)
      await tokens?.close()
      await fresh.close()
      if (kind === 'postgres') await dropTestSchema(schema)
    })

    it('runs its workers with single-threaded GC when they fill the cores, and not otherwise', () => {
      const fillsCores = 2 >= availableParallelism()
      for (const pid of childrenOf(server.pid)) {
        const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')
        expect(argv.includes('--single-threaded-gc')).toBe(fillsCores)
      }
      expect(workerExecArgv(4, 4)).toContain('--single-threaded-gc')
      expect(workerExecArgv(2, 4)).not.toContain('--single-threaded-gc')
    })

    it('serves from both workers', async () => {
      const workers = childrenOf(server.pid)
      const before = workers.map(cpuTicks)
      const answers = await Promise.all(
        Array.from({ length: 300 }, () => call('GET', '/api/v1/connectors?limit=5')),
      )
      expect(answers.every((a) => a.status === 200)).toBe(true)
      const used = workers.map((pid, i) => cpuTicks(pid) - before[i]!)
      // Each worker did a share of the work (a tick is 10 ms of CPU).
      for (const ticks of used) expect(ticks).toBeGreaterThan(0)
    })

    it('makes one token request for a storm of calls on an expired token, across workers', async () => {
      const id = await tokenConnector('Storm')
      const before = tokens.tokenRequests
      tokens.expire()
      const answers = await Promise.all(
        Array.from({ length: 200 }, () =>
          call('POST', `/api/v1/connections/${id}/request`, { method: 'GET', path: 'x' }),
        ),
      )
      expect(
        answers.map((a) => `${a.status} ${a.body?.status}`).filter((s) => s !== '200 200'),
      ).toEqual([])
      expect(tokens.tokenRequests - before).toBe(1)
    })

    it('shares one breaker between the workers', async () => {
      const id = await tokenConnector('Breaker', { threshold: 3 })
      tokens.route('GET', '/protected/down', () => ({ status: 500, body: { error: 'down' } }))
      const seen = () => tokens.requestsTo('/protected/down').length
      for (let i = 0; i < 3; i++)
        expect(
          (await call('POST', `/api/v1/connections/${id}/request`, { path: 'down' })).body.status,
        ).toBe(500)
      expect(seen()).toBe(3)
      const after = await Promise.all(
        Array.from({ length: 20 }, () =>
          call('POST', `/api/v1/connections/${id}/request`, { path: 'down' }),
        ),
      )
      expect(after.map((a) => a.status)).toEqual(Array<number>(20).fill(503))
      expect(seen()).toBe(3)
    })

    it('keeps a UI session valid in every worker', async () => {
      const signIn = await call(
        'POST',
        '/ui/session',
        { adminKey },
        { authorization: '', origin: server.url },
      )
      expect(signIn.status).toBe(201)
      const cookie = String(signIn.headers['set-cookie']).split(';')[0]!
      const reads = await Promise.all(
        Array.from({ length: 30 }, () =>
          call('GET', '/ui/session', undefined, { authorization: '', cookie }),
        ),
      )
      expect(reads.map((r) => r.status)).toEqual(Array<number>(30).fill(200))
    })

    it('replaces a worker that dies, and serves on', async () => {
      const [victim, other] = childrenOf(server.pid)
      process.kill(victim!, 'SIGKILL')
      const now = await pollUntil('a new worker', () => {
        const pids = childrenOf(server.pid)
        return pids.length === 2 && !pids.includes(victim!) ? pids : undefined
      })
      expect(now).toContain(other)
      const answers = await Promise.all(Array.from({ length: 50 }, () => call('GET', '/healthz')))
      expect(answers.map((a) => a.status)).toEqual(Array<number>(50).fill(200))
    })

    it('lets a call in flight finish on SIGTERM, then every process exits', async () => {
      const id = await tokenConnector('Slow')
      tokens.route('GET', '/protected/slow', async () => {
        await new Promise((r) => setTimeout(r, 1000))
        return { status: 200, body: { slow: true } }
      })
      const workers = childrenOf(server.pid)
      const inFlight = call('POST', `/api/v1/connections/${id}/request`, { path: 'slow' })
      await pollUntil(
        'the call to reach the API',
        () => tokens.requestsTo('/protected/slow').length === 1,
      )
      process.kill(server.pid, 'SIGTERM')
      const answer = await inFlight
      expect(answer.status).toBe(200)
      expect(answer.body).toMatchObject({ status: 200, body: { slow: true } })
      expect(await server.exited).toEqual({ code: 0, signal: null })
      for (const pid of workers) expect(() => process.kill(pid, 0)).toThrow()
      // Its log entry was written before the worker exited.
      const again = await startServerProcess({ adminKey, env, name: 'after' })
      try {
        const logs = await again.api('GET', `/api/v1/logs?connection=${id}`)
        expect(logs.body.items.map((l: any) => l.status)).toContain(200)
      } finally {
        await again.stop()
      }
    })
  })
}
