// @ts-check
/**
 * The fallback load generator (when `wrk` is not installed), in a worker thread: `connections`
 * loops, each on its own keep-alive connection, sending the target again as soon as an answer is
 * read, for `seconds`. Posts `{ rps, p50, p99 }`; an error answer fails the run.
 *
 * @module
 */
import { performance } from 'node:perf_hooks'
import { URL } from 'node:url'
import { parentPort, workerData } from 'node:worker_threads'
import { Pool } from 'undici'
import { percentile } from './stats.js'

/** @type {{ target: { url: string, method: 'GET' | 'POST', headers: Record<string, string>, body?: string }, connections: number, seconds: number }} */
const { target, connections, seconds } = workerData
const url = new URL(target.url)
const pool = new Pool(url.origin, { connections, pipelining: 1 })
const latencies = []
const end = performance.now() + seconds * 1000
let failure

async function loop() {
  while (performance.now() < end && !failure) {
    const started = performance.now()
    const res = await pool.request({
      method: target.method,
      path: url.pathname + url.search,
      headers: target.headers,
      body: target.body,
    })
    await res.body.dump()
    if (res.statusCode >= 300) failure = new Error(`${target.url} answered ${res.statusCode}`)
    latencies.push(performance.now() - started)
  }
}

const started = performance.now()
await Promise.all(Array.from({ length: connections }, loop))
const elapsed = (performance.now() - started) / 1000
await pool.close()
if (failure) throw failure
const sorted = Float64Array.from(latencies).sort()
parentPort?.postMessage({
  rps: latencies.length / elapsed,
  p50: percentile(sorted, 0.5),
  p99: percentile(sorted, 0.99),
})
