// @ts-check
/**
 * What a call through Patchbay costs, against the anchors, in one run on the same upstream:
 *
 * - `direct` — the upstream itself (`anchors/upstream.js`, or nginx when it is installed);
 * - `node-limit` — `node:http` + an undici `Pool` adding one header: the ceiling for any Node
 *   proxy (`anchors/node-limit.js`);
 * - `express-axios` — the most used open-source peer's shape (`anchors/express-axios.js`);
 * - `patchbay` — `patchbay serve --workers 1`, and `patchbay ×2` — `--workers 2`: a bearer
 *   connector and one connection on a fresh SQLite data folder (or PostgreSQL with `--store`).
 *
 * Each runs the streaming proxy shape (`GET /proxy/:id/small`) and the JSON envelope shape
 * (`POST …/request` `{ method, path }`), at each concurrency, for `--duration` seconds, in
 * `--rounds` rounds that interleave the legs. The load comes from `wrk` when it is installed (a
 * C load generator that leaves the cores to the servers), else from an undici client in a worker
 * thread. Every answer is checked before timing; an error answer while timing fails the run.
 * Figures are medians across rounds, and Patchbay's are printed as ratios to the node limit.
 *
 * @module
 */
import { spawn, spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer as createNetServer } from 'node:net'
import { cpus, tmpdir } from 'node:os'
import { join } from 'node:path'
import process from 'node:process'
import { setTimeout } from 'node:timers'
import { URL, fileURLToPath } from 'node:url'
import { Worker } from 'node:worker_threads'
import { request } from 'undici'
import { REQUEST_BODY, SMALL_BODY } from './anchors/shared.js'
import { UsageError, fixed, integer, median, patchbayArgs } from './stats.js'

const HERE = fileURLToPath(new URL('.', import.meta.url))
const TOKEN = `up_${randomBytes(12).toString('hex')}`
const ADMIN_KEY = `pbk_bench_${randomBytes(16).toString('hex')}`

export const USAGE = `Usage: node bench/hot-path.js [options]   (after npm run build)

  --duration S       seconds per measurement (default 6)
  --rounds R         rounds over all legs (default 2)
  --concurrency LIST connections kept busy, comma-separated (default 1,32)
  --workers LIST     Patchbay worker counts to measure (default 1,2)
  --store S          sqlite (default) or postgres (PATCHBAY_TEST_DATABASE_URL or the local test db)
  --load L           auto (default: wrk when installed), wrk, or node
  --json             JSON alone on stdout`

/**
 * @typedef {object} HotPathOptions
 * @property {number} duration
 * @property {number} rounds
 * @property {number[]} concurrency
 * @property {number[]} workers
 * @property {'sqlite' | 'postgres'} store
 * @property {'wrk' | 'node'} load
 * @property {boolean} json
 */

/**
 * @param {string[]} argv
 * @returns {HotPathOptions}
 */
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
    if (!['duration', 'rounds', 'concurrency', 'workers', 'store', 'load'].includes(key))
      throw new UsageError(`unknown option --${key}`)
  const list = (/** @type {string} */ name, /** @type {string} */ fallback) =>
    (raw[name] ?? fallback).split(',').map((v) => {
      const n = Number(v)
      if (!Number.isInteger(n) || n < 1 || n > 1024)
        throw new UsageError(`--${name} takes integers from 1 to 1024, got "${v}"`)
      return n
    })
  const store = raw.store ?? 'sqlite'
  if (store !== 'sqlite' && store !== 'postgres')
    throw new UsageError('--store is sqlite or postgres')
  const hasWrk = spawnSync('wrk', ['--version']).error === undefined
  const load = raw.load ?? (hasWrk ? 'wrk' : 'node')
  if (load !== 'wrk' && load !== 'node') throw new UsageError('--load is auto, wrk or node')
  if (load === 'wrk' && !hasWrk) throw new UsageError('--load wrk: wrk is not installed')
  return {
    duration: integer(raw, 'duration', 6, 1, 600),
    rounds: integer(raw, 'rounds', 2, 1, 20),
    concurrency: list('concurrency', '1,32'),
    workers: list('workers', '1,2'),
    store,
    load,
    json,
  }
}

// ------------------------------------------------------------------------------------------------
// Processes

/** @type {Set<import('node:child_process').ChildProcess>} */
const children = new Set()

/** A port nothing listens on right now. */
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

/**
 * Starts a node script that prints `{"port":…}` when it listens.
 * @param {string} script
 * @param {Record<string, string>} env
 * @returns {Promise<number>}
 */
function startAnchor(script, env) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(HERE, 'anchors', script)], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    children.add(child)
    child.once('exit', (code) => reject(new Error(`${script} exited (${code}) before listening`)))
    child.stdout?.once('data', (chunk) => resolve(JSON.parse(String(chunk)).port))
  })
}

/**
 * nginx as the upstream, when installed: it costs a fraction of a core per 10,000 answers, so the
 * legs measure the proxies, not the upstream.
 * @returns {Promise<number | undefined>}
 */
async function startNginx() {
  if (spawnSync('nginx', ['-v']).error !== undefined) return undefined
  const port = await freePort()
  const dir = mkdtempSync(join(tmpdir(), 'patchbay-bench-nginx-'))
  const conf = `daemon off; worker_processes 1; pid ${dir}/nginx.pid; error_log ${dir}/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  keepalive_timeout 60s;
  client_body_temp_path ${dir}; proxy_temp_path ${dir}; fastcgi_temp_path ${dir};
  uwsgi_temp_path ${dir}; scgi_temp_path ${dir};
  server {
    listen 127.0.0.1:${port};
    location = /small {
      if ($http_authorization != "Bearer ${TOKEN}") { return 401 "{}"; }
      default_type application/json;
      return 200 '${SMALL_BODY}';
    }
  }
}`
  writeFileSync(join(dir, 'nginx.conf'), conf)
  const child = spawn('nginx', ['-c', join(dir, 'nginx.conf'), '-p', dir], { stdio: 'ignore' })
  children.add(child)
  for (let i = 0; i < 100; i++) {
    try {
      const res = await request(`http://127.0.0.1:${port}/small`, {
        headers: { authorization: `Bearer ${TOKEN}` },
      })
      await res.body.dump()
      if (res.statusCode === 200) return port
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error('nginx did not start')
}

/**
 * `patchbay serve --workers N` on a fresh data folder, with one bearer connector and connection.
 * @param {number} workers
 * @param {number} upstreamPort
 * @param {HotPathOptions} options
 */
async function startPatchbay(workers, upstreamPort, options) {
  const port = await freePort()
  const dataDir = mkdtempSync(join(tmpdir(), 'patchbay-bench-'))
  const schema = `pb_bench_${randomBytes(4).toString('hex')}`
  const databaseUrl =
    process.env.PATCHBAY_TEST_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test'
  const child = spawn(
    process.execPath,
    patchbayArgs(
      'serve',
      '--port',
      String(port),
      '--host',
      '127.0.0.1',
      '--workers',
      String(workers),
    ),
    {
      env: {
        ...process.env,
        PATCHBAY_DATA_DIR: dataDir,
        PATCHBAY_ADMIN_KEY: ADMIN_KEY,
        PATCHBAY_ALLOW_PRIVATE_NETWORK: 'true',
        PATCHBAY_LOG_LEVEL: 'silent',
        ...(options.store === 'postgres'
          ? { PATCHBAY_DATABASE_URL: databaseUrl, PATCHBAY_DATABASE_SCHEMA: schema }
          : {}),
      },
      stdio: 'ignore',
    },
  )
  children.add(child)
  const url = `http://127.0.0.1:${port}`
  const api = async (/** @type {string} */ method, /** @type {string} */ path, body) => {
    const res = await request(`${url}${path}`, {
      method: /** @type {'GET'} */ (method),
      headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    })
    return /** @type {any} */ (await res.body.json())
  }
  for (let i = 0; ; i++) {
    try {
      const res = await request(`${url}/readyz`)
      await res.body.dump()
      if (res.statusCode === 200) break
    } catch {
      if (i > 400) throw new Error('patchbay serve did not start')
    }
    await new Promise((r) => setTimeout(r, 50))
  }
  const connector = await api('POST', '/api/v1/connectors', {
    name: 'Bench Upstream',
    baseUrl: `http://127.0.0.1:${upstreamPort}/`,
    auth: { type: 'bearer', prefix: 'Bearer' },
    customAction: { enabled: true },
  })
  await api('POST', `/api/v1/connectors/${connector.id}/ready`)
  const connection = await api('POST', '/api/v1/connections', {
    connector: connector.id,
    values: { token: TOKEN },
  })
  return {
    url,
    connectionId: /** @type {string} */ (connection.id),
    async stop() {
      const exited = new Promise((r) => child.once('exit', r))
      child.kill('SIGTERM')
      await exited
      children.delete(child)
      rmSync(dataDir, { recursive: true, force: true })
    },
  }
}

// SIGTERM, not SIGKILL: nginx's master stops its workers on SIGTERM, and killed outright it
// leaves them running.
function stopAll() {
  for (const child of children) child.kill('SIGTERM')
}

// ------------------------------------------------------------------------------------------------
// Load

/**
 * @typedef {object} Target
 * @property {string} url
 * @property {'GET' | 'POST'} method
 * @property {Record<string, string>} headers
 * @property {string} [body]
 */
/**
 * @typedef {object} Measured
 * @property {number} rps
 * @property {number} p50 ms
 * @property {number} p99 ms
 */

/** @param {string} text e.g. `1.23ms`, `850.00us`, `1.02s` */
function ms(text) {
  const m = /^([\d.]+)(us|ms|s)$/.exec(text.trim())
  if (!m) return NaN
  const n = Number(m[1])
  return m[2] === 'us' ? n / 1000 : m[2] === 's' ? n * 1000 : n
}

/**
 * @param {Target} target
 * @param {number} connections
 * @param {number} seconds
 * @returns {Promise<Measured>}
 */
async function wrk(target, connections, seconds) {
  const dir = mkdtempSync(join(tmpdir(), 'patchbay-bench-wrk-'))
  const script = join(dir, 'request.lua')
  const headers = Object.entries(target.headers)
    .map(([k, v]) => `wrk.headers[${JSON.stringify(k)}] = ${JSON.stringify(v)}`)
    .join('\n')
  writeFileSync(
    script,
    `wrk.method = "${target.method}"\n${headers}\n${target.body ? `wrk.body = ${JSON.stringify(target.body)}` : ''}\n`,
  )
  const out = await new Promise((resolve, reject) => {
    const child = spawn(
      'wrk',
      ['-t1', `-c${connections}`, `-d${seconds}s`, '--latency', '-s', script, target.url],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    )
    let text = ''
    child.stdout.on('data', (c) => (text += c))
    child.once('exit', (code) => (code === 0 ? resolve(text) : reject(new Error(`wrk: ${code}`))))
  })
  rmSync(dir, { recursive: true, force: true })
  const text = /** @type {string} */ (out)
  const bad = /Non-2xx or 3xx responses: (\d+)/.exec(text)
  if (bad) throw new Error(`${target.url}: ${bad[1]} answers were not 2xx while timing`)
  const errors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text)
  if (errors && errors.slice(1).some((n) => Number(n) > 0))
    throw new Error(`${target.url}: socket errors while timing (${errors[0]})`)
  return {
    rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(text)?.[1]),
    p50: ms(/ 50%\s+(\S+)/.exec(text)?.[1] ?? ''),
    p99: ms(/ 99%\s+(\S+)/.exec(text)?.[1] ?? ''),
  }
}

/**
 * The fallback load generator: an undici client in a worker thread, `connections` loops.
 * @param {Target} target
 * @param {number} connections
 * @param {number} seconds
 * @returns {Promise<Measured>}
 */
function nodeLoad(target, connections, seconds) {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./load-worker.js', import.meta.url), {
      workerData: { target, connections, seconds },
    })
    worker.once('message', resolve)
    worker.once('error', reject)
  })
}

/**
 * One answer, checked before a leg is timed.
 * @param {string} name
 * @param {Target} target
 * @param {'proxy' | 'request'} shape
 */
async function check(name, target, shape) {
  const res = await request(target.url, {
    method: target.method,
    headers: target.headers,
    body: target.body,
  })
  const text = await res.body.text()
  const body = shape === 'request' ? JSON.parse(text).body : JSON.parse(text)
  if (res.statusCode !== 200 || JSON.stringify(body) !== SMALL_BODY)
    throw new Error(`${name} (${shape}) answered ${res.statusCode}: ${text.slice(0, 200)}`)
}

// ------------------------------------------------------------------------------------------------
// The run

/**
 * @param {string[]} argv
 * @returns {Promise<number>} the exit code
 */
export async function main(argv) {
  /** @type {HotPathOptions} */
  let options
  try {
    options = parseOptions(argv)
  } catch (err) {
    if (!(err instanceof UsageError)) throw err
    process.stderr.write(`${err.message}\n\n${USAGE}\n`)
    return 2
  }
  const say = (/** @type {string} */ line) => process.stderr.write(`${line}\n`)
  const onSignal = () => {
    stopAll()
    process.exit(130)
  }
  process.once('SIGINT', onSignal)
  try {
    const nginx = await startNginx()
    const upstreamPort = nginx ?? (await startAnchor('upstream.js', { BENCH_TOKEN: TOKEN }))
    const upstream = `http://127.0.0.1:${upstreamPort}`
    const env = { BENCH_UPSTREAM: upstream, BENCH_TOKEN: TOKEN }
    const nodeLimit = `http://127.0.0.1:${await startAnchor('node-limit.js', env)}`
    const peer = `http://127.0.0.1:${await startAnchor('express-axios.js', env)}`
    /** @type {{ name: string, shapes: Partial<Record<'proxy' | 'request', Target>> }[]} */
    const legs = [
      {
        name: 'direct',
        shapes: {
          proxy: {
            url: `${upstream}/small`,
            method: 'GET',
            headers: { authorization: `Bearer ${TOKEN}` },
          },
        },
      },
      ...[
        ['node-limit', nodeLimit],
        ['express-axios', peer],
      ].map(([name, url]) => ({
        name: /** @type {string} */ (name),
        shapes: {
          proxy: { url: `${url}/proxy/x/small`, method: /** @type {const} */ ('GET'), headers: {} },
          request: {
            url: `${url}/request`,
            method: /** @type {const} */ ('POST'),
            headers: { 'content-type': 'application/json' },
            body: REQUEST_BODY,
          },
        },
      })),
    ]
    const patchbays = []
    for (const n of options.workers) {
      say(`starting patchbay serve --workers ${n} (${options.store})…`)
      const pb = await startPatchbay(n, upstreamPort, options)
      patchbays.push(pb)
      const auth = { authorization: `Bearer ${ADMIN_KEY}` }
      legs.push({
        name: n === 1 ? 'patchbay' : `patchbay ×${n}`,
        shapes: {
          proxy: { url: `${pb.url}/proxy/${pb.connectionId}/small`, method: 'GET', headers: auth },
          request: {
            url: `${pb.url}/api/v1/connections/${pb.connectionId}/request`,
            method: 'POST',
            headers: { ...auth, 'content-type': 'application/json' },
            body: REQUEST_BODY,
          },
        },
      })
    }
    for (const leg of legs)
      for (const [shape, target] of Object.entries(leg.shapes))
        await check(leg.name, /** @type {Target} */ (target), /** @type {any} */ (shape))

    const load = options.load === 'wrk' ? wrk : nodeLoad
    /** @type {Map<string, Measured[]>} */
    const results = new Map()
    const key = (/** @type {string} */ leg, /** @type {string} */ shape, /** @type {number} */ c) =>
      `${leg}|${shape}|${c}`
    // A short warm-up per leg, not reported (JIT, pools, SQLite's cache).
    for (const leg of legs)
      for (const target of Object.values(leg.shapes))
        await load(/** @type {Target} */ (target), 8, 1)
    for (let round = 1; round <= options.rounds; round++) {
      for (const c of options.concurrency)
        for (const leg of legs)
          for (const [shape, target] of Object.entries(leg.shapes)) {
            say(`round ${round}/${options.rounds}: ${leg.name} ${shape} c${c}`)
            const m = await load(/** @type {Target} */ (target), c, options.duration)
            const k = key(leg.name, shape, c)
            results.set(k, [...(results.get(k) ?? []), m])
          }
    }
    for (const pb of patchbays) await pb.stop()

    /** @type {{ leg: string, shape: string, concurrency: number, rps: number, p50: number, p99: number, vsNodeLimit?: { rps: number, p99: number } }[]} */
    const rows = []
    for (const c of options.concurrency)
      for (const shape of ['proxy', 'request'])
        for (const leg of legs) {
          const all = results.get(key(leg.name, shape, c))
          if (!all) continue
          rows.push({
            leg: leg.name,
            shape,
            concurrency: c,
            rps: fixed(median(all.map((m) => m.rps)), 0),
            p50: fixed(median(all.map((m) => m.p50)), 2),
            p99: fixed(median(all.map((m) => m.p99)), 2),
          })
        }
    for (const row of rows) {
      const limit = rows.find(
        (r) => r.leg === 'node-limit' && r.shape === row.shape && r.concurrency === row.concurrency,
      )
      if (limit && row.leg !== 'direct')
        row.vsNodeLimit = { rps: fixed(row.rps / limit.rps, 2), p99: fixed(row.p99 / limit.p99, 2) }
    }
    const scaling = options.concurrency.map((c) => {
      const one = rows.find(
        (r) => r.leg === 'patchbay' && r.shape === 'proxy' && r.concurrency === c,
      )
      const two = rows.find(
        (r) => r.leg === 'patchbay ×2' && r.shape === 'proxy' && r.concurrency === c,
      )
      return { concurrency: c, workers2VsOne: one && two ? fixed(two.rps / one.rps, 2) : null }
    })
    const report = {
      machine: { cpus: cpus().length, node: process.version },
      load: options.load,
      upstream: nginx ? 'nginx' : 'node:http',
      store: options.store,
      durationSeconds: options.duration,
      rounds: options.rounds,
      rows,
      scaling,
    }
    if (options.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`)
    else process.stdout.write(`${table(report)}\n`)
    return 0
  } finally {
    process.off('SIGINT', onSignal)
    stopAll()
  }
}

/** @param {any} report */
export function table(report) {
  const lines = [
    `Hot path: ${report.rounds} round(s) × ${report.durationSeconds} s per leg, load from ${report.load}, upstream ${report.upstream}, store ${report.store}, ${report.machine.cpus} cores, Node ${report.machine.node}`,
  ]
  for (const shape of ['proxy', 'request']) {
    lines.push(
      '',
      shape === 'proxy' ? 'GET /proxy/:id/small (streamed)' : 'POST …/request (JSON envelope)',
    )
    lines.push(
      `  ${'leg'.padEnd(14)} ${'conc'.padStart(4)} ${'req/s'.padStart(9)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)}   vs node limit`,
    )
    for (const r of report.rows.filter((/** @type {any} */ r) => r.shape === shape))
      lines.push(
        `  ${r.leg.padEnd(14)} ${String(r.concurrency).padStart(4)} ${r.rps.toLocaleString('en').padStart(9)} ${r.p50.toFixed(2).padStart(8)} ${r.p99.toFixed(2).padStart(8)}   ${r.vsNodeLimit ? `${r.vsNodeLimit.rps.toFixed(2)}× req/s, ${r.vsNodeLimit.p99.toFixed(2)}× p99` : ''}`,
      )
  }
  for (const s of report.scaling)
    if (s.workers2VsOne !== null)
      lines.push(
        '',
        `--workers 2 vs 1 (proxy, c${s.concurrency}): ${s.workers2VsOne.toFixed(2)}× req/s`,
      )
  return lines.join('\n')
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  process.exitCode = await main(process.argv.slice(2))
}
