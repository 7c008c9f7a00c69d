/**
 * The web UI's server side: sign-in with the admin key into an HttpOnly, SameSite=Strict session
 * cookie, the built assets, and the CSP (SPEC §6, issue 7).
 *
 * @module
 */
import { Hono, type Context } from 'hono'
import type { Patchbay } from '../engine/patchbay.js'
import { resultPage } from './pages.js'

/** Headers on every page the UI serves (and the connect page). */
export const UI_SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy':
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; " +
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
}

export interface UiBinding {
  /**
   * True when the request carries a valid UI session cookie. A state-changing request with the
   * cookie from another origin throws `auth.forbidden_origin`.
   */
  authenticate(c: Context): Promise<boolean>
  /** Mounted at `/`: session routes, static assets, the app shell. */
  routes: Hono
}

export function createUi(_pb: Patchbay): UiBinding {
  const routes = new Hono()
  routes.get('/', (c) =>
    c.html(resultPage('Patchbay', 'The API is at /api/v1 (see /api/v1/openapi.json).', true)),
  )
  return { authenticate: () => Promise.resolve(false), routes }
}
