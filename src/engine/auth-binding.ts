/**
 * The pipeline's view of a connection's auth (`AuthBinding`): the scheme's credentials and the
 * connector's `extra` headers and query on each request, re-acquiring through the refresher, and
 * refreshing ahead of expiry.
 *
 * @module
 */
import { signsRequest } from '../auth/scheme.js'
import { PatchbayError, isPatchbayError } from '../errors.js'
import type { OutgoingRequest } from '../lib/request.js'
import { MissingTemplateValue } from '../lib/template.js'
import type { AuthBinding } from '../pipeline/index.js'
import type { CallTarget } from './call-targets.js'
import type { ConnectionSecretBox } from './connection-secrets.js'
import type { EngineContext } from './context.js'
import { REFRESH_AT, type Refresher } from './refresher.js'

export type BindAuth = (target: CallTarget) => AuthBinding

export function createAuthBinder(
  ctx: EngineContext,
  secretBox: ConnectionSecretBox,
  refresher: Refresher,
): BindAuth {
  return function bind(target) {
    const { loaded } = target
    let current = target.record
    let secrets = target.secrets
    // Built with the target; built again only after credentials are re-acquired.
    let actx = target.authContext
    let secretValues = target.secretValues
    const canRefresh =
      Boolean(loaded.scheme.refresh) &&
      loaded.scheme.canRefresh(
        loaded.settings,
        { ...current.values, ...secrets.values },
        secrets.credentials,
      )
    const extra = loaded.definition.auth.extra
    const binding: AuthBinding = {
      canRefresh,
      async apply(request: OutgoingRequest) {
        const renderExtra = (template: string, where: string): string => {
          try {
            return actx.render(template)
          } catch (err) {
            if (!(err instanceof MissingTemplateValue)) throw err
            throw new PatchbayError(
              'connection.invalid_values',
              `auth.extra.${where} needs the connection value "${err.key}"`,
              {
                details: [
                  { path: `values.${err.key}`, rule: `is required by auth.extra.${where}` },
                ],
              },
            )
          }
        }
        // Extra query goes on before the scheme, so signing schemes (OAuth1, SigV4) cover it.
        for (const [k, v] of Object.entries(extra?.query ?? {}))
          request.url.searchParams.set(k, renderExtra(v, `query.${k}`))
        // Extra headers go on before a scheme that signs, so the signature covers them too.
        const signs = signsRequest(loaded.scheme, loaded.settings, actx.values)
        const setExtraHeaders = () => {
          for (const [k, v] of Object.entries(extra?.headers ?? {}))
            request.headers[k.toLowerCase()] = renderExtra(v, `headers.${k}`)
        }
        if (signs) setExtraHeaders()
        try {
          await loaded.scheme.apply(actx, request)
        } catch (err) {
          throw isPatchbayError(err)
            ? err
            : new PatchbayError(
                'connector.code_error',
                `the ${loaded.definition.name} connector's auth failed to apply: ${(err as Error).message}`,
                { cause: err },
              )
        }
        if (!signs) setExtraHeaders()
      },
      async reacquire() {
        current = await refresher.reacquire(current.id, current.credentialsVersion)
        secrets = secretBox.open(current)
        actx = secretBox.authContext(loaded, current, secrets)
        secretValues = secretBox.redaction(loaded, secrets).values
      },
      refreshInFlight: () => canRefresh && refresher.inFlight(current.id),
      async refreshIfDue() {
        const { expiresAt, obtainedAt } = secrets.credentials
        if (!canRefresh || !expiresAt) return { refreshed: false }
        const start = obtainedAt ?? expiresAt - 3_600_000
        const now = ctx.now()
        if (now < start + (expiresAt - start) * REFRESH_AT) return { refreshed: false }
        try {
          await binding.reacquire()
          return { refreshed: true, outcome: 'refreshed ahead of expiry' }
        } catch (err) {
          if (now < expiresAt && !isPatchbayError(err, 'connection.needs_reauth')) {
            return {
              refreshed: false,
              outcome: 'early refresh failed; the current token still works',
            }
          }
          throw err
        }
      },
      redaction: () => secretBox.redaction(loaded, secrets, secretValues),
    }
    return binding
  }
}
