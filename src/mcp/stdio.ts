/**
 * MCP over stdio for local agents (docs/mcp.md, `patchbay mcp`): the same tools as `/mcp`, either
 * served in-process on the data folder (like the CLI's offline mode) or relayed to a running
 * server's `/mcp`. stdout carries only the protocol; anything else goes to stderr.
 *
 * @see https://modelcontextprotocol.io/specification/2025-11-25/basic/transports#stdio
 * @module
 */
import type { Readable, Writable } from 'node:stream'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js'
import {
  ErrorCode,
  McpError,
  isJSONRPCRequest,
  isJSONRPCResultResponse,
  type JSONRPCMessage,
} from '@modelcontextprotocol/sdk/types.js'
import type { Patchbay } from '../engine/patchbay.js'
import { PatchbayError } from '../errors.js'
import type { McpPrincipal } from './catalog.js'
import { createMcpServer } from './server.js'

export interface McpStdioOptions {
  /** Default: the process's stdin. */
  input?: Readable
  /** Default: the process's stdout. */
  output?: Writable
  /** Patchbay's version, in the server's `serverInfo`. */
  version?: string
  /** Where the relay reports transport errors (never stdout). Default: stderr. */
  onError?: (err: Error) => void
}

export interface RunningMcpStdio {
  /** Resolves once the input ended and the server closed. */
  done: Promise<void>
  close(): Promise<void>
}

function unknownKey(): PatchbayError {
  return new PatchbayError(
    'auth.unauthorized',
    'the MCP key is not valid (unknown or revoked; admin keys are not accepted): create a scoped key with `patchbay mcp-key create`',
  )
}

function untilEnd(input: Readable): Promise<void> {
  return new Promise((resolve) => {
    if (input.readableEnded) return resolve()
    input.once('end', resolve)
    input.once('close', resolve)
  })
}

/**
 * Serves the tools of the MCP key `key` over stdio on `pb` until the input ends. The key is
 * checked now (a bad one throws `auth.unauthorized`) and again on every request, so revoking it
 * stops this server too.
 */
export async function serveMcpStdio(
  pb: Patchbay,
  key: string,
  options: McpStdioOptions = {},
): Promise<RunningMcpStdio> {
  const principal = async (): Promise<McpPrincipal | undefined> => {
    const scoped = await pb.mcpKeys.authenticate(key)
    return (
      scoped && {
        keyId: scoped.id,
        endUser: scoped.endUser,
        connections: scoped.connections,
        connectors: scoped.connectors,
        actions: scoped.actions,
        httpRequest: scoped.httpRequest,
      }
    )
  }
  if (!(await principal())) throw unknownKey()
  const server = createMcpServer(
    pb,
    async () => {
      const p = await principal()
      if (!p) throw new McpError(ErrorCode.InvalidRequest, unknownKey().message)
      return p
    },
    options,
  )
  const input = options.input ?? process.stdin
  const transport = new StdioServerTransport(input, options.output ?? process.stdout)
  await server.connect(transport)
  let closing: Promise<void> | undefined
  const close = () => (closing ??= server.close())
  const done = untilEnd(input).then(close)
  return { done, close }
}

/**
 * Relays MCP messages between stdio and a running server's `/mcp` (`PATCHBAY_URL`), with the key
 * as the bearer token: the server authenticates and runs every call. A request the server could
 * not answer gets a JSON-RPC error, so the client never waits for nothing.
 */
export async function relayMcpStdio(
  baseUrl: string,
  key: string,
  options: McpStdioOptions = {},
): Promise<RunningMcpStdio> {
  const onError =
    options.onError ?? ((err: Error) => process.stderr.write(`patchbay mcp: ${err.message}\n`))
  const upstream = new StreamableHTTPClientTransport(
    new URL('mcp', baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`),
    { requestInit: { headers: { authorization: `Bearer ${key}` } } },
  )
  const input = options.input ?? process.stdin
  const local = new StdioServerTransport(input, options.output ?? process.stdout)
  // The client's `initialize` settles the protocol version; the HTTP transport sends it on.
  const initializing = new Set<string | number>()

  upstream.onmessage = (message: JSONRPCMessage) => {
    if (isJSONRPCResultResponse(message) && initializing.delete(message.id)) {
      const version = (message.result as { protocolVersion?: unknown }).protocolVersion
      if (typeof version === 'string') upstream.setProtocolVersion(version)
    }
    void local.send(message)
  }
  upstream.onerror = onError
  local.onerror = onError
  local.onmessage = (message: JSONRPCMessage) => {
    if (isJSONRPCRequest(message) && message.method === 'initialize') initializing.add(message.id)
    upstream.send(message).catch((err: unknown) => {
      onError(err as Error)
      if (isJSONRPCRequest(message))
        void local.send({
          jsonrpc: '2.0',
          id: message.id,
          error: { code: ErrorCode.InternalError, message: (err as Error).message },
        })
    })
  }
  await upstream.start()
  await local.start()
  let closing: Promise<void> | undefined
  const close = () => (closing ??= Promise.all([local.close(), upstream.close()]).then(() => {}))
  const done = untilEnd(input).then(close)
  return { done, close }
}
