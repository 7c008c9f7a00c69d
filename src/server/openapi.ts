/**
 * `GET /api/v1/openapi.json`, generated from the contract (`contract.ts`): every route with its
 * parameters, the zod schemas of its query and body, its answer's schema where the contract has
 * one, and its error answers; the connector's `auth` has one variant per registered auth type.
 *
 * Paths under `/api/v1` are written relative to it (the document's server); the others (the
 * connect page, the UI's session, the flows' callbacks, the proxy, health) are written from the
 * root, each with a path-level server `/`.
 *
 * @module
 */
import { z } from 'zod'
import type { AuthRegistry } from '../auth/scheme.js'
import {
  actionRunSchema,
  authCommonSchema,
  connectionInputSchema,
  connectorInputSchema,
  connectorPatchSchema,
  fieldSchema,
  requestInputSchema,
} from '../connector/schema.js'
import { mcpKeyInputSchema } from '../connector/inputs.js'
import { ERROR_CODES } from '../errors.js'
import {
  API_BASE,
  CONNECT_SESSION_HEADER,
  allRoutes,
  type RouteSpec,
  type Security,
} from './contract.js'
import {
  adminKeyViewSchema,
  breakerViewSchema,
  connectPageConnectionSchema,
  connectPageConnectorSchema,
  connectSessionViewSchema,
  connectionViewSchema,
  connectorViewSchema,
  createdConnectionSchema,
  endUserViewSchema,
  fieldIssueSchema,
  fieldViewSchema,
  logViewSchema,
  mcpKeyViewSchema,
  requestOutcomeSchema,
  webhookEventViewSchema,
} from './views.js'

type Json = Record<string, unknown>

/**
 * Schemas written once, as components: request bodies (by the names the document has always
 * had), recursive ones (fields hold fields), and the views several answers share. Wherever one of
 * them appears, the document refers to it.
 */
const COMPONENTS: Record<'input' | 'output', Map<z.ZodType, string>> = {
  input: new Map<z.ZodType, string>([
    [connectorPatchSchema, 'ConnectorPatch'],
    [connectionInputSchema, 'ConnectionInput'],
    [requestInputSchema, 'RequestInput'],
    [actionRunSchema, 'ActionRun'],
    [mcpKeyInputSchema, 'McpKeyInput'],
    [fieldSchema, 'Field'],
  ]),
  output: new Map<z.ZodType, string>([
    [fieldViewSchema, 'FieldView'],
    [fieldIssueSchema, 'FieldIssue'],
    [breakerViewSchema, 'BreakerView'],
    [connectorViewSchema, 'ConnectorView'],
    [connectionViewSchema, 'ConnectionView'],
    [createdConnectionSchema, 'CreatedConnection'],
    [requestOutcomeSchema, 'RequestOutcome'],
    [logViewSchema, 'LogView'],
    [adminKeyViewSchema, 'AdminKeyView'],
    [mcpKeyViewSchema, 'McpKeyView'],
    [webhookEventViewSchema, 'WebhookEventView'],
    [connectSessionViewSchema, 'ConnectSessionView'],
    [endUserViewSchema, 'EndUserView'],
    [connectPageConnectorSchema, 'ConnectPageConnector'],
    [connectPageConnectionSchema, 'ConnectPageConnection'],
  ]),
}

/**
 * The schemas' own metadata (descriptions, enums), with the components' names as their ids, so
 * zod writes them as definitions. zod reads a metadata registry only through `get`.
 */
function metadataFor(io: 'input' | 'output'): z.core.$ZodRegistry<{ id?: string }> {
  return {
    get(schema: z.ZodType) {
      const meta = z.globalRegistry.get(schema)
      const id = COMPONENTS[io].get(schema)
      return id ? { ...meta, id } : meta
    },
  } as unknown as z.core.$ZodRegistry<{ id?: string }>
}

/** Where each error status comes from, for its description. */
const ERROR_TEXT: Record<number, string> = {
  400: 'Bad input: each bad field named',
  401: 'Missing or wrong credentials',
  403: 'Refused: from another origin, or not allowed to this session',
  404: 'Not found',
  409: 'A lifecycle rule refused it',
  410: 'The link has ended',
  413: 'The request body is too large',
  502: 'Upstream failed',
  503: 'Breaker open, or the service is not ready',
}

/** The errors every route answers, by how it is opened. */
const ERRORS_OF: Record<Security, number[]> = {
  adminKey: [400, 401, 404, 409],
  connectSession: [400, 401, 403, 404, 409],
  uiSession: [401],
  mcpKey: [401],
  none: [],
}

export function buildOpenApi(registry: AuthRegistry, version: string): Json {
  const components: Record<string, Json> = {}
  /** A schema as JSON Schema; a component is written once and referred to. */
  const schemaOf = (schema: z.ZodType, io: 'input' | 'output'): Json => {
    const name = COMPONENTS[io].get(schema)
    if (name && components[name]) return ref(name)
    const out = z.toJSONSchema(schema, {
      io,
      unrepresentable: 'any',
      target: 'openapi-3.0',
      metadata: metadataFor(io),
    }) as Json
    const { definitions, ...rest } = out as Json & { definitions?: Record<string, Json> }
    const tidy = (value: Json) =>
      toComponentRefs(io === 'output' ? openAnswers(value) : value) as Json
    for (const [id, def] of Object.entries(definitions ?? {})) components[id] ??= tidy(def)
    if (!name) return tidy(rest)
    // zod may already have written the root as a definition of its own id.
    components[name] ??= tidy(rest)
    return ref(name)
  }

  // Code connectors' own types are not offered to connectors made through the API.
  const offered = registry.types().filter((type) => registry.get(type)?.ownedBy === undefined)
  const authVariants = offered.map((type) => {
    const scheme = registry.get(type)!
    return schemaOf(
      authCommonSchema
        .omit({ type: true })
        .extend(scheme.settings.shape)
        .extend({ type: z.literal(type) }),
      'input',
    )
  })
  const connector = schemaOf(connectorInputSchema.omit({ auth: true }), 'input')
  ;(connector.properties as Json).auth = { oneOf: authVariants }
  ;(connector.required as string[] | undefined)?.push('auth')
  components.ConnectorInput = connector

  const error = {
    type: 'object',
    required: ['error'],
    properties: {
      error: {
        type: 'object',
        required: ['code', 'message'],
        properties: {
          code: { type: 'string', enum: [...ERROR_CODES] },
          message: { type: 'string' },
          details: {
            description:
              'For bad input, each bad field: [{ path, rule }]; other errors may add facts of their own',
            oneOf: [
              { type: 'array', items: schemaOf(fieldIssueSchema, 'output') },
              { type: 'object' },
            ],
          },
        },
      },
    },
  }

  const paths: Record<string, Json> = {}
  for (const route of allRoutes(registry)) {
    const inApi = route.path.startsWith(`${API_BASE}/`)
    const key = toTemplate(inApi ? route.path.slice(API_BASE.length) : route.path)
    const item = (paths[key] ??= inApi ? {} : { servers: [{ url: '/' }] })
    const parameters = parametersOf(route)
    if (parameters.length) item.parameters = parameters
    const operation = operationOf(route, schemaOf)
    for (const method of methodsOf(route)) item[method] = operation
  }

  return {
    openapi: '3.0.3',
    info: {
      title: 'Patchbay API',
      version,
      description: 'Custom connectors, connections and custom actions.',
    },
    servers: [{ url: API_BASE }],
    security: [{ adminKey: [] }, { uiSession: [] }],
    components: {
      securitySchemes: {
        adminKey: { type: 'http', scheme: 'bearer' },
        uiSession: {
          type: 'apiKey',
          in: 'cookie',
          name: 'patchbay_session',
          description:
            'The web UI’s session cookie (`__Host-patchbay_session` over https); state-changing requests must come from the UI’s own origin',
        },
        connectSession: { type: 'apiKey', in: 'header', name: CONNECT_SESSION_HEADER },
        mcpKey: { type: 'http', scheme: 'bearer', description: 'A scoped MCP key (pbm_…)' },
      },
      schemas: { Error: error, ...sorted(components) },
    },
    paths,
  }
}

function ref(name: string): Json {
  return { $ref: `#/components/schemas/${name}` }
}

/** The request bodies the document has always named first, then the others by name. */
function sorted(components: Record<string, Json>): Record<string, Json> {
  const first = ['ConnectorInput', 'ConnectorPatch', 'ConnectionInput', 'RequestInput', 'ActionRun']
  const names = [
    ...first.filter((n) => n in components),
    ...Object.keys(components)
      .filter((n) => !first.includes(n))
      .sort(),
  ]
  return Object.fromEntries(names.map((n) => [n, components[n]!]))
}

/** `/connectors/:id` → `/connectors/{id}`; a trailing `*` is the `{path}` parameter. */
function toTemplate(path: string): string {
  return path.replace(/:(\w+)/g, '{$1}').replace(/\/\*$/, '/{path}')
}

function methodsOf(route: RouteSpec): string[] {
  return route.method === 'ALL'
    ? ['get', 'put', 'post', 'delete', 'options', 'head', 'patch']
    : [route.method.toLowerCase()]
}

type SchemaOf = (schema: z.ZodType, io: 'input' | 'output') => Json

function parametersOf(route: RouteSpec): Json[] {
  const params: Json[] = []
  for (const m of route.path.matchAll(/:(\w+)|\/(\*)$/g)) {
    const name = m[1] ?? m[2]!
    const description = route.params?.[name]
    params.push({
      name: name === '*' ? 'path' : name,
      in: 'path',
      required: true,
      schema: { type: 'string' },
      ...(description ? { description } : {}),
    })
  }
  return params
}

function operationOf(route: RouteSpec, schemaOf: SchemaOf): Json {
  const op: Json = { summary: route.summary }
  if (route.description) op.description = route.description
  if (route.security === 'none') op.security = []
  else if (route.security === 'connectSession') op.security = [{ connectSession: [] }]
  else if (route.security === 'uiSession') op.security = [{ uiSession: [] }]
  else if (route.security === 'mcpKey') op.security = [{ mcpKey: [] }]
  if (route.query) {
    const query = schemaOf(route.query, 'input') as { properties?: Json; required?: string[] }
    op.parameters = Object.entries(query.properties ?? {}).map(([name, schema]) => ({
      name,
      in: 'query',
      ...(query.required?.includes(name) ? { required: true } : {}),
      schema,
    }))
  }
  if (route.body) {
    const schema =
      route.body === connectorInputSchema ? ref('ConnectorInput') : schemaOf(route.body, 'input')
    op.requestBody = { content: { 'application/json': { schema } } }
  }
  const { answer } = route
  const success: Json = { description: answer.description }
  if (route.status !== 204)
    success.content = {
      [answer.media]: {
        schema: answer.schema
          ? schemaOf(answer.schema, 'output')
          : answer.media === 'application/json'
            ? { type: 'object' }
            : { type: 'string' },
      },
    }
  const responses: Json = { [String(route.status)]: success }
  for (const status of [...ERRORS_OF[route.security], ...(route.errors ?? [])].sort(
    (a, b) => a - b,
  ))
    responses[String(status)] ??= {
      description: ERROR_TEXT[status],
      content: { 'application/json': { schema: ref('Error') } },
    }
  op.responses = responses
  return op
}

/**
 * An answer's schema as clients should read it: objects may gain fields (no
 * `additionalProperties: false`), and an integer's range is the JSON one, not said again.
 */
function openAnswers(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(openAnswers)
  if (value === null || typeof value !== 'object') return value
  const out: Json = {}
  for (const [k, v] of Object.entries(value)) {
    if (k === 'additionalProperties' && v === false) continue
    if ((k === 'minimum' || k === 'maximum') && Math.abs(Number(v)) === Number.MAX_SAFE_INTEGER)
      continue
    out[k] = openAnswers(v)
  }
  return out
}

/** zod's `#/definitions/X` → the document's `#/components/schemas/X`. */
function toComponentRefs(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(toComponentRefs)
  if (value === null || typeof value !== 'object') return value
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) => [
      k,
      k === '$ref' && typeof v === 'string'
        ? v.replace(/^#\/definitions\//, '#/components/schemas/')
        : toComponentRefs(v),
    ]),
  )
}
