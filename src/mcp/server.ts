/**
 * The MCP server for one caller (docs/mcp.md): `tools/list` answers the caller's tools
 * (`catalog.ts`), and `tools/call` runs one through the engine — a saved action with
 * `actions.run`, the generic request with `connections.request` — so auth, refresh, `detectOn`,
 * the breaker and the log apply as they do to every other call, and the log entry names the key
 * and the tool. The upstream's answer comes back as structured content (and the same JSON as
 * text); a failure is a tool error (`isError`) that says what to do next.
 *
 * Built on the SDK's low-level `Server` rather than `McpServer`: the tools are data (each saved
 * action's `inputs`, read on every request), their input schemas are JSON Schema made from them,
 * and the engine checks the arguments itself, naming each bad one; `McpServer.registerTool` wants
 * zod schemas fixed when the server is built.
 *
 * @see https://modelcontextprotocol.io/specification/2025-11-25/server/tools
 * @module
 */
import { Server } from '@modelcontextprotocol/sdk/server/index.js'
import {
  CallToolRequestSchema,
  ErrorCode,
  ListToolsRequestSchema,
  McpError,
  type CallToolResult,
} from '@modelcontextprotocol/sdk/types.js'
import type { CreatedConnectSession } from '../engine/connect-sessions.js'
import type { ConnectionView } from '../engine/connections.js'
import type { RequestOutcome } from '../engine/envelope.js'
import type { CallerInfo } from '../engine/executor.js'
import type { Patchbay } from '../engine/patchbay.js'
import { PatchbayError, isPatchbayError, type FieldIssue } from '../errors.js'
import { buildCatalog, type CatalogTool, type McpPrincipal } from './catalog.js'
import { HTTP_METHODS } from './tools.js'

type Json = Record<string, unknown>

export interface McpServerOptions {
  /** Patchbay's version, in the server's `serverInfo`. */
  version?: string
}

/**
 * Response headers an agent never sees: an upstream session cookie is a credential of the
 * connection, like the tokens Patchbay keeps for it.
 */
const HIDDEN_HEADERS = new Set(['set-cookie', 'set-cookie2'])

function text(body: string): CallToolResult['content'] {
  return [{ type: 'text', text: body }]
}

/** The upstream answered: its answer, an error when its status (or a `detectOn` match) says so. */
function answered(
  outcome: RequestOutcome & { action?: { id: string; name: string } },
): CallToolResult {
  const headers = Object.fromEntries(
    Object.entries(outcome.headers).filter(([k]) => !HIDDEN_HEADERS.has(k.toLowerCase())),
  )
  const structured: Json = { ...outcome, headers }
  const failed = outcome.status >= 400 || outcome.error !== undefined
  const json = JSON.stringify(structured)
  if (!failed) return { content: text(json), structuredContent: structured }
  const why = outcome.error
    ? `${outcome.error.code}: ${outcome.error.message}`
    : `the API answered ${outcome.status}`
  return {
    content: text(`The call failed: ${why}. The API's answer follows.\n${json}`),
    structuredContent: structured,
    isError: true,
  }
}

function refused(error: Json, message: string, extra: Json = {}): CallToolResult {
  return {
    content: text(message),
    structuredContent: { error, ...extra },
    isError: true,
  }
}

/** What to tell the agent for each failure that did not reach (or not get past) the upstream. */
function advice(err: PatchbayError, tool: string): string {
  const issues = Array.isArray(err.details) ? (err.details as FieldIssue[]) : []
  const named = issues.map((i) => `${i.path || '(arguments)'} ${i.rule}`).join('; ')
  const at = Array.isArray(err.details) ? undefined : err.details?.retryAt
  const retryAt =
    typeof at === 'number' ? new Date(at).toISOString() : typeof at === 'string' ? at : undefined
  switch (err.code) {
    case 'action.invalid_inputs':
    case 'input.invalid':
    case 'input.malformed_json':
    case 'request.invalid':
      return `Invalid arguments (400 ${err.code}): ${named || err.message}. Correct them and call ${tool} again.`
    case 'request.origin_refused':
    case 'request.network_refused':
      return `Refused (400 ${err.code}): ${err.message}. Use a path on the connector's own API.`
    case 'breaker.open':
      return `${err.message} (${err.code}). The API keeps failing: do not call ${tool} again before ${retryAt ?? 'then'}.`
    case 'refresh.failed':
      return `Refreshing the connection's credentials failed (${err.code}: ${err.message}). Try again later${retryAt ? `, after ${retryAt}` : ''}.`
    case 'request.timeout':
    case 'request.upstream_unreachable':
      return `The API did not answer (${err.code}: ${err.message}). Try again later.`
    case 'connection.invalid_values':
      return `The connection's values do not fit the connector (${err.code}: ${err.message}); the user must reconnect, or an admin fix the connection.`
    default:
      return `${err.code}: ${err.message}`
  }
}

/** An action's field issues name its inputs, which are the tool's arguments. */
function asArguments(err: PatchbayError, tool: CatalogTool): unknown {
  if (!tool.action || !Array.isArray(err.details)) return err.details
  return (err.details as FieldIssue[]).map((i) => ({
    ...i,
    path: i.path.replace(/^inputs\.?/, ''),
  }))
}

function failure(err: PatchbayError, tool: CatalogTool): CallToolResult {
  const details = asArguments(err, tool)
  const shown =
    details === err.details
      ? err
      : new PatchbayError(err.code, err.message, { details: details as FieldIssue[] })
  return refused(shown.toJSON(), advice(shown, tool.definition.name))
}

/** The `http_request` tool's arguments as the ad-hoc request input; unknown ones are refused. */
function requestInput(args: Json): Json {
  const known = ['method', 'path', 'query', 'headers', 'body']
  const unknown = Object.keys(args).filter((k) => !known.includes(k))
  if (unknown.length)
    throw new PatchbayError('input.invalid', `unknown arguments ${unknown.join(', ')}`, {
      details: unknown.map((k) => ({
        path: k,
        rule: `is not an argument of http_request (${known.join(', ')})`,
      })),
    })
  if (typeof args.path !== 'string')
    throw new PatchbayError('input.invalid', 'path is required', {
      details: [{ path: 'path', rule: "is required: a path relative to the connector's base URL" }],
    })
  // The ad-hoc request takes absolute URLs as `url`; this tool takes paths only.
  if (/^[a-z][a-z0-9+.-]*:/i.test(args.path.replace(/^\/+/, '')))
    throw new PatchbayError('input.invalid', 'path is not a path', {
      details: [
        {
          path: 'path',
          rule: "must be a path relative to the connector's base URL, not a URL: the tool calls the connector's API only",
        },
      ],
    })
  if (
    args.method !== undefined &&
    !(
      typeof args.method === 'string' &&
      (HTTP_METHODS as readonly string[]).includes(args.method.toUpperCase())
    )
  )
    throw new PatchbayError('input.invalid', 'method is not an HTTP method', {
      details: [{ path: 'method', rule: `must be one of ${HTTP_METHODS.join(', ')}` }],
    })
  return Object.fromEntries(known.filter((k) => args[k] !== undefined).map((k) => [k, args[k]]))
}

export function createMcpServer(
  pb: Patchbay,
  principal: () => Promise<McpPrincipal>,
  options: McpServerOptions = {},
): Server {
  const server = new Server(
    { name: 'patchbay', title: 'Patchbay', version: options.version ?? '0.0.0' },
    {
      capabilities: { tools: {} },
      instructions:
        "Each tool runs a saved action (or one HTTP request) of a Patchbay connector through the user's connection, with its credentials applied and refreshed by Patchbay. A tool error with connectUrl means the user has to connect (or reconnect) that account first: send them the link, then call the tool again.",
    },
  )

  /** The user must connect (or reconnect) before the tool can run. */
  async function connectFirst(
    tool: CatalogTool,
    endUser: string,
    stale: ConnectionView | undefined,
  ): Promise<CallToolResult> {
    const reconnect = stale !== undefined
    const session: CreatedConnectSession = await pb.createConnectSession(
      reconnect
        ? { endUser: { id: endUser }, reconnect: stale!.id }
        : { endUser: { id: endUser }, connectors: [tool.connector.id] },
    )
    const code =
      stale?.status === 'needs_reauth' ? 'connection.needs_reauth' : 'connection.not_connected'
    const message = stale
      ? `The ${tool.connector.name} connection of ${endUser} is ${stale.status}${stale.statusMessage ? ` (${stale.statusMessage})` : ''}.`
      : `${endUser} has not connected ${tool.connector.name} yet.`
    return refused(
      { code, message },
      `${message} Send the user to ${session.url} to ${reconnect ? 'reconnect' : 'connect'} their ${tool.connector.name} account (the link works until ${session.expiresAt}), then call ${tool.definition.name} again.`,
      { connectUrl: session.url, connectExpiresAt: session.expiresAt },
    )
  }

  /** The connection a tool runs on, or the tool error that says how to get one. */
  async function connectionFor(
    tool: CatalogTool,
    p: McpPrincipal,
  ): Promise<{ id: string } | { result: CallToolResult }> {
    if (tool.connectionId) {
      const view = await pb.connections.get(tool.connectionId)
      if (view.status === 'connected') return { id: view.id }
      if (view.endUser) return { result: await connectFirst(tool, view.endUser, view) }
      const code =
        view.status === 'needs_reauth' ? 'connection.needs_reauth' : 'connection.not_connected'
      const message = `The connection ${view.id} (${view.name}) is ${view.status}${view.statusMessage ? `: ${view.statusMessage}` : ''}.`
      return {
        result: refused(
          { code, message },
          `${message} It belongs to no end user: ask a Patchbay admin to reconnect it (POST /api/v1/connections/${view.id}/reconnect).`,
        ),
      }
    }
    const endUser = p.endUser!
    const page = await pb.connections.list({ endUser, connector: tool.connector.id, limit: 500 })
    // Oldest first: the newest connected one wins.
    const connected = page.items.filter((c) => c.status === 'connected').at(-1)
    if (connected) return { id: connected.id }
    const stale = page.items.filter((c) => c.status === 'needs_reauth').at(-1)
    return { result: await connectFirst(tool, endUser, stale) }
  }

  server.setRequestHandler(ListToolsRequestSchema, async () => {
    const tools = await buildCatalog(pb, await principal())
    return { tools: tools.map((t) => t.definition) }
  })

  server.setRequestHandler(CallToolRequestSchema, async (request) => {
    const p = await principal()
    const name = request.params.name
    const tool = (await buildCatalog(pb, p)).find((t) => t.definition.name === name)
    if (!tool)
      throw new McpError(
        ErrorCode.InvalidParams,
        `no tool "${name}" for this key; tools/list shows the ones it may call`,
      )
    const args = (request.params.arguments ?? {}) as Json
    const caller: CallerInfo = { mcpKeyId: p.keyId, tool: name }
    try {
      const connection = await connectionFor(tool, p)
      if ('result' in connection) return connection.result
      const outcome = tool.action
        ? await pb.actions.run(tool.action.id, { connection: connection.id, inputs: args }, caller)
        : await pb.connections.request(connection.id, requestInput(args), caller)
      return answered(outcome)
    } catch (err) {
      if (!isPatchbayError(err)) throw err
      // The credentials died during the call (a refused refresh): the user must reconnect.
      if (err.code === 'connection.needs_reauth') {
        const again = await connectionFor(tool, p)
        if ('result' in again) return again.result
      }
      return failure(err, tool)
    }
  })

  return server
}
