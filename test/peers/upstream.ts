/**
 * A real HTTP upstream on 127.0.0.1 that records every request it receives.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface Recorded {
  method: string
  url: string
  path: string
  query: URLSearchParams
  headers: Record<string, string | string[] | undefined>
  body: string
}

export type Route = (req: Recorded, res: ServerResponse) => void | Promise<void>

export interface Upstream {
  url: string
  origin: string
  requests: Recorded[]
  /** Handler for a path (exact), or '*' for the default. */
  route(path: string, handler: Route): void
  close(): Promise<void>
}

export function json(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers })
  res.end(JSON.stringify(body))
}

export async function startUpstream(host = '127.0.0.1'): Promise<Upstream> {
  const routes = new Map<string, Route>()
  const requests: Recorded[] = []
  const server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://x')
      const rec: Recorded = {
        method: req.method ?? 'GET',
        url: req.url ?? '/',
        path: url.pathname,
        query: url.searchParams,
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      }
      requests.push(rec)
      const handler = routes.get(url.pathname) ?? routes.get('*')
      if (!handler) return json(res, 200, { ok: true, path: url.pathname })
      Promise.resolve(handler(rec, res)).catch((err: unknown) => {
        res.writeHead(500)
        res.end(String(err))
      })
    })
  })
  await new Promise<void>((r) => server.listen(0, host, r))
  const { port } = server.address() as AddressInfo
  const origin = `http://${host}:${port}`
  return {
    url: `${origin}/`,
    origin,
    requests,
    route: (path, handler) => void routes.set(path, handler),
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections()
        server.close(() => r())
      }),
  }
}
