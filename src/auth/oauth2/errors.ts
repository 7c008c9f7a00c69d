/**
 * How failures at the authorization server become Patchbay errors. One place classifies them, so
 * that code exchange, client credentials and refresh agree (docs/auth/).
 *
 * @module
 */
import { PatchbayError } from '../../errors.js'

/** What Patchbay was doing: starting a connection, or re-acquiring for an existing one. */
export type TokenStep = 'connect' | 'refresh'

/** What went wrong at the token endpoint. `status` is absent when no answer came. */
export interface TokenFailure {
  status?: number | undefined
  /** RFC 6749 §5.2 `error`. */
  error?: string | undefined
  errorDescription?: string | undefined
  /** Why the answer could not be used, when it was not an error answer. */
  problem?: string | undefined
  /** The transport error, or `{ status, body }` of the answer; never serialised. */
  cause?: unknown
}

/** Errors a server may send for a passing condition (RFC 6749 §4.1.2.1 names them). */
const PASSING_ERRORS = new Set(['temporarily_unavailable', 'server_error', 'slow_down'])

/**
 * Whether the failure may pass by itself: no answer, a 5xx, a 429, or a passing error code.
 * A refresh that fails this way leaves the connection `connected`.
 */
export function isTransient(failure: TokenFailure): boolean {
  if (failure.status === undefined) return true
  if (failure.status >= 500 || failure.status === 429) return true
  return failure.error !== undefined && PASSING_ERRORS.has(failure.error)
}

/**
 * Whether the grant is dead: `invalid_grant` (RFC 6749 §5.2), or any 400/401 from the token
 * endpoint, which the flows count the same way.
 */
export function isGrantDead(failure: TokenFailure): boolean {
  if (isTransient(failure)) return false
  return failure.error === 'invalid_grant' || failure.status === 400 || failure.status === 401
}

/**
 * The Patchbay error for a token endpoint failure:
 * - refresh, grant dead → `connection.needs_reauth` (the user must reconnect);
 * - refresh, otherwise → `refresh.failed` with `details.transient`;
 * - connect → `connection.flow_failed` with `details.transient`.
 *
 * Messages carry the provider's error code and description, never a secret.
 */
export function tokenEndpointFailure(step: TokenStep, failure: TokenFailure): PatchbayError {
  const transient = isTransient(failure)
  const details = {
    ...(failure.status === undefined ? {} : { status: failure.status }),
    ...(failure.error === undefined ? {} : { error: failure.error }),
    transient,
  }
  const what = describeFailure(failure)
  const options = { details, cause: failure.cause }
  if (step === 'connect') {
    return new PatchbayError(
      'connection.flow_failed',
      `The token request failed: ${what}.`,
      options,
    )
  }
  if (isGrantDead(failure)) {
    return new PatchbayError(
      'connection.needs_reauth',
      `The authorization server refused to refresh the tokens (${what}); reconnect to authorize again.`,
      options,
    )
  }
  return new PatchbayError('refresh.failed', `The token refresh failed: ${what}.`, options)
}

/** `error: description` as the provider sent it, made safe for a message. */
export function providerErrorText(error: string, description?: string): string {
  const code = clean(error, 64)
  return description ? `${code}: ${clean(description, 300)}` : code
}

function describeFailure(failure: TokenFailure): string {
  if (failure.error !== undefined) {
    const text = providerErrorText(failure.error, failure.errorDescription)
    return failure.status === undefined ? text : `HTTP ${failure.status}, ${text}`
  }
  if (failure.problem !== undefined) {
    return failure.status === undefined
      ? failure.problem
      : `HTTP ${failure.status}, ${failure.problem}`
  }
  return failure.status === undefined
    ? 'no answer from the token endpoint'
    : `HTTP ${failure.status}`
}

/** Printable text only, bounded: provider strings end up in logs and the UI. */
function clean(text: string, max: number): string {
  const printable = text.replace(/[^\x20-\x7E\u00A0-\uFFFF]/g, ' ').trim()
  return printable.length > max ? `${printable.slice(0, max)}…` : printable
}
