/**
 * Unbounded growth (README, "Operations"): the background purge, on its own timer, removes logs
 * older than `PATCHBAY_LOG_RETENTION_DAYS`, expired UI sessions, connect sessions past their grace
 * period and delivered webhook events past a week — in batches, on both stores, while calls keep
 * being served — and keeps everything else. A retention that is not a whole number of days stops
 * the start with an error naming the setting.
 */
import { randomUUID } from 'node:crypto'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createPatchbay } from '../src/index.js'
import { SESSION_GRACE_MS } from '../src/engine/connect-sessions.js'
import type { ConnectSessionRecord, LogRecord } from '../src/store/store.js'
import { attemptOutcome, connectionRecord, webhookEvent } from '../src/store/store.case.js'
import { runSql, startTestPatchbay, testStoreKinds, type TestPatchbay } from './helpers/patchbay.js'
import { pollUntil } from './helpers/processes.js'
import { json, startUpstream, type Upstream } from './peers/upstream.js'

const DAY = 86_400_000

function log(time: number, url: string): LogRecord {
  return {
    id: `log_${randomUUID()}`,
    time,
    connectorId: null,
    connectionId: null,
    actionId: null,
    kind: 'request',
    method: 'GET',
    url,
    status: 200,
    durationMs: 1,
    refreshed: false,
    refreshOutcome: null,
    breakerState: null,
    error: null,
    detail: null,
    mcpKeyId: null,
    tool: null,
  }
}

function connectSession(id: string, over: Partial<ConnectSessionRecord>): ConnectSessionRecord {
  return {
    id,
    tokenHash: `hash_${id}`,
    endUser: { id: 'purge-user' },
    connectors: null,
    reconnect: null,
    returnUrl: null,
    allowedOrigin: null,
    createdAt: Date.now() - 30 * DAY,
    expiresAt: Date.now() + DAY,
    endedAt: null,
    endReason: null,
    connectionIds: [],
    ...over,
  }
}

describe.each(await testStoreKinds())('the background purge on %s', (storeKind) => {
  let up: Upstream
  let t: TestPatchbay
  let connectionId: string

  beforeAll(async () => {
    up = await startUpstream()
    up.route('*', (_req, res) => json(res, 200, { ok: true }))
    // The purge timer starts stopped here (0); the test starts its own instance below.
    t = await startTestPatchbay({ storeKind, purgeIntervalMs: 0 })
  })
  afterAll(async () => {
    await t?.close()
    await up?.close()
  })

  it('removes what is past its time in batches while calls are served, and keeps the rest', async () => {
    const now = Date.now()
    const { store } = t
    // 1,200 logs past a 7-day retention (more than one batch), 3 inside it.
    for (let i = 0; i < 12; i++)
      await store.appendLogs(
        Array.from({ length: 100 }, (_, j) =>
          log(now - 8 * DAY - i * 100 - j, 'https://old.test/'),
        ),
      )
    await store.appendLogs([1, 3, 6].map((d) => log(now - d * DAY, `https://kept.test/${d}`)))
    await store.insertUiSession({
      idHash: 'ui_gone',
      keyHash: 'k',
      createdAt: 0,
      expiresAt: now - 1,
    })
    await store.insertUiSession({
      idHash: 'ui_live',
      keyHash: 'k',
      createdAt: 0,
      expiresAt: now + DAY,
    })
    const beyondGrace = now - SESSION_GRACE_MS - 1000
    await store.insertConnectSession(connectSession('cs_expired', { expiresAt: beyondGrace }))
    await store.insertConnectSession(
      connectSession('cs_ended', { endedAt: beyondGrace, endReason: 'ended' }),
    )
    await store.insertConnectSession(
      connectSession('cs_recent', { expiresAt: now - 1000 }), // expired, still in its grace
    )
    await store.insertConnectSession(connectSession('cs_live', {}))
    // Webhook events: delivered 8 days ago (gone), delivered now and dead long ago (kept).
    const events = ['co_p1', 'co_p2', 'co_p3'].map((id) => webhookEvent(id, { createdAt: 0 }))
    const connectors = await t.api('POST', '/api/v1/connectors', {
      name: 'Purged',
      baseUrl: up.url,
      auth: { type: 'bearer' },
      customAction: { enabled: true },
    })
    await t.api('POST', `/api/v1/connectors/${connectors.body.id}/ready`)
    for (const [i, e] of events.entries())
      await store.insertConnection(
        connectionRecord(connectors.body.id, { id: e.connectionId, secrets: null }),
        [events[i]!],
      )
    await store.claimWebhookEvents({ owner: 'test', now, leaseMs: 60_000, limit: 10 })
    await store.settleWebhookEvent(
      events[0]!.id,
      'test',
      attemptOutcome('delivered', now - 8 * DAY),
    )
    await store.settleWebhookEvent(events[1]!.id, 'test', attemptOutcome('delivered', now))
    await store.settleWebhookEvent(events[2]!.id, 'test', attemptOutcome('dead', now - 30 * DAY))

    const conn = await t.api('POST', '/api/v1/connections', {
      connector: connectors.body.id,
      values: { token: 'purge-token' },
    })
    connectionId = conn.body.id as string
    const count = async (sql: string) => Number((await runSql(t, sql)).rows[0]!.n)
    const oldLogs = () => count("SELECT COUNT(*) AS n FROM logs WHERE url = 'https://old.test/'")
    expect(await oldLogs()).toBe(1200)

    // A second Patchbay on the same store, as another process would be, purging every 20 ms.
    const purger = await createPatchbay({
      store,
      dataDir: t.dataDir,
      purgeIntervalMs: 20,
      refreshIntervalMs: 0,
      webhook: false,
      env: {
        PATCHBAY_LOG_RETENTION_DAYS: '7',
        PATCHBAY_LOG_LEVEL: 'silent',
        PATCHBAY_ADMIN_KEY: t.adminKey,
      },
    })
    let calls = 0
    const failures: unknown[] = []
    let serving = true
    const load = (async () => {
      while (serving) {
        const res = await t.api('POST', `/api/v1/connections/${connectionId}/request`, {
          path: 'ping',
        })
        calls++
        if (res.status !== 200 || res.body?.status !== 200) failures.push(res.body)
      }
    })()
    try {
      await pollUntil('the old logs to be purged', async () => (await oldLogs()) === 0, {
        timeoutMs: 30_000,
        intervalMs: 20,
      })
      await pollUntil(
        'the expired sessions and delivered events to be purged',
        async () =>
          (await count("SELECT COUNT(*) AS n FROM ui_sessions WHERE id_hash = 'ui_gone'")) === 0 &&
          (await count(
            "SELECT COUNT(*) AS n FROM connect_sessions WHERE id IN ('cs_expired', 'cs_ended')",
          )) === 0 &&
          (await count(
            `SELECT COUNT(*) AS n FROM webhook_events WHERE id = '${events[0]!.id}'`,
          )) === 0,
        { timeoutMs: 30_000, intervalMs: 20 },
      )
    } finally {
      serving = false
      await load
      await purger.close()
    }
    expect(failures).toEqual([])
    expect(calls).toBeGreaterThan(0)

    const kept = (
      await runSql(t, "SELECT url FROM logs WHERE url LIKE 'https://kept.test/%' ORDER BY url")
    ).rows
    expect(kept.map((r) => r.url)).toEqual([1, 3, 6].map((d) => `https://kept.test/${d}`))
    // The calls made meanwhile are logged and kept.
    await t.pb.logs.list({ limit: 1 })
    expect(
      await count(`SELECT COUNT(*) AS n FROM logs WHERE connection_id = '${connectionId}'`),
    ).toBe(calls)
    expect(await store.getUiSession('ui_live')).toBeDefined()
    const sessions = await runSql(t, 'SELECT id FROM connect_sessions ORDER BY id')
    expect(sessions.rows.map((r) => r.id)).toEqual(['cs_live', 'cs_recent'])
    const left = (await store.listWebhookEvents({ limit: 10 })).items.map((e) => e.id)
    expect(left.sort()).toEqual([events[1]!.id, events[2]!.id].sort())
  })
})

describe('PATCHBAY_LOG_RETENTION_DAYS', () => {
  const open = (value: string) =>
    createPatchbay({
      dataDir: mkdtempSync(join(tmpdir(), 'pb-retention-')),
      env: { PATCHBAY_LOG_RETENTION_DAYS: value, PATCHBAY_LOG_LEVEL: 'silent' },
    })

  it('refuses to start with a value that is not a whole number of days, naming the setting', async () => {
    for (const value of ['abc', '-1', '1.5', '7d', '36501', '1e3']) {
      const err = await open(value).then(
        async (pb) => {
          await pb.close()
          return undefined
        },
        (e: unknown) => e,
      )
      expect(err, value).toMatchObject({
        code: 'input.invalid',
        message: `"PATCHBAY_LOG_RETENTION_DAYS" must be a whole number of days from 0 to 36500 (0 keeps logs forever); got ${JSON.stringify(value)}`,
        details: [
          {
            path: 'PATCHBAY_LOG_RETENTION_DAYS',
            rule: 'must be a whole number of days from 0 to 36500 (0 keeps logs forever)',
          },
        ],
      })
    }
  })

  it('takes 0 (keep forever), whole numbers and an empty value (the default, 30)', async () => {
    for (const value of ['0', '1', ' 90 ', '']) {
      const pb = await open(value)
      await pb.close()
    }
  })
})
