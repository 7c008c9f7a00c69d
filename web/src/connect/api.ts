/**
 * The connect page's client: its session token, kept in this tab's `sessionStorage` (so it
 * survives the trip to the provider and back, and leaves the address bar at once), sent in the
 * `X-Patchbay-Connect-Session` header to `/connect/api/*`, the only routes it opens.
 */
import type { FieldDefinition, FieldIssue, Obj } from '../types.js'

const STORAGE_KEY = 'patchbay:connect-session'
export const SESSION_HEADER = 'X-Patchbay-Connect-Session'

export interface PageConnector {
  id: string
  linkName: string
  name: string
  description: string | null
  logo: string | null
  fields: FieldDefinition[]
  browser: boolean
}

export type ConnectionStatus = 'pending' | 'connected' | 'needs_reauth' | 'error'

export interface PageConnection {
  id: string
  name: string
  status: ConnectionStatus
  statusMessage: string | null
  connector: { id: string; name: string }
  authorizeUrl?: string
}

export interface Brand {
  name: string | null
  logoUrl: string | null
}

export interface PageSession {
  id: string
  expiresAt: string
  endUser: { id: string; displayName: string | null }
  allowedOrigin: string | null
  returnUrl: string | null
  brand: Brand
  connectors: PageConnector[]
  reconnect: (PageConnection & { fields: FieldDefinition[]; browser: boolean }) | null
}

export interface PageResult {
  connection: PageConnection
  allowedOrigin: string | null
  returnUrl: string | null
  brand: Brand
}

export class ConnectError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: unknown,
  ) {
    super(message)
    this.name = 'ConnectError'
  }

  /** The session is unknown, expired or ended: nothing on this page works any more. */
  get sessionEnded(): boolean {
    return this.code.startsWith('connect_session.') && this.code !== 'connect_session.forbidden'
  }

  get issues(): FieldIssue[] {
    return Array.isArray(this.details)
      ? (this.details as unknown[]).filter(
          (d): d is FieldIssue => !!d && typeof d === 'object' && 'path' in d && 'rule' in d,
        )
      : []
  }
}

/** Takes the token from `?session=` into this tab's storage and out of the address bar. */
export function takeToken(): string | null {
  const url = new URL(window.location.href)
  const fromUrl = url.searchParams.get('session')
  if (fromUrl) {
    window.sessionStorage.setItem(STORAGE_KEY, fromUrl)
    url.searchParams.delete('session')
    window.history.replaceState(null, '', `${url.pathname}${url.search}${url.hash}`)
  }
  return window.sessionStorage.getItem(STORAGE_KEY)
}

export function createConnectApi(token: string) {
  async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
    let res: Response
    try {
      res = await fetch(`/connect/api${path}`, {
        method,
        credentials: 'omit',
        headers: {
          accept: 'application/json',
          [SESSION_HEADER]: token,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      })
    } catch (err) {
      throw new ConnectError(
        0,
        'network',
        `The server did not answer (${(err as Error).message}). Check your connection and try again.`,
        undefined,
      )
    }
    const text = await res.text()
    let parsed: unknown
    try {
      parsed = text ? JSON.parse(text) : undefined
    } catch {
      parsed = undefined
    }
    if (!res.ok) {
      const error = (parsed as { error?: { code?: string; message?: string; details?: unknown } })
        ?.error
      throw new ConnectError(
        res.status,
        error?.code ?? 'http',
        error?.message ?? `The server answered ${res.status}.`,
        error?.details,
      )
    }
    return parsed as T
  }

  return {
    session: () => call<PageSession>('GET', '/session'),
    fields: (connector: string, values: Obj) =>
      call<PageConnector>('POST', '/fields', { connector, values }),
    connect: (connector: string | undefined, values: Obj) =>
      call<PageConnection>('POST', '/connections', {
        ...(connector ? { connector } : {}),
        values,
      }),
    result: (connectionId: string) =>
      call<PageResult>('GET', `/connections/${encodeURIComponent(connectionId)}`),
  }
}

export type ConnectApi = ReturnType<typeof createConnectApi>
