/**
 * The contract every `Store` passes. Each dialect's test file calls `describeStoreContract` with a
 * factory that gives a fresh, migrated, empty store.
 *
 * @module
 */
import { randomUUID } from 'node:crypto'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { isPatchbayError } from '../errors.js'
import type { ConnectorDefinition } from '../connector/model.js'
import type {
  ConnectionRecord,
  ConnectorRecord,
  ConnectSessionRecord,
  LogRecord,
  McpKeyRecord,
  NewWebhookEvent,
  Store,
  WebhookAttemptOutcome,
} from './store.js'

export function definition(over: Partial<ConnectorDefinition> = {}): ConnectorDefinition {
  return {
    name: 'Acme',
    linkName: 'acme',
    baseUrl: 'https://api.acme.test/',
    fields: [],
    auth: { type: 'basic' },
    customAction: { enabled: false },
    actions: [],
    ...over,
  }
}

export function connectorRecord(over: Partial<ConnectorRecord> = {}): ConnectorRecord {
  const id = over.id ?? `cn_${randomUUID()}`
  return {
    id,
    linkName: `c_${id.replace(/\W/g, '_')}`,
    name: 'Acme',
    stage: 'draft',
    definition: definition(),
    secrets: null,
    createdAt: Date.now(),
    updatedAt: Date.now(),
    version: 1,
    ...over,
  }
}

export function connectionRecord(
  connectorId: string,
  over: Partial<ConnectionRecord> = {},
): ConnectionRecord {
  return {
    id: `co_${randomUUID()}`,
    connectorId,
    name: 'Main',
    endUser: null,
    status: 'connected',
    statusMessage: null,
    identity: null,
    values: { subdomain: 'acme' },
    secrets: 'pb1.sealed',
    credentialsVersion: 1,
    expiresAt: null,
    refreshExpiresAt: null,
    refreshNotBefore: null,
    refreshFailures: 0,
    createdAt: Date.now(),
    updatedAt: Date.now(),
    ...over,
  }
}

export function logRecord(over: Partial<LogRecord> = {}): LogRecord {
  return {
    id: `log_${randomUUID()}`,
    time: Date.now(),
    connectorId: null,
    connectionId: null,
    actionId: null,
    kind: 'request',
    method: 'GET',
    url: 'https://api.acme.test/x',
    status: 200,
    durationMs: 3,
    refreshed: false,
    refreshOutcome: null,
    breakerState: 'closed',
    error: null,
    detail: { a: 1 },
    mcpKeyId: null,
    tool: null,
    ...over,
  }
}

export function webhookEvent(
  connectionId: string,
  over: Partial<NewWebhookEvent> = {},
): NewWebhookEvent {
  return {
    id: `evt_${randomUUID()}`,
    type: 'connection.created',
    connectionId,
    connectorId: 'cn_x',
    endUser: null,
    createdAt: 1_000,
    ...over,
  }
}

/** An attempt's outcome, for `settleWebhookEvent`. */
export function attemptOutcome(
  status: WebhookAttemptOutcome['status'],
  at: number,
  over: Partial<WebhookAttemptOutcome> = {},
): WebhookAttemptOutcome {
  return {
    status,
    nextAttemptAt: at,
    lastStatus: status === 'delivered' ? 200 : 500,
    lastError: status === 'delivered' ? null : 'the receiver answered 500',
    at,
    ...over,
  }
}

export function describeStoreContract(name: string, open: () => Promise<Store>): void {
  describe(`Store contract: ${name}`, () => {
    let store: Store
    beforeEach(async () => {
      store = await open()
    })
    afterEach(async () => {
      await store.close()
    })

    it('inserts, reads by id or link name, and lists connectors in pages', async () => {
      const records = [0, 1, 2].map((i) => connectorRecord({ createdAt: 1000 + i, name: `N${i}` }))
      for (const r of records) await store.insertConnector(r)
      expect(await store.getConnector(records[1]!.id)).toEqual(records[1])
      expect((await store.getConnector(records[2]!.linkName))?.id).toBe(records[2]!.id)
      const first = await store.listConnectors({ limit: 2 })
      expect(first.items.map((c) => c.name)).toEqual(['N0', 'N1'])
      const second = await store.listConnectors({ limit: 2, cursor: first.nextCursor })
      expect(second.items.map((c) => c.name)).toEqual(['N2'])
      expect(second.nextCursor).toBeUndefined()
    })

    it('refuses a second connector with the same link name', async () => {
      await store.insertConnector(connectorRecord({ linkName: 'same' }))
      const err = await store
        .insertConnector(connectorRecord({ linkName: 'same' }))
        .catch((e: unknown) => e)
      expect(isPatchbayError(err, 'connector.link_name_taken')).toBe(true)
      expect((await store.listConnectors({ limit: 10 })).items).toHaveLength(1)
    })

    it('updates a connector only at the expected version', async () => {
      const r = connectorRecord()
      await store.insertConnector(r)
      expect(await store.updateConnector({ ...r, name: 'B', version: 2 }, 1)).toBe(true)
      expect(await store.updateConnector({ ...r, name: 'C', version: 2 }, 1)).toBe(false)
      expect((await store.getConnector(r.id))?.name).toBe('B')
    })

    it('refuses a cursor it did not give out', async () => {
      const err = await store
        .listConnectors({ limit: 2, cursor: 'garbage!' })
        .catch((e: unknown) => e)
      expect(isPatchbayError(err, 'input.invalid')).toBe(true)
    })

    it('stores connections, filters them, and counts them per connector', async () => {
      const c = connectorRecord()
      await store.insertConnector(c)
      const a = connectionRecord(c.id, { endUser: 'u1', createdAt: 1 })
      const b = connectionRecord(c.id, { endUser: 'u2', createdAt: 2, status: 'pending' })
      await store.insertConnection(a)
      await store.insertConnection(b)
      expect(await store.getConnection(a.id)).toEqual(a)
      expect(await store.countConnections(c.id)).toBe(2)
      expect(
        (await store.listConnections({ limit: 10, endUser: 'u2' })).items.map((x) => x.id),
      ).toEqual([b.id])
      expect(
        (await store.listConnections({ limit: 10, status: 'connected' })).items.map((x) => x.id),
      ).toEqual([a.id])
      expect((await store.listConnections({ limit: 10, connectorId: c.id })).items).toHaveLength(2)
      const p1 = await store.listConnections({ limit: 1 })
      expect(p1.items.map((x) => x.id)).toEqual([a.id])
      expect(
        (await store.listConnections({ limit: 1, cursor: p1.nextCursor })).items.map((x) => x.id),
      ).toEqual([b.id])
    })

    it('replaces credentials with compare-and-set on the credentials version', async () => {
      const c = connectorRecord()
      await store.insertConnector(c)
      const a = connectionRecord(c.id)
      await store.insertConnection(a)
      const update = {
        secrets: 'pb1.new',
        expiresAt: 5,
        refreshExpiresAt: 9,
        status: 'connected' as const,
        statusMessage: null,
      }
      expect(await store.updateCredentials(a.id, 1, update)).toBe(2)
      expect(
        await store.updateCredentials(a.id, 1, { ...update, secrets: 'pb1.lost' }),
      ).toBeUndefined()
      const after = await store.getConnection(a.id)
      expect(after).toMatchObject({
        secrets: 'pb1.new',
        credentialsVersion: 2,
        expiresAt: 5,
        refreshExpiresAt: 9,
      })
    })

    it('only one of many concurrent compare-and-set writers wins', async () => {
      const c = connectorRecord()
      await store.insertConnector(c)
      const a = connectionRecord(c.id)
      await store.insertConnection(a)
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          store.updateCredentials(a.id, 1, {
            secrets: `pb1.${i}`,
            expiresAt: null,
            refreshExpiresAt: null,
            status: 'connected',
            statusMessage: null,
          }),
        ),
      )
      expect(results.filter((r) => r === 2)).toHaveLength(1)
    })

    it('lists connections due for refresh', async () => {
      const c = connectorRecord()
      await store.insertConnector(c)
      const due = connectionRecord(c.id, { expiresAt: 100 })
      const dueRefresh = connectionRecord(c.id, { refreshExpiresAt: 150 })
      const later = connectionRecord(c.id, { expiresAt: 10_000 })
      const backingOff = connectionRecord(c.id, { expiresAt: 100, refreshNotBefore: 5_000 })
      const dead = connectionRecord(c.id, { expiresAt: 100, status: 'needs_reauth' })
      for (const r of [due, dueRefresh, later, backingOff, dead]) await store.insertConnection(r)
      const ids = (await store.listRefreshDue(200, 200, 1000, 10)).map((r) => r.id).sort()
      expect(ids).toEqual([due.id, dueRefresh.id].sort())
    })

    it('deletes a connection with its pending OAuth states', async () => {
      const c = connectorRecord()
      await store.insertConnector(c)
      const a = connectionRecord(c.id)
      await store.insertConnection(a)
      await store.insertOAuthState({
        stateHash: 'h1',
        connectionId: a.id,
        flow: 'pb1.f',
        returnUrl: null,
        sessionId: null,
        expiresAt: Date.now() + 60_000,
      })
      expect(await store.deleteConnection(a.id)).toBe(true)
      expect(await store.getConnection(a.id)).toBeUndefined()
      expect(await store.consumeOAuthState('h1', Date.now())).toBeUndefined()
    })

    it('consumes an OAuth state exactly once, and never after it expires', async () => {
      const now = Date.now()
      await store.insertOAuthState({
        stateHash: 's1',
        connectionId: 'x',
        flow: 'pb1.f',
        returnUrl: 'https://app.test/done',
        sessionId: 'sess',
        expiresAt: now + 1000,
      })
      await store.insertOAuthState({
        stateHash: 's2',
        connectionId: 'x',
        flow: 'pb1.f',
        returnUrl: null,
        sessionId: null,
        expiresAt: now - 1,
      })
      const both = await Promise.all([
        store.consumeOAuthState('s1', now),
        store.consumeOAuthState('s1', now),
      ])
      expect(both.filter(Boolean)).toHaveLength(1)
      expect(both.find(Boolean)).toMatchObject({
        connectionId: 'x',
        returnUrl: 'https://app.test/done',
        sessionId: 'sess',
      })
      expect(await store.consumeOAuthState('s2', now)).toBeUndefined()
    })

    it('appends logs and lists them newest first with filters and cursors', async () => {
      for (let i = 0; i < 5; i++)
        await store.appendLogs([
          logRecord({ connectionId: i % 2 ? 'odd' : 'even', status: 200 + i }),
        ])
      const all = await store.listLogs({ limit: 3 })
      expect(all.items.map((l) => l.status)).toEqual([204, 203, 202])
      const rest = await store.listLogs({ limit: 3, cursor: all.nextCursor })
      expect(rest.items.map((l) => l.status)).toEqual([201, 200])
      expect(
        (await store.listLogs({ limit: 10, connectionId: 'odd' })).items.map((l) => l.status),
      ).toEqual([203, 201])
      expect(all.items[0]).toMatchObject({ detail: { a: 1 }, refreshed: false, kind: 'request' })
    })

    it('appends a batch larger than one statement takes, every entry once, in order', async () => {
      const batch = Array.from({ length: 150 }, (_, i) =>
        logRecord({ connectionId: 'bulk', status: 200 + (i % 100), durationMs: i }),
      )
      await store.appendLogs(batch)
      const listed = await store.listLogs({ limit: 200, connectionId: 'bulk' })
      expect(listed.items.map((l) => l.durationMs)).toEqual(batch.map((_, i) => 149 - i))
      expect(listed.items.map((l) => l.id)).toEqual(batch.map((b) => b.id).reverse())
    })

    it('keeps the MCP key and tool of a log entry and filters by them', async () => {
      await store.appendLogs([
        logRecord({ status: 201, mcpKeyId: 'mk_1', tool: 'acme__create' }),
        logRecord({ status: 202, mcpKeyId: 'mk_1', tool: 'acme__http_request' }),
        logRecord({ status: 203, mcpKeyId: 'mk_2', tool: 'acme__create' }),
        logRecord({ status: 204 }),
      ])
      const byKey = await store.listLogs({ limit: 10, mcpKeyId: 'mk_1' })
      expect(byKey.items.map((l) => [l.status, l.mcpKeyId, l.tool])).toEqual([
        [202, 'mk_1', 'acme__http_request'],
        [201, 'mk_1', 'acme__create'],
      ])
      const byTool = await store.listLogs({ limit: 10, tool: 'acme__create' })
      expect(byTool.items.map((l) => l.status)).toEqual([203, 201])
      const both = await store.listLogs({ limit: 10, mcpKeyId: 'mk_2', tool: 'acme__create' })
      expect(both.items.map((l) => l.status)).toEqual([203])
      const plain = await store.listLogs({ limit: 1 })
      expect(plain.items[0]).toMatchObject({ status: 204, mcpKeyId: null, tool: null })
    })

    it('stores MCP keys by hash with their scope, lists them in pages, and revokes them once', async () => {
      const keys: McpKeyRecord[] = [
        {
          id: 'mk_0',
          name: 'agent 0',
          keyHash: 'mhash0',
          endUser: 'user_1',
          connectionIds: null,
          connectorIds: ['cn_a', 'cn_b'],
          actionIds: null,
          httpRequest: true,
          createdAt: 1000,
          revokedAt: null,
        },
        {
          id: 'mk_1',
          name: 'agent 1',
          keyHash: 'mhash1',
          endUser: null,
          connectionIds: ['co_1'],
          connectorIds: null,
          actionIds: ['act_1'],
          httpRequest: false,
          createdAt: 1001,
          revokedAt: null,
        },
        {
          id: 'mk_2',
          name: 'agent 2',
          keyHash: 'mhash2',
          endUser: 'user_2',
          connectionIds: null,
          connectorIds: [],
          actionIds: ['act_1', 'act_2'],
          httpRequest: false,
          createdAt: 1002,
          revokedAt: null,
        },
      ]
      for (const k of keys) await store.insertMcpKey(k)
      expect(await store.findMcpKey('mhash0')).toEqual(keys[0])
      expect(await store.findMcpKey('mhash1')).toEqual(keys[1])
      expect(await store.getMcpKey('mk_2')).toEqual(keys[2])
      expect(await store.findMcpKey('nope')).toBeUndefined()
      expect(await store.getMcpKey('mk_nope')).toBeUndefined()
      const first = await store.listMcpKeys({ limit: 2 })
      expect(first.items.map((k) => k.id)).toEqual(['mk_0', 'mk_1'])
      const second = await store.listMcpKeys({ limit: 2, cursor: first.nextCursor })
      expect(second.items.map((k) => k.id)).toEqual(['mk_2'])
      expect(second.nextCursor).toBeUndefined()
      expect(await store.revokeMcpKey('mk_1', 5000)).toBe(true)
      expect(await store.revokeMcpKey('mk_1', 6000)).toBe(true)
      expect(await store.revokeMcpKey('mk_missing', 6000)).toBe(false)
      expect(await store.findMcpKey('mhash1')).toMatchObject({ revokedAt: 5000 })
      const err = await store.insertMcpKey({ ...keys[0]!, id: 'mk_dup' }).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(Error)
      const bad = await store.listMcpKeys({ limit: 2, cursor: 'garbage!' }).catch((e: unknown) => e)
      expect(isPatchbayError(bad, 'input.invalid')).toBe(true)
    })

    it('applies breaker transitions atomically', async () => {
      expect(await store.getBreaker('k')).toBeUndefined()
      await Promise.all(
        Array.from({ length: 10 }, () =>
          store.updateBreaker('k', (b) => ({ ...b, failures: b.failures + 1 })),
        ),
      )
      expect(await store.getBreaker('k')).toMatchObject({ key: 'k', state: 'closed', failures: 10 })
    })

    it('runs lock holders one at a time', async () => {
      let inside = 0
      let most = 0
      await Promise.all(
        Array.from({ length: 8 }, () =>
          store.withLock('refresh:x', 5000, async () => {
            inside++
            most = Math.max(most, inside)
            await new Promise((r) => setTimeout(r, 5))
            inside--
          }),
        ),
      )
      expect(most).toBe(1)
    })

    it('lists every sealed value in pages, by kind then id, skipping empty secrets', async () => {
      const withSecrets = connectorRecord({ id: 'cn_b', secrets: 'pb1.k.connector-b' })
      const without = connectorRecord({ id: 'cn_a', secrets: null })
      await store.insertConnector(withSecrets)
      await store.insertConnector(without)
      const conns = ['co_2', 'co_1', 'co_3'].map((id) =>
        connectionRecord(withSecrets.id, { id, secrets: `pb1.k.${id}` }),
      )
      conns.push(connectionRecord(withSecrets.id, { id: 'co_0', secrets: null }))
      for (const r of conns) await store.insertConnection(r)
      await store.insertOAuthState({
        stateHash: 'h_state',
        connectionId: 'co_1',
        flow: 'pb1.k.flow',
        returnUrl: null,
        sessionId: null,
        expiresAt: Date.now() + 60_000,
      })
      const seen: string[] = []
      let cursor: string | undefined
      let pages = 0
      do {
        const page = await store.listSealed({ limit: 2, cursor })
        expect(page.items.length).toBeLessThanOrEqual(2)
        seen.push(...page.items.map((v) => `${v.kind}:${v.id}:${v.sealed}`))
        cursor = page.nextCursor
        pages++
      } while (cursor && pages < 10)
      expect(seen).toEqual([
        'connector:cn_b:pb1.k.connector-b',
        'connection:co_1:pb1.k.co_1',
        'connection:co_2:pb1.k.co_2',
        'connection:co_3:pb1.k.co_3',
        'oauth_state:h_state:pb1.k.flow',
      ])
      expect(pages).toBe(3)
      const err = await store.listSealed({ limit: 2, cursor: 'garbage!' }).catch((e: unknown) => e)
      expect(isPatchbayError(err, 'input.invalid')).toBe(true)
    })

    it('replaces a sealed value only while it is still the expected one, touching nothing else', async () => {
      const c = connectorRecord({ secrets: 'pb1.old.c' })
      await store.insertConnector(c)
      const a = connectionRecord(c.id, { secrets: 'pb1.old.a' })
      await store.insertConnection(a)
      await store.insertOAuthState({
        stateHash: 'h_flow',
        connectionId: a.id,
        flow: 'pb1.old.f',
        returnUrl: null,
        sessionId: null,
        expiresAt: Date.now() + 60_000,
      })
      expect(await store.replaceSealed('connector', c.id, 'pb1.old.c', 'pb1.new.c')).toBe(true)
      expect(await store.replaceSealed('connection', a.id, 'pb1.old.a', 'pb1.new.a')).toBe(true)
      expect(await store.replaceSealed('oauth_state', 'h_flow', 'pb1.old.f', 'pb1.new.f')).toBe(
        true,
      )
      // A second re-seal from the same stale read loses, as does one for a missing row.
      expect(await store.replaceSealed('connection', a.id, 'pb1.old.a', 'pb1.other')).toBe(false)
      expect(await store.replaceSealed('connection', 'co_missing', 'pb1.old.a', 'x')).toBe(false)
      expect(await store.getConnector(c.id)).toEqual({ ...c, secrets: 'pb1.new.c' })
      expect(await store.getConnection(a.id)).toEqual({ ...a, secrets: 'pb1.new.a' })
      // A refresh that read the row before the re-seal still wins: no version was bumped.
      expect(
        await store.updateCredentials(a.id, a.credentialsVersion, {
          secrets: 'pb1.refreshed',
          expiresAt: null,
          refreshExpiresAt: null,
          status: 'connected',
          statusMessage: null,
        }),
      ).toBe(a.credentialsVersion + 1)
      expect(await store.replaceSealed('connection', a.id, 'pb1.new.a', 'pb1.lost')).toBe(false)
      expect((await store.getConnection(a.id))?.secrets).toBe('pb1.refreshed')
      expect(await store.consumeOAuthState('h_flow', Date.now())).toMatchObject({
        flow: 'pb1.new.f',
      })
    })

    it('lets only one of many concurrent re-seals of one value win', async () => {
      const c = connectorRecord()
      await store.insertConnector(c)
      const a = connectionRecord(c.id, { secrets: 'pb1.old' })
      await store.insertConnection(a)
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          store.replaceSealed('connection', a.id, 'pb1.old', `pb1.new${i}`),
        ),
      )
      expect(results.filter(Boolean)).toHaveLength(1)
    })

    it('stores admin keys by hash, lists them in pages, and revokes them once', async () => {
      const keys = [0, 1, 2].map((i) => ({
        id: `ak_${i}`,
        name: `key ${i}`,
        keyHash: `hash${i}`,
        createdAt: 1000 + i,
        revokedAt: null,
      }))
      for (const k of keys) await store.insertAdminKey(k)
      expect(await store.findAdminKey('hash1')).toEqual(keys[1])
      expect(await store.findAdminKey('nope')).toBeUndefined()
      const first = await store.listAdminKeys({ limit: 2 })
      expect(first.items.map((k) => k.id)).toEqual(['ak_0', 'ak_1'])
      const second = await store.listAdminKeys({ limit: 2, cursor: first.nextCursor })
      expect(second.items.map((k) => k.id)).toEqual(['ak_2'])
      expect(second.nextCursor).toBeUndefined()
      expect(await store.revokeAdminKey('ak_1', 5000)).toBe(true)
      expect(await store.revokeAdminKey('ak_1', 6000)).toBe(true)
      expect(await store.revokeAdminKey('ak_missing', 6000)).toBe(false)
      expect(await store.findAdminKey('hash1')).toMatchObject({ revokedAt: 5000 })
      expect((await store.listAdminKeys({ limit: 10 })).items).toHaveLength(3)
      const err = await store.insertAdminKey({ ...keys[0]!, id: 'ak_dup' }).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(Error)
      const bad = await store
        .listAdminKeys({ limit: 2, cursor: 'garbage!' })
        .catch((e: unknown) => e)
      expect(isPatchbayError(bad, 'input.invalid')).toBe(true)
    })

    it('reads a call’s state in one go: versions, status and the breaker', async () => {
      const c = connectorRecord({ version: 3 })
      await store.insertConnector(c)
      const r = connectionRecord(c.id, { credentialsVersion: 7, status: 'needs_reauth' })
      await store.insertConnection(r)
      expect(await store.getCallState(r.id, 'k1')).toEqual({
        connectorId: c.id,
        connectorVersion: 3,
        status: 'needs_reauth',
        statusMessage: null,
        credentialsVersion: 7,
        breaker: undefined,
      })
      await store.updateBreaker('k1', (b) => ({ ...b, failures: 2 }))
      expect((await store.getCallState(r.id, 'k1'))?.breaker).toMatchObject({
        key: 'k1',
        state: 'closed',
        failures: 2,
      })
      expect(await store.getCallState('co_missing', 'k1')).toBeUndefined()
      await store.updateBreaker('k2', (b) => ({ ...b, failures: 1 }))
      expect((await store.getBreakers(['k1', 'k2', 'k3'])).map((b) => b.key).sort()).toEqual([
        'k1',
        'k2',
      ])
      expect(await store.getBreakers([])).toEqual([])
    })

    it('finds the connector of a saved action, following the connector’s writes', async () => {
      const action = (id: string) => ({
        id,
        name: id,
        method: 'GET' as const,
        path: 'x',
        inputs: [],
      })
      const c = connectorRecord({ definition: definition({ actions: [action('act_1')] }) })
      await store.insertConnector(c)
      expect(await store.findActionConnector('act_1')).toBe(c.id)
      await store.updateConnector(
        { ...c, definition: definition({ actions: [action('act_2')] }), version: 2 },
        1,
      )
      expect(await store.findActionConnector('act_1')).toBeUndefined()
      expect(await store.findActionConnector('act_2')).toBe(c.id)
      // An update that loses its compare-and-set changes nothing, the index included.
      await store.updateConnector(
        { ...c, definition: definition({ actions: [action('act_3')] }), version: 3 },
        1,
      )
      expect(await store.findActionConnector('act_3')).toBeUndefined()
      await store.deleteConnector(c.id)
      expect(await store.findActionConnector('act_2')).toBeUndefined()
    })

    it('keeps connect sessions: by token hash or id, live ones newest first, ended once', async () => {
      const session = (i: number, over: Partial<ConnectSessionRecord> = {}) => ({
        id: `cs_${i}`,
        tokenHash: `hash_${i}`,
        endUser: { id: i % 2 ? 'odd' : 'even', email: 'a@example.com' },
        connectors: i === 0 ? null : ['cn_1'],
        reconnect: null,
        returnUrl: null,
        allowedOrigin: 'https://app.test',
        createdAt: 1000 + i,
        expiresAt: 10_000,
        endedAt: null,
        endReason: null,
        connectionIds: [],
        ...over,
      })
      for (let i = 0; i < 4; i++) await store.insertConnectSession(session(i))
      await store.insertConnectSession(session(9, { expiresAt: 1500 }))
      expect(await store.getConnectSession('hash_1')).toEqual(session(1))
      expect(await store.getConnectSessionById('cs_0')).toEqual(session(0))
      const first = await store.listConnectSessions({ limit: 2, liveAt: 2000 })
      expect(first.items.map((s) => s.id)).toEqual(['cs_3', 'cs_2'])
      const rest = await store.listConnectSessions({
        limit: 2,
        liveAt: 2000,
        cursor: first.nextCursor,
      })
      expect(rest.items.map((s) => s.id)).toEqual(['cs_1', 'cs_0'])
      expect(rest.nextCursor).toBeUndefined()
      expect(
        (await store.listConnectSessions({ limit: 9, liveAt: 2000, endUser: 'odd' })).items.map(
          (s) => s.id,
        ),
      ).toEqual(['cs_3', 'cs_1'])
      expect(await store.endConnectSession('cs_1', 3000, 'ended')).toBe(true)
      expect(await store.endConnectSession('cs_1', 4000, 'completed')).toBe(false)
      expect(await store.getConnectSessionById('cs_1')).toMatchObject({
        endedAt: 3000,
        endReason: 'ended',
      })
      const added = await Promise.all(
        ['co_a', 'co_b', 'co_a'].map((c) => store.addConnectSessionConnection('cs_2', c)),
      )
      expect(added.every(Boolean)).toBe(true)
      expect((await store.getConnectSessionById('cs_2'))?.connectionIds.sort()).toEqual([
        'co_a',
        'co_b',
      ])
      expect(await store.addConnectSessionConnection('cs_missing', 'co_a')).toBeUndefined()
    })

    it('keeps end users and pages the distinct end users of connections', async () => {
      const c = connectorRecord()
      await store.insertConnector(c)
      for (const [i, u] of ['u_b', 'u_a', 'u_b', 'u_c', null].entries())
        await store.insertConnection(connectionRecord(c.id, { endUser: u, createdAt: i }))
      const first = await store.listEndUserIds({ limit: 2 })
      expect(first.items).toEqual(['u_a', 'u_b'])
      const rest = await store.listEndUserIds({ limit: 2, cursor: first.nextCursor })
      expect(rest).toEqual({ items: ['u_c'] })
      await store.upsertEndUser({ id: 'u_a', email: 'a@x.test', displayName: null, updatedAt: 1 })
      await store.upsertEndUser({ id: 'u_a', email: 'b@x.test', displayName: 'B', updatedAt: 2 })
      expect(await store.getEndUser('u_a')).toEqual({
        id: 'u_a',
        email: 'b@x.test',
        displayName: 'B',
        updatedAt: 2,
      })
      expect(await store.deleteEndUser('u_a')).toBe(true)
      expect(await store.getEndUser('u_a')).toBeUndefined()
    })

    it('keeps UI sessions by the hash of their id', async () => {
      const s = { idHash: 'h1', keyHash: 'k1', createdAt: 1, expiresAt: 2 }
      await store.insertUiSession(s)
      expect(await store.getUiSession('h1')).toEqual(s)
      expect(await store.deleteUiSession('h1')).toBe(true)
      expect(await store.getUiSession('h1')).toBeUndefined()
    })

    it('purges expired rows in batches, and old logs when asked', async () => {
      const now = 1_000_000
      for (let i = 0; i < 3; i++) {
        await store.insertUiSession({
          idHash: `old${i}`,
          keyHash: 'k',
          createdAt: 0,
          expiresAt: now - 1,
        })
        await store.appendLogs([logRecord({ time: now - 10_000 + i })])
      }
      await store.insertUiSession({
        idHash: 'live',
        keyHash: 'k',
        createdAt: 0,
        expiresAt: now + 1,
      })
      await store.appendLogs([logRecord({ time: now })])
      await store.insertOAuthState({
        stateHash: 'gone',
        connectionId: 'x',
        flow: 'f',
        returnUrl: null,
        sessionId: null,
        expiresAt: now - 1,
      })
      const options = { now, logsBefore: now - 1000, sessionGraceMs: 0, batch: 2 }
      expect(await store.purge(options)).toMatchObject({ logs: 2, uiSessions: 2, oauthStates: 1 })
      expect(await store.purge(options)).toMatchObject({ logs: 1, uiSessions: 1, oauthStates: 0 })
      expect(await store.purge(options)).toMatchObject({ logs: 0, uiSessions: 0 })
      expect(await store.getUiSession('live')).toBeDefined()
      expect((await store.listLogs({ limit: 10 })).items.map((l) => l.time)).toEqual([now])
      expect(await store.purge({ ...options, logsBefore: undefined })).toMatchObject({ logs: 0 })
    })

    it('commits a write fenced by a lock only while the lock is held', async () => {
      const c = connectorRecord()
      await store.insertConnector(c)
      const r = connectionRecord(c.id)
      await store.insertConnection(r)
      const update = (secrets: string) => ({
        secrets,
        expiresAt: null,
        refreshExpiresAt: null,
        status: 'connected' as const,
        statusMessage: null,
      })
      const version = await store.withLock(`refresh:${r.id}`, 5000, (lock) =>
        lock.updateCredentials(r.id, 1, update('pb1.fenced')),
      )
      expect(version).toBe(2)
      expect(await store.getConnection(r.id)).toMatchObject({
        secrets: 'pb1.fenced',
        credentialsVersion: 2,
      })
    })

    it('counts rate-limit slots per key and window, up to the limit', async () => {
      const take = (key: string, windowStart: number) =>
        store.takeRateLimitSlot(key, windowStart, 2, windowStart + 1000)
      expect([await take('a', 0), await take('a', 0), await take('a', 0)]).toEqual([
        true,
        true,
        false,
      ])
      // Another window and another key count apart.
      expect(await take('a', 1000)).toBe(true)
      expect(await take('b', 0)).toBe(true)
      expect(await store.takeRateLimitSlot('c', 0, 1, 1000)).toBe(true)
      expect(await store.takeRateLimitSlot('c', 0, 1, 1000)).toBe(false)
    })

    it('hands out exactly the limit of slots to many concurrent takers', async () => {
      const results = await Promise.all(
        Array.from({ length: 25 }, () => store.takeRateLimitSlot('busy', 5000, 7, 6000)),
      )
      expect(results.filter(Boolean)).toHaveLength(7)
    })

    it('purges rate-limit windows once they expire', async () => {
      await store.takeRateLimitSlot('p', 0, 5, 1000)
      await store.takeRateLimitSlot('p', 1000, 5, 2000)
      const options = { now: 1500, sessionGraceMs: 0, batch: 10 }
      expect(await store.purge(options)).toMatchObject({ rateWindows: 1 })
      expect(await store.purge(options)).toMatchObject({ rateWindows: 0 })
      // The expired window is gone (counting starts again); the live one keeps its count.
      expect(await store.takeRateLimitSlot('p', 0, 1, 1000)).toBe(true)
      expect(await store.takeRateLimitSlot('p', 1000, 1, 2000)).toBe(false)
    })

    it('writes webhook events with the change that causes them, and only when it is made', async () => {
      const c = connectorRecord()
      await store.insertConnector(c)
      const conn = connectionRecord(c.id)
      const ids = async () =>
        (await store.listWebhookEvents({ limit: 50 })).items.map((e) => e.id).reverse()
      const created = webhookEvent(conn.id, { endUser: 'ann' })
      await store.insertConnection(conn, [created])
      expect(await store.getWebhookEvent(created.id)).toEqual({
        ...created,
        seq: expect.any(Number),
        status: 'pending',
        attempts: 0,
        nextAttemptAt: created.createdAt,
        leaseOwner: null,
        leaseUntil: null,
        lastAttemptAt: null,
        lastStatus: null,
        lastError: null,
        finishedAt: null,
      })
      const update = {
        secrets: 'pb1.new',
        expiresAt: null,
        refreshExpiresAt: null,
        status: 'connected' as const,
        statusMessage: null,
      }
      // Changes that are not made write no event.
      const lost = webhookEvent(conn.id, { type: 'connection.reconnected' })
      expect(await store.updateCredentials(conn.id, 7, update, [lost])).toBeUndefined()
      const nobody = webhookEvent('co_nobody', { type: 'connection.failed' })
      expect(await store.updateConnection('co_nobody', { status: 'error' }, [nobody])).toBe(false)
      expect(await ids()).toEqual([created.id])
      // Changes that are made write theirs, in order.
      const reconnected = webhookEvent(conn.id, { type: 'connection.reconnected' })
      expect(await store.updateCredentials(conn.id, 1, update, [reconnected])).toBe(2)
      const failed = webhookEvent(conn.id, { type: 'connection.failed' })
      expect(await store.updateConnection(conn.id, { status: 'error' }, [failed])).toBe(true)
      const fenced = webhookEvent(conn.id, { type: 'connection.reconnected' })
      expect(
        await store.withLock(`refresh:${conn.id}`, 5000, (lock) =>
          lock.updateCredentials(conn.id, 2, update, [fenced]),
        ),
      ).toBe(3)
      const deleted = webhookEvent(conn.id, { type: 'connection.deleted' })
      expect(await store.deleteConnection(conn.id, [deleted])).toBe(true)
      expect(await store.deleteConnection(conn.id, [webhookEvent(conn.id)])).toBe(false)
      expect(await ids()).toEqual([created.id, reconnected.id, failed.id, fenced.id, deleted.id])
      const seqs = (await store.listWebhookEvents({ limit: 50 })).items.map((e) => e.seq)
      expect(seqs).toEqual([...seqs].sort((a, b) => b - a))
    })

    it('claims only the oldest pending event of each connection, leased to one owner', async () => {
      const [a1, a2, b1] = [
        webhookEvent('co_a', { createdAt: 10 }),
        webhookEvent('co_a', { createdAt: 11, type: 'connection.deleted' }),
        webhookEvent('co_b', { createdAt: 12 }),
      ]
      await store.insertConnector(connectorRecord({ id: 'cn_x' }))
      await store.insertConnection(connectionRecord('cn_x', { id: 'co_a' }), [a1, a2])
      await store.insertConnection(connectionRecord('cn_x', { id: 'co_b' }), [b1])
      const claim = (owner: string, now: number) =>
        store.claimWebhookEvents({ owner, now, leaseMs: 1000, limit: 10 })
      expect(await claim('x', 5)).toEqual([]) // not due yet
      const first = await claim('x', 100)
      expect(first.map((e) => e.id)).toEqual([a1.id, b1.id])
      expect(first.every((e) => e.leaseOwner === 'x' && e.leaseUntil === 1100)).toBe(true)
      // Leased: nobody else gets them, and a2 waits behind a1.
      expect(await claim('y', 200)).toEqual([])
      // Only the lease holder records a failure; a delivery is recorded whoever reports it.
      expect(await store.settleWebhookEvent(a1.id, 'y', attemptOutcome('pending', 300))).toBe(false)
      expect(
        await store.settleWebhookEvent(
          a1.id,
          'x',
          attemptOutcome('pending', 300, { nextAttemptAt: 900 }),
        ),
      ).toBe(true)
      expect(await store.getWebhookEvent(a1.id)).toMatchObject({
        status: 'pending',
        attempts: 1,
        nextAttemptAt: 900,
        leaseOwner: null,
        lastAttemptAt: 300,
        lastStatus: 500,
        lastError: 'the receiver answered 500',
        finishedAt: null,
      })
      // Backing off, a1 still holds a2 back.
      expect(await claim('y', 400)).toEqual([])
      expect((await claim('y', 900)).map((e) => e.id)).toEqual([a1.id])
      expect(await store.settleWebhookEvent(a1.id, 'x', attemptOutcome('delivered', 950))).toBe(
        true,
      )
      expect(await store.getWebhookEvent(a1.id)).toMatchObject({
        status: 'delivered',
        attempts: 2,
        finishedAt: 950,
        leaseOwner: null,
      })
      expect(await store.settleWebhookEvent(a1.id, 'y', attemptOutcome('pending', 960))).toBe(false)
      expect((await claim('y', 1000)).map((e) => e.id)).toEqual([a2.id])
      // b1's lease lapsed at 1100: another owner takes it over.
      expect((await claim('z', 1100)).map((e) => e.id)).toEqual([b1.id])
      expect(await store.settleWebhookEvent(b1.id, 'x', attemptOutcome('dead', 1150))).toBe(false)
      expect(await store.settleWebhookEvent(b1.id, 'z', attemptOutcome('dead', 1150))).toBe(true)
    })

    it('lets a dead-lettered event stop holding back the next, and retries it', async () => {
      const [e1, e2] = [webhookEvent('co_a'), webhookEvent('co_a', { type: 'connection.deleted' })]
      await store.insertConnector(connectorRecord({ id: 'cn_x' }))
      await store.insertConnection(connectionRecord('cn_x', { id: 'co_a' }), [e1, e2])
      const claim = (now: number) =>
        store.claimWebhookEvents({ owner: 'x', now, leaseMs: 1000, limit: 10 })
      expect((await claim(2000)).map((e) => e.id)).toEqual([e1.id])
      expect(await store.retryWebhookEvent(e1.id, 2100)).toBe(false) // not dead
      await store.settleWebhookEvent(e1.id, 'x', attemptOutcome('dead', 2100))
      expect(await store.getWebhookEvent(e1.id)).toMatchObject({
        status: 'dead',
        attempts: 1,
        finishedAt: 2100,
      })
      expect((await claim(2200)).map((e) => e.id)).toEqual([e2.id])
      await store.settleWebhookEvent(e2.id, 'x', attemptOutcome('delivered', 2300))
      expect(await store.retryWebhookEvent(e1.id, 3000)).toBe(true)
      expect(await store.retryWebhookEvent(e1.id, 3000)).toBe(false)
      expect(await store.retryWebhookEvent('evt_unknown', 3000)).toBe(false)
      expect(await store.getWebhookEvent(e1.id)).toMatchObject({
        status: 'pending',
        attempts: 0,
        nextAttemptAt: 3000,
        finishedAt: null,
        leaseOwner: null,
        lastStatus: 500,
      })
      expect(await claim(2999)).toEqual([])
      expect((await claim(3000)).map((e) => e.id)).toEqual([e1.id])
    })

    it('lists webhook events newest first, by status and connection, in pages', async () => {
      await store.insertConnector(connectorRecord({ id: 'cn_x' }))
      const events = Array.from({ length: 5 }, (_, i) => webhookEvent(i < 3 ? 'co_a' : 'co_b'))
      await store.insertConnection(connectionRecord('cn_x', { id: 'co_a' }), events.slice(0, 3))
      await store.insertConnection(connectionRecord('cn_x', { id: 'co_b' }), events.slice(3))
      const [head] = await store.claimWebhookEvents({
        owner: 'x',
        now: 5000,
        leaseMs: 10,
        limit: 1,
      })
      expect(head?.id).toBe(events[0]!.id)
      await store.settleWebhookEvent(head!.id, 'x', attemptOutcome('dead', 5000))
      const first = await store.listWebhookEvents({ limit: 2 })
      expect(first.items.map((e) => e.id)).toEqual([events[4]!.id, events[3]!.id])
      const second = await store.listWebhookEvents({ limit: 2, cursor: first.nextCursor })
      expect(second.items.map((e) => e.id)).toEqual([events[2]!.id, events[1]!.id])
      expect(
        (await store.listWebhookEvents({ limit: 9, status: 'dead' })).items.map((e) => e.id),
      ).toEqual([events[0]!.id])
      expect(
        (await store.listWebhookEvents({ limit: 9, status: 'pending', connectionId: 'co_a' })).items
          .length,
      ).toBe(2)
      await expect(store.listWebhookEvents({ limit: 2, cursor: 'bogus' })).rejects.toSatisfy(
        (e: unknown) => isPatchbayError(e, 'input.invalid'),
      )
    })

    it('purges delivered webhook events that finished before the cut-off, and no others', async () => {
      await store.insertConnector(connectorRecord({ id: 'cn_x' }))
      const ids = ['co_1', 'co_2', 'co_3', 'co_4']
      const events = ids.map((id) => webhookEvent(id))
      for (const [i, id] of ids.entries())
        await store.insertConnection(connectionRecord('cn_x', { id }), [events[i]!])
      const claimed = await store.claimWebhookEvents({
        owner: 'x',
        now: 1_000,
        leaseMs: 10,
        limit: 10,
      })
      expect(claimed).toHaveLength(4)
      await store.settleWebhookEvent(events[0]!.id, 'x', attemptOutcome('delivered', 1_000))
      await store.settleWebhookEvent(events[1]!.id, 'x', attemptOutcome('delivered', 5_000))
      await store.settleWebhookEvent(events[2]!.id, 'x', attemptOutcome('dead', 1_000))
      const options = { now: 10_000, sessionGraceMs: 0, batch: 10 }
      expect(await store.purge(options)).toMatchObject({ webhookEvents: 0 })
      expect(await store.purge({ ...options, deliveredEventsBefore: 2_000 })).toMatchObject({
        webhookEvents: 1,
      })
      const left = (await store.listWebhookEvents({ limit: 10 })).items.map((e) => e.id)
      expect(left.sort()).toEqual([events[1]!.id, events[2]!.id, events[3]!.id].sort())
    })

    it('keeps meta values', async () => {
      await store.setMeta('k', 'v1')
      await store.setMeta('k', 'v2')
      expect(await store.getMeta('k')).toBe('v2')
      expect(await store.getMeta('missing')).toBeUndefined()
      expect(await store.setMetaIfAbsent('k', 'v3')).toBe(false)
      expect(await store.setMetaIfAbsent('fresh', 'first')).toBe(true)
      expect(await store.setMetaIfAbsent('fresh', 'second')).toBe(false)
      expect(await store.getMeta('fresh')).toBe('first')
      expect(await store.getMeta('k')).toBe('v2')
    })
  })
}
