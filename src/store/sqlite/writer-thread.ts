/**
 * The serving connection's slow writes, off the event loop: a thread with its own connection to
 * the file that runs the WAL checkpoints and the call-log inserts.
 *
 * Checkpoints: SQLite's automatic checkpoint runs inside the commit that crosses its threshold,
 * on the thread that committed: copying the WAL into the database file and syncing it held a
 * server's event loop for milliseconds at a time, every few thousand logged calls, and every call
 * waiting behind it paid. Once started, the thread checkpoints on a timer instead, and the serving
 * connection stops checkpointing. PASSIVE never waits for readers or writers, so it neither
 * blocks them nor fails: what it cannot copy now it copies next time. Several processes may each
 * run one; SQLite lets one checkpoint run at a time.
 *
 * Log inserts: a batch of call logs is the one write no call waits for, and inserting it was the
 * largest share of a call's cost left on the event loop. The thread runs each batch in one
 * transaction and answers when it is committed, so a process still reads its own logs once the
 * batch's promise resolves.
 *
 * @module
 */
import type Database from 'better-sqlite3'
import { createRequire } from 'node:module'
import { Worker } from 'node:worker_threads'
import type { Statement } from '../sql/db.js'

export interface WriterThread {
  /** Starts the thread (once); until then SQLite's automatic checkpoint stays on. */
  start(): void
  /**
   * Runs the statements in one transaction on the thread; undefined when the thread is not
   * running (not started, stopped, or dead), and the caller writes them itself.
   */
  run(statements: Statement[]): Promise<void> | undefined
  /** Waits for the writes sent so far, checkpoints once more and stops; its connection closes. */
  stop(): Promise<void>
}

// Evaluated rather than a file of its own: the same source runs from `dist/` and under the test
// runner, which loads this module from TypeScript.
const THREAD = `
const { parentPort, workerData } = require('node:worker_threads')
const Database = require(workerData.module)
const db = new Database(workerData.filename)
// Per connection, so set as the serving connection sets them.
db.pragma('busy_timeout = 5000')
db.pragma('synchronous = NORMAL')
db.pragma('wal_autocheckpoint = 0')
// It appends and checkpoints: a small page cache is all it uses.
db.pragma('cache_size = -512')
const prepared = new Map()
const prepare = (sql) => {
  let stmt = prepared.get(sql)
  if (!stmt) prepared.set(sql, (stmt = db.prepare(sql)))
  return stmt
}
const bindable = (v) => (typeof v === 'boolean' ? Number(v) : v === undefined ? null : v)
const write = db.transaction((statements) => {
  for (const { sql, args } of statements) prepare(sql).run(args.map(bindable))
})
const checkpoint = () => {
  try {
    db.pragma('wal_checkpoint(PASSIVE)')
  } catch {
    // The file is being closed or replaced; the next turn tries again.
  }
}
const timer = setInterval(checkpoint, workerData.intervalMs)
parentPort.on('message', (message) => {
  if (message.type === 'write') {
    try {
      write(message.statements)
      parentPort.postMessage({ id: message.id })
    } catch (err) {
      parentPort.postMessage({ id: message.id, error: { message: err.message, code: err.code } })
    }
    return
  }
  clearInterval(timer)
  checkpoint()
  db.close()
  parentPort.close()
})
`

/** A write the thread refused, as the serving connection would have thrown it. */
class ThreadWriteError extends Error {
  constructor(
    message: string,
    readonly code: string | undefined,
  ) {
    super(message)
  }
}

export function createWriterThread(
  database: Database.Database,
  filename: string,
  intervalMs = 500,
): WriterThread {
  let worker: Worker | undefined
  /** The thread died: from then on the serving connection does its work, as before it started. */
  let failed = false
  let nextId = 0
  const pending = new Map<number, { resolve: () => void; reject: (err: Error) => void }>()

  const failAll = (err: Error) => {
    for (const p of pending.values()) p.reject(err)
    pending.clear()
  }

  return {
    start() {
      if (worker || failed) return
      const w = new Worker(THREAD, {
        eval: true,
        // A batch at a time is all it holds: a small heap keeps the thread's share of the RSS low.
        resourceLimits: { maxYoungGenerationSizeMb: 2, maxOldGenerationSizeMb: 32 },
        workerData: {
          module: createRequire(import.meta.url).resolve('better-sqlite3'),
          filename,
          intervalMs,
        },
      })
      worker = w
      w.unref()
      w.on('message', (m: { id: number; error?: { message: string; code?: string } }) => {
        const p = pending.get(m.id)
        if (!p) return
        pending.delete(m.id)
        if (pending.size === 0) w.unref()
        if (m.error) p.reject(new ThreadWriteError(m.error.message, m.error.code))
        else p.resolve()
      })
      // Should the thread die, the serving connection checkpoints and writes again, as it does
      // before the thread starts; the writes in flight fail and are kept for the next flush.
      const died = (err: Error) => {
        if (worker !== w) return
        worker = undefined
        failed = true
        failAll(err)
        if (database.open) database.pragma('wal_autocheckpoint = 1000')
      }
      w.once('error', died)
      w.once('exit', (code) => died(new Error(`the SQLite writer thread exited (code ${code})`)))
      database.pragma('wal_autocheckpoint = 0')
    },
    run(statements) {
      const w = worker
      if (!w) return undefined
      const id = nextId++
      // Referenced while a write is out: a process shutting down waits for its last logs.
      if (pending.size === 0) w.ref()
      return new Promise<void>((resolve, reject) => {
        pending.set(id, { resolve, reject })
        w.postMessage({ type: 'write', id, statements })
      })
    },
    async stop() {
      const w = worker
      if (!w) return
      worker = undefined
      const exited = new Promise((resolve) => w.once('exit', resolve))
      // Messages are handled in order: every write sent before this is answered first.
      w.postMessage({ type: 'stop' })
      await exited
      failAll(new Error('the SQLite writer thread stopped'))
    },
  }
}
