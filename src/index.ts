/**
 * Patchbay's public surface (named exports only).
 *
 * @module
 */
export {
  createPatchbay,
  type Patchbay,
  type PatchbayOptions,
  type LogView,
} from './engine/patchbay.js'
export type { ConnectorView, ConnectorDefinition } from './engine/connectors.js'
export type { ConnectionView, CreatedConnection } from './engine/connections.js'
export type { RequestOutcome } from './engine/requests.js'
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
