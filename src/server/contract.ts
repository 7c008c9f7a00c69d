/**
 * The HTTP contract: every route the server answers, written once — its method, path, summary,
 * the zod schemas of its query and body, its success status, the type of its answer and the
 * schema that describes it. The server binds its handlers to these routes (`bind.ts`), the
 * OpenAPI document is generated from them (`openapi.ts`), and the web app and the CLI build their
 * requests from them (`requestOf`) and read the answers with these types.
 *
 * Browser-safe: at run time it needs only zod, `src/connector` and `views.ts`; the engine's view
 * types are imported as types.
 *
 * @module
 */
import type { z } from 'zod'
import type { AuthRegistry } from '../auth/scheme.js'
import type { AuthTypeDescription } from '../auth/presentation.js'
import {
  authTestInputSchema,
  connectionFormInputSchema,
  mcpKeyInputSchema,
  adminKeyInputSchema,
  connectPageInputSchema,
  connectSessionInputSchema,
  connectionListQuerySchema,
  logListQuerySchema,
  uiSignInSchema,
  webhookEventListQuerySchema,
} from '../connector/inputs.js'
import type { HttpMethod } from '../connector/literals.js'
import {
  connectorTemplateSchema,
  type ConnectorTemplate,
  type TemplateSummary,
} from '../connector/templates.js'
import {
  actionRunSchema,
  connectionInputSchema,
  connectorInputSchema,
  connectorPatchSchema,
  listQuerySchema,
  reconnectInputSchema,
  requestInputSchema,
} from '../connector/schema.js'
import type { AdminKeyView, CreatedAdminKey } from '../engine/admin.js'
import type {
  ConnectPageConnection,
  ConnectPageConnector,
  ConnectPageResult,
  ConnectPageSession,
} from '../engine/connect-page.js'
import type { ConnectSessionView, CreatedConnectSession } from '../engine/connect-sessions.js'
import type { ConnectionView } from '../engine/connections.js'
import type { CreatedConnection } from '../engine/connection-flows.js'
import type { BreakerView } from '../engine/breakers.js'
import type { ConnectionForm } from '../engine/connector-repository.js'
import type { ConnectorView } from '../engine/connector-views.js'
import type { EndUserView } from '../engine/end-users.js'
import type { CreatedMcpKey, McpKeyView } from '../engine/mcp-keys.js'
import type { LogView, Patchbay } from '../engine/patchbay.js'
import type { RequestOutcome } from '../engine/envelope.js'
import type { Page } from '../store/store.js'
import type { WebhookEventView } from '../engine/webhooks.js'
import {
  actionOutcomeSchema,
  actionViewSchema,
  adminKeyViewSchema,
  breakerViewSchema,
  connectPageConnectionSchema,
  connectPageConnectorSchema,
  connectPageResultSchema,
  connectPageSessionSchema,
  connectionFormSchema,
  authTypesSchema,
  templateSummariesSchema,
  createdMcpKeySchema,
  mcpKeyViewSchema,
  connectSessionViewSchema,
  connectionViewSchema,
  connectorViewSchema,
  createdAdminKeySchema,
  createdConnectSessionSchema,
  createdConnectionSchema,
  endUserViewSchema,
  healthSchema,
  logViewSchema,
  pageSchema,
  readinessSchema,
  requestOutcomeSchema,
  signedInSchema,
  webhookEventViewSchema,
  testOutcomeSchema,
  tokenTestSchema,
  uiSessionSchema,
} from './views.js'

/** Where the admin API lives; the OpenAPI document's paths are relative to it. */
export const API_BASE = '/api/v1'

/** The header the connect page sends its session token in (never a cookie, never the URL). */
export const CONNECT_SESSION_HEADER = 'x-patchbay-connect-session'

/**
 * How a route is opened: the admin key (or the UI's cookie), a connect session token, a scoped
 * MCP key, or freely.
 */
export type Security = 'adminKey' | 'connectSession' | 'uiSession' | 'mcpKey' | 'none'

/** What a route answers on success. */
export interface Answer<T = unknown> {
  readonly media: 'application/json' | 'text/html' | 'text/plain' | 'application/octet-stream'
  readonly description: string
  /** Its shape in the OpenAPI document; absent where it cannot be expressed. */
  readonly schema?: z.ZodType
  /** Its TypeScript type, for the clients; never set at run time. */
  readonly type?: T
}

/** A JSON answer of type `T`, described by `schema` (whose output must fit `T`). */
function json<T>(description: string, schema?: z.ZodType<T>): Answer<T> {
  return schema
    ? { media: 'application/json', description, schema }
    : { media: 'application/json', description }
}

function other(media: Answer['media'], description: string): Answer<never> {
  return { media, description }
}

const none: Answer<void> = { media: 'application/json', description: 'No content' }

export interface RouteSpec {
  /** `ALL`: every method (the proxy). */
  readonly method: HttpMethod | 'ALL'
  /** From the server's root, in Hono's syntax: `/api/v1/connectors/:id`, `*` for the rest. */
  readonly path: string
  readonly summary: string
  readonly description?: string
  /** What each path parameter holds. */
  readonly params?: Readonly<Record<string, string>>
  /** The query: unknown parameters are ignored, an empty one is absent. */
  readonly query?: z.ZodObject
  /** The JSON body (an object; an empty body reads as `{}`). */
  readonly body?: z.ZodType
  /**
   * `engine`: the engine method the handler calls checks the body with this same schema (every
   * method of the `Patchbay` facade checks its input), so the binder only reads the JSON object
   * instead of checking it twice. Otherwise the binder checks it and hands over the parsed value.
   */
  readonly bodyCheck?: 'engine'
  /** The status of a success. */
  readonly status: 200 | 201 | 204 | 302
  readonly answer: Answer
  readonly security: Security
  /** Error statuses this route answers besides the ones every route opened by its key can. */
  readonly errors?: readonly (400 | 401 | 403 | 404 | 409 | 410 | 413 | 502 | 503)[]
  /** The handler answers the request itself (pages, redirects, streams, cookies). */
  readonly raw?: true
}

function route<const S extends RouteSpec>(spec: S): S {
  return spec
}

const CONNECTOR_ID = 'A connector id or link name'
const CONNECTION_ID = 'A connection id'
const ACTION_ID = 'A saved action id (act_…)'

/** The admin API, under `/api/v1`. */
export const connectors = {
  create: route({
    method: 'POST',
    path: '/api/v1/connectors',
    summary: 'Create a connector (draft)',
    body: connectorInputSchema,
    bodyCheck: 'engine',
    status: 201,
    answer: json<ConnectorView>('The connector', connectorViewSchema),
    security: 'adminKey',
    errors: [413],
  }),
  list: route({
    method: 'GET',
    path: '/api/v1/connectors',
    summary: 'List connectors',
    query: listQuerySchema,
    status: 200,
    answer: json<Page<ConnectorView>>('A page of connectors', pageSchema(connectorViewSchema)),
    security: 'adminKey',
  }),
  get: route({
    method: 'GET',
    path: '/api/v1/connectors/:id',
    summary: 'Read a connector by id or link name',
    params: { id: CONNECTOR_ID },
    status: 200,
    answer: json<ConnectorView>('The connector', connectorViewSchema),
    security: 'adminKey',
  }),
  update: route({
    method: 'PATCH',
    path: '/api/v1/connectors/:id',
    summary: 'Update a connector (lifecycle rules apply)',
    description:
      'Changes the keys it sends; an `auth` object replaces the stored one (send secret settings as "********" to keep them).',
    params: { id: CONNECTOR_ID },
    body: connectorPatchSchema,
    bodyCheck: 'engine',
    status: 200,
    answer: json<ConnectorView>('The connector', connectorViewSchema),
    security: 'adminKey',
    errors: [413],
  }),
  delete: route({
    method: 'DELETE',
    path: '/api/v1/connectors/:id',
    summary: 'Delete a connector without connections',
    params: { id: CONNECTOR_ID },
    status: 204,
    answer: { ...none, description: 'Deleted' },
    security: 'adminKey',
  }),
  ready: route({
    method: 'POST',
    path: '/api/v1/connectors/:id/ready',
    summary: 'Move a draft to ready',
    params: { id: CONNECTOR_ID },
    status: 200,
    answer: json<ConnectorView>('The connector', connectorViewSchema),
    security: 'adminKey',
  }),
  testToken: route({
    method: 'POST',
    path: '/api/v1/connectors/:id/test-token',
    summary:
      'Send the auth type’s test request (http_token) with sample connection values; a success lets the draft be marked ready',
    params: { id: CONNECTOR_ID },
    body: authTestInputSchema,
    bodyCheck: 'engine',
    status: 200,
    answer: json<TokenTestOutcome>(
      '{ ok, status, body, token (masked), tokenPath, headerPreview, problem? }',
      tokenTestSchema,
    ),
    security: 'adminKey',
    errors: [413, 502],
  }),
  connectionForm: route({
    method: 'POST',
    path: '/api/v1/connectors/:id/connection-form',
    summary:
      'What a connection form asks for, and whether connecting goes through the browser, for the values chosen so far',
    params: { id: CONNECTOR_ID },
    body: connectionFormInputSchema,
    bodyCheck: 'engine',
    status: 200,
    answer: json<ConnectionForm>('{ fields, browser }', connectionFormSchema),
    security: 'adminKey',
    errors: [413],
  }),
}

export const connections = {
  create: route({
    method: 'POST',
    path: '/api/v1/connections',
    summary: 'Create a connection',
    body: connectionInputSchema,
    bodyCheck: 'engine',
    status: 201,
    answer: json<CreatedConnection>(
      'connected, or pending with authorizeUrl',
      createdConnectionSchema,
    ),
    security: 'adminKey',
    errors: [413, 502],
  }),
  list: route({
    method: 'GET',
    path: '/api/v1/connections',
    summary: 'List connections',
    query: connectionListQuerySchema,
    status: 200,
    answer: json<Page<ConnectionView>>('A page of connections', pageSchema(connectionViewSchema)),
    security: 'adminKey',
  }),
  get: route({
    method: 'GET',
    path: '/api/v1/connections/:id',
    summary: 'Read a connection (never a secret)',
    params: { id: CONNECTION_ID },
    status: 200,
    answer: json<ConnectionView>('The connection', connectionViewSchema),
    security: 'adminKey',
  }),
  delete: route({
    method: 'DELETE',
    path: '/api/v1/connections/:id',
    summary: 'Delete a connection, revoking its tokens',
    params: { id: CONNECTION_ID },
    status: 204,
    answer: { ...none, description: 'Deleted' },
    security: 'adminKey',
  }),
  test: route({
    method: 'POST',
    path: '/api/v1/connections/:id/test',
    summary: 'Test a connection',
    params: { id: CONNECTION_ID },
    status: 200,
    answer: json<TestOutcome>('The outcome', testOutcomeSchema),
    security: 'adminKey',
  }),
  reconnect: route({
    method: 'POST',
    path: '/api/v1/connections/:id/reconnect',
    summary: 'Authorize a connection again, keeping its id (authorizeUrl for browser flows)',
    params: { id: CONNECTION_ID },
    body: reconnectInputSchema,
    bodyCheck: 'engine',
    status: 200,
    answer: json<CreatedConnection>('The connection', createdConnectionSchema),
    security: 'adminKey',
    errors: [413, 502],
  }),
  refresh: route({
    method: 'POST',
    path: '/api/v1/connections/:id/refresh',
    summary: 'Force a refresh',
    params: { id: CONNECTION_ID },
    status: 200,
    answer: json<ConnectionView>('The connection', connectionViewSchema),
    security: 'adminKey',
    errors: [502],
  }),
  request: route({
    method: 'POST',
    path: '/api/v1/connections/:id/request',
    summary: 'Ad-hoc custom action',
    description:
      "The envelope's status is 200 whenever the upstream answered; its own status is inside.",
    params: { id: CONNECTION_ID },
    body: requestInputSchema,
    bodyCheck: 'engine',
    status: 200,
    answer: json<RequestOutcome>(
      'The upstream answer: { status, headers, body }',
      requestOutcomeSchema,
    ),
    security: 'adminKey',
    errors: [413, 502, 503],
  }),
  resetBreaker: route({
    method: 'POST',
    path: '/api/v1/connections/:id/breaker/reset',
    summary: 'Close the breaker around a connection’s ad-hoc calls',
    params: { id: CONNECTION_ID },
    status: 200,
    answer: json<BreakerView>('The breaker', breakerViewSchema),
    security: 'adminKey',
  }),
}

export const actions = {
  get: route({
    method: 'GET',
    path: '/api/v1/actions/:id',
    summary: 'Read a saved action with its breaker',
    params: { id: ACTION_ID },
    status: 200,
    answer: json<ActionView>('The action', actionViewSchema),
    security: 'adminKey',
  }),
  resetBreaker: route({
    method: 'POST',
    path: '/api/v1/actions/:id/breaker/reset',
    summary: 'Close a saved action’s breaker',
    params: { id: ACTION_ID },
    status: 200,
    answer: json<BreakerView>('The breaker', breakerViewSchema),
    security: 'adminKey',
  }),
  run: route({
    method: 'POST',
    path: '/api/v1/actions/:id/run',
    summary: 'Run a saved action',
    params: { id: ACTION_ID },
    body: actionRunSchema,
    bodyCheck: 'engine',
    status: 200,
    answer: json<ActionOutcome>('The upstream answer', actionOutcomeSchema),
    security: 'adminKey',
    errors: [413, 502, 503],
  }),
}

export const logs = {
  list: route({
    method: 'GET',
    path: '/api/v1/logs',
    summary: 'Log entries, newest first',
    query: logListQuerySchema,
    status: 200,
    answer: json<Page<LogView>>('A page of log entries', pageSchema(logViewSchema)),
    security: 'adminKey',
  }),
}

export const webhookEvents = {
  list: route({
    method: 'GET',
    path: '/api/v1/webhook-events',
    summary: 'Webhook events in the outbox, newest first (pending, delivered, dead-lettered)',
    query: webhookEventListQuerySchema,
    status: 200,
    answer: json<Page<WebhookEventView>>(
      'A page of webhook events',
      pageSchema(webhookEventViewSchema),
    ),
    security: 'adminKey',
  }),
  get: route({
    method: 'GET',
    path: '/api/v1/webhook-events/:id',
    summary: 'Read a webhook event',
    params: { id: 'A webhook event id' },
    status: 200,
    answer: json<WebhookEventView>('The event', webhookEventViewSchema),
    security: 'adminKey',
  }),
  retry: route({
    method: 'POST',
    path: '/api/v1/webhook-events/:id/retry',
    summary:
      'Send a dead-lettered webhook event again: pending, due now, its tries counted afresh (same event id)',
    params: { id: 'A webhook event id' },
    status: 200,
    answer: json<WebhookEventView>('The event, pending', webhookEventViewSchema),
    security: 'adminKey',
    errors: [409],
  }),
}

export const adminKeys = {
  list: route({
    method: 'GET',
    path: '/api/v1/admin-keys',
    summary: 'List named admin keys (never the keys themselves)',
    query: listQuerySchema,
    status: 200,
    answer: json<Page<AdminKeyView>>(
      'A page of { id, name, createdAt, revokedAt }',
      pageSchema(adminKeyViewSchema),
    ),
    security: 'adminKey',
  }),
  create: route({
    method: 'POST',
    path: '/api/v1/admin-keys',
    summary: 'Create a named admin key',
    body: adminKeyInputSchema,
    status: 201,
    answer: json<CreatedAdminKey>(
      '{ id, name, key, createdAt, revokedAt }: the key is shown only here',
      createdAdminKeySchema,
    ),
    security: 'adminKey',
    errors: [413],
  }),
  revoke: route({
    method: 'DELETE',
    path: '/api/v1/admin-keys/:id',
    summary: 'Revoke a named admin key, at once, in every process',
    params: { id: 'An admin key id (ak_…)' },
    status: 204,
    answer: { ...none, description: 'Revoked' },
    security: 'adminKey',
  }),
}

export const connectSessions = {
  create: route({
    method: 'POST',
    path: '/api/v1/connect-sessions',
    summary: 'Create a connect session for an end user',
    body: connectSessionInputSchema,
    bodyCheck: 'engine',
    status: 201,
    answer: json<CreatedConnectSession>(
      '{ id, token, url, expiresAt }: the token is shown only here',
      createdConnectSessionSchema,
    ),
    security: 'adminKey',
    errors: [413],
  }),
  list: route({
    method: 'GET',
    path: '/api/v1/connect-sessions',
    summary: 'List live connect sessions (never a token)',
    status: 200,
    answer: json<Page<ConnectSessionView>>(
      'The live sessions',
      pageSchema(connectSessionViewSchema),
    ),
    security: 'adminKey',
  }),
  delete: route({
    method: 'DELETE',
    path: '/api/v1/connect-sessions/:id',
    summary: 'End a connect session now',
    params: { id: 'A connect session id (cs_…)' },
    status: 204,
    answer: { ...none, description: 'Ended' },
    security: 'adminKey',
  }),
}

export const endUsers = {
  list: route({
    method: 'GET',
    path: '/api/v1/end-users',
    summary: 'List end users (the endUser ids of connections) with their connections',
    query: listQuerySchema,
    status: 200,
    answer: json<Page<EndUserView>>(
      'A page of { id, email, displayName, connections }',
      pageSchema(endUserViewSchema),
    ),
    security: 'adminKey',
  }),
  get: route({
    method: 'GET',
    path: '/api/v1/end-users/:id',
    summary: 'Read an end user with their connections',
    params: { id: 'An end user id' },
    status: 200,
    answer: json<EndUserView>('{ id, email, displayName, connections }', endUserViewSchema),
    security: 'adminKey',
  }),
  delete: route({
    method: 'DELETE',
    path: '/api/v1/end-users/:id',
    summary: 'Delete (and revoke) all the end user’s connections and end their sessions',
    params: { id: 'An end user id' },
    status: 204,
    answer: { ...none, description: 'Deleted' },
    security: 'adminKey',
  }),
}

export const openapi = {
  document: route({
    method: 'GET',
    path: '/api/v1/openapi.json',
    summary: 'This document',
    status: 200,
    answer: json<Record<string, unknown>>('OpenAPI 3'),
    security: 'none',
  }),
}

export const connectorTemplates = {
  list: route({
    method: 'GET',
    path: '/api/v1/connector-templates',
    summary: 'The connector templates shipped with Patchbay (docs/templates.md): one summary each',
    status: 200,
    answer: json<{ items: TemplateSummary[] }>(
      '{ items: [{ name, title, description, docs, authType, grantType?, placeholders }] }',
      templateSummariesSchema,
    ),
    security: 'adminKey',
  }),
  get: route({
    method: 'GET',
    path: '/api/v1/connector-templates/:name',
    summary:
      'One connector template: its connector definition and the placeholders (client id, secret) to fill in before POST /connectors',
    params: { name: 'A template name, e.g. github' },
    status: 200,
    answer: json<ConnectorTemplate>('The template', connectorTemplateSchema),
    security: 'adminKey',
  }),
}

export const authTypes = {
  list: route({
    method: 'GET',
    path: '/api/v1/auth-types',
    summary:
      'The auth types connectors may use, each with its settings’ JSON Schema and the hints the builder draws its form from',
    status: 200,
    answer: json<{ items: AuthTypeDescription[] }>(
      '{ items: [{ type, label, settings, presentation, secretSettings, testBeforeReady, hasTest }] }',
      authTypesSchema as unknown as z.ZodType<{ items: AuthTypeDescription[] }>,
    ),
    security: 'adminKey',
  }),
}

export const mcpKeys = {
  list: route({
    method: 'GET',
    path: '/api/v1/mcp-keys',
    summary: 'List scoped MCP keys (never the keys themselves)',
    query: listQuerySchema,
    status: 200,
    answer: json<Page<McpKeyView>>('A page of MCP keys', pageSchema(mcpKeyViewSchema)),
    security: 'adminKey',
  }),
  create: route({
    method: 'POST',
    path: '/api/v1/mcp-keys',
    summary: 'Create a scoped MCP key for an AI agent (docs/mcp.md)',
    body: mcpKeyInputSchema,
    bodyCheck: 'engine',
    status: 201,
    answer: json<CreatedMcpKey>('The key, shown only here, and what it opens', createdMcpKeySchema),
    security: 'adminKey',
    errors: [413],
  }),
  get: route({
    method: 'GET',
    path: '/api/v1/mcp-keys/:id',
    summary: 'Read a scoped MCP key (never the key itself)',
    params: { id: 'An MCP key id (mk_…)' },
    status: 200,
    answer: json<McpKeyView>('The key', mcpKeyViewSchema),
    security: 'adminKey',
  }),
  revoke: route({
    method: 'DELETE',
    path: '/api/v1/mcp-keys/:id',
    summary: 'Revoke a scoped MCP key, at once, in every process',
    params: { id: 'An MCP key id (mk_…)' },
    status: 204,
    answer: { ...none, description: 'Revoked' },
    security: 'adminKey',
  }),
}

/** The MCP server for AI agents (docs/mcp.md), opened by a scoped MCP key. */
export const mcp = {
  endpoint: route({
    method: 'ALL',
    path: '/mcp',
    summary: 'The Model Context Protocol server (Streamable HTTP): saved actions as tools',
    description:
      'JSON-RPC over POST, stateless; send a scoped MCP key as "Authorization: Bearer pbm_…". GET and DELETE answer 405.',
    status: 200,
    answer: json<unknown>('A JSON-RPC answer'),
    security: 'mcpKey',
    raw: true,
  }),
}

/** The hosted connect page (`docs/connect.md`). */
export const connectPages = {
  page: route({
    method: 'GET',
    path: '/connect',
    summary: 'The hosted connect page',
    description:
      'Opened with `?session=<token>`; an ended or unknown link answers a page that says so.',
    status: 200,
    answer: other('text/html', 'The page'),
    security: 'none',
    errors: [401, 410],
    raw: true,
  }),
  done: route({
    method: 'GET',
    path: '/connect/done',
    summary: 'The connect page’s result screen, where browser flows come back to',
    status: 200,
    answer: other('text/html', 'The page'),
    security: 'none',
    errors: [401, 410],
    raw: true,
  }),
}

/** The routes a connect session token opens, for the connect page (`server/connect.ts`). */
export const connectApi = {
  session: route({
    method: 'GET',
    path: '/connect/api/session',
    summary: 'What the connect page shows for its session',
    status: 200,
    answer: json<ConnectPageSession>('The session', connectPageSessionSchema),
    security: 'connectSession',
  }),
  fields: route({
    method: 'POST',
    path: '/connect/api/fields',
    summary: 'A connector’s fields for the values chosen so far',
    body: connectPageInputSchema,
    bodyCheck: 'engine',
    status: 200,
    answer: json<ConnectPageConnector>('The connector', connectPageConnectorSchema),
    security: 'connectSession',
    errors: [413],
  }),
  connect: route({
    method: 'POST',
    path: '/connect/api/connections',
    summary: 'Create a connection for the session’s end user (or re-authorize its connection)',
    body: connectPageInputSchema,
    bodyCheck: 'engine',
    status: 201,
    answer: json<ConnectPageConnection>('The connection', connectPageConnectionSchema),
    security: 'connectSession',
    errors: [413, 502],
  }),
  result: route({
    method: 'GET',
    path: '/connect/api/connections/:id',
    summary: 'A connection this session made, for the result screen',
    params: { id: CONNECTION_ID },
    status: 200,
    answer: json<ConnectPageResult>('The outcome', connectPageResultSchema),
    security: 'connectSession',
  }),
}

/** The web UI's session cookie (`server/ui.ts`). */
export const ui = {
  check: route({
    method: 'GET',
    path: '/ui/session',
    summary: 'Whether the UI session cookie is valid',
    status: 200,
    answer: json<{ signedIn: true }>('Signed in', uiSessionSchema),
    security: 'uiSession',
    raw: true,
  }),
  signIn: route({
    method: 'POST',
    path: '/ui/session',
    summary: 'Sign the UI in with the admin key: sets an HttpOnly, SameSite=Strict cookie',
    body: uiSignInSchema,
    status: 201,
    answer: json<{ signedIn: true; expiresAt: string }>('Signed in', signedInSchema),
    security: 'none',
    errors: [400, 401, 403],
    raw: true,
  }),
  signOut: route({
    method: 'DELETE',
    path: '/ui/session',
    summary: 'Sign the UI out: ends the session and clears the cookie',
    status: 204,
    answer: { ...none, description: 'Signed out' },
    security: 'none',
    errors: [403],
    raw: true,
  }),
}

/** Where providers send the browser back at the end of a flow. */
/**
 * The route that finishes a browser flow: each auth type with one names its path
 * (`AuthScheme.callbacks`), so the server registers, and the document lists, the registry's.
 */
export function flowCallbackRoute(path: string): RouteSpec {
  return route({
    method: 'GET',
    path,
    summary: 'Finish a browser flow (the provider sends the browser back here)',
    description:
      'A page, or a redirect to the connection’s returnUrl with connectionId and status.',
    status: 200,
    answer: other('text/html', 'The outcome page'),
    security: 'none',
    errors: [400, 502],
    raw: true,
  })
}

export const proxy = {
  forward: route({
    method: 'ALL',
    path: '/proxy/:id/*',
    summary: 'The transparent streaming proxy: baseUrl/<path> through the connection',
    description:
      "Any method; the query, headers and body are forwarded (the admin key and cookies are not), and the upstream's answer is streamed back as it is.",
    params: { id: CONNECTION_ID, '*': 'The rest of the path, slashes included' },
    status: 200,
    answer: other('application/octet-stream', "The upstream's answer, as it is"),
    security: 'adminKey',
    errors: [400, 401, 404, 409, 413, 502, 503],
    raw: true,
  }),
}

/** Health and metrics, for operators (`README.md#operations`). */
export const ops = {
  healthz: route({
    method: 'GET',
    path: '/healthz',
    summary: 'Alive',
    status: 200,
    answer: json<{ status: 'ok' }>('Alive', healthSchema),
    security: 'none',
  }),
  readyz: route({
    method: 'GET',
    path: '/readyz',
    summary: 'Ready: the database answers and the secret key opens its secrets',
    status: 200,
    answer: json<{ status: 'ready' | 'unavailable'; reason?: string }>(
      'Ready; otherwise 503 with the same shape and the reason (the database does not answer, or the secret key is not the one its secrets were sealed with)',
      readinessSchema,
    ),
    security: 'none',
  }),
  metrics: route({
    method: 'GET',
    path: '/metrics',
    summary: 'Prometheus metrics',
    status: 200,
    answer: other('text/plain', 'The Prometheus text format'),
    security: 'none',
    raw: true,
  }),
}

/** Every route, by group: what the document lists, and what the server must answer. */
export const contract = {
  connectors,
  connections,
  actions,
  logs,
  adminKeys,
  connectSessions,
  endUsers,
  authTypes,
  mcpKeys,
  webhookEvents,
  connectorTemplates,
  mcp,
  openapi,
  connectPages,
  connectApi,
  ui,
  proxy,
  ops,
}

export type Group = Readonly<Record<string, RouteSpec>>

/** Every route of the contract, in order, and the flow callbacks of the registry's auth types. */
export function allRoutes(registry?: Pick<AuthRegistry, 'callbacks'>): RouteSpec[] {
  return [
    ...Object.values(contract).flatMap((group: Group) => Object.values(group)),
    ...(registry?.callbacks() ?? []).map((c) => flowCallbackRoute(c.path)),
  ]
}

// The answers the engine types inline, named by the facade method that gives them.

type Answered<F extends (...args: never[]) => unknown> = Awaited<ReturnType<F>>
export type TestOutcome = Answered<Patchbay['connections']['test']>
export type ActionView = Answered<Patchbay['actions']['get']>
export type ActionOutcome = Answered<Patchbay['actions']['run']>
export type TokenTestOutcome = Answered<Patchbay['connectors']['testAuth']>

// What the clients and the binder read from a route.

type ParamNames<P extends string> = P extends `${string}:${infer Name}/${infer Rest}`
  ? Name | ParamNames<`/${Rest}`>
  : P extends `${string}:${infer Name}`
    ? Name
    : never

/** The path parameters of a route, by name. */
export type ParamsOf<R extends RouteSpec> = { [K in ParamNames<R['path']>]: string }

/** The answer's type. */
export type ReplyOf<R extends RouteSpec> = R['answer'] extends Answer<infer T> ? T : never

type Schema<R extends RouteSpec, K extends 'query' | 'body'> = R[K] extends z.ZodType ? R[K] : never

/** What a client sends: the path parameters, the query and the body, each where the route has one. */
export type CallInput<R extends RouteSpec> = ([ParamNames<R['path']>] extends [never]
  ? unknown
  : { params: ParamsOf<R> }) &
  (R['query'] extends z.ZodType ? { query?: z.input<Schema<R, 'query'>> } : unknown) &
  (R['body'] extends z.ZodType
    ? undefined extends z.input<Schema<R, 'body'>>
      ? { body?: z.input<Schema<R, 'body'>> }
      : { body: z.input<Schema<R, 'body'>> }
    : unknown)

/** What a handler receives: the path parameters, the checked query, and the body. */
export interface HandlerInput<R extends RouteSpec> {
  params: ParamsOf<R>
  query: R['query'] extends z.ZodType ? z.output<Schema<R, 'query'>> : undefined
  /** Checked by the binder, or, with `bodyCheck: 'engine'`, the JSON object as sent. */
  body: R['body'] extends z.ZodType
    ? R['bodyCheck'] extends 'engine'
      ? Record<string, unknown>
      : z.output<Schema<R, 'body'>>
    : undefined
}

export interface PreparedRequest {
  method: HttpMethod
  /** From the server's root, query included. */
  path: string
  /** To send as JSON; undefined for none. */
  body: unknown
}

/**
 * The request a client sends for a route: the path with its parameters encoded, the query
 * (undefined and empty values left out), and the body.
 */
export function requestOf<R extends RouteSpec>(route: R, input: CallInput<R>): PreparedRequest {
  const given = input as {
    params?: Record<string, string>
    query?: Record<string, unknown>
    body?: unknown
  }
  if (route.method === 'ALL') throw new TypeError(`${route.path} takes any request; send it as is`)
  const path = route.path.replace(/:(\w+)/g, (_, name: string) => {
    const value = given.params?.[name]
    if (value === undefined)
      throw new TypeError(`${route.path}: the parameter "${name}" is missing`)
    return encodeURIComponent(value)
  })
  const query = new URLSearchParams()
  for (const [k, v] of Object.entries(given.query ?? {}))
    if (v !== undefined && v !== null && v !== '') query.set(k, String(v))
  const search = query.toString()
  return { method: route.method, path: search ? `${path}?${search}` : path, body: given.body }
}
