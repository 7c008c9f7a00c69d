/**
 * How the page reports its outcome (docs/connect.md): in a popup, a message to `window.opener` for
 * the session's `allowedOrigin` only (nothing when it is unset: the result never goes to an origin
 * the embedding app did not name); otherwise a redirect to `returnUrl` with `connectionId` and
 * `status`; otherwise the page's own result screen.
 */

export type FinishStatus = 'connected' | 'error' | 'cancelled'

export interface ConnectMessage {
  type: 'patchbay:connect'
  status: FinishStatus
  connectionId: string | null
}

export interface FinishTarget {
  allowedOrigin: string | null
  returnUrl: string | null
}

/** What happened: posted to the opener, redirecting, or nothing (show the result here). */
export type FinishOutcome = 'posted' | 'redirecting' | 'shown'

export function finish(
  target: FinishTarget,
  status: FinishStatus,
  connectionId: string | null,
): FinishOutcome {
  const opener = window.opener as Window | null
  if (opener && opener !== window && target.allowedOrigin) {
    const message: ConnectMessage = { type: 'patchbay:connect', status, connectionId }
    opener.postMessage(message, target.allowedOrigin)
    return 'posted'
  }
  if (target.returnUrl) {
    const url = new URL(target.returnUrl)
    if (connectionId) url.searchParams.set('connectionId', connectionId)
    url.searchParams.set('status', status)
    window.location.assign(url.href)
    return 'redirecting'
  }
  return 'shown'
}
