/**
 * The tools one caller may see and call (docs/mcp.md): read afresh from the engine on every
 * request, so a new saved action, a renamed one or a deleted connector shows at once. A key's
 * tools are the saved actions of its connectors (plus their `http_request` tool when the key asks
 * for it and the connector has custom actions on) and its single actions — of ready connectors
 * only, and, for a key scoped to connections, only where one of its connections still exists.
 *
 * @module
 */
import type { CustomAction } from '../connector/schema.js'
import type { ConnectorView } from '../engine/connector-views.js'
import type { Patchbay } from '../engine/patchbay.js'
import { isPatchbayError } from '../errors.js'
import {
  annotationsFor,
  httpRequestSchema,
  objectSchema,
  outputSchema,
  toolNames,
} from './tools.js'

type Json = Record<string, unknown>

/** Who calls: what a scoped key (or, where the server allows it, an admin key) may reach. */
export interface McpPrincipal {
  /** The MCP key's id (`mk_…`), written to each log entry its calls make; `admin` for an admin key. */
  keyId: string
  /** The end user whose connections the tools use; null when `connections` is set. */
  endUser: string | null
  /** The connections the tools use, one per connector. */
  connections: string[] | null
  /** Connectors whose saved actions are all tools; `all` for every ready connector. */
  connectors: string[] | 'all' | null
  /** Saved actions that are tools. */
  actions: string[] | null
  /** Whether `connectors` also get their `http_request` tool. */
  httpRequest: boolean
}

/** A tool as `tools/list` answers it (MCP `Tool`). */
export interface ToolDefinition {
  name: string
  title: string
  description: string
  inputSchema: Json & { type: 'object' }
  outputSchema: Json & { type: 'object' }
  annotations: Json
}

export interface CatalogTool {
  definition: ToolDefinition
  connector: { id: string; linkName: string; name: string }
  /** The saved action the tool runs; absent for `http_request`. */
  action?: CustomAction
  /** The key's connection of this connector, for a key scoped to connections. */
  connectionId?: string
}

async function orNull<T>(read: Promise<T>): Promise<T | null> {
  try {
    return await read
  } catch (err) {
    if (isPatchbayError(err, 'connector.not_found') || isPatchbayError(err, 'action.not_found'))
      return null
    if (isPatchbayError(err, 'connection.not_found')) return null
    throw err
  }
}

function actionTool(c: ConnectorView, action: CustomAction, name: string): ToolDefinition {
  const title = `${c.name}: ${action.name}`
  return {
    name,
    title,
    description: action.description
      ? `${action.description} (${c.name}, ${action.method} ${action.path})`
      : `${action.name} (${c.name}, ${action.method} ${action.path})`,
    inputSchema: objectSchema(action.inputs) as ToolDefinition['inputSchema'],
    outputSchema: outputSchema() as ToolDefinition['outputSchema'],
    annotations: annotationsFor(action.method, title),
  }
}

function httpTool(c: ConnectorView, name: string): ToolDefinition {
  const title = `${c.name}: HTTP request`
  return {
    name,
    title,
    description: `Any HTTP request to the ${c.name} API, with the connection's credentials applied. The path is relative to the connector's base URL; requests to other origins are refused.`,
    inputSchema: httpRequestSchema() as ToolDefinition['inputSchema'],
    outputSchema: outputSchema() as ToolDefinition['outputSchema'],
    annotations: { ...annotationsFor('POST', title), destructiveHint: true },
  }
}

/** The caller's tools, in the order its scope names them. */
export async function buildCatalog(pb: Patchbay, p: McpPrincipal): Promise<CatalogTool[]> {
  // For a key scoped to connections: which of them still exist, by connector.
  let connectionOf: Map<string, string> | undefined
  if (p.connections) {
    connectionOf = new Map()
    for (const id of p.connections) {
      const view = await orNull(pb.connections.get(id))
      if (view) connectionOf.set(view.connector.id, view.id)
    }
  }

  // Each connector in scope: all its actions, or the single ones named.
  const wanted = new Map<string, { all: boolean; actions: Set<string> }>()
  const want = (connectorId: string) => {
    let w = wanted.get(connectorId)
    if (!w) wanted.set(connectorId, (w = { all: false, actions: new Set() }))
    return w
  }
  if (p.connectors === 'all') {
    let cursor: string | undefined
    do {
      const page = await pb.connectors.list({ limit: 500, cursor })
      for (const c of page.items) if (c.stage === 'ready') want(c.id).all = true
      cursor = page.nextCursor
    } while (cursor)
  } else for (const id of p.connectors ?? []) want(id).all = true
  for (const actionId of p.actions ?? []) {
    const action = await orNull(pb.actions.get(actionId))
    if (action) want(action.connectorId).actions.add(actionId)
  }

  const tools: CatalogTool[] = []
  for (const [connectorId, w] of wanted) {
    const c = await orNull(pb.connectors.get(connectorId))
    if (!c || c.stage !== 'ready') continue
    const connectionId = connectionOf?.get(c.id)
    if (connectionOf && connectionId === undefined) continue
    const connector = { id: c.id, linkName: c.linkName, name: c.name }
    const names = toolNames(c.linkName, c.actions)
    for (const { breaker: _breaker, ...action } of c.actions) {
      if (!w.all && !w.actions.has(action.id)) continue
      tools.push({
        definition: actionTool(c, action, names.actions.get(action.id)!),
        connector,
        action,
        ...(connectionId ? { connectionId } : {}),
      })
    }
    if (w.all && p.httpRequest && c.customAction.enabled)
      tools.push({
        definition: httpTool(c, names.httpRequest),
        connector,
        ...(connectionId ? { connectionId } : {}),
      })
  }
  return tools
}
