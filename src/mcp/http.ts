/**
 * MCP over Streamable HTTP (docs/mcp.md): `POST /mcp`, a fetch-style handler the HTTP server
 * mounts. Stateless: every request carries its key, is authenticated against the store and gets a
 * server and transport of its own, so any process on the database answers any request, and a
 * revoked key is refused from the next request on. Answers are JSON, not SSE streams; there is no
 * session to open with `GET` or to end with `DELETE` (both 405).
 *
 * Only scoped MCP keys are accepted; admin keys are refused unless the server was started with
 * `allowAdminKey`, and then only with the end user named in `X-Patchbay-End-User`.
 *
 * @see https://modelcontextprotocol.io/specification/2025-11-25/basic/transports#streamable-http
 * @module
 */
import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js'
import { connectionInputSchema } from '../connector/schema.js'
import type { Patchbay } from '../engine/patchbay.js'
import { PatchbayError, invalidInput } from '../errors.js'
import type { McpPrincipal } from './catalog.js'
import { createMcpServer } from './server.js'

export interface McpHttpOptions {
  /**
   * Accept admin keys too (off by default): the caller then names the end user whose connections
   * the tools use in `X-Patchbay-End-User`, and sees every ready connector's tools.
   */
  allowAdminKey?: boolean
  /** Patchbay's version, in the server's `serverInfo`. */
  version?: string
}

export const END_USER_HEADER = 'x-patchbay-end-user'
const endUserId = connectionInputSchema.shape.endUser.unwrap()

const HOW =
  'create a scoped MCP key with POST /api/v1/mcp-keys, `patchbay mcp-key create` or the web UI (MCP keys)'

function errorResponse(status: number, err: PatchbayError, headers: HeadersInit = {}): Response {
  return Response.json({ error: err.toJSON() }, { status, headers })
}

function unauthorized(message: string): Response {
  return errorResponse(401, new PatchbayError('auth.unauthorized', message), {
    'www-authenticate': 'Bearer realm="patchbay-mcp"',
  })
}

function bearer(request: Request): string | undefined {
  const m = /^Bearer\s+(.+)$/i.exec(request.headers.get('authorization') ?? '')
  return m?.[1]?.trim()
}

/**
 * The key's principal, or the response that refuses the request. A tagged result, never an
 * `instanceof Response` test: `@hono/node-server` swaps the global `Response` class.
 */
async function authenticate(
  pb: Patchbay,
  request: Request,
  options: McpHttpOptions,
): Promise<{ principal: McpPrincipal } | { refused: Response }> {
  const key = bearer(request)
  if (!key)
    return {
      refused: unauthorized(`send a scoped MCP key as "Authorization: Bearer <key>": ${HOW}`),
    }
  const scoped = await pb.mcpKeys.authenticate(key)
  if (scoped)
    return {
      principal: {
        keyId: scoped.id,
        endUser: scoped.endUser,
        connections: scoped.connections,
        connectors: scoped.connectors,
        actions: scoped.actions,
        httpRequest: scoped.httpRequest,
      },
    }
  if (!(await pb.admin.verify(key)))
    return { refused: unauthorized(`the MCP key is not valid (unknown or revoked): ${HOW}`) }
  if (!options.allowAdminKey)
    return {
      refused: unauthorized(
        `admin keys are not accepted on /mcp: an agent gets a key scoped to one end user and its tools; ${HOW}`,
      ),
    }
  const parsed = endUserId.safeParse(request.headers.get(END_USER_HEADER) ?? undefined)
  if (!parsed.success)
    return {
      refused: errorResponse(
        400,
        invalidInput([
          {
            path: END_USER_HEADER,
            rule: 'is required with an admin key: the end user whose connections the tools use (letters, digits and . @ : + - _ |)',
          },
        ]),
      ),
    }
  return {
    principal: {
      keyId: 'admin',
      endUser: parsed.data,
      connections: null,
      connectors: 'all',
      actions: null,
      httpRequest: true,
    },
  }
}

/** The `/mcp` handler: a web-standard `Request` in, a `Response` out. */
export function createMcpHttpHandler(
  pb: Patchbay,
  options: McpHttpOptions = {},
): (request: Request) => Promise<Response> {
  return async (request) => {
    if (request.method !== 'POST')
      return Response.json(
        {
          jsonrpc: '2.0',
          error: {
            code: -32000,
            message: `${request.method} is not supported: this server is stateless; POST each JSON-RPC message`,
          },
          id: null,
        },
        { status: 405, headers: { allow: 'POST' } },
      )
    const auth = await authenticate(pb, request, options)
    if ('refused' in auth) return auth.refused
    const { principal } = auth
    const server = createMcpServer(pb, () => Promise.resolve(principal), options)
    const transport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: undefined,
      enableJsonResponse: true,
    })
    await server.connect(transport)
    try {
      return await transport.handleRequest(request)
    } finally {
      await server.close()
    }
  }
}
