/**
 * Builds an `AuthContext` for scheme unit tests, with a real HTTP client.
 *
 * @module
 */
import { createHttpClient } from '../lib/http-client.js'
import { encodeUrlValue, renderTemplate } from '../lib/template.js'
import type { AuthContext, AuthRegistry, Credentials } from './scheme.js'

export interface TestContextOptions<S> {
  settings: S
  values?: Record<string, unknown>
  credentials?: Credentials
  registry?: AuthRegistry
  publicUrl?: string
  now?: () => number
}

export function createTestAuthContext<S>(options: TestContextOptions<S>): AuthContext<S> {
  const ctx: AuthContext<S> = {
    settings: options.settings,
    values: options.values ?? {},
    credentials: options.credentials ?? { values: {} },
    render: (template) => renderTemplate(template, { ...ctx.values, ...ctx.credentials.values }),
    renderUrl: (template) =>
      renderTemplate(
        template,
        { ...ctx.values, ...ctx.credentials.values },
        { encode: encodeUrlValue },
      ),
    http: createHttpClient(),
    connectorName: 'Test connector',
    connectionId: 'conn_test',
    callbackUrl: (path) => new URL(path, options.publicUrl ?? 'http://127.0.0.1:1').href,
    now: options.now ?? Date.now,
    registry: options.registry ?? { get: () => undefined, types: () => [], callbacks: () => [] },
  }
  return ctx
}
