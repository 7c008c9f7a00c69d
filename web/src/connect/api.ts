/**
 * The connect page's client: its session token, kept in this tab's `sessionStorage` (so it
 * survives the trip to the provider and back, and leaves the address bar at once), sent in the
 * `X-Patchbay-Connect-Session` header to `/connect/api/*`, the only routes it opens.
 */
import {
  CONNECT_SESSION_HEADER,
  connectApi,
  requestOf,
  type CallInput,
  type ReplyOf,
  type RouteSpec,
} from '../../../src/server/contract.js'
import type { FieldIssue } from '../../../src/errors.js'
import type { Obj } from '../types.js'

// What the connect routes answer: the server's own types, by the names this page uses.
export type {
  ConnectPageConnection as PageConnection,
  ConnectPageConnector as PageConnector,
  ConnectPageResult as PageResult,
  ConnectPageSession as PageSession,
} from '../../../src/engine/connect-page.js'
export type Brand = ReplyOf<typeof connectApi.session>['brand']

const STORAGE_KEY = 'patchbay:connect-session'

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
  async function call<R extends RouteSpec>(route: R, input: CallInput<R>): Promise<ReplyOf<R>> {
    const { method, path, body } = requestOf(route, input)
    let res: Response
    try {
      res = await fetch(path, {
        method,
        credentials: 'omit',
        headers: {
          accept: 'application/json',
          [CONNECT_SESSION_HEADER]: token,
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
    return parsed as ReplyOf<R>
  }

  return {
    session: () => call(connectApi.session, {}),
    fields: (connector: string, values: Obj) =>
      call(connectApi.fields, { body: { connector, values } }),
    connect: (connector: string | undefined, values: Obj) =>
      call(connectApi.connect, { body: { ...(connector ? { connector } : {}), values } }),
    result: (connectionId: string) => call(connectApi.result, { params: { id: connectionId } }),
  }
}

export type ConnectApi = ReturnType<typeof createConnectApi>
