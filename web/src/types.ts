/**
 * Types only the UI has: the shapes the builder edits. What the API takes and answers is typed by
 * the server's contract and views, exported from `api.ts`.
 */
import type { z } from 'zod'
import type { customActionSchema, FieldDefinition } from '../../src/connector/schema.js'
import type { BreakerView } from '../../src/engine/breakers.js'

export type { FieldDefinition }
/** The builder's hints, as the auth schemes export them (`src/auth/presentation.ts`). */
export type {
  AuthPresentation,
  AuthTypeDescription as AuthTypeInfo,
  GroupHint,
  HintCondition,
  HintSet,
  JsonSchema,
  SettingHint,
  Widget,
} from '../../src/auth/presentation.js'

export type Obj = Record<string, unknown>

export interface AuthSettings extends Obj {
  type: string
}

/** A saved action as the builder edits it: not yet saved ones have no id nor breaker. */
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

/** `customAction` as the connector schema leaves it. */
export type CustomActionSettings = z.output<typeof customActionSchema>

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
