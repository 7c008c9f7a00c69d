/**
 * Crash safety: a real `patchbay serve` process is SIGKILLed at each point of an OAuth
 * 2.0 refresh, on both stores (SQLite: processes sharing one data folder; PostgreSQL: one schema).
 * After each kill the connection row, read straight from the database, is on exactly its old
 * token set or exactly its new one (the sealed secrets decrypt, `credentials_version` and
 * `expires_at` agree, status `connected`), and a freshly started process serves a call through it
 * (refreshing when the API refuses the old token).
 *
 * The points:
 * - (a) waiting for the refresh lock another process holds (the test holds it);
 * - (b) the token request sent, the answer held back by the token server;
 * - (c) the answer received, the commit blocked (PostgreSQL: the test holds `SELECT … FOR UPDATE`
 *   on the row; SQLite: the test holds a `BEGIN IMMEDIATE` write transaction);
 * - (d) right after the commit: the API holds the retry that carries the new access token, and
 *   the new token set is already in the database when that first use arrives.
 *
 * The token server issues a new refresh token on each refresh but keeps the old ones valid, so a
 * connection left on its old tokens can still refresh after the restart; the API accepts only the
 * newest access token issued for a grant.
 */
import Database from 'better-sqlite3'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createSecretBox } from '../src/store/crypto.js'
import { advisoryLockId } from '../src/store/postgres/lock.js'
import { testStoreKinds } from './helpers/patchbay.js'
import { dropTestSchema, postgresTestUrl, testSchemaName } from './helpers/postgres.js'
import {
  pollUntil,
  requireBuild,
  startServerProcess,
  stopAll,
  type ServerProcess,
} from './helpers/processes.js'

// ---------------------------------------------------------------- peers

interface Deferred<T> {
  promise: Promise<T>
  resolve(value: T): void
}

function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void
  const promise = new Promise<T>((r) => (resolve = r))
  return { promise, resolve }
}

interface TokenSet {
  access: string
  refresh: string
}

interface TokenRequest {
  grantType: string
  grant: string
  /** The refresh token presented (refresh_token grant). */
  presented?: string
  issued: TokenSet
}

interface TokenHold {
  /** The held refresh request, once it arrived. */
  received: Promise<TokenRequest>
  /** Lets the answer go. */
  release(): void
  /** Resolves once the answer was handed to the socket (or the socket was gone). */
  answered: Promise<void>
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => resolve(new URLSearchParams(Buffer.concat(chunks).toString('utf8'))))
    req.on('error', reject)
  })
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' })
  res.end(JSON.stringify(body))
}

/**
 * The authorization server and the API. Tokens are issued when a request arrives (even one whose
 * answer is held back), so "newest" is what the provider last issued, whether or not anyone
 * received it.
 */
async function startPeers() {
  let serial = 0
  const newest = new Map<string, string>() // grant → newest access token
  const grantOfRefresh = new Map<string, string>()
  const grantOfAccess = new Map<string, string>()
  const codes = new Map<string, string>()
  const refused = new Set<string>()
  const requests: TokenRequest[] = []
  let tokenHold:
    | (TokenHold & { arrived: Deferred<TokenRequest>; gate: Deferred<void>; done: Deferred<void> })
    | undefined
  let apiHold: { seen: Deferred<string>; gate: Promise<void> } | undefined

  const issue = (grant: string): TokenSet => {
    serial++
    const set = { access: `at-${grant}-${serial}`, refresh: `rt-${grant}-${serial}` }
    newest.set(grant, set.access)
    grantOfAccess.set(set.access, grant)
    grantOfRefresh.set(set.refresh, grant)
    return set
  }

  const auth = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://x')
      if (req.method === 'GET' && url.pathname === '/authorize') {
        const code = `code-${randomBytes(6).toString('hex')}`
        codes.set(code, `g${randomBytes(4).toString('hex')}`)
        const back = new URL(url.searchParams.get('redirect_uri')!)
        back.searchParams.set('code', code)
        back.searchParams.set('state', url.searchParams.get('state')!)
        res.writeHead(302, { location: back.href })
        return res.end()
      }
      if (req.method !== 'POST' || url.pathname !== '/token') return send(res, 404, {})
      const form = await readForm(req)
      const grantType = form.get('grant_type') ?? ''
      let grant: string | undefined
      let presented: string | undefined
      if (grantType === 'authorization_code') {
        grant = codes.get(form.get('code') ?? '')
        codes.delete(form.get('code') ?? '')
      } else if (grantType === 'refresh_token') {
        presented = form.get('refresh_token') ?? ''
        grant = grantOfRefresh.get(presented)
      }
      if (!grant) return send(res, 400, { error: 'invalid_grant' })
      const issued = issue(grant)
      const record: TokenRequest = { grantType, grant, presented, issued }
      requests.push(record)
      const hold = grantType === 'refresh_token' ? tokenHold : undefined
      if (hold) {
        tokenHold = undefined
        hold.arrived.resolve(record)
        await hold.gate.promise
      }
      const finished = new Promise<void>((r) => {
        res.once('finish', r)
        res.once('close', r)
      })
      send(res, 200, {
        access_token: issued.access,
        refresh_token: issued.refresh,
        token_type: 'Bearer',
        expires_in: 3600,
      })
      await finished
      hold?.done.resolve()
    })().catch((err: unknown) => {
      res.destroy(err as Error)
    })
  })

  const api = createServer((req, res) => {
    void (async () => {
      const token = String(req.headers.authorization ?? '').replace(/^Bearer /, '')
      const grant = grantOfAccess.get(token)
      if (!grant || newest.get(grant) !== token || refused.has(token))
        return send(res, 401, { error: 'invalid_token' })
      const hold = apiHold
      if (hold) {
        apiHold = undefined
        hold.seen.resolve(token)
        await hold.gate
      }
      send(res, 200, { grant, ok: true })
    })().catch((err: unknown) => {
      res.destroy(err as Error)
    })
  })

  const authUrl = await listen(auth)
  const apiUrl = await listen(api)
  return {
    authUrl,
    apiUrl,
    /** Every token request, in order. */
    requests,
    /** The API refuses this access token from now on, as it would an expired one. */
    refuse: (token: string) => void refused.add(token),
    newest: (grant: string) => newest.get(grant),
    grantOf: (access: string) => grantOfAccess.get(access),
    /** Holds the answer to the next refresh request. */
    holdNextRefresh(): TokenHold {
      const arrived = deferred<TokenRequest>()
      const gate = deferred()
      const answered = deferred()
      tokenHold = {
        arrived,
        gate,
        done: answered,
        received: arrived.promise,
        release: () => gate.resolve(),
        answered: answered.promise,
      }
      return tokenHold
    },
    /** Holds the next call the API would accept; resolves `seen` with its token. */
    holdNextAccepted(): { seen: Promise<string>; release(): void } {
      const seen = deferred<string>()
      const gate = deferred()
      apiHold = { seen, gate: gate.promise }
      return { seen: seen.promise, release: () => gate.resolve() }
    },
    async close() {
      for (const s of [auth, api]) {
        s.closeAllConnections()
        await new Promise<void>((r) => s.close(() => r()))
      }
    },
  }
}

type Peers = Awaited<ReturnType<typeof startPeers>>

// ---------------------------------------------------------------- the database, from the test

interface ConnectionRow {
  secrets: string
  credentialsVersion: number
  status: string
  expiresAt: number | null
}

/** Something the test holds that a victim process waits for. */
interface Hold {
  /** Resolves once `victim` is observed waiting for it. */
  waiting(victim: ServerProcess): Promise<void>
  release(): Promise<void>
}

interface StoreProbe {
  env: Record<string, string>
  /** Opens the test's own connection, once the first process has created the tables. */
  connect(): Promise<void>
  row(id: string): Promise<ConnectionRow>
  /** (a) Holds the refresh lock of a connection, as another process would. */
  holdRefreshLock(id: string): Promise<Hold>
  /** (c) Blocks the commit of new credentials for a connection. */
  holdCommit(id: string): Promise<Hold>
  close(): Promise<void>
}

function sqliteProbe(dataDir: string): StoreProbe {
  let db: Database.Database | undefined
  const open = () => {
    if (!db) {
      db = new Database(join(dataDir, 'patchbay.db'))
      db.pragma('busy_timeout = 5000')
    }
    return db
  }
  return {
    env: { PATCHBAY_DATA_DIR: dataDir },
    async connect() {
      open()
    },
    async row(id) {
      const r = open()
        .prepare(
          'SELECT secrets, credentials_version, status, expires_at FROM connections WHERE id = ?',
        )
        .get(id) as Record<string, unknown>
      return {
        secrets: r.secrets as string,
        credentialsVersion: r.credentials_version as number,
        status: r.status as string,
        expiresAt: (r.expires_at as number | null) ?? null,
      }
    },
    async holdRefreshLock(id) {
      const d = open()
      const key = `refresh:${id}`
      d.prepare('INSERT INTO locks (key, owner, expires_at) VALUES (?, ?, ?)').run(
        key,
        'crash-test: another process',
        Date.now() + 600_000,
      )
      // Every attempt to take a lock runs the INSERT (its upsert then does nothing while the
      // lock is held); a trigger records attempts, so the test sees the victim waiting.
      d.exec(`CREATE TABLE crash_test_lock_attempts (key TEXT NOT NULL, owner TEXT NOT NULL);
        CREATE TRIGGER crash_test_lock_attempt BEFORE INSERT ON locks
        BEGIN INSERT INTO crash_test_lock_attempts (key, owner) VALUES (NEW.key, NEW.owner); END;`)
      return {
        async waiting() {
          await pollUntil('the victim to try the refresh lock', () =>
            Boolean(d.prepare('SELECT 1 FROM crash_test_lock_attempts WHERE key = ?').get(key)),
          )
        },
        async release() {
          d.exec(`DROP TRIGGER crash_test_lock_attempt; DROP TABLE crash_test_lock_attempts;`)
          d.prepare('DELETE FROM locks WHERE key = ? AND owner = ?').run(
            key,
            'crash-test: another process',
          )
        },
      }
    },
    async holdCommit() {
      const d = open()
      d.exec('BEGIN IMMEDIATE')
      return {
        // better-sqlite3 waits for a busy database synchronously (busy_timeout, 5 s): a victim
        // stuck at its commit answers nothing, not even /healthz.
        async waiting(victim) {
          await pollUntil(
            'the victim to block at its commit',
            async () => {
              try {
                const res = await fetch(`${victim.url}/healthz`, {
                  signal: AbortSignal.timeout(750),
                })
                await res.arrayBuffer()
                return false
              } catch {
                return true
              }
            },
            { timeoutMs: 3_500 },
          )
        },
        async release() {
          d.exec('ROLLBACK')
        },
      }
    },
    async close() {
      db?.close()
    },
  }
}

function postgresProbe(url: string, schema: string): StoreProbe {
  const connect = async () => {
    const client = new pg.Client({ connectionString: url, options: `-c search_path=${schema}` })
    client.on('error', () => {})
    await client.connect()
    const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')
    return { client, pid: rows[0]!.pid }
  }
  let reader!: Awaited<ReturnType<typeof connect>>
  /** Backends waiting for a lock `pid` holds. */
  const blockedBy = async (pid: number) =>
    (
      await reader.client.query<{ pid: number }>(
        'SELECT pid FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))',
        [pid],
      )
    ).rows.map((r) => r.pid)
  const waitFor = async (pid: number, what: string) =>
    pollUntil(what, async () => {
      const pids = await blockedBy(pid)
      return pids.length > 0 ? pids : undefined
    })
  return {
    env: { PATCHBAY_DATABASE_URL: url, PATCHBAY_DATABASE_SCHEMA: schema },
    async connect() {
      reader = await connect()
    },
    async row(id) {
      const { rows } = await reader.client.query(
        'SELECT secrets, credentials_version, status, expires_at FROM connections WHERE id = $1',
        [id],
      )
      const r = rows[0] as Record<string, unknown>
      return {
        secrets: r.secrets as string,
        credentialsVersion: Number(r.credentials_version),
        status: r.status as string,
        expiresAt: r.expires_at === null ? null : Number(r.expires_at),
      }
    },
    async holdRefreshLock(id) {
      const holder = await connect()
      const lockId = advisoryLockId(schema, `refresh:${id}`)
      await holder.client.query('SELECT pg_advisory_lock($1::bigint)', [lockId])
      return {
        waiting: async () => void (await waitFor(holder.pid, 'the victim to wait for the lock')),
        async release() {
          await holder.client.query('SELECT pg_advisory_unlock($1::bigint)', [lockId])
          await holder.client.end()
        },
      }
    },
    async holdCommit(id) {
      const holder = await connect()
      await holder.client.query('BEGIN')
      await holder.client.query('SELECT 1 FROM connections WHERE id = $1 FOR UPDATE', [id])
      let blocked: number[] = []
      return {
        async waiting() {
          blocked = await waitFor(holder.pid, 'the victim to block at its commit')
        },
        async release() {
          await holder.client.query('ROLLBACK')
          await holder.client.end()
          // The victim's UPDATE was already sent: its backend runs it once the row is free (and
          // commits it, the client being gone unnoticed), then ends. Wait for that to settle.
          await pollUntil('the killed process’s blocked statement to end', async () => {
            const { rows } = await reader.client.query(
              'SELECT 1 FROM pg_stat_activity WHERE pid = ANY($1::int[])',
              [blocked],
            )
            return rows.length === 0
          })
        },
      }
    },
    async close() {
      await reader?.client.end()
    },
  }
}

// ---------------------------------------------------------------- the test

const kinds = await testStoreKinds()
const databaseUrl = kinds.includes('postgres') ? await postgresTestUrl() : undefined

type Point = 'a' | 'b' | 'c' | 'd'
const POINTS: [Point, string][] = [
  ['a', 'while it waits for the refresh lock another process holds'],
  ['b', 'after the token request was sent, before the token server answered'],
  ['c', 'after the answer arrived, before the commit'],
  ['d', 'right after the commit, with the first call on the new token in flight'],
]

describe.each(kinds)('SIGKILL during a refresh, on %s', (kind) => {
  const adminKey = `crash-admin-${randomBytes(12).toString('hex')}`
  const secretKey = randomBytes(32)
  const box = createSecretBox([secretKey])
  const schema = testSchemaName()
  let dataDir: string | undefined
  let peers: Peers
  let probe: StoreProbe | undefined
  let current: ServerProcess | undefined
  const started: ServerProcess[] = []
  let connectorId: string
  const figures: string[] = []

  const startProcess = async (name: string) => {
    const p = await startServerProcess({
      adminKey,
      name,
      env: {
        ...probe!.env,
        PATCHBAY_SECRET_KEY: secretKey.toString('hex'),
        PATCHBAY_ALLOW_PRIVATE_NETWORK: 'true',
        PATCHBAY_LOG_LEVEL: 'silent',
      },
    })
    started.push(p)
    return p
  }

  beforeAll(async () => {
    requireBuild()
    peers = await startPeers()
    if (kind === 'sqlite') {
      dataDir = mkdtempSync(join(tmpdir(), 'patchbay-crash-'))
      probe = sqliteProbe(dataDir)
      current = await startProcess('process 1')
    } else {
      // The schema does not exist until the first process has migrated it.
      probe = postgresProbe(databaseUrl!, schema)
      current = await startProcess('process 1')
      await probe.connect()
    }
    const c = await current.api('POST', '/api/v1/connectors', {
      name: 'Crash',
      baseUrl: peers.apiUrl,
      auth: {
        type: 'oauth2',
        grantType: 'authorization_code',
        clientId: 'crash-client',
        clientSecret: 'crash-secret',
        authorizationUrl: `${peers.authUrl}/authorize`,
        tokenUrl: `${peers.authUrl}/token`,
        scopes: [{ name: 'Read', value: 'read' }],
      },
      customAction: { enabled: true },
    })
    expect(c.status, JSON.stringify(c.body)).toBe(201)
    expect((await current.api('POST', `/api/v1/connectors/${c.body.id}/ready`)).status).toBe(200)
    connectorId = c.body.id
  }, 30_000)

  afterAll(async () => {
    await stopAll(started)
    await Promise.allSettled([probe?.close(), peers?.close()])
    if (dataDir) rmSync(dataDir, { recursive: true, force: true })
    if (kind === 'postgres') await dropTestSchema(schema)
    console.log(`crash safety on ${kind}:\n  ${figures.join('\n  ')}`)
  }, 30_000)

  /** A new connection, authorized through `p` the way a browser would. */
  async function connect(p: ServerProcess): Promise<string> {
    const created = await p.api('POST', '/api/v1/connections', { connector: connectorId })
    expect(created.status, JSON.stringify(created.body)).toBe(201)
    const toCallback = await fetch(created.body.authorizeUrl, { redirect: 'manual' })
    const page = await fetch(toCallback.headers.get('location')!)
    expect(page.status, await page.clone().text()).toBe(200)
    return created.body.id
  }

  interface State extends ConnectionRow, TokenSet {}

  /** The row as stored, its secrets opened with the servers' key; checks the parts agree. */
  async function state(id: string): Promise<State> {
    const row = await probe!.row(id)
    const secrets = JSON.parse(box.open(row.secrets, `connection:${id}`)) as {
      credentials: { values: Record<string, string>; expiresAt?: number }
    }
    expect(row.status).toBe('connected')
    expect(secrets.credentials.expiresAt ?? null).toBe(row.expiresAt)
    return {
      ...row,
      access: secrets.credentials.values.access_token!,
      refresh: secrets.credentials.values.refresh_token!,
    }
  }

  /** Exactly the old token set at the old version, or exactly the new one at the next. */
  async function coherent(
    id: string,
    before: State,
    issued: TokenSet | undefined,
  ): Promise<'old' | 'new'> {
    const now = await state(id)
    if (now.credentialsVersion === before.credentialsVersion) {
      expect(now).toEqual(before)
      return 'old'
    }
    expect(issued, 'new credentials without a token request').toBeDefined()
    expect(now.credentialsVersion).toBe(before.credentialsVersion + 1)
    expect({ access: now.access, refresh: now.refresh }).toEqual(issued)
    return 'new'
  }

  it.each(POINTS)(
    'kill at (%s) %s: the row holds the old or the new tokens, and a fresh process works',
    async (point) => {
      const t0 = performance.now()
      const victim = current?.alive ? current : await startProcess(`victim ${point}`)
      const id = await connect(victim)
      const before = await state(id)
      const grant = peers.grantOf(before.access)!
      peers.refuse(before.access) // the next call gets a 401 and refreshes
      const sent = peers.requests.length

      let hold: Hold | undefined
      let tokenHold: TokenHold | undefined
      let apiHold: ReturnType<Peers['holdNextAccepted']> | undefined
      if (point === 'a') hold = await probe!.holdRefreshLock(id)
      if (point === 'b' || point === 'c') tokenHold = peers.holdNextRefresh()
      if (point === 'd') apiHold = peers.holdNextAccepted()

      const call = victim.api('POST', `/api/v1/connections/${id}/request`, { path: 'me' }).then(
        (r) => new Error(`the victim answered ${r.status} ${JSON.stringify(r.body)}`),
        () => undefined, // the connection died with the process: expected
      )

      let expected: ('old' | 'new')[]
      let issued: TokenSet | undefined
      if (point === 'a') {
        await hold!.waiting(victim)
        await victim.kill('SIGKILL')
        expect(peers.requests.length - sent).toBe(0)
        expected = ['old']
      } else if (point === 'b') {
        const request = await tokenHold!.received
        expect(request.presented).toBe(before.refresh)
        issued = request.issued
        await victim.kill('SIGKILL')
        tokenHold!.release()
        expected = ['old']
      } else if (point === 'c') {
        const request = await tokenHold!.received
        expect(request.presented).toBe(before.refresh)
        issued = request.issued
        hold = await probe!.holdCommit(id)
        tokenHold!.release()
        await tokenHold!.answered
        await hold.waiting(victim)
        await victim.kill('SIGKILL')
        // SQLite: the write never started. PostgreSQL: the UPDATE already sent may still commit
        // once the row is free, all of it; either is a coherent row.
        expected = kind === 'sqlite' ? ['old'] : ['old', 'new']
      } else {
        const token = await apiHold!.seen
        expect(peers.requests.length - sent).toBe(1)
        issued = peers.requests.at(-1)!.issued
        expect(token).toBe(issued.access)
        // Committed before it was used: the database has the new set while the API holds the
        // first call that carries it.
        expect(await coherent(id, before, issued)).toBe('new')
        await victim.kill('SIGKILL')
        apiHold!.release()
        expected = ['new']
      }
      expect(await call).toBeUndefined()
      const atKill = await coherent(id, before, issued)
      await hold?.release()
      const settled = await coherent(id, before, issued)
      expect(expected).toContain(settled)
      expect(atKill === settled || (atKill === 'old' && point === 'c')).toBe(true)

      // After the restart: a fresh process serves the call, refreshing when the API refuses the
      // token the row holds (old refresh tokens stay valid at this provider).
      const fresh = await startProcess(`after ${point}`)
      current = fresh
      const beforeFresh = peers.requests.length
      const res = await fresh.api('POST', `/api/v1/connections/${id}/request`, { path: 'me' })
      expect([res.status, res.body.status], JSON.stringify(res.body)).toEqual([200, 200])
      const refreshes = peers.requests.slice(beforeFresh)
      const stored = settled === 'old' ? before : { ...before, ...issued! }
      if (peers.newest(grant) === stored.access) {
        expect(refreshes).toEqual([])
        expect(res.body.refreshed).toBe(false)
      } else {
        expect(refreshes.map((r) => r.presented)).toEqual([stored.refresh])
        expect(res.body.refreshed).toBe(true)
      }
      const after = await state(id)
      expect(after.access).toBe(peers.newest(grant))
      figures.push(
        `(${point}) at the kill: ${atKill} tokens; settled: ${settled} tokens (version ` +
          `${before.credentialsVersion} → ${(await probe!.row(id)).credentialsVersion} after the ` +
          `fresh call); token requests by the victim: ${beforeFresh - sent}, by the fresh ` +
          `process: ${refreshes.length}; ${Math.round(performance.now() - t0)} ms`,
      )
    },
    20_000,
  )
})
