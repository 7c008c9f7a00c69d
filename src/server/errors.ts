/**
 * One table from error code to HTTP status.
 *
 * @module
 */
import type { ErrorCode } from '../errors.js'

export const STATUS_OF: Record<
  ErrorCode,
  400 | 401 | 403 | 404 | 409 | 413 | 429 | 500 | 502 | 503
> = {
  'input.invalid': 400,
  'input.malformed_json': 400,
  'auth.unauthorized': 401,
  'auth.forbidden_origin': 403,
  'connector.not_found': 404,
  'connector.invalid': 400,
  'connector.link_name_taken': 409,
  'connector.incomplete': 409,
  'connector.in_use': 409,
  'connector.not_ready': 409,
  'connector.frozen': 409,
  'connector.stage_final': 409,
  'connector.auth_type_locked': 409,
  'connector.scopes_locked': 409,
  'connector.custom_action_disabled': 409,
  'connector.code_error': 502,
  'connector.managed_by_code': 409,
  'connector.template_not_found': 404,
  'connection.not_found': 404,
  'connection.invalid_values': 400,
  'connection.not_connected': 409,
  'connection.needs_reauth': 409,
  'connection.flow_failed': 502,
  'oauth.state_invalid': 400,
  'oauth.provider_error': 400,
  'action.not_found': 404,
  'action.invalid_inputs': 400,
  'request.origin_refused': 400,
  'request.network_refused': 400,
  'request.invalid': 400,
  'request.timeout': 502,
  'request.upstream_unreachable': 502,
  'request.detected_error': 502,
  'request.auth_rejected': 502,
  'request.rate_limited': 429,
  'request.tls_failed': 502,
  'refresh.failed': 502,
  'refresh.unsupported': 409,
  'breaker.open': 503,
  'connect_session.invalid': 401,
  'connect_session.expired': 401,
  'connect_session.forbidden': 403,
  'mcp_key.not_found': 404,
  'webhook_event.not_found': 404,
  'webhook_event.not_dead': 409,
  'secret_key.mismatch': 503,
  internal: 500,
}
