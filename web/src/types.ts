/**
 * What the API answers (SPEC §6). Inputs are typed by the shared zod schemas in `src/connector`.
 */
import type { AuthTypeDescription } from '../../src/auth/presentation.js'
import type { FieldDefinition } from '../../src/connector/schema.js'

export type { FieldDefinition }
export type {
  AuthPresentation,
  GroupHint,
  HintCondition,
  HintSet,
  JsonSchema,
  SettingHint,
  Widget,
} from '../../src/auth/presentation.js'

/** `GET /api/v1/auth-types`: an auth type, its settings' JSON Schema and the builder's hints. */
export type AuthTypeInfo = AuthTypeDescription

export interface FieldIssue {
  path: string
  rule: string
}

export interface ApiErrorBody {
  code: string
  message: string
  details?: unknown
}

export interface Page<T> {
  items: T[]
  nextCursor?: string
}

export interface BreakerView {
  state: 'closed' | 'open' | 'half_open'
  failures: number
  retryAt: string | null
}

export type Obj = Record<string, unknown>

export interface AuthSettings extends Obj {
  type: string
}

export interface SavedAction {
  id?: string
  name: string
  description?: string
  method: string
  path: string
  query?: Record<string, string>
  headers?: Record<string, string>
  body?: unknown
  inputs: FieldDefinition[]
  breaker?: BreakerView
}

export interface CustomActionSettings {
  enabled: boolean
  help?: { learnMoreUrl?: string; learnMoreText?: string; body?: string }
}

/** A connector as the builder edits it: the definition without the server's own fields. */
export interface ConnectorDraft {
  name: string
  linkName?: string
  description?: string
  logo?: string
  baseUrl: string
  allowedOrigins?: string[]
  fields: FieldDefinition[]
  auth: AuthSettings
  customAction: CustomActionSettings
  actions: SavedAction[]
  breaker?: { threshold: number; cooldownSeconds: number }
  identity?: { method: string; path: string; valuePath: string }
}

export interface ConnectorView extends ConnectorDraft {
  id: string
  linkName: string
  stage: 'draft' | 'ready'
  missing: FieldIssue[]
  connectionCount: number
  /** The connector's fields and its auth type's (absent on older servers). */
  connectionFields?: FieldDefinition[]
  /** For auth types tested before `ready` (http_token): whether the current settings need a test. */
  testRequired?: boolean
  /** `code`: loaded from PATCHBAY_CONNECTORS_DIR; the API cannot change it. */
  source?: 'code'
  createdAt: string
  updatedAt: string
}

export type ConnectionStatus = 'pending' | 'connected' | 'needs_reauth' | 'error'

export interface ConnectionView {
  id: string
  connector: { id: string; linkName: string; name: string }
  name: string
  endUser: string | null
  status: ConnectionStatus
  statusMessage: string | null
  identity: string | null
  values: Obj
  secretsSet: string[]
  /** Values kept from the token response that are not secrets (absent on older servers). */
  tokenValues?: Record<string, string>
  breaker?: BreakerView
  expiresAt: string | null
  refreshExpiresAt: string | null
  createdAt: string
  updatedAt: string
}

export interface CreatedConnection extends ConnectionView {
  authorizeUrl?: string
}

export interface RequestOutcome {
  status: number
  headers: Record<string, string | string[]>
  body: unknown
  bodyEncoding?: 'base64'
  refreshed: boolean
  error?: { code: string; message: string }
  action?: { id: string; name: string }
}

export interface TestOutcome {
  ok: boolean
  status: number | null
  identity: string | null
  message: string
}

export interface LogView {
  id: string
  time: string
  connectorId: string | null
  connectionId: string | null
  actionId: string | null
  kind: string
  method: string | null
  url: string | null
  status: number | null
  durationMs: number | null
  refreshed: boolean
  refreshOutcome: string | null
  breakerState: string | null
  error: string | null
  detail: Obj | null
}

export interface RequestInput {
  method: string
  path?: string
  url?: string
  query?: Record<string, string>
  headers?: Record<string, string>
  body?: unknown
}

/** `POST /connectors/:id/test-token`: what the auth endpoint answered, secrets masked. */
export interface TokenTestReport {
  ok: boolean
  status?: number
  body?: unknown
  tokenPath?: string
  problem?: string
  headerPreview?: string
  token?: string
}
