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
}

export interface RunningServer {
  url: string
  port: number
  server: ServerType
  close(): Promise<void>
}

export function startServer(pb: Patchbay, options: ServeOptions = {}): Promise<RunningServer> {
  const app = createApp(pb, { version: options.version ?? '0.0.0' })
  return new Promise((resolve, reject) => {
    const server = serve(
      { fetch: app.fetch, port: options.port ?? 4000, hostname: options.host ?? '127.0.0.1' },
      (info: AddressInfo) => {
        const host = info.family === 'IPv6' ? `[${info.address}]` : info.address
        resolve({
          url: `http://${host}:${info.port}`,
          port: info.port,
          server,
          close: () =>
            new Promise<void>((done) => {
              server.close(() => done())
              ;(server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.()
            }),
        })
      },
    )
    server.once('error', reject)
  })
}
