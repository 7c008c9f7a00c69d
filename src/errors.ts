/**
 * Typed errors with stable codes. A code is never renamed; the server maps codes to HTTP status
 * in one table (`server/errors.ts`).
 *
 * @module
 */

export const ERROR_CODES = [
  'input.invalid',
  'input.malformed_json',
  'auth.unauthorized',
  'auth.forbidden_origin',
  'connector.not_found',
  'connector.invalid',
  'connector.link_name_taken',
  'connector.incomplete',
  'connector.in_use',
  'connector.not_ready',
  'connector.frozen',
  'connector.stage_final',
  'connector.auth_type_locked',
  'connector.scopes_locked',
  'connector.custom_action_disabled',
  'connector.code_error',
  'connector.managed_by_code',
  'connector.template_not_found',
  'connection.not_found',
  'connection.invalid_values',
  'connection.not_connected',
  'connection.needs_reauth',
  'connection.flow_failed',
  'oauth.state_invalid',
  'oauth.provider_error',
  'action.not_found',
  'action.invalid_inputs',
  'request.origin_refused',
  'request.network_refused',
  'request.invalid',
  'request.timeout',
  'request.upstream_unreachable',
  'request.detected_error',
  'request.auth_rejected',
  'request.rate_limited',
  'request.tls_failed',
  'refresh.failed',
  'refresh.unsupported',
  'breaker.open',
  'connect_session.invalid',
  'connect_session.expired',
  'connect_session.forbidden',
  'mcp_key.not_found',
  'webhook_event.not_found',
  'webhook_event.not_dead',
  'secret_key.mismatch',
  'internal',
] as const

export type ErrorCode = (typeof ERROR_CODES)[number]

/** One bad field: `path` is dotted (`auth.params.0.key`), `rule` says what it breaks. */
export interface FieldIssue {
  path: string
  rule: string
}

export interface PatchbayErrorOptions {
  details?: Record<string, unknown> | FieldIssue[]
  cause?: unknown
}

export class PatchbayError extends Error {
  readonly code: ErrorCode
  readonly details: Record<string, unknown> | FieldIssue[] | undefined

  constructor(code: ErrorCode, message: string, options: PatchbayErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'PatchbayError'
    this.code = code
    this.details = options.details
  }

  /** Only listed fields: `cause` may hold upstream bodies or tokens and is never serialised. */
  toJSON(): { code: ErrorCode; message: string; details?: unknown } {
    return this.details === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, details: this.details }
  }
}

export function isPatchbayError(err: unknown, code?: ErrorCode): err is PatchbayError {
  return err instanceof PatchbayError && (code === undefined || err.code === code)
}

/** A 400 naming each bad field and the rule it breaks. */
export function invalidInput(issues: FieldIssue[], message?: string): PatchbayError {
  const text =
    message ??
    issues
      .slice(0, 5)
      .map((i) => `${i.path || '(body)'}: ${i.rule}`)
      .join('; ')
  return new PatchbayError('input.invalid', text, { details: issues })
}
