// @ts-check
/**
 * The refresh storm (docs/pipeline.md): N real `patchbay serve` processes on one database, M
 * concurrent calls through each on an OAuth 2.0 connection whose access token the API has just
 * expired. Reports the token requests the storm caused (must be exactly 1, or the run fails) and
 * the latency of the calls, against a baseline of the same calls with a fresh token, in rounds.
 * See bench/README.md ("Refresh storm") for how to read it.
 *
 * The store is PostgreSQL when one answers (a fresh schema, dropped afterwards), else SQLite: the
 * processes share one temporary data folder. Plain JavaScript over the compiled CLI
 * (`dist/cli/main.js`), so `npm run build` is the only build.
 *
 *   node bench/refresh-storm.js [--processes N] [--calls M] [--rounds R] [--store auto|postgres|sqlite] [--json]
 *
 * @module
 */
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:http'
import { createServer as createNetServer } from 'node:net'
import { cpus, platform, arch, tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import process from 'node:process'
import { clearTimeout, setTimeout } from 'node:timers'
import { URL, fileURLToPath } from 'node:url'
import pg from 'pg'
import { Pool, fetch, request } from 'undici'
import { MAIN, UsageError, fixed, integer, median, patchbayArgs, percentile } from './stats.js'

const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/test'
/** About 200 bytes of JSON, like the proxy benchmark's small answer. */
const BODY = JSON.stringify({
  id: 'ord_01HZX3K9Q7B2M4N6P8R0S2T4V6',
  object: 'order',
  status: 'paid',
  amount: 4200,
  currency: 'eur',
  customer: { id: 'cus_9f8e7d6c5b4a', email: 'ada@example.com' },
  created: 1_700_000_000,
  tags: ['bench', 'storm'],
})

/**
 * @typedef {object} StormOptions
 * @property {number} processes
 * @property {number} calls Concurrent calls per process in each phase.
 * @property {number} rounds
 * @property {'auto' | 'postgres' | 'sqlite'} store
 * @property {string} databaseUrl
 * @property {boolean} json
 */
/**
 * @typedef {object} PhaseResult
 * @property {number} calls
 * @property {number} seconds Wall time, first call sent → last answer read.
 * @property {number} p50 Latency in ms, call sent → answer fully read.
 * @property {number} p90
 * @property {number} p99
 * @property {number} max
 * @property {number} tokenRequests Token requests the authorization server received meanwhile.
 * @property {number} refreshed Calls whose envelope says a refresh happened (they met the 401, or
 *   waited for the refresh another call had under way).
 * @property {number} refused API requests answered 401: calls sent with the old token.
 * @property {number} refreshMs The refresh as the API saw it: first 401 → first call with the new
 *   token, ms (0 without a 401).
 */
/**
 * @typedef {object} ServerProcess
 * @property {string} url
 * @property {number} pid
 * @property {() => string} output
 * @property {() => Promise<void>} stop
 */

export const USAGE = `Usage: node bench/refresh-storm.js [options]   (after npm run build)

  --processes N     patchbay serve processes on one database (env BENCH_STORM_PROCESSES, default 4)
  --calls M         concurrent calls per process in each phase (env BENCH_STORM_CALLS, default 250)
  --rounds R        rounds of baseline and storm, in alternating order (env BENCH_STORM_ROUNDS,
                    default 4)
  --store S         auto | postgres | sqlite (env BENCH_STORM_STORE, default auto: PostgreSQL
                    when --database-url answers, else SQLite processes on one data folder)
  --database-url U  PostgreSQL (env BENCH_DATABASE_URL, else PATCHBAY_TEST_DATABASE_URL, else
                    ${DEFAULT_DATABASE_URL}); a fresh schema is created and dropped
  --json            print one JSON document on stdout instead of the table (env BENCH_JSON=1)
  --help
`

/**
 * Flags win over the environment, which wins over the defaults.
 *
 * @param {string[]} argv
 * @param {NodeJS.ProcessEnv} env
 * @returns {StormOptions | { help: true }}
 */
export function parseOptions(argv, env) {
  /** @type {Record<string, string | undefined>} */
  const raw = {
    processes: env.BENCH_STORM_PROCESSES,
    calls: env.BENCH_STORM_CALLS,
    rounds: env.BENCH_STORM_ROUNDS,
    store: env.BENCH_STORM_STORE,
    'database-url':
      env.BENCH_DATABASE_URL || env.PATCHBAY_TEST_DATABASE_URL || DEFAULT_DATABASE_URL,
  }
  let json = /^(1|true|yes)$/i.test(env.BENCH_JSON ?? '')
  for (let i = 0; i < argv.length; i++) {
    const arg = /** @type {string} */ (argv[i])
    if (arg === '--help' || arg === '-h') return { help: true }
    if (arg === '--json') {
      json = true
      continue
    }
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(arg)
    if (!m || !(/** @type {string} */ (m[1]) in raw)) throw new UsageError(`unknown option ${arg}`)
    const value = m[2] ?? argv[++i]
    if (value === undefined) throw new UsageError(`${arg} needs a value`)
    raw[/** @type {string} */ (m[1])] = value
  }
  const store = raw.store || 'auto'
  if (store !== 'auto' && store !== 'postgres' && store !== 'sqlite')
    throw new UsageError(`--store must be auto, postgres or sqlite, got "${store}"`)
  return {
    processes: integer(raw, 'processes', 4, 1, 64),
    calls: integer(raw, 'calls', 250, 1, 10_000),
    rounds: integer(raw, 'rounds', 4, 1, 100),
    store,
    databaseUrl: /** @type {string} */ (raw['database-url']),
    json,
  }
}

/** @param {import('node:http').Server} server */
async function listen(server) {
  await new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(undefined)))
  const address = /** @type {import('node:net').AddressInfo} */ (server.address())
  return `http://127.0.0.1:${address.port}`
}

/**
 * The authorization server and the API, on loopback. The authorization endpoint approves at once;
 * the token endpoint issues a new access token (and refresh token) on each request and counts
 * them; the API answers 200 only to the newest access token not expired by the bench, else 401.
 */
async function startPeers() {
  let serial = 0
  let newest = ''
  const expired = new Set()
  const counters = { tokenRequests: 0, apiCalls: 0, refused: 0, firstRefusedAt: 0, firstFreshAt: 0 }

  const auth = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x')
    if (req.method === 'GET' && url.pathname === '/authorize') {
      const back = new URL(url.searchParams.get('redirect_uri') ?? '')
      back.searchParams.set('code', `code-${++serial}`)
      back.searchParams.set('state', url.searchParams.get('state') ?? '')
      res.writeHead(302, { location: back.href }).end()
      return
    }
    if (req.method !== 'POST' || url.pathname !== '/token') {
      res.writeHead(404).end()
      return
    }
    req.resume()
    req.on('end', () => {
      counters.tokenRequests++
      serial++
      newest = `at-${serial}-${randomBytes(8).toString('hex')}`
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' })
      res.end(
        JSON.stringify({
          access_token: newest,
          refresh_token: `rt-${serial}`,
          token_type: 'Bearer',
          expires_in: 3600,
        }),
      )
    })
  })

  const api = createServer((req, res) => {
    counters.apiCalls++
    req.resume()
    const token = String(req.headers.authorization ?? '').replace(/^Bearer /, '')
    if (token !== newest || expired.has(token)) {
      counters.refused++
      counters.firstRefusedAt ||= performance.now()
      res.writeHead(401, { 'content-type': 'application/json' })
      res.end('{"error":"invalid_token"}')
      return
    }
    if (counters.firstRefusedAt) counters.firstFreshAt ||= performance.now()
    res.writeHead(200, { 'content-type': 'application/json' })
    res.end(BODY)
  })
  api.keepAliveTimeout = 60_000

  const authUrl = await listen(auth)
  const apiUrl = await listen(api)
  return {
    authUrl,
    apiUrl,
    counters,
    /** The API refuses the current access token from now on, as it would an expired one. */
    expireCurrent: () => void expired.add(newest),
    async close() {
      for (const s of [auth, api]) {
        s.closeAllConnections()
        await new Promise((resolve) => s.close(() => resolve(undefined)))
      }
    },
  }
}

/** A port nothing listens on right now. */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = createNetServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address ? address.port : 0
      server.close(() => resolve(port))
    })
  })
}

/**
 * `patchbay serve` on a free port, ready once `GET /readyz` answers 200.
 *
 * @param {Record<string, string>} settings PATCHBAY_* variables
 * @returns {Promise<ServerProcess>}
 */
async function startProcess(settings) {
  for (let attempt = 0; ; attempt++) {
    const port = /** @type {number} */ (await freePort())
    const url = `http://127.0.0.1:${port}`
    /** @type {NodeJS.ProcessEnv} */
    const env = {}
    for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('PATCHBAY_')) env[k] = v
    const child = spawn(
      process.execPath,
      patchbayArgs('serve', '--port', String(port), '--host', '127.0.0.1', '--workers', '1'),
      { env: { ...env, PATCHBAY_PUBLIC_URL: url, ...settings }, stdio: ['ignore', 'pipe', 'pipe'] },
    )
    let out = ''
    const collect = (/** @type {Buffer} */ chunk) => {
      out = (out + chunk.toString('utf8')).slice(-16_384)
    }
    child.stdout.on('data', collect)
    child.stderr.on('data', collect)
    let alive = true
    const exited = new Promise((resolve) =>
      child.once('exit', () => {
        alive = false
        resolve(undefined)
      }),
    )
    const stop = async () => {
      if (!alive) return
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000)
      await exited
      clearTimeout(timer)
    }
    const deadline = Date.now() + 20_000
    for (;;) {
      if (!alive) break
      try {
        const res = await request(`${url}/readyz`, { headersTimeout: 1_000, bodyTimeout: 1_000 })
        await res.body.dump()
        if (res.statusCode === 200)
          return { url, pid: /** @type {number} */ (child.pid), output: () => out, stop }
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) {
        await stop()
        throw new Error(`patchbay serve on ${url} was not ready within 20 s:\n${out}`)
      }
      await new Promise((resolve) => setTimeout(resolve, 25))
    }
    if (!out.includes('EADDRINUSE') || attempt >= 2)
      throw new Error(`patchbay serve on ${url} exited before it was ready:\n${out}`)
  }
}

/** @param {string} url */
async function postgresAnswers(url) {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3_000 })
  client.on('error', () => {})
  try {
    await client.connect()
    await client.query('SELECT 1')
    return true
  } catch {
    return false
  } finally {
    await client.end().catch(() => {})
  }
}

/** @param {string} url @param {string} schema */
async function dropSchema(url, schema) {
  const client = new pg.Client({ connectionString: url })
  client.on('error', () => {})
  await client.connect()
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)
  } finally {
    await client.end()
  }
}

/**
 * All `pools.length × calls` calls at once, each timed from send to last byte; every one must be
 * HTTP 200 with an upstream status of 200 in its envelope, or the phase throws.
 *
 * @param {Pool[]} pools
 * @param {number} calls per pool
 * @param {{ adminKey: string, connectionId: string }} target
 * @param {{ tokenRequests: number, refused: number, firstRefusedAt: number, firstFreshAt: number }} counters
 * @returns {Promise<PhaseResult>}
 */
async function runPhase(pools, calls, target, counters) {
  const total = pools.length * calls
  const latencies = new Float64Array(total)
  const tokensBefore = counters.tokenRequests
  const refusedBefore = counters.refused
  counters.firstRefusedAt = 0
  counters.firstFreshAt = 0
  let refreshed = 0
  const body = JSON.stringify({ method: 'GET', path: 'orders/1' })
  const started = performance.now()
  await Promise.all(
    Array.from({ length: total }, async (_, i) => {
      const t0 = performance.now()
      const res = await /** @type {Pool} */ (pools[i % pools.length]).request({
        method: 'POST',
        path: `/api/v1/connections/${target.connectionId}/request`,
        headers: { authorization: `Bearer ${target.adminKey}`, 'content-type': 'application/json' },
        body,
      })
      const text = await res.body.text()
      latencies[i] = performance.now() - t0
      /** @type {{ status?: number, refreshed?: boolean }} */
      let envelope = {}
      try {
        envelope = JSON.parse(text)
      } catch {
        // reported below
      }
      if (res.statusCode !== 200 || envelope.status !== 200)
        throw new Error(`a call answered ${res.statusCode}: ${text.slice(0, 300)}`)
      if (envelope.refreshed) refreshed++
    }),
  )
  const seconds = (performance.now() - started) / 1000
  latencies.sort()
  return {
    calls: total,
    seconds: fixed(seconds, 3),
    p50: fixed(percentile(latencies, 0.5), 2),
    p90: fixed(percentile(latencies, 0.9), 2),
    p99: fixed(percentile(latencies, 0.99), 2),
    max: fixed(latencies[latencies.length - 1] ?? NaN, 2),
    tokenRequests: counters.tokenRequests - tokensBefore,
    refreshed,
    refused: counters.refused - refusedBefore,
    refreshMs: counters.firstFreshAt
      ? fixed(counters.firstFreshAt - counters.firstRefusedAt, 1)
      : 0,
  }
}

/**
 * @param {string[]} argv
 * @param {NodeJS.ProcessEnv} env
 * @returns {Promise<number>} the exit code
 */
export async function main(argv, env) {
  /** @type {StormOptions} */
  let options
  try {
    const parsed = parseOptions(argv, env)
    if ('help' in parsed) {
      process.stdout.write(USAGE)
      return 0
    }
    options = parsed
  } catch (err) {
    if (!(err instanceof UsageError)) throw err
    process.stderr.write(`bench: ${err.message}\n\n${USAGE}`)
    return 2
  }
  if (!existsSync(MAIN)) {
    process.stderr.write(`bench: ${MAIN} is missing: run \`npm run build\` first\n`)
    return 2
  }
  const progress = (/** @type {string} */ line) => process.stderr.write(`bench: ${line}\n`)
  let interrupted = false
  const onSigint = () => {
    interrupted = true
  }
  process.once('SIGINT', onSigint)

  const adminKey = `pbk_bench_${randomBytes(24).toString('base64url')}`
  /** @type {Awaited<ReturnType<typeof startPeers>> | undefined} */
  let peers
  /** @type {ServerProcess[]} */
  const processes = []
  /** @type {Pool[]} */
  let pools = []
  /** @type {string | undefined} */
  let dataDir
  /** @type {string | undefined} */
  let schema
  const postgres =
    options.store === 'postgres' ||
    (options.store === 'auto' && (await postgresAnswers(options.databaseUrl)))
  if (options.store === 'postgres' && !(await postgresAnswers(options.databaseUrl))) {
    process.stderr.write(`bench: PostgreSQL at ${redact(options.databaseUrl)} does not answer\n`)
    return 1
  }
  try {
    peers = await startPeers()
    /** @type {Record<string, string>} */
    const settings = {
      PATCHBAY_ADMIN_KEY: adminKey,
      PATCHBAY_SECRET_KEY: randomBytes(32).toString('hex'),
      PATCHBAY_ALLOW_PRIVATE_NETWORK: 'true',
      PATCHBAY_LOG_LEVEL: 'silent',
    }
    if (postgres) {
      schema = `bench_storm_${randomBytes(6).toString('hex')}`
      settings.PATCHBAY_DATABASE_URL = options.databaseUrl
      settings.PATCHBAY_DATABASE_SCHEMA = schema
    } else {
      dataDir = mkdtempSync(join(tmpdir(), 'patchbay-storm-'))
      settings.PATCHBAY_DATA_DIR = dataDir
    }
    const storeLabel = postgres
      ? `PostgreSQL (${redact(options.databaseUrl)}, schema ${schema})`
      : `SQLite (one data folder, ${dataDir})`
    progress(`starting ${options.processes} patchbay serve processes on ${storeLabel}`)
    // The first migrates; the rest start together.
    processes.push(await startProcess(settings))
    const rest = await Promise.allSettled(
      Array.from({ length: options.processes - 1 }, () => startProcess(settings)),
    )
    for (const r of rest) if (r.status === 'fulfilled') processes.push(r.value)
    const failed = rest.find((r) => r.status === 'rejected')
    if (failed) throw failed.reason
    const first = /** @type {ServerProcess} */ (processes[0])

    const call = async (
      /** @type {string} */ method,
      /** @type {string} */ path,
      /** @type {unknown} */ body,
    ) => {
      const res = await fetch(`${first.url}${path}`, {
        method,
        headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      })
      const answer = await res.json()
      if (res.status >= 300)
        throw new Error(`${method} ${path} answered ${res.status}: ${JSON.stringify(answer)}`)
      return answer
    }
    const connector = await call('POST', '/api/v1/connectors', {
      name: 'Storm',
      baseUrl: `${peers.apiUrl}/`,
      auth: {
        type: 'oauth2',
        grantType: 'authorization_code',
        clientId: 'bench-client',
        clientSecret: 'bench-secret',
        authorizationUrl: `${peers.authUrl}/authorize`,
        tokenUrl: `${peers.authUrl}/token`,
        scopes: [{ name: 'Read', value: 'read' }],
      },
      customAction: { enabled: true },
    })
    await call('POST', `/api/v1/connectors/${connector.id}/ready`)
    const created = await call('POST', '/api/v1/connections', { connector: connector.id })
    const approved = await fetch(created.authorizeUrl, { redirect: 'manual' })
    const page = await fetch(/** @type {string} */ (approved.headers.get('location')))
    if (page.status !== 200)
      throw new Error(`authorizing the connection failed: ${await page.text()}`)
    const target = { adminKey, connectionId: /** @type {string} */ (created.id) }

    pools = processes.map((p) => new Pool(p.url, { connections: options.calls, pipelining: 1 }))
    progress('warm-up: one baseline phase and one storm, not reported')
    await runPhase(pools, options.calls, target, peers.counters)
    peers.expireCurrent()
    await runPhase(pools, options.calls, target, peers.counters)

    /** @type {{ baseline: PhaseResult[], storm: PhaseResult[] }} */
    const results = { baseline: [], storm: [] }
    // Odd rounds run the baseline first, even rounds the storm first, so that neither phase is
    // always in the same place: whatever the position in a round costs falls on both alike.
    const { counters, expireCurrent } = peers
    const baseline = async () =>
      results.baseline.push(await runPhase(pools, options.calls, target, counters))
    const storm = async () => {
      expireCurrent()
      results.storm.push(await runPhase(pools, options.calls, target, counters))
    }
    for (let r = 1; r <= options.rounds && !interrupted; r++) {
      const order = r % 2 ? [baseline, storm] : [storm, baseline]
      progress(
        `round ${r}/${options.rounds}: ${options.processes} × ${options.calls} calls, ` +
          (r % 2 ? 'fresh token then expired' : 'expired token then fresh'),
      )
      for (const phase of order) await phase()
    }
    if (interrupted) throw new Error('interrupted')

    const report = summarize(options, storeLabel, results)
    process.stdout.write(options.json ? JSON.stringify(report, null, 2) + '\n' : render(report))
    const bad =
      results.storm.filter((s) => s.tokenRequests !== 1).length +
      results.baseline.filter((b) => b.tokenRequests !== 0).length
    if (bad) {
      process.stderr.write(
        'bench: FAILED: a storm made other than exactly one token request (or a baseline made any)\n',
      )
      return 1
    }
    return 0
  } catch (err) {
    process.stderr.write(
      `bench: ${interrupted ? 'stopped' : 'failed'}: ${err instanceof Error ? err.message : String(err)}\n`,
    )
    return interrupted ? 130 : 1
  } finally {
    process.off('SIGINT', onSigint)
    await Promise.allSettled(pools.map((p) => p.close()))
    await Promise.allSettled(processes.map((p) => p.stop()))
    await peers?.close()
    if (dataDir) rmSync(dataDir, { recursive: true, force: true })
    if (schema) await dropSchema(options.databaseUrl, schema).catch(() => {})
  }
}

/** @param {string} url */
function redact(url) {
  try {
    const u = new URL(url)
    if (u.password) u.password = '*****'
    return u.toString()
  } catch {
    return '(unparseable URL)'
  }
}

/**
 * Medians across rounds; ratios are storm over baseline paired within each round, then the median.
 *
 * @param {StormOptions} options
 * @param {string} store
 * @param {{ baseline: PhaseResult[], storm: PhaseResult[] }} results
 */
function summarize(options, store, results) {
  /** @param {PhaseResult[]} rounds */
  const summary = (rounds) => ({
    p50: fixed(median(rounds.map((r) => r.p50)), 2),
    p90: fixed(median(rounds.map((r) => r.p90)), 2),
    p99: fixed(median(rounds.map((r) => r.p99)), 2),
    max: fixed(median(rounds.map((r) => r.max)), 2),
    seconds: fixed(median(rounds.map((r) => r.seconds)), 3),
    tokenRequests: rounds.map((r) => r.tokenRequests),
    refreshed: rounds.map((r) => r.refreshed),
    refused: rounds.map((r) => r.refused),
    refreshMs: fixed(median(rounds.map((r) => r.refreshMs)), 1),
  })
  /** @param {'p50' | 'p90' | 'p99' | 'seconds'} key */
  const ratio = (key) =>
    fixed(
      median(
        results.storm.map((s, i) => s[key] / /** @type {PhaseResult} */ (results.baseline[i])[key]),
      ),
      2,
    )
  return {
    config: {
      processes: options.processes,
      callsPerProcess: options.calls,
      callsPerPhase: options.processes * options.calls,
      rounds: options.rounds,
      store,
    },
    environment: {
      node: process.version,
      platform: `${platform()} ${arch()}`,
      cpus: cpus().length,
      cpu: cpus()[0]?.model ?? 'unknown',
    },
    results: {
      baseline: { median: summary(results.baseline), rounds: results.baseline },
      storm: { median: summary(results.storm), rounds: results.storm },
    },
    comparison: {
      p50: ratio('p50'),
      p90: ratio('p90'),
      p99: ratio('p99'),
      seconds: ratio('seconds'),
    },
  }
}

/** @param {ReturnType<typeof summarize>} report */
function render(report) {
  const { config, environment, results, comparison } = report
  const row = (
    /** @type {string} */ label,
    /** @type {ReturnType<typeof summarize>['results']['storm']['median']} */ m,
  ) =>
    `  ${label.padEnd(24)}${m.p50.toFixed(1).padStart(9)}${m.p90.toFixed(1).padStart(9)}${m.p99.toFixed(1).padStart(9)}` +
    `${m.max.toFixed(1).padStart(9)}${m.seconds.toFixed(2).padStart(9)}   ${m.tokenRequests.join(', ')}`
  const x = (/** @type {number} */ r) => `${r.toFixed(2)}×`.padStart(9)
  return [
    `refresh storm: ${config.processes} processes × ${config.callsPerProcess} concurrent calls = ${config.callsPerPhase} per phase, ${config.rounds} rounds`,
    `store: ${config.store}; ${environment.cpus} × ${environment.cpu}, Node ${environment.node}`,
    '',
    `  ${''.padEnd(24)}${'p50 ms'.padStart(9)}${'p90 ms'.padStart(9)}${'p99 ms'.padStart(9)}${'max ms'.padStart(9)}${'wall s'.padStart(9)}   token requests per round`,
    row('fresh token (baseline)', results.baseline.median),
    row('expired token (storm)', results.storm.median),
    `  ${'storm / baseline'.padEnd(24)}${x(comparison.p50)}${x(comparison.p90)}${x(comparison.p99)}${''.padStart(9)}${x(comparison.seconds)}`,
    '',
    `Calls sent with the refused token (answered 401), per storm: ${results.storm.median.refused.join(', ')} of ${config.callsPerPhase}; with a refresh, ${results.storm.median.refreshed.join(', ')}.`,
    `The refresh took ${results.storm.median.refreshMs} ms (median; first 401 → first call with the new token); storm p99 ${results.storm.median.p99.toFixed(1)} ms against fresh p99 + refresh + 50 ms = ${(results.baseline.median.p99 + results.storm.median.refreshMs + 50).toFixed(1)} ms.`,
    'Figures are medians across rounds; ratios are paired within each round, then the median.',
    '',
  ].join('\n')
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  process.exitCode = await main(process.argv.slice(2), process.env)
  // Everything the bench started is closed by now; should a handle still linger, say so and leave.
  setTimeout(() => {
    process.stderr.write('bench: a handle kept the process alive after the run; exiting\n')
    process.exit()
  }, 3_000).unref()
}
