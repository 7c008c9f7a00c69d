/**
 * What the API answers, as zod schemas: they describe the engine's own view types
 * (`ConnectorView`, `ConnectionView`, `RequestOutcome`, …) in the OpenAPI document. The types stay
 * the engine's; `views.test.ts` checks, at compile time, that each schema's output is exactly the
 * type it describes, so the document cannot drift from what the server sends.
 *
 * Browser-safe, like the contract that uses them: zod and `src/connector` only.
 *
 * @module
 */
import { z } from 'zod'
import {
  FIELD_TYPES,
  actionSchema,
  authCommonSchema,
  rateLimitSchema,
  retrySettingsSchema,
  type FieldDefinition,
} from '../connector/schema.js'
import {
  BREAKER_STATES,
  CONNECTION_STATUSES,
  CONNECTOR_STAGES,
  LOG_KINDS,
  WEBHOOK_EVENT_STATUSES,
} from '../connector/literals.js'
import { templatePlaceholderSchema } from '../connector/templates.js'

/** An ISO 8601 time, as `Date.prototype.toISOString` writes it. */
const time = z.string().meta({ format: 'date-time' })
const json = z.record(z.string(), z.unknown())

/**
 * A field as answers hold it. Not the input rules of `fieldSchema`: an auth type's own fields
 * (an API key's header name, say) are named as the type says.
 */
export const fieldViewSchema: z.ZodType<FieldDefinition> = z.lazy(() =>
  z.object({
    name: z.string(),
    label: z.string().optional(),
    type: z.enum(FIELD_TYPES),
    hint: z.string().optional(),
    optional: z.boolean().optional(),
    default: z.unknown().optional(),
    options: z.array(z.tuple([z.string(), z.string()])).optional(),
    delimiter: z.string().optional(),
    properties: z.array(fieldViewSchema).optional(),
  }),
)

export const fieldIssueSchema = z.object({
  path: z.string().describe('The dotted path of the field, e.g. auth.params.0.key'),
  rule: z.string().describe('The rule it breaks, in plain words'),
})

/** `{ items, nextCursor? }`: one page of a list. */
export function pageSchema<T extends z.ZodType>(item: T) {
  return z.object({
    items: z.array(item),
    nextCursor: z.string().optional().describe('Pass as `cursor` for the next page'),
  })
}

export const breakerViewSchema = z.object({
  state: z.enum(BREAKER_STATES),
  failures: z.number().int(),
  retryAt: time.nullable().describe('When an open breaker lets one trial call through'),
})

export const connectionViewSchema = z.object({
  id: z.string(),
  connector: z.object({ id: z.string(), linkName: z.string(), name: z.string() }),
  name: z.string(),
  endUser: z.string().nullable(),
  status: z.enum(CONNECTION_STATUSES),
  statusMessage: z.string().nullable(),
  identity: z.string().nullable().describe('Whom the connection is for'),
  values: json.describe('Non-secret values; secret fields are only named in secretsSet'),
  secretsSet: z.array(z.string()),
  tokenValues: z
    .record(z.string(), z.string())
    .describe(
      "Values kept from the provider's token response that are not secrets (tokenResponseValues)",
    ),
  breaker: breakerViewSchema.describe("The breaker around this connection's ad-hoc calls"),
  expiresAt: time.nullable(),
  refreshExpiresAt: time.nullable(),
  createdAt: time,
  updatedAt: time,
})

export const createdConnectionSchema = connectionViewSchema.extend({
  authorizeUrl: z.string().optional().describe('For browser flows: where to send the user'),
})

/** A saved action as stored: it passed `actionSchema` when it was saved. */
const savedActionSchema = actionSchema.extend({ id: z.string(), inputs: z.array(fieldViewSchema) })

export const connectorViewSchema = z.object({
  id: z.string(),
  stage: z.enum(CONNECTOR_STAGES),
  name: z.string(),
  linkName: z.string(),
  description: z.string().optional(),
  logo: z.string().optional(),
  baseUrl: z.string(),
  allowedOrigins: z.array(z.string()).optional(),
  fields: z.array(fieldViewSchema),
  auth: authCommonSchema
    .catchall(z.unknown())
    .describe('The auth settings, secret ones read back as "********"'),
  customAction: z.object({ enabled: z.boolean(), help: json.optional() }),
  actions: z.array(savedActionSchema.extend({ breaker: breakerViewSchema })),
  breaker: z.object({ threshold: z.number().int(), cooldownSeconds: z.number().int() }).optional(),
  identity: z.object({ method: z.string(), path: z.string(), valuePath: z.string() }).optional(),
  retry: retrySettingsSchema.optional().describe('Retrying 429 and 503 answers'),
  rateLimit: rateLimitSchema
    .optional()
    .describe("The connector's own limit, per connection, across every process"),
  source: z
    .literal('code')
    .optional()
    .describe('Loaded from PATCHBAY_CONNECTORS_DIR: the API cannot change it'),
  authTest: z
    .object({ settingsHash: z.string(), testedAt: z.string() })
    .optional()
    .describe('The last successful test request, for the settings it tested'),
  missing: z.array(fieldIssueSchema).describe('What still keeps a draft from ready'),
  connectionCount: z.number().int(),
  connectionFields: z
    .array(fieldViewSchema)
    .describe("Everything a connection is asked for: the connector's fields and its auth type's"),
  testRequired: z
    .boolean()
    .optional()
    .describe('For auth types tested before ready: whether the current settings need a test'),
  createdAt: time,
  updatedAt: time,
})

export const actionViewSchema = savedActionSchema.extend({
  connectorId: z.string(),
  breaker: breakerViewSchema,
})

export const requestOutcomeSchema = z.object({
  status: z.number().int().describe("The upstream's status"),
  headers: z.record(z.string(), z.union([z.string(), z.array(z.string())])),
  body: z.unknown().describe('Parsed JSON, text, or base64 when bodyEncoding says so'),
  bodyEncoding: z.literal('base64').optional(),
  refreshed: z.boolean().describe('Whether credentials were re-acquired and the call retried'),
  error: z
    .object({ code: z.string(), message: z.string() })
    .optional()
    .describe('Set when a detectOn signal matched'),
  retryAfter: z
    .number()
    .optional()
    .describe("Seconds, from a 429 or 503's Retry-After, when the call was not retried again"),
})

export const actionOutcomeSchema = requestOutcomeSchema.extend({
  action: z.object({ id: z.string(), name: z.string() }),
})

export const testOutcomeSchema = z.object({
  ok: z.boolean(),
  status: z.number().int().nullable(),
  identity: z.string().nullable(),
  message: z.string(),
})

export const tokenTestSchema = z
  .object({ ok: z.boolean() })
  .catchall(z.unknown())
  .describe(
    'What the auth endpoint answered, secrets masked: status, body, tokenPath, token, headerPreview, problem',
  )

export const logViewSchema = z.object({
  id: z.string(),
  time,
  connectorId: z.string().nullable(),
  connectionId: z.string().nullable(),
  actionId: z.string().nullable(),
  kind: z.enum(LOG_KINDS),
  method: z.string().nullable(),
  url: z.string().nullable(),
  status: z.number().int().nullable(),
  durationMs: z.number().nullable(),
  refreshed: z.boolean(),
  refreshOutcome: z.string().nullable(),
  breakerState: z.string().nullable(),
  error: z.string().nullable(),
  detail: json.nullable().describe('Redacted request and response summaries'),
  mcpKeyId: z.string().nullable().describe('The MCP key whose tool made the call (docs/mcp.md)'),
  tool: z.string().nullable().describe('The MCP tool that made the call'),
})

export const connectionFormSchema = z.object({
  fields: z.array(fieldViewSchema),
  browser: z.boolean().describe('Whether connecting with these values goes through the browser'),
})

export const adminKeyViewSchema = z.object({
  id: z.string(),
  name: z.string(),
  createdAt: time,
  revokedAt: time.nullable(),
})

export const createdAdminKeySchema = adminKeyViewSchema.extend({
  key: z.string().describe('The key itself: shown only here, never stored'),
})

const endUserInfoSchema = z.object({
  id: z.string(),
  email: z.string().optional(),
  displayName: z.string().optional(),
})

export const connectSessionViewSchema = z.object({
  id: z.string(),
  endUser: endUserInfoSchema,
  connectors: z.array(z.string()).nullable().describe('Connector ids; null: every ready one'),
  reconnect: z.string().nullable(),
  returnUrl: z.string().nullable(),
  allowedOrigin: z.string().nullable(),
  connections: z.array(z.string()),
  createdAt: time,
  expiresAt: time,
})

export const createdConnectSessionSchema = z.object({
  id: z.string(),
  token: z.string().describe('Shown only here: only its hash is stored'),
  url: z.string().describe('The hosted connect page for this session'),
  expiresAt: time,
})

export const endUserViewSchema = z.object({
  id: z.string(),
  email: z.string().nullable(),
  displayName: z.string().nullable(),
  connections: z.array(connectionViewSchema),
})

const brandSchema = z.object({ name: z.string().nullable(), logoUrl: z.string().nullable() })

export const connectPageConnectorSchema = z.object({
  id: z.string(),
  linkName: z.string(),
  name: z.string(),
  description: z.string().nullable(),
  logo: z.string().nullable(),
  fields: z.array(fieldViewSchema),
  browser: z.boolean().describe('Whether connecting sends the browser to the provider'),
})

export const connectPageConnectionSchema = z.object({
  id: z.string(),
  name: z.string(),
  status: z.enum(CONNECTION_STATUSES),
  statusMessage: z.string().nullable(),
  connector: z.object({ id: z.string(), name: z.string() }),
  authorizeUrl: z.string().optional(),
})

export const connectPageResultSchema = z.object({
  connection: connectPageConnectionSchema,
  allowedOrigin: z.string().nullable(),
  returnUrl: z.string().nullable(),
  brand: brandSchema,
})

export const connectPageSessionSchema = z.object({
  id: z.string(),
  expiresAt: time,
  endUser: z.object({ id: z.string(), displayName: z.string().nullable() }),
  allowedOrigin: z.string().nullable(),
  returnUrl: z.string().nullable(),
  brand: brandSchema,
  connectors: z.array(connectPageConnectorSchema),
  reconnect: connectPageConnectionSchema
    .extend({ fields: z.array(fieldViewSchema), browser: z.boolean() })
    .nullable(),
})

export const uiSessionSchema = z.object({ signedIn: z.literal(true) })

export const signedInSchema = uiSessionSchema.extend({
  expiresAt: time.describe('When the session cookie ends'),
})

export const healthSchema = z.object({ status: z.literal('ok') })

export const readinessSchema = z.object({
  status: z.enum(['ready', 'unavailable']),
  reason: z.string().optional(),
})

export const mcpKeyViewSchema = z.object({
  id: z.string(),
  name: z.string(),
  endUser: z.string().nullable().describe('The end user whose connections the tools use'),
  connections: z.array(z.string()).nullable().describe('Or: the connections the tools use'),
  connectors: z.array(z.string()).nullable().describe('Connectors whose saved actions are tools'),
  actions: z.array(z.string()).nullable().describe('Single saved actions that are tools'),
  httpRequest: z.boolean().describe('An http_request tool per connector with custom actions on'),
  createdAt: time,
  revokedAt: time.nullable().describe('A revoked key opens nothing'),
})

export const createdMcpKeySchema = mcpKeyViewSchema.extend({
  key: z.string().describe('The key itself: shown only here, never stored'),
})

export const webhookEventViewSchema = z.object({
  id: z.string(),
  type: z.string().describe('The connection event, e.g. connection.created'),
  connectionId: z.string(),
  connectorId: z.string(),
  endUser: z.string().nullable(),
  status: z.enum(WEBHOOK_EVENT_STATUSES),
  attempts: z.number().int(),
  createdAt: time,
  nextAttemptAt: time.nullable().describe('When the next attempt may start; null unless pending'),
  lastAttemptAt: time.nullable(),
  lastStatus: z
    .number()
    .int()
    .nullable()
    .describe("The receiver's status on the last attempt (null: no answer, or none yet)"),
  lastError: z.string().nullable(),
  deliveredAt: time.nullable(),
  deadAt: time.nullable(),
})

export const templateSummariesSchema = z.object({
  items: z.array(
    z.object({
      name: z.string(),
      title: z.string(),
      description: z.string(),
      docs: z.array(z.string()),
      authType: z.string(),
      grantType: z.string().optional(),
      placeholders: z.array(templatePlaceholderSchema),
    }),
  ),
})

export const authTypesSchema = z.object({
  items: z.array(
    z.object({
      type: z.string(),
      label: z.string(),
      settings: json.describe("The JSON Schema of the type's settings"),
      presentation: json.describe('How the builder shows them (src/auth/presentation.ts)'),
      secretSettings: z.array(z.string()),
      testBeforeReady: z.boolean(),
      hasTest: z.boolean(),
    }),
  ),
})
