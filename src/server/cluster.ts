/**
 * `patchbay serve --workers N`: N processes behind one port (node:cluster hands each new connection
 * to a worker), behaving as one system because everything they share lives in the store — refresh
 * locks and versions, breakers, admin keys, UI and connect sessions. The primary only supervises:
 * it prepares the store once, starts the workers, prints the banner once they all listen, starts a
 * new worker when one dies, and on SIGTERM or SIGINT asks every worker to finish what it is
 * serving and waits for all of them.
 *
 * @module
 */
import cluster, { type Worker } from 'node:cluster'
import { availableParallelism } from 'node:os'

/** What a worker tells the primary once it listens. */
export interface WorkerReady {
  type: 'patchbay:ready'
  index: number
  port: number
  /** Set by the worker that seeded the example connector. */
  seeded?: string | undefined
}

export interface ClusterOptions {
  workers: number
  /** Printed once every worker listens. */
  banner: (ready: WorkerReady[]) => string
  /** Grace for in-flight requests on shutdown, ms, before workers are killed. Default 15 s. */
  graceMs?: number
}

/** The worker's index (0…N-1), as the primary numbered it; 0 outside a cluster. */
export function workerIndex(): number {
  return Number(process.env.PATCHBAY_WORKER_INDEX ?? 0)
}

export const isWorker = () => cluster.isWorker

/** In a worker: tells the primary this worker listens. */
export function reportReady(ready: Omit<WorkerReady, 'type' | 'index'>): void {
  process.send?.({ type: 'patchbay:ready', index: workerIndex(), ...ready } satisfies WorkerReady)
}

/** In a worker: runs `stop` when the primary asks (SIGTERM) or goes away (the IPC channel closes). */
export function onWorkerShutdown(stop: () => void): void {
  process.on('SIGTERM', stop)
  process.on('SIGINT', () => {}) // the primary decides; a terminal's Ctrl-C reaches it too
  process.on('disconnect', stop)
}

/**
 * Node flags for the workers. When every core has a worker, V8's garbage-collector helper threads
 * only take time from the other workers: collecting on the worker's own thread served more calls
 * (bench/README.md#memory).
 */
export function workerExecArgv(workers: number, cores = availableParallelism()): string[] {
  return workers >= cores ? [...process.execArgv, '--single-threaded-gc'] : process.execArgv
}

/** In the primary: starts and supervises the workers; resolves when they have all exited. */
export function runPrimary(options: ClusterOptions): Promise<void> {
  cluster.setupPrimary({ execArgv: workerExecArgv(options.workers) })
  const ready = new Map<number, WorkerReady>()
  const byIndex = new Map<number, Worker>()
  const startedAt = new Map<number, number>()
  let stopping = false
  let printed = false
  let quickDeaths = 0

  const fork = (index: number) => {
    const worker = cluster.fork({ PATCHBAY_WORKER_INDEX: String(index) })
    byIndex.set(index, worker)
    startedAt.set(index, Date.now())
    worker.on('message', (message: WorkerReady) => {
      if (message?.type !== 'patchbay:ready') return
      ready.set(index, message)
      if (!printed && ready.size === options.workers) {
        printed = true
        console.log(options.banner([...ready.values()].sort((a, b) => a.index - b.index)))
      }
    })
  }

  return new Promise((resolve) => {
    cluster.on('exit', (worker, code, signal) => {
      const index = [...byIndex].find(([, w]) => w === worker)?.[0]
      if (index === undefined) return
      byIndex.delete(index)
      if (stopping) {
        if (byIndex.size === 0) resolve()
        return
      }
      // A worker that dies right after starting, again and again, would restart forever.
      if (Date.now() - (startedAt.get(index) ?? 0) < 5_000) quickDeaths++
      else quickDeaths = 0
      console.error(
        `patchbay: worker ${index} (pid ${worker.process.pid}) exited (${signal ?? `code ${code}`}); ${quickDeaths > 5 ? 'it keeps failing at start: stopping' : 'starting another'}`,
      )
      if (quickDeaths > 5) {
        process.exitCode = 1
        stop()
        return
      }
      fork(index)
    })

    const stop = () => {
      if (stopping) return
      stopping = true
      if (byIndex.size === 0) resolve()
      for (const w of byIndex.values()) w.process.kill('SIGTERM')
      const force = setTimeout(() => {
        for (const w of byIndex.values()) w.process.kill('SIGKILL')
      }, options.graceMs ?? 15_000)
      force.unref()
    }
    process.on('SIGTERM', stop)
    process.on('SIGINT', stop)
    for (let i = 0; i < options.workers; i++) fork(i)
  })
}
