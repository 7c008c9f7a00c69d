/**
 * Patchbay's public surface (named exports only).
 *
 * @module
 */
export { createPatchbay } from './engine/create.js'
export type { Patchbay, PatchbayOptions, LogView, PageInput } from './engine/patchbay.js'
export type { ConnectorView } from './engine/connector-views.js'
export type { ConnectorDefinition } from './connector/model.js'
export type { ConnectionView } from './engine/connections.js'
export type { CreatedConnection, CallbackOutcome } from './engine/connection-flows.js'
export type { RequestOutcome } from './engine/envelope.js'
export type { TestOutcome, ProxyRequest, ProxyResponse } from './engine/requests.js'
export type { BreakerView } from './engine/breakers.js'
export type { ConnectSessionView, CreatedConnectSession } from './engine/connect-sessions.js'
export type {
  ConnectPageConnection,
  ConnectPageConnector,
  ConnectPageResult,
  ConnectPageSession,
} from './engine/connect-page.js'
export type { EndUserView } from './engine/end-users.js'
export type { AdminKeyView, CreatedAdminKey } from './engine/admin.js'
export type { McpKeyView, CreatedMcpKey, McpKeyInput } from './engine/mcp-keys.js'
export type { CallerInfo } from './engine/executor.js'
export {
  BREAKER_STATES,
  CONNECTION_STATUSES,
  CONNECTOR_STAGES,
  type BreakerState,
  type ConnectionStatus,
  type Stage,
} from './connector/literals.js'
export {
  PatchbayError,
  isPatchbayError,
  ERROR_CODES,
  type ErrorCode,
  type FieldIssue,
} from './errors.js'
export {
  defineAuthScheme,
  type AuthScheme,
  type AuthContext,
  type Credentials,
  type ConnectOutcome,
  type SchemeTestContext,
  type SchemeTestResult,
} from './auth/scheme.js'
export type { ConnectorInput, FieldDefinition, CustomAction, Signal } from './connector/schema.js'
export type { OutgoingRequest, RequestBody } from './lib/request.js'
export {
  defineConnector,
  type CodeConnector,
  type CodeAuth,
  type CustomCodeAuth,
  type OAuth2CodeAuth,
  type MultiCodeAuth,
  type CodeConnection,
  type CodeRequest,
  type CodeTools,
  type IdentityTools,
  type CodeTokens,
  type AcquireResult,
  type PkceResult,
} from './connector/define.js'
