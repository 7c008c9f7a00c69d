/**
 * The hosted connect page (docs/connect.md): `GET /connect?session=…` serves the page (built by
 * Vite from `web/connect.html`, under the UI's CSP), and `/connect/api/*` are the only routes a
 * session token opens. The page sends the token in the `X-Patchbay-Connect-Session` header; it is
 * never accepted anywhere else, never put in a cookie, and never logged (the request log has the
 * path only).
 *
 * @module
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Hono, type Context, type MiddlewareHandler } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import { trimTrailingSlash } from 'hono/trailing-slash'
import type { ConnectSessionRecord } from '../engine/connect-sessions.js'
import type { Patchbay } from '../engine/patchbay.js'
import { isPatchbayError, type PatchbayError } from '../errors.js'
import { bind } from './bind.js'
import { CONNECT_SESSION_HEADER, connectApi, connectPages } from './contract.js'
import { refuseNul, refuseNulIn } from './http.js'
import { escapeHtml } from './pages.js'
import { UI_SECURITY_HEADERS } from './ui.js'

export { CONNECT_SESSION_HEADER }
const CONNECT_BASE = '/connect'
const CONNECT_API_BASE = '/connect/api'

/** The session a route's token opened, set before its handler runs. */
type SessionEnv = { Variables: { session: ConnectSessionRecord } }

export interface ConnectPageOptions {
  /** The built UI (default: `web/dist` two levels above this file, from `src/` or `dist/`). */
  distDir?: string
}

/** The UI's CSP, with the brand logo's origin allowed as an image when it is on another origin. */
function pageHeaders(logoUrl: string | null): Record<string, string> {
  const headers = { ...UI_SECURITY_HEADERS }
  if (!logoUrl) return headers
  let origin: string | undefined
  try {
    const url = new URL(logoUrl)
    if (url.protocol === 'https:' || url.protocol === 'http:') origin = url.origin
  } catch {
    origin = undefined
  }
  if (origin)
    headers['content-security-policy'] = headers['content-security-policy']!.replace(
      "img-src 'self' data:",
      `img-src 'self' data: ${origin}`,
    )
  return headers
}

/** A page without scripts for a link that no longer works: readable with or without the app. */
function endedPage(title: string, message: string, brand: string | null): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} · ${escapeHtml(brand ?? 'Patchbay')}</title>
<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;color:#1f2328;line-height:1.5}
h1{font-size:1.35rem;color:#cf222e}</style></head>
<body><main><h1>${escapeHtml(title)}</h1><p>${escapeHtml(message)}</p>
<p>You can close this window.</p></main></body></html>`
}

export function connectRoutes(pb: Patchbay, options: ConnectPageOptions = {}): Hono {
  const distDir = options.distDir ?? fileURLToPath(new URL('../../web/dist/', import.meta.url))
  const routes = new Hono()

  const page = async (c: Context) => {
    const brand = brandOf()
    const headers = pageHeaders(brand.logoUrl)
    const token = c.req.query('session')
    if (token !== undefined) {
      try {
        await pb.connectPage.authenticate(token)
      } catch (err) {
        if (!isPatchbayError(err)) throw err
        return refused(c, err, brand.name)
      }
    }
    let html: string
    try {
      html = await readFile(join(distDir, 'connect.html'), 'utf8')
    } catch {
      for (const [k, v] of Object.entries(headers)) c.header(k, v)
      c.header('cache-control', 'no-store')
      return c.html(
        endedPage(
          'The connect page is not built',
          'Run "npm run build" in the Patchbay folder, then open the link again.',
          brand.name,
        ),
        503,
      )
    }
    for (const [k, v] of Object.entries(headers)) c.header(k, v)
    c.header('cache-control', 'no-store')
    return c.html(html)
  }

  const refused = (c: Context, err: PatchbayError, brand: string | null) => {
    c.header('cache-control', 'no-store')
    c.header('referrer-policy', 'no-referrer')
    c.header('x-content-type-options', 'nosniff')
    c.header(
      'content-security-policy',
      "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
    )
    const expired = err.code === 'connect_session.expired'
    return c.html(
      endedPage(
        expired ? 'This connect link has ended' : 'This connect link is not valid',
        err.message,
        brand,
      ),
      expired ? 410 : 401,
    )
  }

  // The brand is configuration: the same for every session.
  const brandOf = () => pb.connectPage.brand()

  // `/connect/` and `/connect/done/` redirect to the paths without the slash (query kept).
  routes.use('*', trimTrailingSlash())
  bind(routes, CONNECT_BASE, connectPages, { page, done: page })

  const api = new Hono<SessionEnv>()
  api.use(
    '*',
    bodyLimit({
      maxSize: 1024 * 1024,
      onError: (c) =>
        c.json(
          { error: { code: 'input.invalid', message: 'the request body is over 1 MiB' } },
          413,
        ),
    }),
  )
  api.use('*', refuseNul)
  api.use('*', async (c, next) => {
    c.header('cache-control', 'no-store')
    await next()
  })
  // The token is checked before a body is read, as the admin key is on `/api/v1`.
  const session =
    (allowCompleted: boolean): MiddlewareHandler<SessionEnv> =>
    async (c, next) => {
      c.set(
        'session',
        await pb.connectPage.authenticate(c.req.header(CONNECT_SESSION_HEADER), { allowCompleted }),
      )
      await next()
    }
  bind(
    api,
    CONNECT_API_BASE,
    connectApi,
    {
      session: (_, c) => pb.connectPage.describe(c.var.session),
      fields: ({ body }, c) => pb.connectPage.fields(c.var.session, body),
      connect: ({ body }, c) => pb.connectPage.connect(c.var.session, body),
      result: ({ params }, c) => pb.connectPage.result(c.var.session, params.id),
    },
    {
      before: {
        session: session(false),
        fields: session(false),
        connect: session(false),
        // A finished reconnect session still reads its own outcome.
        result: async (c, next) => {
          refuseNulIn('id', c.req.param('id') ?? '')
          return session(true)(c, next)
        },
      },
    },
  )
  api.all('*', (c) =>
    c.json(
      {
        error: {
          code: 'input.invalid',
          message: `no route ${c.req.method} ${new URL(c.req.url).pathname}`,
        },
      },
      404,
    ),
  )
  routes.route('/api', api)
  return routes
}
