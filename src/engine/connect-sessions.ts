/**
 * Connect sessions (SPEC §8): the embedding app's backend asks for one per end user, and the end
 * user opens its URL to connect their own account without the admin key.
 *
 * The token is 256 random bits; only its SHA-256 is stored. A session is kept in the store's meta
 * rows (both dialects have them): `connect_session:<token hash>` holds the session,
 * `connect_session_id:<id>` the token hash (to end it by id), and `connect_sessions` the index of
 * live sessions, rewritten under the `connect_sessions` lock. A session can do one thing: create
 * connections of its listed ready connectors for its end user, or, with `reconnect`, re-authorize
 * that one connection (keeping its id), after which it ends.
 *
 * @module
 */
import { createHash, randomBytes } from 'node:crypto'
import {
  DEFAULT_SESSION_SECONDS,
  connectPageInputSchema,
  connectSessionInputSchema,
} from '../connector/inputs.js'
import type { FieldDefinition } from '../connector/schema.js'
import { PatchbayError, invalidInput, isPatchbayError } from '../errors.js'
import type { ConnectionRecord, Page } from '../store/store.js'
import type { CallbackOutcome, ConnectionService, CreatedConnection } from './connections.js'
import type { ConnectorService, LoadedConnector } from './connectors.js'
import type { EngineContext } from './context.js'
import type { CredentialService } from './credentials.js'
import { toFieldIssues } from './issues.js'
import { createReauthorizer, secretFields } from './reauthorize.js'

type Obj = Record<string, unknown>

export { DEFAULT_SESSION_SECONDS, MAX_SESSION_SECONDS } from '../connector/inputs.js'
/** How many connections one session may start: enough for retries, not a loophole. */
export const MAX_CONNECTIONS_PER_SESSION = 20
/** Where browser flows started from the connect page come back to (the page's result route). */
export const CONNECT_DONE_PATH = '/connect/done'
const LOCK_TTL_MS = 10_000
const INDEX_KEY = 'connect_sessions'
const SESSION_PREFIX = 'connect_session:'
const ID_PREFIX = 'connect_session_id:'
const END_USER_PREFIX = 'end_user:'

export {
  connectSessionInputSchema,
  connectPageInputSchema,
  type ConnectSessionInput,
} from '../connector/inputs.js'

export interface EndUserInfo {
  id: string
  email?: string
  displayName?: string
}

/** A session as stored (under its token's hash). */
export interface ConnectSessionRecord {
  id: string
  tokenHash: string
  endUser: EndUserInfo
  /** Connector ids; null = every ready connector. */
  connectors: string[] | null
  reconnect: string | null
  returnUrl: string | null
  allowedOrigin: string | null
  createdAt: number
  expiresAt: number
  endedAt: number | null
  /** `ended`: by the admin (or with its end user); `completed`: a reconnect finished. */
  endReason: 'ended' | 'completed' | null
  /** Connections this session created (or re-authorized). */
  connectionIds: string[]
}

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

/** A connector as the connect page shows it: nothing about its auth settings. */
export interface ConnectPageConnector {
  id: string
  linkName: string
  name: string
  description: string | null
  logo: string | null
  fields: FieldDefinition[]
  /** Whether connecting sends the browser to the provider. */
  browser: boolean
}

/** A connection as the connect page sees it. */
export interface ConnectPageConnection {
  id: string
  name: string
  status: ConnectionRecord['status']
  statusMessage: string | null
  connector: { id: string; name: string }
  authorizeUrl?: string
}

/** The outcome the result screen shows, and where to report it. */
export interface ConnectPageResult {
  connection: ConnectPageConnection
  allowedOrigin: string | null
  returnUrl: string | null
  brand: { name: string | null; logoUrl: string | null }
}

export interface ConnectPageSession {
  id: string
  expiresAt: string
  endUser: { id: string; displayName: string | null }
  allowedOrigin: string | null
  returnUrl: string | null
  brand: { name: string | null; logoUrl: string | null }
  connectors: ConnectPageConnector[]
  reconnect: (ConnectPageConnection & { fields: FieldDefinition[]; browser: boolean }) | null
}

export interface ConnectSessionServiceOptions {
  brand?: { name?: string | undefined; logoUrl?: string | undefined }
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex')
}

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

/** Whether connecting with these settings sends the browser to the provider. */
function usesBrowser(type: string, settings: Obj, values: Obj): boolean {
  if (type === 'oauth1') return true
  if (type === 'oauth2') return settings.grantType !== 'client_credentials'
  if (type === 'multi') {
    const selectedBy = String(settings.selectedBy ?? 'auth_type')
    const options = (settings.options ?? {}) as Record<string, Obj>
    const key = values[selectedBy]
    const chosen = typeof key === 'string' && Object.hasOwn(options, key) ? options[key] : undefined
    return chosen ? usesBrowser(String(chosen.type), chosen, values) : false
  }
  return false
}

function invalidToken(): PatchbayError {
  return new PatchbayError(
    'connect_session.invalid',
    'this connect link is not valid; ask the app that sent you here for a new one',
  )
}

export function createConnectSessionService(
  ctx: EngineContext,
  connectors: ConnectorService,
  connections: ConnectionService,
  credentials: CredentialService,
  options: ConnectSessionServiceOptions = {},
) {
  const { store } = ctx
  const brand = {
    name: options.brand?.name?.trim() || null,
    logoUrl: options.brand?.logoUrl?.trim() || null,
  }

  async function read(tokenHash: string): Promise<ConnectSessionRecord | undefined> {
    const raw = await store.getMeta(SESSION_PREFIX + tokenHash)
    if (!raw) return undefined
    try {
      const s = JSON.parse(raw) as ConnectSessionRecord
      return s && typeof s.id === 'string' ? s : undefined
    } catch {
      return undefined
    }
  }

  async function readById(id: string): Promise<ConnectSessionRecord | undefined> {
    const tokenHash = await store.getMeta(ID_PREFIX + id)
    return tokenHash ? read(tokenHash) : undefined
  }

  /** Read-modify-write of one session under its lock. */
  function update(
    tokenHash: string,
    change: (s: ConnectSessionRecord) => ConnectSessionRecord | undefined,
  ): Promise<ConnectSessionRecord | undefined> {
    return store.withLock(`${SESSION_PREFIX}${tokenHash}`, LOCK_TTL_MS, async () => {
      const current = await read(tokenHash)
      if (!current) return undefined
      const next = change(current)
      if (!next) return current
      await store.setMeta(SESSION_PREFIX + tokenHash, JSON.stringify(next))
      return next
    })
  }

  /** Rewrites the index of live sessions, dropping those ended or expired. */
  function updateIndex(
    change: (entries: { id: string; expiresAt: number }[]) => { id: string; expiresAt: number }[],
  ): Promise<{ id: string; expiresAt: number }[]> {
    return store.withLock(INDEX_KEY, LOCK_TTL_MS, async () => {
      let entries: { id: string; expiresAt: number }[] = []
      try {
        entries = JSON.parse((await store.getMeta(INDEX_KEY)) ?? '[]') as typeof entries
      } catch {
        entries = []
      }
      const now = ctx.now()
      const next = change(entries.filter((e) => e.expiresAt > now))
      await store.setMeta(INDEX_KEY, JSON.stringify(next))
      return next
    })
  }

  function isLive(s: ConnectSessionRecord): boolean {
    return s.endedAt === null && s.expiresAt > ctx.now()
  }

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

  async function end(s: ConnectSessionRecord, reason: 'ended' | 'completed'): Promise<void> {
    await update(s.tokenHash, (cur) =>
      cur.endedAt === null ? { ...cur, endedAt: ctx.now(), endReason: reason } : undefined,
    )
    await updateIndex((entries) => entries.filter((e) => e.id !== s.id))
  }

  async function pageConnector(
    loaded: LoadedConnector,
    values: Obj = {},
  ): Promise<ConnectPageConnector> {
    let own: FieldDefinition[]
    try {
      own = loaded.scheme.connectionFields(loaded.settings as never, values)
    } catch {
      own = (await connectors.get(loaded.record.id)).connectionFields.slice(
        loaded.definition.fields.length,
      )
    }
    return {
      id: loaded.record.id,
      linkName: loaded.record.linkName,
      name: loaded.definition.name,
      description: loaded.definition.description ?? null,
      logo: loaded.definition.logo ?? null,
      fields: [...loaded.definition.fields, ...own],
      browser: usesBrowser(loaded.definition.auth.type, loaded.settings, values),
    }
  }

  function pageConnection(
    record: ConnectionRecord,
    connectorName: string,
    authorizeUrl?: string,
  ): ConnectPageConnection {
    return {
      id: record.id,
      name: record.name,
      status: record.status,
      statusMessage: record.statusMessage,
      connector: { id: record.connectorId, name: connectorName },
      ...(authorizeUrl ? { authorizeUrl } : {}),
    }
  }

  async function allowedConnectors(s: ConnectSessionRecord): Promise<LoadedConnector[]> {
    const ids: string[] = []
    if (s.connectors) ids.push(...s.connectors)
    else {
      let cursor: string | undefined
      do {
        const page = await store.listConnectors({ limit: 500, cursor })
        ids.push(...page.items.filter((c) => c.stage === 'ready').map((c) => c.id))
        cursor = page.nextCursor
      } while (cursor)
    }
    const out: LoadedConnector[] = []
    for (const id of ids) {
      try {
        const loaded = await connectors.load(id)
        if (loaded.record.stage === 'ready') out.push(loaded)
      } catch (err) {
        // Deleted since the session was made, or its auth type is gone: not offered.
        if (!isPatchbayError(err)) throw err
      }
    }
    return out
  }

  /** The connection a reconnect session is for; gone means the link is done with. */
  async function reconnectTarget(id: string): Promise<ConnectionRecord> {
    const record = await store.getConnection(id)
    if (!record)
      throw new PatchbayError(
        'connect_session.expired',
        'the connection this link reconnects no longer exists; ask the app for a new link',
        { details: { reason: 'deleted' } },
      )
    return record
  }

  /** The connector, if this session may connect it; else `connect_session.forbidden`. */
  async function allowed(
    s: ConnectSessionRecord,
    connector: string | undefined,
  ): Promise<LoadedConnector> {
    const forbidden = () =>
      new PatchbayError(
        'connect_session.forbidden',
        'this connect link does not allow that connector',
        {
          details: [{ path: 'connector', rule: 'is not offered by this connect session' }],
        },
      )
    if (!connector) throw invalidInput([{ path: 'connector', rule: 'is required' }])
    let loaded: LoadedConnector
    try {
      loaded = await connectors.load(connector)
    } catch (err) {
      if (isPatchbayError(err, 'connector.not_found')) throw forbidden()
      throw err
    }
    if (s.connectors && !s.connectors.includes(loaded.record.id)) throw forbidden()
    return loaded
  }

  const reauthorize = createReauthorizer(ctx, connectors, connections, credentials)

  return {
    /** The product name and logo the connect page shows. */
    brand(): { name: string | null; logoUrl: string | null } {
      return brand
    },

    /** Creates a session; the token is returned here only. */
    async create(input: unknown): Promise<CreatedConnectSession> {
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
      const tokenHash = hashToken(token)
      const now = ctx.now()
      const record: ConnectSessionRecord = {
        id: `cs_${randomBytes(12).toString('base64url')}`,
        tokenHash,
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
      await store.setMeta(SESSION_PREFIX + tokenHash, JSON.stringify(record))
      await store.setMeta(ID_PREFIX + record.id, tokenHash)
      await updateIndex((entries) => [...entries, { id: record.id, expiresAt: record.expiresAt }])
      if (data.endUser.email !== undefined || data.endUser.displayName !== undefined)
        await store.setMeta(
          END_USER_PREFIX + data.endUser.id,
          JSON.stringify({
            email: data.endUser.email ?? null,
            displayName: data.endUser.displayName ?? null,
            updatedAt: now,
          }),
        )
      const url = new URL('/connect', ctx.publicUrl)
      url.searchParams.set('session', token)
      return {
        id: record.id,
        token,
        url: url.href,
        expiresAt: new Date(record.expiresAt).toISOString(),
      }
    },

    /** Live sessions, newest first (never a token). */
    async list(): Promise<Page<ConnectSessionView>> {
      const entries = await updateIndex((e) => e)
      const items: ConnectSessionView[] = []
      for (const e of entries) {
        const s = await readById(e.id)
        if (s && isLive(s)) items.push(sessionView(s))
      }
      items.sort((a, b) => b.createdAt.localeCompare(a.createdAt))
      return { items }
    },

    /** Ends a session early; ending an unknown or ended one is a no-op (DELETE is idempotent). */
    async delete(id: string): Promise<void> {
      const s = await readById(id)
      if (s) await end(s, 'ended')
    },

    /** Ends every live session of an end user (when the end user is deleted). */
    async endForEndUser(endUser: string): Promise<number> {
      const entries = await updateIndex((e) => e)
      let ended = 0
      for (const e of entries) {
        const s = await readById(e.id)
        if (s && isLive(s) && s.endUser.id === endUser) {
          await end(s, 'ended')
          ended++
        }
      }
      return ended
    },

    /**
     * The session a token opens. Throws `connect_session.invalid` (unknown) or
     * `connect_session.expired` (expired or ended; `details.reason` says which).
     * `allowCompleted` lets a finished reconnect session still read its own outcome.
     */
    async authenticate(
      token: string | undefined,
      authOptions: { allowCompleted?: boolean } = {},
    ): Promise<ConnectSessionRecord> {
      if (!token || !/^pbcs_[A-Za-z0-9_-]{43}$/.test(token)) throw invalidToken()
      const s = await read(hashToken(token))
      if (!s) throw invalidToken()
      if (isLive(s)) return s
      if (authOptions.allowCompleted && s.endReason === 'completed' && s.expiresAt > ctx.now())
        return s
      throw whyNotLive(s)
    },

    /** What the connect page shows for a session. */
    async describe(s: ConnectSessionRecord): Promise<ConnectPageSession> {
      let reconnect: ConnectPageSession['reconnect'] = null
      let offered: ConnectPageConnector[] = []
      if (s.reconnect) {
        const record = await reconnectTarget(s.reconnect)
        const loaded = await connectors.load(record.connectorId)
        const values = { ...record.values, ...credentials.open(record).values }
        const page = await pageConnector(loaded, values)
        reconnect = {
          ...pageConnection(record, loaded.definition.name),
          fields: secretFields(page.fields),
          browser: page.browser,
        }
      } else {
        offered = await Promise.all((await allowedConnectors(s)).map((l) => pageConnector(l)))
      }
      return {
        id: s.id,
        expiresAt: new Date(s.expiresAt).toISOString(),
        endUser: { id: s.endUser.id, displayName: s.endUser.displayName ?? null },
        allowedOrigin: s.allowedOrigin,
        returnUrl: s.returnUrl,
        brand,
        connectors: offered,
        reconnect,
      }
    },

    /** A connector's fields for the values chosen so far (a `multi` connector's depend on them). */
    async fields(s: ConnectSessionRecord, input: unknown): Promise<ConnectPageConnector> {
      const parsed = connectPageInputSchema.safeParse(input)
      if (!parsed.success) throw invalidInput(toFieldIssues(parsed.error))
      const loaded = await allowed(s, parsed.data.connector)
      return pageConnector(loaded, parsed.data.values)
    },

    /**
     * Creates a connection for the session's end user (or re-authorizes the session's
     * `reconnect` connection). Browser flows come back to the connect page's result route.
     */
    async connect(s: ConnectSessionRecord, input: unknown): Promise<ConnectPageConnection> {
      const parsed = connectPageInputSchema.safeParse(input)
      if (!parsed.success) throw invalidInput(toFieldIssues(parsed.error))
      const data = parsed.data
      if (s.connectionIds.length >= MAX_CONNECTIONS_PER_SESSION)
        throw new PatchbayError(
          'connect_session.forbidden',
          `this connect link has already started ${MAX_CONNECTIONS_PER_SESSION} connections; ask the app for a new one`,
        )
      if (s.reconnect) {
        const record = await reconnectTarget(s.reconnect)
        if (data.connector !== undefined) {
          const loaded = await allowed(s, data.connector)
          if (loaded.record.id !== record.connectorId)
            throw new PatchbayError(
              'connect_session.forbidden',
              'this connect link only reconnects its one connection',
            )
        }
        const done = await reauthorize(record.id, data.values, {
          sessionId: s.id,
          returnUrl: new URL(CONNECT_DONE_PATH, ctx.publicUrl).href,
        })
        // The connection keeps its status until the provider answers; the flow is what is pending.
        const outcome: ConnectPageConnection = done.authorizeUrl
          ? {
              ...pageConnection(done.record, done.connectorName, done.authorizeUrl),
              status: 'pending',
              statusMessage: 'waiting for the user to authorize in the browser',
            }
          : pageConnection(done.record, done.connectorName)
        await update(s.tokenHash, (cur) =>
          cur.connectionIds.includes(record.id)
            ? undefined
            : { ...cur, connectionIds: [...cur.connectionIds, record.id] },
        )
        if (!outcome.authorizeUrl && outcome.status === 'connected') await end(s, 'completed')
        return outcome
      }
      const loaded = await allowed(s, data.connector)
      const created: CreatedConnection = await connections.create(
        {
          connector: loaded.record.id,
          ...(data.name ? { name: data.name } : {}),
          endUser: s.endUser.id,
          values: data.values,
          returnUrl: new URL(CONNECT_DONE_PATH, ctx.publicUrl).href,
        },
        { sessionId: s.id },
      )
      await update(s.tokenHash, (cur) => ({
        ...cur,
        connectionIds: [...cur.connectionIds, created.id],
      }))
      return {
        id: created.id,
        name: created.name,
        status: created.status,
        statusMessage: created.statusMessage,
        connector: { id: created.connector.id, name: created.connector.name },
        ...(created.authorizeUrl ? { authorizeUrl: created.authorizeUrl } : {}),
      }
    },

    /** A connection this session created or re-authorized, for the page's result screen. */
    async result(s: ConnectSessionRecord, connectionId: string): Promise<ConnectPageResult> {
      if (!s.connectionIds.includes(connectionId))
        throw new PatchbayError(
          'connection.not_found',
          `no connection "${connectionId}" was made with this connect link`,
        )
      const record = await connections.find(connectionId)
      const connector = await store.getConnector(record.connectorId)
      return {
        connection: pageConnection(record, connector?.name ?? ''),
        allowedOrigin: s.allowedOrigin,
        returnUrl: s.returnUrl,
        brand,
      }
    },

    /**
     * Whether a browser flow started by a session may finish: the session must still be live (an
     * ended or expired session's flows fail with `connect_session.expired`).
     */
    async checkFlow(sessionId: string): Promise<PatchbayError | undefined> {
      const s = await readById(sessionId)
      if (!s) return invalidToken()
      return isLive(s) ? undefined : whyNotLive(s)
    },

    /** After a session's browser flow: a reconnect session ends once its connection is connected. */
    async flowCompleted(outcome: CallbackOutcome): Promise<void> {
      if (!outcome.sessionId || !outcome.connection) return
      const s = await readById(outcome.sessionId)
      if (s && s.reconnect === outcome.connection.id && outcome.connection.status === 'connected')
        await end(s, 'completed')
    },

    /** The email and display name last given for an end user. */
    async endUserInfo(id: string): Promise<{ email: string | null; displayName: string | null }> {
      try {
        const raw = await store.getMeta(END_USER_PREFIX + id)
        const info = raw
          ? (JSON.parse(raw) as { email?: string | null; displayName?: string | null })
          : {}
        return { email: info.email ?? null, displayName: info.displayName ?? null }
      } catch {
        return { email: null, displayName: null }
      }
    },

    /** Forgets an end user's email and display name. */
    async forgetEndUser(id: string): Promise<void> {
      if ((await store.getMeta(END_USER_PREFIX + id)) !== undefined)
        await store.setMeta(END_USER_PREFIX + id, '{}')
    },
  }
}

export type ConnectSessionService = ReturnType<typeof createConnectSessionService>
