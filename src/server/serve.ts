/**
 * Starts the HTTP server on Node.
 *
 * @module
 */
import { getRequestListener } from '@hono/node-server'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Patchbay } from '../engine/patchbay.js'
import { createApp } from './app.js'
import { createFastPath } from './fast-path.js'

export interface ServeOptions {
  port?: number
  host?: string
  version?: string
  /** Accept admin keys on `/mcp` too (docs/mcp.md); off by default. */
  mcpAllowAdminKey?: boolean
}

export interface RunningServer {
  url: string
  port: number
  server: Server
  /**
   * Stops accepting connections and lets in-flight requests finish, for up to `graceMs`
   * (default 10 s), then closes whatever is left.
   */
  close(options?: { graceMs?: number }): Promise<void>
}

export function startServer(pb: Patchbay, options: ServeOptions = {}): Promise<RunningServer> {
  const app = createApp(pb, {
    version: options.version ?? '0.0.0',
    mcpAllowAdminKey: options.mcpAllowAdminKey,
  })
  const fastPath = createFastPath(pb)
  const appListener = getRequestListener(app.fetch)
  const server = createServer((req, res) => {
    if (!fastPath(req, res)) void appListener(req, res)
  })
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 4000, options.host ?? '127.0.0.1', () => {
      const info = server.address() as AddressInfo
      const host = info.family === 'IPv6' ? `[${info.address}]` : info.address
      resolve({
        url: `http://${host}:${info.port}`,
        port: info.port,
        server,
        close: ({ graceMs = 10_000 } = {}) =>
          new Promise<void>((done) => {
            // close() stops accepting and drops idle keep-alive sockets; busy ones finish first.
            const force = setTimeout(() => server.closeAllConnections(), graceMs)
            force.unref()
            server.close(() => {
              clearTimeout(force)
              done()
            })
          }),
      })
    })
  })
}
