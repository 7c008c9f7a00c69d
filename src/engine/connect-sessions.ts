/**
 * Connect sessions (docs/connect.md): the embedding app's backend asks for one per end user, and
 * the end user opens its URL to connect their own account without the admin key. The token is 256
 * random bits; only its SHA-256 is stored. A session can do one thing: create connections of its
 * listed ready connectors for its end user, or, with `reconnect`, re-authorize that one connection
 * (keeping its id), after which it ends. What the page itself does is `connect-page.ts`.
 *
 * @module
 */
import { randomBytes } from 'node:crypto'
import { DEFAULT_SESSION_SECONDS, connectSessionInputSchema } from '../connector/inputs.js'
import { listQuerySchema } from '../connector/schema.js'
import { PatchbayError, invalidInput } from '../errors.js'
import { sha256Hex } from '../lib/digest.js'
import type { ConnectSessionRecord, EndUserInfo, Page, PageQuery } from '../store/store.js'
import type { CallbackOutcome, SessionGuard } from './connection-flows.js'
import type { EngineContext } from './context.js'
import { toFieldIssues } from './issues.js'

export type { ConnectSessionRecord, EndUserInfo }

export {
  DEFAULT_SESSION_SECONDS,
  MAX_SESSION_SECONDS,
  connectSessionInputSchema,
  type ConnectSessionInput,
} from '../connector/inputs.js'
/** How long an ended or expired session is kept, so its link can still say why it stopped. */
export const SESSION_GRACE_MS = 7 * 24 * 3_600_000

/** A session as the admin API answers it: never the token, nor its hash. */
export interface ConnectSessionView {
  id: string
  endUser: EndUserInfo
  connectors: string[] | null
  reconnect: string | null
  returnUrl: string | null
  allowedOrigin: string | null
  connections: string[]
  createdAt: string
  expiresAt: string
}

export interface CreatedConnectSession {
  id: string
  /** Shown once: only its hash is stored. */
  token: string
  /** The hosted connect page for this session. */
  url: string
  expiresAt: string
}

export interface ConnectSessions {
  /** Creates a session; the token is returned here only. */
  create(input: unknown): Promise<CreatedConnectSession>
  /** Live sessions, newest first (never a token). */
  list(query?: {
    limit?: number | string | undefined
    cursor?: string | undefined
  }): Promise<Page<ConnectSessionView>>
  /** Ends a session early; ending an unknown or ended one is a no-op (DELETE is idempotent). */
  delete(id: string): Promise<void>
  /** Ends every live session of an end user. */
  endForEndUser(endUser: string): Promise<number>
  /**
   * The session a token opens. Throws `connect_session.invalid` (unknown) or
   * `connect_session.expired` (expired or ended; `details.reason` says which).
   * `allowCompleted` lets a finished reconnect session still read its own outcome.
   */
  authenticate(
    token: string | undefined,
    options?: { allowCompleted?: boolean },
  ): Promise<ConnectSessionRecord>
  /** Whether a browser flow a session started may finish: only while the session is live. */
  guard: SessionGuard
  /** After a session's browser flow: a reconnect session ends once its connection is connected. */
  flowCompleted(outcome: CallbackOutcome): Promise<void>
  /** Ends a reconnect session whose connection is re-authorized. */
  complete(session: ConnectSessionRecord): Promise<void>
  /** Records a connection the session made or re-authorized. */
  addConnection(session: ConnectSessionRecord, connectionId: string): Promise<void>
}

export const hashToken = sha256Hex

function sessionView(s: ConnectSessionRecord): ConnectSessionView {
  return {
    id: s.id,
    endUser: s.endUser,
    connectors: s.connectors,
    reconnect: s.reconnect,
    returnUrl: s.returnUrl,
    allowedOrigin: s.allowedOrigin,
    connections: s.connectionIds,
    createdAt: new Date(s.createdAt).toISOString(),
    expiresAt: new Date(s.expiresAt).toISOString(),
  }
}

function invalidToken(): PatchbayError {
  return new PatchbayError(
    'connect_session.invalid',
    'this connect link is not valid; ask the app that sent you here for a new one',
  )
}

export function createConnectSessions(ctx: EngineContext): ConnectSessions {
  const { store } = ctx

  const isLive = (s: ConnectSessionRecord) => s.endedAt === null && s.expiresAt > ctx.now()

  function whyNotLive(s: ConnectSessionRecord): PatchbayError {
    if (s.endReason === 'completed')
      return new PatchbayError(
        'connect_session.expired',
        'this connect link was already used to reconnect the account; ask the app for a new one',
        { details: { reason: 'completed' } },
      )
    if (s.endedAt !== null)
      return new PatchbayError(
        'connect_session.expired',
        'this connect link was ended; ask the app that sent you here for a new one',
        { details: { reason: 'ended' } },
      )
    return new PatchbayError(
      'connect_session.expired',
      `this connect link expired at ${new Date(s.expiresAt).toISOString()}; ask the app that sent you here for a new one`,
      { details: { reason: 'expired' } },
    )
  }

  function pageQuery(q: {
    limit?: number | string | undefined
    cursor?: string | undefined
  }): PageQuery {
    const parsed = listQuerySchema.safeParse({ limit: q.limit, cursor: q.cursor })
    if (!parsed.success) throw invalidInput(toFieldIssues(parsed.error))
    return parsed.data
  }

  return {
    async create(input) {
      const parsed = connectSessionInputSchema.safeParse(input)
      if (!parsed.success) throw invalidInput(toFieldIssues(parsed.error))
      const data = parsed.data
      const issues: { path: string; rule: string }[] = []
      let connectorIds: string[] | null = null
      if (data.connectors) {
        connectorIds = []
        for (const [i, name] of data.connectors.entries()) {
          const record = await store.getConnector(name)
          if (!record) issues.push({ path: `connectors.${i}`, rule: `no connector "${name}"` })
          else if (record.stage !== 'ready')
            issues.push({
              path: `connectors.${i}`,
              rule: `the connector "${record.name}" is a draft; mark it ready first`,
            })
          else if (!connectorIds.includes(record.id)) connectorIds.push(record.id)
        }
      }
      if (data.reconnect !== undefined) {
        const record = await store.getConnection(data.reconnect)
        if (!record) issues.push({ path: 'reconnect', rule: `no connection "${data.reconnect}"` })
        else if (record.endUser !== data.endUser.id)
          issues.push({
            path: 'reconnect',
            rule: `the connection belongs to ${record.endUser === null ? 'no end user' : `another end user`}, not "${data.endUser.id}"`,
          })
        else if (connectorIds && !connectorIds.includes(record.connectorId))
          issues.push({
            path: 'connectors',
            rule: "must include the reconnected connection's connector",
          })
        else connectorIds = [record.connectorId]
      }
      if (issues.length) throw invalidInput(issues)
      const token = `pbcs_${randomBytes(32).toString('base64url')}`
      const now = ctx.now()
      const record: ConnectSessionRecord = {
        id: `cs_${randomBytes(12).toString('base64url')}`,
        tokenHash: hashToken(token),
        endUser: {
          id: data.endUser.id,
          ...(data.endUser.email ? { email: data.endUser.email } : {}),
          ...(data.endUser.displayName ? { displayName: data.endUser.displayName } : {}),
        },
        connectors: connectorIds,
        reconnect: data.reconnect ?? null,
        returnUrl: data.returnUrl ?? null,
        allowedOrigin: data.allowedOrigin ?? null,
        createdAt: now,
        expiresAt: now + (data.expiresIn ?? DEFAULT_SESSION_SECONDS) * 1000,
        endedAt: null,
        endReason: null,
        connectionIds: [],
      }
      await store.insertConnectSession(record)
      if (data.endUser.email !== undefined || data.endUser.displayName !== undefined)
        await store.upsertEndUser({
          id: data.endUser.id,
          email: data.endUser.email ?? null,
          displayName: data.endUser.displayName ?? null,
          updatedAt: now,
        })
      const url = new URL('/connect', ctx.publicUrl)
      url.searchParams.set('session', token)
      return {
        id: record.id,
        token,
        url: url.href,
        expiresAt: new Date(record.expiresAt).toISOString(),
      }
    },

    async list(query = {}) {
      const page = await store.listConnectSessions({ ...pageQuery(query), liveAt: ctx.now() })
      return { ...page, items: page.items.map(sessionView) }
    },

    async delete(id) {
      await store.endConnectSession(id, ctx.now(), 'ended')
    },

    async endForEndUser(endUser) {
      let ended = 0
      for (;;) {
        const page = await store.listConnectSessions({ limit: 100, liveAt: ctx.now(), endUser })
        for (const s of page.items)
          if (await store.endConnectSession(s.id, ctx.now(), 'ended')) ended++
        if (!page.nextCursor) return ended
      }
    },

    async authenticate(token, options = {}) {
      if (!token || !/^pbcs_[A-Za-z0-9_-]{43}$/.test(token)) throw invalidToken()
      const s = await store.getConnectSession(hashToken(token))
      if (!s) throw invalidToken()
      if (isLive(s)) return s
      if (options.allowCompleted && s.endReason === 'completed' && s.expiresAt > ctx.now()) return s
      throw whyNotLive(s)
    },

    async guard(sessionId) {
      const s = await store.getConnectSessionById(sessionId)
      if (!s) return invalidToken()
      return isLive(s) ? undefined : whyNotLive(s)
    },

    async flowCompleted(outcome) {
      if (!outcome.sessionId || !outcome.connection) return
      const s = await store.getConnectSessionById(outcome.sessionId)
      if (s && s.reconnect === outcome.connection.id && outcome.connection.status === 'connected')
        await store.endConnectSession(s.id, ctx.now(), 'completed')
    },

    async complete(session) {
      await store.endConnectSession(session.id, ctx.now(), 'completed')
    },

    async addConnection(session, connectionId) {
      await store.addConnectSessionConnection(session.id, connectionId)
    },
  }
}
