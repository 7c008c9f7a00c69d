/**
 * WAL checkpoints off the event loop. SQLite's automatic checkpoint runs inside the commit that
 * crosses its threshold, on the thread that committed: copying the WAL into the database file and
 * syncing it held a server's event loop for milliseconds at a time, every few thousand logged
 * calls, and every call waiting behind it paid. Once started, a thread with its own connection to
 * the file checkpoints it on a timer instead, and the serving connection stops checkpointing.
 *
 * PASSIVE never waits for readers or writers, so it neither blocks them nor fails: what it cannot
 * copy now it copies next time. Several processes may each run one; SQLite lets one checkpoint
 * run at a time.
 *
 * @module
 */
import type Database from 'better-sqlite3'
import { createRequire } from 'node:module'
import { Worker } from 'node:worker_threads'

export interface Checkpointer {
  /** Starts the thread (once); until then SQLite's automatic checkpoint stays on. */
  start(): void
  /** Stops the thread after its last checkpoint; the connection closes with it. */
  stop(): Promise<void>
}

// Evaluated rather than a file of its own: the same source runs from `dist/` and under the test
// runner, which loads this module from TypeScript.
const THREAD = `
const { parentPort, workerData } = require('node:worker_threads')
const Database = require(workerData.module)
const db = new Database(workerData.filename)
const checkpoint = () => {
  try {
    db.pragma('wal_checkpoint(PASSIVE)')
  } catch {
    // The file is being closed or replaced; the next turn tries again.
  }
}
const timer = setInterval(checkpoint, workerData.intervalMs)
parentPort.once('message', () => {
  clearInterval(timer)
  checkpoint()
  db.close()
  parentPort.close()
})
`

export function createCheckpointer(
  database: Database.Database,
  filename: string,
  intervalMs = 500,
): Checkpointer {
  let worker: Worker | undefined
  return {
    start() {
      if (worker) return
      worker = new Worker(THREAD, {
        eval: true,
        workerData: {
          module: createRequire(import.meta.url).resolve('better-sqlite3'),
          filename,
          intervalMs,
        },
      })
      worker.unref()
      // Should the thread die, the serving connection checkpoints again, as SQLite does by default.
      worker.once('error', () => database.open && database.pragma('wal_autocheckpoint = 1000'))
      database.pragma('wal_autocheckpoint = 0')
    },
    async stop() {
      const w = worker
      if (!w) return
      worker = undefined
      const exited = new Promise((resolve) => w.once('exit', resolve))
      w.postMessage('stop')
      await exited
    },
  }
}
