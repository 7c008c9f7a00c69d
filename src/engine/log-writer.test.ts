import { pino } from 'pino'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { LogEntry } from '../pipeline/index.js'
import { createSqliteStore } from '../store/sqlite/store.js'
import type { LogRecord, Store } from '../store/store.js'
import { createLogWriter, timeOrderedId } from './log-writer.js'

const entry = (status: number, over: Partial<Extract<LogEntry, { kind: 'request' }>> = {}) =>
  ({
    kind: 'request',
    connectorId: 'cn_1',
    connectionId: 'co_1',
    actionId: null,
    method: 'GET',
    url: 'https://api.test/x',
    status,
    durationMs: 1,
    refreshed: false,
    refreshOutcome: null,
    breakerState: 'closed',
    error: null,
    detail: null,
    mcpKeyId: null,
    tool: null,
    ...over,
  }) satisfies LogEntry

/** A store that counts its appends and can be made to refuse them. */
function counting(store: Store) {
  const batches: number[] = []
  let refuse = false
  const counted: Store = {
    ...store,
    appendLogs(entries) {
      if (refuse) return Promise.reject(new Error('the disk is full'))
      batches.push(entries.length)
      return store.appendLogs(entries)
    },
  }
  return { store: counted, batches, refuse: (on: boolean) => (refuse = on) }
}

describe('the log writer', () => {
  let store: Store
  const logger = pino({ level: 'silent' })
  beforeEach(async () => {
    store = createSqliteStore({ filename: ':memory:' })
    await store.migrate()
  })
  afterEach(async () => {
    await store.close()
  })

  const all = async (): Promise<LogRecord[]> => (await store.listLogs({ limit: 500 })).items

  it('writes what was written meanwhile in one batch, not one write per entry', async () => {
    const c = counting(store)
    const writer = createLogWriter(c.store, logger, Date.now, { maxBatch: 100, maxDelayMs: 20 })
    for (let i = 0; i < 30; i++) writer.write(entry(200 + i))
    expect(await all()).toHaveLength(0) // nothing waited for the database
    await expect.poll(async () => (await all()).length, { timeout: 2000 }).toBe(30)
    expect(c.batches).toEqual([30])
    expect((await all()).map((l) => l.status)).toEqual(
      Array.from({ length: 30 }, (_, i) => 229 - i),
    )
  })

  it('starts a write as soon as a batch is full, without waiting for the delay', async () => {
    const c = counting(store)
    const writer = createLogWriter(c.store, logger, Date.now, { maxBatch: 10, maxDelayMs: 60_000 })
    for (let i = 0; i < 9; i++) writer.write(entry(200))
    await new Promise((r) => setImmediate(r))
    expect(c.batches).toEqual([])
    for (let i = 0; i < 16; i++) writer.write(entry(200))
    // Full batches go at once; the rest waits for its batch to fill, or its delay, or a flush.
    await expect.poll(() => c.batches, { timeout: 2000 }).toEqual([10, 10])
    await new Promise((r) => setTimeout(r, 50))
    expect(c.batches).toEqual([10, 10])
    await writer.flush()
    expect(c.batches).toEqual([10, 10, 5])
  })

  it('under a steady stream, writes full batches while one is being written', async () => {
    // A store that takes a while per write, as the writer thread does.
    const c = counting(store)
    const slow: Store = {
      ...c.store,
      appendLogs: (entries) =>
        new Promise<void>((r) => setTimeout(r, 5)).then(() => c.store.appendLogs(entries)),
    }
    const writer = createLogWriter(slow, logger, Date.now, { maxBatch: 10, maxDelayMs: 60_000 })
    // Slower than a batch per write, faster than the delay.
    for (let i = 0; i < 95; i++) {
      writer.write(entry(200))
      await new Promise((r) => setTimeout(r, 1))
    }
    await expect.poll(() => c.batches.length, { timeout: 2000 }).toBe(9)
    await writer.flush()
    expect(c.batches).toEqual([10, 10, 10, 10, 10, 10, 10, 10, 10, 5])
    expect(await all()).toHaveLength(95)
  })

  it('gives each entry an id and a time, and fills the columns its kind does not use', async () => {
    const writer = createLogWriter(store, logger, () => 1234)
    writer.write({
      kind: 'refresh',
      connectorId: 'cn_1',
      connectionId: 'co_1',
      durationMs: 5,
      refreshed: true,
      refreshOutcome: 'refreshed',
      error: null,
    })
    await writer.flush()
    expect(await all()).toEqual([
      {
        id: expect.stringMatching(/^log_[0-9a-f-]{36}$/),
        time: 1234,
        kind: 'refresh',
        connectorId: 'cn_1',
        connectionId: 'co_1',
        actionId: null,
        method: null,
        url: null,
        status: null,
        durationMs: 5,
        refreshed: true,
        refreshOutcome: 'refreshed',
        breakerState: null,
        error: null,
        detail: null,
        mcpKeyId: null,
        tool: null,
      },
    ])
  })

  it('stores text that holds NULs or lone surrogates with replacement characters', async () => {
    const writer = createLogWriter(store, logger, Date.now)
    writer.write(
      entry(200, {
        error: 'a\u0000b',
        detail: { response: { headers: { 'x-odd': 'a\u0000b\ud800c' }, body: 'one\u0000two' } },
      }),
    )
    await writer.flush()
    const [stored] = await all()
    expect(stored!.error).toBe('a\uFFFDb')
    expect(stored!.detail).toEqual({
      response: { headers: { 'x-odd': 'a\uFFFDb\uFFFDc' }, body: 'one\uFFFDtwo' },
    })
  })

  it('keeps entries the store refused and writes them with the next flush', async () => {
    const c = counting(store)
    const writer = createLogWriter(c.store, logger, Date.now, { maxDelayMs: 60_000 })
    c.refuse(true)
    writer.write(entry(500))
    await writer.flush()
    expect(await all()).toHaveLength(0)
    c.refuse(false)
    writer.write(entry(200))
    await writer.flush()
    expect((await all()).map((l) => l.status)).toEqual([200, 500])
  })

  it('flushes on close, then takes no more entries', async () => {
    const writer = createLogWriter(store, logger, Date.now, { maxDelayMs: 60_000 })
    writer.write(entry(201))
    await writer.close()
    writer.write(entry(202))
    await writer.flush()
    expect((await all()).map((l) => l.status)).toEqual([201])
  })
})

describe('log ids', () => {
  it('are UUIDv7s: in time order, distinct within a millisecond', () => {
    const ids = [1_000, 1_000, 1_001, 2 ** 40, Date.now()].map(timeOrderedId)
    for (const id of ids)
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
    expect(ids[0]!.slice(0, 13)).toBe('00000000-03e8')
    expect(ids[0]).not.toBe(ids[1])
    expect(ids.slice(1)).toEqual([...ids.slice(1)].sort())
    const many = new Set(Array.from({ length: 5_000 }, () => timeOrderedId(7)))
    expect(many.size).toBe(5_000)
  })
})
