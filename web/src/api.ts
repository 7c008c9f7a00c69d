/**
 * The typed API client. The browser holds no key: requests carry the HttpOnly session cookie
 * (SPEC §6), and state-changing ones are sent from the UI's own origin.
 */
import type {
  ApiErrorBody,
  AuthTypeInfo,
  BreakerView,
  ConnectionStatus,
  ConnectionView,
  ConnectorDraft,
  ConnectorView,
  CreatedConnection,
  FieldIssue,
  LogView,
  Page,
  RequestInput,
  RequestOutcome,
  TestOutcome,
  TokenTestReport,
} from './types.js'
import type { ConnectorTemplate, TemplateSummary } from '../../src/connector/templates.js'

export class ApiError extends Error {
  readonly status: number
  readonly code: string
  readonly details: unknown

  constructor(status: number, body: ApiErrorBody) {
    super(body.message)
    this.name = 'ApiError'
    this.status = status
    this.code = body.code
    this.details = body.details
  }

  /** The bad fields the API named, when it did. */
  get issues(): FieldIssue[] {
    return Array.isArray(this.details)
      ? (this.details as unknown[]).filter(
          (d): d is FieldIssue => !!d && typeof d === 'object' && 'path' in d && 'rule' in d,
        )
      : []
  }
}

/** Fired when the API answers 401: the session ended, so the app asks to sign in again. */
export const UNAUTHORIZED_EVENT = 'patchbay:unauthorized'

type Query = Record<string, string | number | undefined>

function withQuery(path: string, query?: Query): string {
  const params = new URLSearchParams()
  for (const [k, v] of Object.entries(query ?? {}))
    if (v !== undefined && v !== '') params.set(k, String(v))
  const s = params.toString()
  return s ? `${path}?${s}` : path
}

async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  let res: Response
  try {
    res = await fetch(path, {
      method,
      credentials: 'same-origin',
      headers: {
        accept: 'application/json',
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    })
  } catch (err) {
    throw new ApiError(0, {
      code: 'network',
      message: `Patchbay did not answer (${(err as Error).message}); is the server running?`,
    })
  }
  if (res.status === 204) return undefined as T
  const text = await res.text()
  let parsed: unknown = undefined
  try {
    parsed = text ? JSON.parse(text) : undefined
  } catch {
    parsed = undefined
  }
  if (!res.ok) {
    const error = (parsed as { error?: ApiErrorBody } | undefined)?.error ?? {
      code: `http_${res.status}`,
      message: text.slice(0, 300) || `the server answered ${res.status}`,
    }
    if (res.status === 401 && !path.startsWith('/ui/session'))
      window.dispatchEvent(new Event(UNAUTHORIZED_EVENT))
    throw new ApiError(res.status, error)
  }
  return parsed as T
}

const enc = encodeURIComponent

export const api = {
  session: {
    check: () => call<{ signedIn: boolean }>('GET', '/ui/session'),
    signIn: (adminKey: string) =>
      call<{ signedIn: boolean; expiresAt: string }>('POST', '/ui/session', { adminKey }),
    signOut: () => call<void>('DELETE', '/ui/session'),
  },
  connectors: {
    list: (query?: { limit?: number; cursor?: string }) =>
      call<Page<ConnectorView>>('GET', withQuery('/api/v1/connectors', query)),
    get: (id: string) => call<ConnectorView>('GET', `/api/v1/connectors/${enc(id)}`),
    create: (input: unknown) => call<ConnectorView>('POST', '/api/v1/connectors', input),
    update: (id: string, patch: Partial<ConnectorDraft> | Record<string, unknown>) =>
      call<ConnectorView>('PATCH', `/api/v1/connectors/${enc(id)}`, patch),
    ready: (id: string) => call<ConnectorView>('POST', `/api/v1/connectors/${enc(id)}/ready`),
    testToken: (id: string, values: Record<string, unknown>) =>
      call<TokenTestReport>('POST', `/api/v1/connectors/${enc(id)}/test-token`, { values }),
    delete: (id: string) => call<void>('DELETE', `/api/v1/connectors/${enc(id)}`),
  },
  connections: {
    list: (query?: {
      connector?: string
      endUser?: string
      status?: ConnectionStatus | ''
      limit?: number
      cursor?: string
    }) => call<Page<ConnectionView>>('GET', withQuery('/api/v1/connections', query)),
    get: (id: string) => call<ConnectionView>('GET', `/api/v1/connections/${enc(id)}`),
    create: (input: {
      connector: string
      name?: string
      endUser?: string
      values: Record<string, unknown>
      returnUrl?: string
    }) => call<CreatedConnection>('POST', '/api/v1/connections', input),
    delete: (id: string) => call<void>('DELETE', `/api/v1/connections/${enc(id)}`),
    test: (id: string) => call<TestOutcome>('POST', `/api/v1/connections/${enc(id)}/test`),
    refresh: (id: string) => call<ConnectionView>('POST', `/api/v1/connections/${enc(id)}/refresh`),
    request: (id: string, input: RequestInput) =>
      call<RequestOutcome>('POST', `/api/v1/connections/${enc(id)}/request`, input),
    resetBreaker: (id: string) =>
      call<BreakerView>('POST', `/api/v1/connections/${enc(id)}/breaker/reset`),
  },
  actions: {
    run: (id: string, input: { connection: string; inputs: Record<string, unknown> }) =>
      call<RequestOutcome>('POST', `/api/v1/actions/${enc(id)}/run`, input),
    resetBreaker: (id: string) =>
      call<BreakerView>('POST', `/api/v1/actions/${enc(id)}/breaker/reset`),
  },
  logs: {
    list: (query?: {
      connector?: string
      connection?: string
      action?: string
      limit?: number
      cursor?: string
    }) => call<Page<LogView>>('GET', withQuery('/api/v1/logs', query)),
  },
  /** The auth types connectors may use, with what the builder draws their forms from. */
  authTypes: () =>
    call<{ items: AuthTypeInfo[] }>('GET', '/api/v1/auth-types').then((r) => r.items),
  /** The connector templates shipped with Patchbay (docs/templates.md). */
  connectorTemplates: {
    list: () =>
      call<{ items: TemplateSummary[] }>('GET', '/api/v1/connector-templates').then((r) => r.items),
    get: (name: string) =>
      call<ConnectorTemplate>('GET', `/api/v1/connector-templates/${enc(name)}`),
  },
}

/** Every page of a list. */
export async function listAll<T>(
  page: (cursor: string | undefined) => Promise<Page<T>>,
  max = 2000,
): Promise<T[]> {
  const out: T[] = []
  let cursor: string | undefined
  do {
    const p = await page(cursor)
    out.push(...p.items)
    cursor = p.nextCursor
  } while (cursor && out.length < max)
  return out
}

export function errorText(err: unknown): string {
  if (err instanceof ApiError) {
    const issues = err.issues
    return issues.length > 0 && !err.message.includes(issues[0]!.rule)
      ? `${err.message} (${issues.map((i) => `${i.path} ${i.rule}`).join('; ')})`
      : err.message
  }
  return err instanceof Error ? err.message : String(err)
}
