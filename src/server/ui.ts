/**
 * The web UI's server side: sign-in with the admin key into an HttpOnly, SameSite=Strict session
 * cookie, the built assets, and the CSP (SPEC §6, issue 7).
 *
 * @module
 */
import { Hono, type Context } from 'hono'
import type { Patchbay } from '../engine/patchbay.js'
import { resultPage } from './pages.js'

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
