// @ts-check
/**
 * Flat at scale: the cost of a call and of a list page with 10 connections in the database, then
 * with `--connections` (default 100,000), on one `patchbay serve --workers 1` (SQLite, or
 * PostgreSQL with `--store postgres`), and the server's resident memory under load.
 *
 * - a call: `GET /proxy/:id/small` on one connection, sequentially (p50 and p99 of `--calls`), and
 *   the same on a random connection each time (where the process has not kept it ready);
 * - a list page: `GET /api/v1/connections?limit=10` (as many rows as the small database holds, so
 *   the two figures compare pages of the same size), the first page and a page deep inside;
 * - memory: the server's largest RSS while 32 connections keep it busy (Linux `/proc`).
 *
 * The extra connections are created through the library (`createPatchbay` on the same data folder
 * and key), in batches, while the server runs.
 *
 * @module
 */
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer as createNetServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import process from 'node:process'
import { clearInterval, setInterval, setTimeout } from 'node:timers'
import { URL, fileURLToPath } from 'node:url'
import { Pool } from 'undici'
import { createPatchbay } from '../dist/index.js'
import { UsageError, fixed, integer, patchbayArgs, percentile } from './stats.js'

const HERE = fileURLToPath(new URL('.', import.meta.url))
const TOKEN = `up_${randomBytes(12).toString('hex')}`
const ADMIN_KEY = `pbk_bench_${randomBytes(16).toString('hex')}`
const SECRET_KEY = randomBytes(32).toString('base64')

export const USAGE = `Usage: node bench/scale.js [options]   (after npm run build)

  --connections N   connections in the large database (default 100000)
  --calls N         calls per measurement (default 2000)
  --store S         sqlite (default) or postgres
  --json            JSON alone on stdout`

/** @param {string[]} argv */
export function parseOptions(argv) {
  /** @type {Record<string, string | undefined>} */
  const raw = {}
  let json = false
  for (let i = 0; i < argv.length; i++) {
    const arg = /** @type {string} */ (argv[i])
    if (arg === '--json') json = true
    else if (arg.startsWith('--')) raw[arg.slice(2)] = argv[++i]
    else throw new UsageError(`unknown argument "${arg}"`)
  }
  for (const key of Object.keys(raw))
    if (!['connections', 'calls', 'store'].includes(key))
      throw new UsageError(`unknown option --${key}`)
  const store = raw.store ?? 'sqlite'
  if (store !== 'sqlite' && store !== 'postgres')
    throw new UsageError('--store is sqlite or postgres')
  return {
    connections: integer(raw, 'connections', 100_000, 11, 10_000_000),
    calls: integer(raw, 'calls', 2000, 100, 1_000_000),
    store,
    json,
  }
}

/** @type {Set<import('node:child_process').ChildProcess>} */
const children = new Set()

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createNetServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0))
    })
  })
}

/** @param {number} pid */
function rssMb(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? NaN) / 1024
}

/**
 * @param {Pool} pool
 * @param {() => string} path
 * @param {number} calls
 */
async function sequential(pool, path, calls) {
  const latencies = new Float64Array(calls)
  for (let i = 0; i < calls; i++) {
    const started = performance.now()
    const res = await pool.request({
      method: 'GET',
      path: path(),
      headers: { authorization: `Bearer ${ADMIN_KEY}` },
    })
    await res.body.dump()
    if (res.statusCode !== 200) throw new Error(`${path()} answered ${res.statusCode}`)
    latencies[i] = performance.now() - started
  }
  latencies.sort()
  return { p50: fixed(percentile(latencies, 0.5), 3), p99: fixed(percentile(latencies, 0.99), 3) }
}

/**
 * 32 calls kept in flight for `ms`; the largest RSS of `pid` seen meanwhile.
 * @param {Pool} pool
 * @param {string} path
 * @param {number} pid
 * @param {number} ms
 */
async function underLoad(pool, path, pid, ms) {
  let most = rssMb(pid)
  const end = performance.now() + ms
  const sampler = setInterval(() => (most = Math.max(most, rssMb(pid))), 100)
  let calls = 0
  await Promise.all(
    Array.from({ length: 32 }, async () => {
      while (performance.now() < end) {
        const res = await pool.request({
          method: 'GET',
          path,
          headers: { authorization: `Bearer ${ADMIN_KEY}` },
        })
        await res.body.dump()
        calls++
      }
    }),
  )
  clearInterval(sampler)
  return { rssMb: fixed(Math.max(most, rssMb(pid)), 1), rps: fixed(calls / (ms / 1000), 0) }
}

/** @param {string[]} argv */
export async function main(argv) {
  let options
  try {
    options = parseOptions(argv)
  } catch (err) {
    if (!(err instanceof UsageError)) throw err
    process.stderr.write(`${err.message}\n\n${USAGE}\n`)
    return 2
  }
  const say = (/** @type {string} */ line) => process.stderr.write(`${line}\n`)
  const dataDir = mkdtempSync(join(tmpdir(), 'patchbay-scale-'))
  const schema = `pb_scale_${randomBytes(4).toString('hex')}`
  const databaseUrl =
    process.env.PATCHBAY_TEST_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test'
  const env = {
    PATCHBAY_DATA_DIR: dataDir,
    PATCHBAY_ADMIN_KEY: ADMIN_KEY,
    PATCHBAY_SECRET_KEY: SECRET_KEY,
    PATCHBAY_ALLOW_PRIVATE_NETWORK: 'true',
    PATCHBAY_LOG_LEVEL: 'silent',
    ...(options.store === 'postgres'
      ? { PATCHBAY_DATABASE_URL: databaseUrl, PATCHBAY_DATABASE_SCHEMA: schema }
      : {}),
  }
  try {
    const upstreamPort = await new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [join(HERE, 'anchors', 'upstream.js')], {
        env: { ...process.env, BENCH_TOKEN: TOKEN },
        stdio: ['ignore', 'pipe', 'inherit'],
      })
      children.add(child)
      child.once('exit', () => reject(new Error('the upstream exited')))
      child.stdout?.once('data', (c) => resolve(JSON.parse(String(c)).port))
    })
    const port = await freePort()
    const server = spawn(
      process.execPath,
      patchbayArgs('serve', '--port', String(port), '--host', '127.0.0.1', '--workers', '1'),
      { env: { ...process.env, ...env }, stdio: 'ignore' },
    )
    children.add(server)
    let pool = new Pool(`http://127.0.0.1:${port}`, { connections: 32 })
    for (let i = 0; ; i++) {
      try {
        const res = await pool.request({ method: 'GET', path: '/readyz' })
        await res.body.dump()
        if (res.statusCode === 200) break
      } catch {
        if (i > 400) throw new Error('patchbay serve did not start')
      }
      await new Promise((r) => setTimeout(r, 50))
    }
    // The library on the same data folder and key, to create connections fast.
    const pb = await createPatchbay({ env, refreshIntervalMs: 0, purgeIntervalMs: 0 })
    const connector = await pb.connectors.create({
      name: 'Scale Upstream',
      baseUrl: `http://127.0.0.1:${upstreamPort}/`,
      auth: { type: 'bearer', prefix: 'Bearer' },
      customAction: { enabled: true },
    })
    await pb.connectors.ready(connector.id)
    /** @type {string[]} */
    const ids = []
    const grow = async (/** @type {number} */ to) => {
      while (ids.length < to) {
        const batch = Math.min(500, to - ids.length)
        const made = await Promise.all(
          Array.from({ length: batch }, (_, i) =>
            pb.connections.create({
              connector: connector.id,
              name: `c${ids.length + i}`,
              endUser: `user_${String(ids.length + i).padStart(7, '0')}`,
              values: { token: TOKEN },
            }),
          ),
        )
        ids.push(...made.map((c) => c.id))
        if (ids.length % 10_000 === 0) say(`  ${ids.length.toLocaleString('en')} connections`)
      }
    }
    const hot = () => `/proxy/${ids[0]}/small`
    const measure = async (/** @type {number} */ count) => {
      say(`measuring with ${count.toLocaleString('en')} connections…`)
      // Warm-up of every path measured, so the first database is not measured on a cold process.
      await sequential(pool, hot, 1000)
      await sequential(pool, () => '/api/v1/connections?limit=10', 500)
      const call = await sequential(pool, hot, options.calls)
      const random = await sequential(
        pool,
        () => `/proxy/${ids[Math.floor(Math.random() * ids.length)]}/small`,
        options.calls,
      )
      const listFirst = await sequential(pool, () => '/api/v1/connections?limit=10', 200)
      // A page deep inside: the cursor of the page before it, from a walk of a few pages.
      let cursor
      for (let i = 0; i < Math.min(20, Math.floor(count / 10) - 1); i++) {
        const res = await pool.request({
          method: 'GET',
          path: `/api/v1/connections?limit=10${cursor ? `&cursor=${cursor}` : ''}`,
          headers: { authorization: `Bearer ${ADMIN_KEY}` },
        })
        cursor = /** @type {any} */ (await res.body.json()).nextCursor
      }
      const listDeep = await sequential(
        pool,
        () => `/api/v1/connections?limit=10${cursor ? `&cursor=${cursor}` : ''}`,
        200,
      )
      const load = await underLoad(pool, hot(), /** @type {number} */ (server.pid), 5000)
      return { connections: count, call, randomCall: random, listFirst, listDeep, load }
    }
    await grow(10)
    const small = await measure(10)
    say(`creating ${options.connections.toLocaleString('en')} connections…`)
    const started = performance.now()
    await grow(options.connections)
    say(`  took ${fixed((performance.now() - started) / 1000, 1)} s`)
    // Growing kept this event loop busy past the server's keep-alive timeout: the pool's sockets
    // may be closed without the pool having seen it yet.
    await pool.close()
    pool = new Pool(`http://127.0.0.1:${port}`, { connections: 32 })
    const large = await measure(options.connections)
    await pb.close()
    await pool.close()
    const ratio = (/** @type {number} */ a, /** @type {number} */ b) => fixed(a / b, 2)
    const report = {
      store: options.store,
      small,
      large,
      ratios: {
        callP50: ratio(large.call.p50, small.call.p50),
        listFirstP50: ratio(large.listFirst.p50, small.listFirst.p50),
        listDeepP50: ratio(large.listDeep.p50, small.listDeep.p50),
      },
      maxRssMb: Math.max(small.load.rssMb, large.load.rssMb),
    }
    if (options.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`)
    else {
      const row = (/** @type {any} */ m) =>
        `  ${m.connections.toLocaleString('en').padStart(9)}   call p50 ${m.call.p50.toFixed(3)} ms (p99 ${m.call.p99.toFixed(3)})   random connection p50 ${m.randomCall.p50.toFixed(3)} ms   list page p50 ${m.listFirst.p50.toFixed(3)} ms (deep ${m.listDeep.p50.toFixed(3)})   RSS under load ${m.load.rssMb} MB`
      process.stdout.write(
        [
          `Scale (${options.store}, one process):`,
          row(small),
          row(large),
          `  ${options.connections.toLocaleString('en')} vs 10: call ${report.ratios.callP50}×, list page ${report.ratios.listFirstP50}× (deep ${report.ratios.listDeepP50}×); largest RSS ${report.maxRssMb} MB`,
        ].join('\n') + '\n',
      )
    }
    return 0
  } finally {
    for (const child of children) child.kill('SIGKILL')
    rmSync(dataDir, { recursive: true, force: true })
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  process.exitCode = await main(process.argv.slice(2))
}
