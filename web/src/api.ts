/**
 * The typed API client, over the server's HTTP contract (`src/server/contract.ts`): each call
 * names a route of the contract, which gives its method, its path, what it takes and what it
 * answers. The browser holds no key: requests carry the HttpOnly session cookie, and
 * state-changing ones are sent from the UI's own origin.
 */
import type { z } from 'zod'
import type { TokenRequestTest } from '../../src/auth/http-token.js'
import type { requestInputSchema } from '../../src/connector/schema.js'
import {
  actions,
  authTypes,
  connections,
  connectorTemplates,
  connectors,
  logs,
  mcpKeys,
  requestOf,
  webhookEvents,
  ui,
  type CallInput,
  type ReplyOf,
  type RouteSpec,
} from '../../src/server/contract.js'
import type { FieldIssue } from '../../src/errors.js'
import type { Page } from '../../src/store/store.js'

// What the API answers: the server's own types.
export type { ConnectionStatus, Stage } from '../../src/connector/literals.js'
export type { ConnectorInput, FieldDefinition } from '../../src/connector/schema.js'
export type { ConnectionView } from '../../src/engine/connections.js'
export type { CreatedConnection } from '../../src/engine/connection-flows.js'
export type { BreakerView } from '../../src/engine/breakers.js'
export type { ConnectorView } from '../../src/engine/connector-views.js'
export type { LogView } from '../../src/engine/patchbay.js'
export type { RequestOutcome } from '../../src/engine/envelope.js'
export type { ActionOutcome, TestOutcome } from '../../src/server/contract.js'
export type { CreatedMcpKey, McpKeyView } from '../../src/engine/mcp-keys.js'
export type { WebhookEventView } from '../../src/engine/webhooks.js'
export type { WebhookEventStatus } from '../../src/connector/literals.js'
export type { ConnectorTemplate, TemplateSummary } from '../../src/connector/templates.js'
export type { FieldIssue, Page }

/** The body of `POST /connections/:id/request`, as sent. */
export type RequestInput = z.input<typeof requestInputSchema>

/** A token test's answer, as the one auth type with a test request (`http_token`) reports it. */
export type TokenTestReport = ReplyOf<typeof connectors.testToken> & Partial<TokenRequestTest>

/** An error as the API words it; `network` and `http_<status>` when no API answered. */
export interface ApiErrorBody {
  code: string
  message: string
  details?: unknown
}

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

/** A route's input, optional when it needs none. */
type InputArgs<R extends RouteSpec> =
  object extends CallInput<R> ? [input?: CallInput<R>] : [input: CallInput<R>]

/** Calls a route of the contract and answers its reply; throws an `ApiError` otherwise. */
export async function call<R extends RouteSpec>(
  route: R,
  ...[input]: InputArgs<R>
): Promise<ReplyOf<R>> {
  const { method, path, body } = requestOf(route, (input ?? {}) as CallInput<R>)
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
  if (res.status === 204) return undefined as ReplyOf<R>
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
    // The UI's own session routes answer 401 for no session or a wrong key: the sign-in form's
    // business, not a session that ended.
    if (res.status === 401 && route.path !== ui.check.path)
      window.dispatchEvent(new Event(UNAUTHORIZED_EVENT))
    throw new ApiError(res.status, error)
  }
  return parsed as ReplyOf<R>
}

type QueryOf<R extends RouteSpec> = CallInput<R> extends { query?: infer Q } ? Q : never
type BodyOf<R extends RouteSpec> = CallInput<R> extends { body?: infer B } ? B : never

export const api = {
  session: {
    check: () => call(ui.check),
    signIn: (adminKey: string) => call(ui.signIn, { body: { adminKey } }),
    signOut: () => call(ui.signOut),
  },
  connectors: {
    list: (query?: QueryOf<typeof connectors.list>) => call(connectors.list, { query }),
    get: (id: string) => call(connectors.get, { params: { id } }),
    create: (input: BodyOf<typeof connectors.create>) => call(connectors.create, { body: input }),
    update: (id: string, patch: BodyOf<typeof connectors.update>) =>
      call(connectors.update, { params: { id }, body: patch }),
    ready: (id: string) => call(connectors.ready, { params: { id } }),
    testToken: async (id: string, values: Record<string, unknown>): Promise<TokenTestReport> =>
      call(connectors.testToken, { params: { id }, body: { values } }),
    delete: (id: string) => call(connectors.delete, { params: { id } }),
    /** The connection form's fields and browser flow for the values chosen so far. */
    connectionForm: (id: string, values: Record<string, unknown>) =>
      call(connectors.connectionForm, { params: { id }, body: { values } }),
  },
  connections: {
    list: (query?: QueryOf<typeof connections.list>) => call(connections.list, { query }),
    get: (id: string) => call(connections.get, { params: { id } }),
    create: (input: BodyOf<typeof connections.create>) => call(connections.create, { body: input }),
    delete: (id: string) => call(connections.delete, { params: { id } }),
    test: (id: string) => call(connections.test, { params: { id } }),
    refresh: (id: string) => call(connections.refresh, { params: { id } }),
    request: (id: string, input: RequestInput) =>
      call(connections.request, { params: { id }, body: input }),
    resetBreaker: (id: string) => call(connections.resetBreaker, { params: { id } }),
  },
  actions: {
    run: (id: string, input: BodyOf<typeof actions.run>) =>
      call(actions.run, { params: { id }, body: input }),
    resetBreaker: (id: string) => call(actions.resetBreaker, { params: { id } }),
  },
  logs: {
    list: (query?: QueryOf<typeof logs.list>) => call(logs.list, { query }),
  },
  webhookEvents: {
    list: (query?: QueryOf<typeof webhookEvents.list>) => call(webhookEvents.list, { query }),
    retry: (id: string) => call(webhookEvents.retry, { params: { id } }),
  },
  /** The auth types connectors may use, with what the builder draws their forms from. */
  authTypes: () => call(authTypes.list).then((r) => r.items),
  /** The connector templates shipped with Patchbay (docs/templates.md). */
  connectorTemplates: {
    list: () => call(connectorTemplates.list).then((r) => r.items),
    get: (name: string) => call(connectorTemplates.get, { params: { name } }),
  },
  mcpKeys: {
    list: (query?: QueryOf<typeof mcpKeys.list>) => call(mcpKeys.list, { query }),
    create: (input: BodyOf<typeof mcpKeys.create>) => call(mcpKeys.create, { body: input }),
    revoke: (id: string) => call(mcpKeys.revoke, { params: { id } }),
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
