/**
 * Starts the HTTP server on Node.
 *
 * @module
 */
import { serve, type ServerType } from '@hono/node-server'
import type { AddressInfo } from 'node:net'
import type { Patchbay } from '../engine/patchbay.js'
import { createApp } from './app.js'

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
  server: ServerType
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
  return new Promise((resolve, reject) => {
    const server = serve(
      { fetch: app.fetch, port: options.port ?? 4000, hostname: options.host ?? '127.0.0.1' },
      (info: AddressInfo) => {
        const host = info.family === 'IPv6' ? `[${info.address}]` : info.address
        resolve({
          url: `http://${host}:${info.port}`,
          port: info.port,
          server,
          close: ({ graceMs = 10_000 } = {}) =>
            new Promise<void>((done) => {
              const http = server as unknown as { closeAllConnections(): void }
              // close() stops accepting and drops idle keep-alive sockets; busy ones finish first.
              const force = setTimeout(() => http.closeAllConnections(), graceMs)
              force.unref()
              server.close(() => {
                clearTimeout(force)
                done()
              })
            }),
        })
      },
    )
    server.once('error', reject)
  })
}
