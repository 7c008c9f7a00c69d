// @ts-check
/**
 * What Patchbay costs on the wire: the same loopback upstream called directly (the baseline),
 * through the streaming proxy `ANY /proxy/:connectionId/*`, and through the ad-hoc custom action
 * `POST /api/v1/connections/:id/request` (SPEC §5), at a fixed concurrency, interleaved in
 * rounds, reported as medians across rounds. See bench/README.md for how to read it.
 *
 * Plain JavaScript over the compiled library (`dist/`), so `npm run build` is the only build. The
 * upstream and Patchbay each run in a worker thread of their own; this thread is the client.
 *
 * @module
 */
import { Buffer } from 'node:buffer'
import { randomBytes } from 'node:crypto'
import { cpus, platform, arch } from 'node:os'
import { performance } from 'node:perf_hooks'
import process from 'node:process'
import { clearTimeout, setTimeout } from 'node:timers'
import { URL } from 'node:url'
import { Worker } from 'node:worker_threads'
import { Pool } from 'undici'
import { UsageError, fixed, integer, median, percentile } from './stats.js'

/** @typedef {'direct' | 'proxy' | 'request'} ScenarioName */
/** @typedef {'small' | 'large'} Size */
/**
 * @typedef {object} BenchOptions
 * @property {number} requests Small-body requests per scenario per round.
 * @property {number} largeRequests 256 KiB requests per scenario per round.
 * @property {number} concurrency Requests in flight at once.
 * @property {number} rounds
 * @property {number} warmup Small-body requests per scenario before the first round.
 * @property {boolean} json
 */
/**
 * @typedef {object} PhaseResult
 * @property {number} requests
 * @property {number} seconds Wall time of the whole phase.
 * @property {number} rps Completed requests per second.
 * @property {number} mbps Upstream payload delivered, 10^6 bytes per second.
 * @property {number} p50 Latency in ms, request sent → body fully read.
 * @property {number} p90
 * @property {number} p99
 */
/**
 * @typedef {object} Scenario
 * @property {ScenarioName} name
 * @property {Pool} pool
 * @property {(size: Size) => import('undici').Dispatcher.RequestOptions} request
 * @property {(status: number, head: string, bytes: number, size: Size) => string | null} check
 *   Why the answer is wrong, or null.
 */

const SCENARIOS = /** @type {const} */ (['direct', 'proxy', 'request'])
const SIZES = /** @type {const} */ (['small', 'large'])
const PATHS = /** @type {const} */ (['proxy', 'request'])
const LARGE_BYTES = 256 * 1024
/** Half the range of req/s across rounds, over the median, above which the report warns. */
const NOISY = 0.1
/** About 200 bytes of JSON, the size of a typical small API answer. */
const SMALL_BODY = JSON.stringify({
  id: 'ord_01HZX3K9Q7B2M4N6P8R0S2T4V6',
  object: 'order',
  status: 'paid',
  amount: 4200,
  currency: 'eur',
  customer: { id: 'cus_9f8e7d6c5b4a', email: 'ada@example.com' },
  created: 1_700_000_000,
  tags: ['bench', 'loopback'],
})

export const USAGE = `Usage: npm run bench -- [options]   (or: node bench/run.js [options] after npm run build)

  --requests N        small-body requests per scenario per round (env BENCH_REQUESTS, default 2000)
  --large-requests N  256 KiB requests per scenario per round (env BENCH_LARGE_REQUESTS,
                      default requests / 10, at least 20)
  --concurrency C     requests in flight at once (env BENCH_CONCURRENCY, default 16)
  --rounds R          rounds of direct → proxy → request (env BENCH_ROUNDS, default 5)
  --warmup N          small-body requests per scenario before round 1 (env BENCH_WARMUP,
                      default min(requests, 500); large: a tenth of it)
  --json              print one JSON document on stdout instead of the table (env BENCH_JSON=1)
  --help
`

/**
 * Flags win over the environment, which wins over the defaults.
 *
 * @param {string[]} argv
 * @param {NodeJS.ProcessEnv} env
 * @returns {BenchOptions | { help: true }}
 */
export function parseOptions(argv, env) {
  /** @type {Record<string, string | undefined>} */
  const raw = {
    requests: env.BENCH_REQUESTS,
    'large-requests': env.BENCH_LARGE_REQUESTS,
    concurrency: env.BENCH_CONCURRENCY,
    rounds: env.BENCH_ROUNDS,
    warmup: env.BENCH_WARMUP,
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
  const requests = integer(raw, 'requests', 2000, 1, 10_000_000)
  return {
    requests,
    largeRequests: integer(raw, 'large-requests', Math.max(20, Math.round(requests / 10)), 1, 1e6),
    concurrency: integer(raw, 'concurrency', 16, 1, 1024),
    rounds: integer(raw, 'rounds', 5, 1, 100),
    warmup: integer(raw, 'warmup', Math.min(requests, 500), 0, 10_000_000),
    json,
  }
}

/**
 * Starts a worker module of this folder and waits for its first message.
 *
 * @param {string} file
 * @param {unknown} workerData
 * @param {(err: Error) => void} onError
 */
async function startWorker(file, workerData, onError) {
  const worker = new Worker(new URL(file, import.meta.url), { workerData })
  let exited = false
  const exit = new Promise((resolve) => worker.once('exit', resolve))
  void exit.then(() => (exited = true))
  const ready = await new Promise((resolve, reject) => {
    worker.once('message', resolve)
    worker.once('error', reject)
    void exit.then((code) => reject(new Error(`${file} exited (${String(code)}) before ready`)))
  })
  worker.on('error', onError)
  return {
    ready,
    /** Asks the worker to close what it started; terminates it if it has not exited in 5 s. */
    async stop() {
      if (exited) return
      worker.postMessage('close')
      const timer = setTimeout(() => void worker.terminate(), 5_000)
      await exit
      clearTimeout(timer)
    },
  }
}

/**
 * Sends `count` requests, `concurrency` at a time, each timed from send to last body byte.
 *
 * @param {Scenario} scenario
 * @param {Size} size
 * @param {number} count
 * @param {number} concurrency
 * @param {{ aborted: boolean }} signal Set when the run must stop (Ctrl-C, a worker failed).
 * @returns {Promise<PhaseResult>}
 */
async function runPhase(scenario, size, count, concurrency, signal) {
  const latencies = new Float64Array(count)
  const expected = size === 'small' ? Buffer.byteLength(SMALL_BODY) : LARGE_BYTES
  let next = 0
  /** @type {string | undefined} */
  let failure
  const started = performance.now()
  const lane = async () => {
    // Bounded: each lane stops once `count` requests were taken, on abort, or on a failure.
    while (next < count && !signal.aborted && failure === undefined) {
      const i = next++
      const t0 = performance.now()
      try {
        const res = await scenario.pool.request(scenario.request(size))
        let head = ''
        let bytes = 0
        for await (const chunk of res.body) {
          if (head.length < 32) head += chunk.subarray(0, 32 - head.length).toString('latin1')
          bytes += chunk.length
        }
        latencies[i] = performance.now() - t0
        const problem = scenario.check(res.statusCode, head, bytes, size)
        if (problem) failure ??= `${scenario.name} ${size}: ${problem}`
      } catch (err) {
        failure ??= `${scenario.name} ${size}: ${err instanceof Error ? err.message : String(err)}`
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, lane))
  const seconds = (performance.now() - started) / 1000
  if (signal.aborted) throw new Error('interrupted')
  if (failure !== undefined) throw new Error(failure)
  latencies.sort()
  return {
    requests: count,
    seconds,
    rps: count / seconds,
    mbps: (count * expected) / seconds / 1e6,
    p50: percentile(latencies, 0.5),
    p90: percentile(latencies, 0.9),
    p99: percentile(latencies, 0.99),
  }
}

/**
 * One full answer per scenario and size, checked byte for byte, before anything is timed.
 *
 * @param {Scenario} scenario
 * @param {Size} size
 * @param {Buffer} large
 */
async function verify(scenario, size, large) {
  const res = await scenario.pool.request(scenario.request(size))
  const body = Buffer.from(await res.body.arrayBuffer())
  const expected = size === 'small' ? Buffer.from(SMALL_BODY) : large
  const what = `${scenario.name} ${size}`
  if (res.statusCode !== 200)
    throw new Error(`${what}: HTTP ${res.statusCode} ${body.toString('utf8', 0, 300)}`)
  if (scenario.name !== 'request') {
    if (!body.equals(expected)) throw new Error(`${what}: the body is not the upstream's`)
    return
  }
  /** @type {{ status?: number, body?: unknown, bodyEncoding?: string }} */
  const envelope = JSON.parse(body.toString('utf8'))
  const inner =
    envelope.bodyEncoding === 'base64'
      ? Buffer.from(String(envelope.body), 'base64')
      : Buffer.from(JSON.stringify(envelope.body))
  if (envelope.status !== 200 || !inner.equals(expected))
    throw new Error(`${what}: unexpected envelope ${body.toString('utf8', 0, 300)}`)
}

/**
 * @param {{ url: string, connectionId: string }} patchbay
 * @param {number} upstreamPort
 * @param {{ adminKey: string, apiKey: string, concurrency: number }} settings
 * @returns {Scenario[]}
 */
function scenarios(patchbay, upstreamPort, { adminKey, apiKey, concurrency }) {
  /** @param {string} origin */
  const pool = (origin) =>
    new Pool(origin, {
      connections: concurrency,
      pipelining: 1,
      keepAliveTimeout: 60_000,
      keepAliveMaxTimeout: 60_000,
      headersTimeout: 15_000,
      bodyTimeout: 15_000,
    })
  const upstream = pool(`http://127.0.0.1:${upstreamPort}`)
  const pb = pool(patchbay.url)
  const id = encodeURIComponent(patchbay.connectionId)
  const auth = `Bearer ${adminKey}`
  /** @type {Record<Size, string>} */
  const envelopes = {
    small: JSON.stringify({ method: 'GET', path: 'small' }),
    large: JSON.stringify({ method: 'GET', path: 'large' }),
  }
  /** @type {Scenario['check']} */
  const exact = (status, _head, bytes, size) =>
    status !== 200
      ? `HTTP ${status}`
      : bytes !== (size === 'small' ? Buffer.byteLength(SMALL_BODY) : LARGE_BYTES)
        ? `${bytes} bytes`
        : null
  return [
    {
      name: 'direct',
      pool: upstream,
      // The client applies the API key itself, as a caller without Patchbay would.
      request: (size) => ({ method: 'GET', path: `/${size}`, headers: { 'x-api-key': apiKey } }),
      check: exact,
    },
    {
      name: 'proxy',
      pool: pb,
      request: (size) => ({
        method: 'GET',
        path: `/proxy/${id}/${size}`,
        headers: { authorization: auth },
      }),
      check: exact,
    },
    {
      name: 'request',
      pool: pb,
      request: (size) => ({
        method: 'POST',
        path: `/api/v1/connections/${id}/request`,
        headers: { authorization: auth, 'content-type': 'application/json' },
        body: envelopes[size],
      }),
      // The envelope's own status is 200 whenever the upstream answered; its first key is the
      // upstream's status (verify() parsed a whole one before the clock started).
      check: (status, head) =>
        status !== 200
          ? `HTTP ${status}`
          : head.startsWith('{"status":200,')
            ? null
            : `upstream answered ${head}`,
    },
  ]
}

/**
 * Runs the whole benchmark and prints its report; resolves to the exit code.
 *
 * @param {string[]} argv
 * @param {NodeJS.ProcessEnv} env
 */
export async function main(argv, env) {
  /** @type {BenchOptions} */
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

  const abort = { aborted: false, interrupted: false }
  const onSigint = () => {
    abort.aborted = true
    abort.interrupted = true
  }
  process.once('SIGINT', onSigint)
  /** @param {Error} err */
  const onWorkerError = (err) => {
    process.stderr.write(`bench: a worker failed: ${err.stack ?? err.message}\n`)
    abort.aborted = true
  }
  const progress = (/** @type {string} */ line) => process.stderr.write(`bench: ${line}\n`)

  const adminKey = `pbk_bench_${randomBytes(24).toString('base64url')}`
  const apiKey = randomBytes(16).toString('hex')
  // Deterministic bytes, so every answer can be compared with what the upstream sent.
  const large = Buffer.alloc(LARGE_BYTES)
  for (let i = 0; i < large.length; i++) large[i] = Math.imul(i, 2654435761) >>> 24

  /** @type {Awaited<ReturnType<typeof startWorker>>[]} */
  const workers = []
  /** @type {Scenario[]} */
  let list = []
  try {
    const up = await startWorker(
      './upstream.js',
      { apiKey, smallBody: SMALL_BODY, largeBody: large },
      onWorkerError,
    )
    workers.push(up)
    const upstreamPort = /** @type {{ port: number }} */ (up.ready).port
    const pb = await startWorker('./patchbay.js', { adminKey, apiKey, upstreamPort }, onWorkerError)
    workers.push(pb)
    const patchbay = /** @type {{ url: string, connectionId: string }} */ (pb.ready)
    list = scenarios(patchbay, upstreamPort, { adminKey, apiKey, ...options })

    for (const s of list) for (const size of SIZES) await verify(s, size, large)
    const warmLarge = Math.ceil(options.warmup / 10)
    progress(`warm-up: ${options.warmup} + ${warmLarge} requests per scenario`)
    for (const size of SIZES)
      for (const s of list)
        if (size === 'small' ? options.warmup : warmLarge)
          await runPhase(
            s,
            size,
            size === 'small' ? options.warmup : warmLarge,
            options.concurrency,
            abort,
          )

    /** @type {Record<Size, Record<ScenarioName, PhaseResult[]>>} */
    const results = {
      small: { direct: [], proxy: [], request: [] },
      large: { direct: [], proxy: [], request: [] },
    }
    for (let r = 1; r <= options.rounds; r++) {
      progress(`round ${r}/${options.rounds}`)
      for (const size of SIZES)
        for (const s of list)
          results[size][s.name].push(
            await runPhase(
              s,
              size,
              size === 'small' ? options.requests : options.largeRequests,
              options.concurrency,
              abort,
            ),
          )
    }

    const report = summarize(options, results)
    process.stdout.write(options.json ? JSON.stringify(report, null, 2) + '\n' : render(report))
    return 0
  } catch (err) {
    const interrupted = abort.interrupted
    process.stderr.write(
      `bench: ${interrupted ? 'stopped' : 'failed'}: ${err instanceof Error ? err.message : String(err)}\n`,
    )
    return interrupted ? 130 : 1
  } finally {
    process.off('SIGINT', onSigint)
    const pools = new Set(list.map((s) => s.pool))
    await Promise.allSettled([...pools].map((p) => p.close()))
    // Patchbay first: it holds connections to the upstream.
    for (const w of workers.reverse()) await w.stop()
  }
}

/**
 * Medians across rounds; `rpsSpread` is half the range of req/s across rounds, over the median.
 *
 * @param {PhaseResult[]} rounds
 */
function summaryOf(rounds) {
  const rps = rounds.map((r) => r.rps)
  return {
    rps: fixed(median(rps), 1),
    mbps: fixed(median(rounds.map((r) => r.mbps)), 2),
    p50: fixed(median(rounds.map((r) => r.p50)), 3),
    p90: fixed(median(rounds.map((r) => r.p90)), 3),
    p99: fixed(median(rounds.map((r) => r.p99)), 3),
    rpsSpread: fixed((Math.max(...rps) - Math.min(...rps)) / 2 / median(rps), 3),
  }
}

/**
 * Medians across rounds, and each Patchbay path against the direct call of the same round.
 *
 * @param {BenchOptions} options
 * @param {Record<Size, Record<ScenarioName, PhaseResult[]>>} results
 */
function summarize(options, results) {
  /**
   * @param {Size} size
   * @param {ScenarioName} name
   * @param {(s: PhaseResult, d: PhaseResult) => number} f
   * @param {number} digits
   */
  const paired = (size, name, f, digits) =>
    fixed(
      median(
        results[size][name].map((s, i) =>
          f(s, /** @type {PhaseResult} */ (results[size].direct[i])),
        ),
      ),
      digits,
    )
  /** @param {ScenarioName} name */
  const against = (name) => ({
    small: {
      addedP50Ms: paired('small', name, (s, d) => s.p50 - d.p50, 3),
      addedP99Ms: paired('small', name, (s, d) => s.p99 - d.p99, 3),
      latencyRatioP50: paired('small', name, (s, d) => s.p50 / d.p50, 2),
      throughputRatio: paired('small', name, (s, d) => s.rps / d.rps, 3),
    },
    large: {
      addedP50Ms: paired('large', name, (s, d) => s.p50 - d.p50, 3),
      mbpsRatio: paired('large', name, (s, d) => s.mbps / d.mbps, 3),
    },
  })
  /** @param {PhaseResult[]} rounds */
  const scenario = (rounds) => ({
    median: summaryOf(rounds),
    rounds: rounds.map((r) => ({
      requests: r.requests,
      seconds: fixed(r.seconds, 3),
      rps: fixed(r.rps, 1),
      mbps: fixed(r.mbps, 2),
      p50: fixed(r.p50, 3),
      p90: fixed(r.p90, 3),
      p99: fixed(r.p99, 3),
    })),
  })
  /** @param {Size} size */
  const bySize = (size) => ({
    direct: scenario(results[size].direct),
    proxy: scenario(results[size].proxy),
    request: scenario(results[size].request),
  })
  const cpu = cpus()
  return {
    benchmark: 'patchbay proxy overhead',
    config: {
      host: '127.0.0.1',
      concurrency: options.concurrency,
      rounds: options.rounds,
      requests: options.requests,
      largeRequests: options.largeRequests,
      warmup: options.warmup,
      smallBodyBytes: Buffer.byteLength(SMALL_BODY),
      largeBodyBytes: LARGE_BYTES,
      store: 'sqlite',
    },
    environment: {
      node: process.version,
      platform: `${platform()} ${arch()}`,
      cpus: cpu.length,
      cpuModel: cpu[0]?.model.trim() ?? 'unknown',
    },
    results: { small: bySize('small'), large: bySize('large') },
    comparison: { proxy: against('proxy'), request: against('request') },
  }
}

/**
 * The human-readable report.
 *
 * @param {ReturnType<typeof summarize>} report
 */
function render(report) {
  const { config: c, environment: e } = report
  /**
   * @param {number} x
   * @param {number} d
   */
  const f = (x, d) =>
    x.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d })
  /** @param {number} x */
  const signed = (x) => (x >= 0 ? '+' : '-') + f(Math.abs(x), 2)
  /** @param {(string | number)[]} cells */
  const row = (cells) =>
    cells.map((cell, i) => (i === 0 ? String(cell).padEnd(22) : String(cell).padStart(10))).join('')
  /**
   * @param {Size} size
   * @param {string} title
   * @param {string} unit
   */
  const table = (size, title, unit) => [
    row([title, unit, '±rounds', 'p50 ms', 'p90 ms', 'p99 ms']),
    ...SCENARIOS.map((name) => {
      const x = report.results[size][name].median
      return row([
        `  ${name}`,
        size === 'small' ? f(x.rps, 0) : f(x.mbps, 1),
        `${f(x.rpsSpread * 100, 1)}%`,
        f(x.p50, 2),
        f(x.p90, 2),
        f(x.p99, 2),
      ])
    }),
  ]
  const noisy = SIZES.some((size) =>
    SCENARIOS.some((name) => report.results[size][name].median.rpsSpread > NOISY),
  )
  return [
    `Patchbay proxy benchmark: ${c.host}, Node ${e.node}, ${e.cpus} CPU (${e.cpuModel}), ${c.store} store`,
    `concurrency ${c.concurrency}; per scenario and round ${c.requests} small + ${c.largeRequests} large requests; ` +
      `${c.rounds} rounds of direct, proxy, request; medians across rounds`,
    '',
    ...table('small', `small JSON (${c.smallBodyBytes} B)`, 'req/s'),
    '',
    ...table('large', '256 KiB body', 'MB/s'),
    '',
    'Against direct (paired within each round, median across rounds):',
    ...PATHS.map((name) => {
      const { small: s, large: l } = report.comparison[name]
      return (
        `  ${name.padEnd(8)} adds ${signed(s.addedP50Ms)} ms p50 (${f(s.latencyRatioP50, 1)}× direct latency), ` +
        `${signed(s.addedP99Ms)} ms p99; throughput ${f(s.throughputRatio, 2)}× direct; ` +
        `256 KiB: ${f(l.mbpsRatio, 2)}× direct MB/s, ${signed(l.addedP50Ms)} ms p50`
      )
    }),
    ...(noisy
      ? [
          '',
          `Note: throughput varied by more than ±${NOISY * 100}% across rounds; the machine was busy.`,
          'Rerun on a quiet machine, or with more --rounds / --requests, before comparing.',
        ]
      : []),
    '',
  ].join('\n')
}
