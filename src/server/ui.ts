/**
 * The web UI's server side: sign-in with the admin key into an HttpOnly, SameSite=Strict session
 * cookie (the sessions themselves are the engine's, `engine/ui-sessions.ts`: any process sharing
 * the database accepts them), the built assets, and the CSP.
 *
 * @module
 */
import { readFile, stat } from 'node:fs/promises'
import { extname, join, normalize, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Hono, type Context } from 'hono'
import { getCookie, setCookie } from 'hono/cookie'
import type { Patchbay } from '../engine/patchbay.js'
import { PatchbayError } from '../errors.js'
import { bind } from './bind.js'
import { ui } from './contract.js'
import { readJson } from './http.js'
import { escapeHtml } from './pages.js'

export interface UiBinding {
  /**
   * True when the request carries a valid UI session cookie. A state-changing request with the
   * cookie from another origin throws `auth.forbidden_origin`.
   */
  authenticate(c: Context): Promise<boolean>
  /** Mounted at `/`: session routes, static assets, the app shell. */
  routes: Hono
}

export interface UiOptions {
  /** The built UI (default: `web/dist` two levels above this file, from `src/` or `dist/`). */
  distDir?: string
}

const COOKIE = 'patchbay_session'
/** `__Host-` cookies must be Secure, Path=/ and host-only: used whenever the cookie is Secure. */
const SECURE_COOKIE = `__Host-${COOKIE}`
const STATE_CHANGING = new Set(['POST', 'PUT', 'PATCH', 'DELETE'])

/** Paths the UI never answers with its app shell: they belong to the API and the flows. */
const RESERVED = /^\/(api|proxy|oauth|oauth1|demo|ui|connect|mcp|healthz|readyz|metrics)(\/|$)/

export const UI_SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy':
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; " +
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.ico': 'image/x-icon',
  '.webp': 'image/webp',
  '.woff2': 'font/woff2',
  '.woff': 'font/woff',
  '.txt': 'text/plain; charset=utf-8',
  '.webmanifest': 'application/manifest+json',
}

function originOf(url: string | undefined): string | undefined {
  if (!url) return undefined
  try {
    const origin = new URL(url).origin
    return origin === 'null' ? undefined : origin
  } catch {
    return undefined
  }
}

export function createUi(pb: Patchbay, options: UiOptions = {}): UiBinding {
  const distDir = options.distDir ?? fileURLToPath(new URL('../../web/dist/', import.meta.url))
  const routes = new Hono()

  const secureRequest = (c: Context): boolean =>
    new URL(c.req.url).protocol === 'https:' || pb.publicUrl.startsWith('https:')

  /** The origins this server is reached at: as the request names it, and the public URL. */
  const ownOrigins = (c: Context): Set<string> =>
    new Set([new URL(c.req.url).origin, originOf(pb.publicUrl)].filter((o) => o !== undefined))

  /**
   * Whether a request comes from the UI's own origin: Origin, else Sec-Fetch-Site, else Referer.
   */
  function fromOwnOrigin(c: Context): boolean {
    const origin = c.req.header('origin')
    if (origin !== undefined) return ownOrigins(c).has(origin)
    const site = c.req.header('sec-fetch-site')
    if (site !== undefined) return site === 'same-origin'
    const referer = originOf(c.req.header('referer'))
    return referer !== undefined && ownOrigins(c).has(referer)
  }

  function sessionId(c: Context): string | undefined {
    const id = getCookie(c, SECURE_COOKIE) ?? getCookie(c, COOKIE)
    return id && /^[A-Za-z0-9_-]{43,128}$/.test(id) ? id : undefined
  }

  function withSecurityHeaders(c: Context): void {
    for (const [k, v] of Object.entries(UI_SECURITY_HEADERS)) c.header(k, v)
  }

  function writeCookie(c: Context, value: string, maxAge: number): void {
    const secure = secureRequest(c)
    setCookie(c, secure ? SECURE_COOKIE : COOKIE, value, {
      httpOnly: true,
      sameSite: 'Strict',
      path: '/',
      secure,
      maxAge,
    })
  }

  const signIn = async (c: Context) => {
    withSecurityHeaders(c)
    // A sign-in form posted from another site would log the browser into the attacker's session.
    if (c.req.header('origin') !== undefined && !fromOwnOrigin(c)) {
      throw new PatchbayError('auth.forbidden_origin', 'sign in from the Patchbay UI itself')
    }
    const body = (await readJson(c)) as { adminKey?: unknown }
    const key = typeof body.adminKey === 'string' ? body.adminKey.trim() : ''
    const { id, expiresAt } = await pb.uiSessions.open(key)
    writeCookie(c, id, Math.round((expiresAt - Date.now()) / 1000))
    return c.json({ signedIn: true, expiresAt: new Date(expiresAt).toISOString() }, 201)
  }

  const check = async (c: Context) => {
    withSecurityHeaders(c)
    c.header('cache-control', 'no-store')
    const id = sessionId(c)
    if (!id || !(await pb.uiSessions.valid(id)))
      return c.json({ error: { code: 'auth.unauthorized', message: 'not signed in' } }, 401)
    return c.json({ signedIn: true })
  }

  const signOut = async (c: Context) => {
    withSecurityHeaders(c)
    const id = sessionId(c)
    if (id) {
      if (!fromOwnOrigin(c))
        throw new PatchbayError('auth.forbidden_origin', 'sign out from the Patchbay UI itself')
      await pb.uiSessions.close(id)
    }
    writeCookie(c, '', 0)
    return c.body(null, 204)
  }

  bind(routes, '', ui, { check, signIn, signOut })

  /** A file under `web/dist`, or undefined when there is none (no path leaves the folder). */
  async function distFile(path: string): Promise<{ bytes: Buffer; file: string } | undefined> {
    let decoded: string
    try {
      decoded = decodeURIComponent(path)
    } catch {
      return undefined
    }
    if (decoded.includes('\0')) return undefined
    const file = normalize(join(distDir, decoded))
    if (!file.startsWith(distDir.endsWith(sep) ? distDir : distDir + sep)) return undefined
    try {
      if (!(await stat(file)).isFile()) return undefined
      return { bytes: await readFile(file), file }
    } catch {
      return undefined
    }
  }

  const send = (
    c: Context,
    found: { bytes: Buffer; file: string },
    cache: string,
    status: 200 | 404 = 200,
  ) => {
    withSecurityHeaders(c)
    c.header('cache-control', cache)
    c.header(
      'content-type',
      CONTENT_TYPES[extname(found.file).toLowerCase()] ?? 'application/octet-stream',
    )
    if (c.req.method === 'HEAD') return c.body(null, status)
    return c.body(new Uint8Array(found.bytes), status)
  }

  const notBuilt = (c: Context) => {
    withSecurityHeaders(c)
    c.header('cache-control', 'no-cache')
    return c.html(
      `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Patchbay · web UI not built</title></head>
<body><main><h1>The web UI is not built</h1>
<p>Run <code>npm run build</code> in the Patchbay folder (it builds the UI into <code>${escapeHtml(distDir)}</code>), then reload this page.</p>
<p>The API works without it: <a href="/api/v1/openapi.json">/api/v1/openapi.json</a>.</p></main></body></html>`,
      503,
    )
  }

  routes.on(['GET', 'HEAD'], '/*', async (c) => {
    const path = new URL(c.req.url).pathname
    if (RESERVED.test(path)) return c.notFound()
    // Vite puts content-hashed files under /assets: they never change, so cache them for good.
    if (path.startsWith('/assets/')) {
      const found = await distFile(path)
      if (found) return send(c, found, 'public, max-age=31536000, immutable')
      withSecurityHeaders(c)
      return c.text('not found', 404)
    }
    if (path !== '/' && path !== '/index.html' && /\.[A-Za-z0-9]+$/.test(path)) {
      const found = await distFile(path)
      if (found) return send(c, found, 'no-cache')
      withSecurityHeaders(c)
      return c.text('not found', 404)
    }
    // Every other path is a page of the single-page app.
    const index = await distFile('index.html')
    if (!index) return notBuilt(c)
    return send(c, index, 'no-cache')
  })

  return {
    async authenticate(c) {
      const id = sessionId(c)
      if (!id || !(await pb.uiSessions.valid(id))) return false
      // Reads too: a browser that says the request comes from another site or origin is refused
      // (defence in depth; SameSite=Strict already keeps the cookie off cross-site requests).
      const site = c.req.header('sec-fetch-site')
      const foreign = site === 'cross-site' || site === 'same-site'
      if (foreign || (STATE_CHANGING.has(c.req.method.toUpperCase()) && !fromOwnOrigin(c))) {
        throw new PatchbayError(
          'auth.forbidden_origin',
          'a request that changes state with the UI session cookie must come from the UI itself; other clients send "Authorization: Bearer <admin key>"',
        )
      }
      return true
    },
    routes,
  }
}
