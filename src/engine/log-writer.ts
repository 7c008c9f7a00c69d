/**
 * The one place log entries are written. Every kind (a call, a refresh, a revoke, a webhook
 * delivery) arrives as a `LogEntry`; the writer gives it an id and a time and appends it in
 * batches, bounded in time and in count, so a call never waits for its log line. `flush()`
 * writes what is queued (reads of the logs do it first, so a process reads its own writes) and
 * `close()` flushes before the store closes.
 *
 * @module
 */
import { randomFillSync } from 'node:crypto'
import type { Logger } from '../lib/logger.js'
import type { LogEntry, LogSink } from '../pipeline/index.js'
import type { LogRecord, Store } from '../store/store.js'

export interface LogWriter extends LogSink {
  /** Writes every entry queued so far. Never throws. */
  flush(): Promise<void>
  /** Flushes, then takes no more entries. */
  close(): Promise<void>
}

export interface LogWriterOptions {
  /**
   * Entries queued before a write starts at once, and the most one write takes. Default 64: an
   * embedded store writes on the event loop, and a small batch holds it for well under a
   * millisecond.
   */
  maxBatch?: number
  /** How long an entry may wait for its batch, ms. Default 50. */
  maxDelayMs?: number
  /** Entries held at most while the store cannot be written; older ones are dropped. Default 10,000. */
  maxQueued?: number
}

/** Random bytes drawn a page at a time: one call to the system per 256 ids, not one each. */
const entropy = Buffer.alloc(2560)
let drawn = entropy.length
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'))

/**
 * A UUIDv7 (RFC 9562 §5.7): the time in milliseconds first, then 74 random bits. Entries are
 * appended in time order, so their ids arrive in index order too — a random id lands anywhere in
 * the id index, and that insert was most of a log row's cost.
 */
export function timeOrderedId(time: number): string {
  if (drawn === entropy.length) {
    randomFillSync(entropy)
    drawn = 0
  }
  const r = entropy
  const o = drawn
  drawn += 10
  const t = Math.max(0, Math.min(time, 0xffffffffffff)).toString(16).padStart(12, '0')
  const h = (i: number) => HEX[r[o + i]!]!
  // Version 7 in the first random byte's high nibble, the RFC's variant in the third's top bits.
  return (
    `${t.slice(0, 8)}-${t.slice(8)}-${HEX[(r[o]! & 0x0f) | 0x70]}${h(1)}-` +
    `${HEX[(r[o + 2]! & 0x3f) | 0x80]}${h(3)}-${h(4)}${h(5)}${h(6)}${h(7)}${h(8)}${h(9)}`
  )
}

/** The stored record of an entry: the columns its kind does not use are empty. */
export function toLogRecord(entry: LogEntry, time: number): LogRecord {
  return {
    id: `log_${timeOrderedId(time)}`,
    time,
    actionId: null,
    method: null,
    url: null,
    status: null,
    durationMs: null,
    refreshed: false,
    refreshOutcome: null,
    breakerState: null,
    detail: null,
    mcpKeyId: null,
    tool: null,
    ...entry,
  }
}

export function createLogWriter(
  store: Store,
  logger: Logger,
  now: () => number,
  options: LogWriterOptions = {},
): LogWriter {
  const maxBatch = options.maxBatch ?? 64
  const maxDelayMs = options.maxDelayMs ?? 50
  const maxQueued = options.maxQueued ?? 10_000
  const queue: LogRecord[] = []
  let timer: NodeJS.Timeout | undefined
  let chain: Promise<void> = Promise.resolve()
  /** A write of full batches is waiting in the chain. */
  let batchDue = false
  /** Entries at the head of the queue that a flush asked to be written, full batch or not. */
  let owed = 0
  let closed = false

  const arm = () => {
    if (timer || closed) return
    timer = setTimeout(() => void flush(), maxDelayMs)
    timer.unref()
  }

  // Full batches go at once; a rest waits for its batch to fill or for its delay, so the store
  // sees batches of maxBatch under load, not whatever arrived while the last one was written.
  async function writeOut(): Promise<void> {
    while (queue.length >= maxBatch || owed > 0) {
      const batch = queue.slice(0, maxBatch)
      try {
        await store.appendLogs(batch)
      } catch (err) {
        // Kept for the next flush; a store that stays down drops the oldest beyond maxQueued.
        logger.error({ err, entries: batch.length }, 'could not write log entries')
        if (queue.length > maxQueued) queue.splice(0, queue.length - maxQueued)
        owed = 0
        return
      }
      queue.splice(0, batch.length)
      owed = Math.max(0, owed - batch.length)
      // Calls waiting for the event loop go between two batches.
      if (queue.length) await new Promise((resolve) => setImmediate(resolve))
    }
    if (queue.length) arm()
  }

  function flush(): Promise<void> {
    if (timer) {
      clearTimeout(timer)
      timer = undefined
    }
    // One write at a time, in order: a flush while one runs waits for it, then writes the rest
    // of what was queued when it was asked for.
    chain = chain.then(() => {
      owed = queue.length
      return writeOut()
    })
    return chain
  }

  return {
    write(entry) {
      if (closed) return
      queue.push(toLogRecord(entry, now()))
      if (queue.length < maxBatch) arm()
      else if (!batchDue) {
        batchDue = true
        chain = chain.then(() => {
          batchDue = false
          return writeOut()
        })
      }
    },
    flush,
    async close() {
      await flush()
      closed = true
    },
  }
}
