/**
 * `GET /api/v1/openapi.json`, generated from the zod schemas that validate the requests, with
 * one auth variant per registered auth type.
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
  requestInputSchema,
} from '../connector/schema.js'
import { connectorTemplateSchema, templatePlaceholderSchema } from '../connector/templates.js'
import { adminKeyInputSchema } from '../engine/admin.js'
import { connectSessionInputSchema } from '../engine/connect-sessions.js'
import { ERROR_CODES } from '../errors.js'

type Json = Record<string, unknown>

function schemaOf(schema: z.ZodType): Json {
  return z.toJSONSchema(schema, {
    io: 'input',
    unrepresentable: 'any',
    target: 'openapi-3.0',
  }) as Json
}

export function buildOpenApi(registry: AuthRegistry, version: string): Json {
  // Code connectors' own types are not offered to connectors made through the API.
  const offered = registry.types().filter((type) => registry.get(type)?.ownedBy === undefined)
  const authVariants = offered.map((type) => {
    const scheme = registry.get(type)!
    return schemaOf(
      authCommonSchema
        .omit({ type: true })
        .extend(scheme.settings.shape)
        .extend({ type: z.literal(type) }),
    )
  })
  const connector = schemaOf(connectorInputSchema.omit({ auth: true }))
  ;(connector.properties as Json).auth = { oneOf: authVariants }
  ;(connector.required as string[] | undefined)?.push('auth')
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
          details: {},
        },
      },
    },
  }
  const json = (schema: Json) => ({ content: { 'application/json': { schema } } })
  const ok = (description: string, schema: Json = { type: 'object' }) => ({
    description,
    ...json(schema),
  })
  const errors = {
    '400': {
      description: 'Bad input: each bad field named',
      ...json({ $ref: '#/components/schemas/Error' }),
    },
    '401': {
      description: 'Missing or wrong admin key',
      ...json({ $ref: '#/components/schemas/Error' }),
    },
    '404': { description: 'Not found', ...json({ $ref: '#/components/schemas/Error' }) },
    '409': {
      description: 'A lifecycle rule refused it',
      ...json({ $ref: '#/components/schemas/Error' }),
    },
  }
  const idParam = (name: string) => ({
    name,
    in: 'path',
    required: true,
    schema: { type: 'string' },
  })
  const list = (description: string) =>
    ok(description, {
      type: 'object',
      properties: {
        items: { type: 'array', items: { type: 'object' } },
        nextCursor: { type: 'string' },
      },
    })
  const page = [
    { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 500 } },
    { name: 'cursor', in: 'query', schema: { type: 'string' } },
  ]
  return {
    openapi: '3.0.3',
    info: {
      title: 'Patchbay API',
      version,
      description: 'Custom connectors, connections and custom actions.',
    },
    servers: [{ url: '/api/v1' }],
    security: [{ adminKey: [] }],
    components: {
      securitySchemes: { adminKey: { type: 'http', scheme: 'bearer' } },
      schemas: {
        Error: error,
        ConnectorInput: connector,
        ConnectorPatch: schemaOf(connectorPatchSchema),
        ConnectionInput: schemaOf(connectionInputSchema),
        RequestInput: schemaOf(requestInputSchema),
        ActionRun: schemaOf(actionRunSchema),
      },
    },
    paths: {
      '/connectors': {
        post: {
          summary: 'Create a connector (draft)',
          requestBody: json({ $ref: '#/components/schemas/ConnectorInput' }),
          responses: { '201': ok('The connector'), ...errors },
        },
        get: {
          summary: 'List connectors',
          parameters: page,
          responses: { '200': list('A page of connectors'), ...errors },
        },
      },
      '/connectors/{id}': {
        parameters: [idParam('id')],
        get: {
          summary: 'Read a connector by id or link name',
          responses: { '200': ok('The connector'), ...errors },
        },
        patch: {
          summary: 'Update a connector (lifecycle rules apply)',
          requestBody: json({ $ref: '#/components/schemas/ConnectorPatch' }),
          responses: { '200': ok('The connector'), ...errors },
        },
        delete: {
          summary: 'Delete a connector without connections',
          responses: { '204': { description: 'Deleted' }, ...errors },
        },
      },
      '/connectors/{id}/ready': {
        parameters: [idParam('id')],
        post: {
          summary: 'Move a draft to ready',
          responses: { '200': ok('The connector'), ...errors },
        },
      },
      '/connectors/{id}/test-token': {
        parameters: [idParam('id')],
        post: {
          summary:
            'Send the auth type’s test request (http_token) with sample connection values; a success lets the draft be marked ready',
          requestBody: json({
            type: 'object',
            properties: {
              values: {
                type: 'object',
                description: 'The connection fields the request templates need',
                additionalProperties: true,
              },
            },
          }),
          responses: {
            '200': ok('{ ok, status, body, token (masked), tokenPath, headerPreview, problem? }'),
            ...errors,
            '502': { description: 'The auth endpoint could not be reached' },
          },
        },
      },
      '/connections': {
        post: {
          summary: 'Create a connection',
          requestBody: json({ $ref: '#/components/schemas/ConnectionInput' }),
          responses: { '201': ok('connected, or pending with authorizeUrl'), ...errors },
        },
        get: {
          summary: 'List connections',
          parameters: [
            ...page,
            { name: 'connector', in: 'query', schema: { type: 'string' } },
            { name: 'endUser', in: 'query', schema: { type: 'string' } },
            {
              name: 'status',
              in: 'query',
              schema: { type: 'string', enum: ['pending', 'connected', 'needs_reauth', 'error'] },
            },
          ],
          responses: { '200': list('A page of connections'), ...errors },
        },
      },
      '/connections/{id}': {
        parameters: [idParam('id')],
        get: {
          summary: 'Read a connection (never a secret)',
          responses: { '200': ok('The connection'), ...errors },
        },
        delete: {
          summary: 'Delete a connection, revoking its tokens',
          responses: { '204': { description: 'Deleted' }, ...errors },
        },
      },
      '/connections/{id}/test': {
        parameters: [idParam('id')],
        post: { summary: 'Test a connection', responses: { '200': ok('The outcome'), ...errors } },
      },
      '/connections/{id}/reconnect': {
        parameters: [idParam('id')],
        post: {
          summary: 'Authorize a connection again, keeping its id (authorizeUrl for browser flows)',
          responses: { '200': ok('The connection'), ...errors },
        },
      },
      '/connections/{id}/refresh': {
        parameters: [idParam('id')],
        post: { summary: 'Force a refresh', responses: { '200': ok('The connection'), ...errors } },
      },
      '/connections/{id}/request': {
        parameters: [idParam('id')],
        post: {
          summary: 'Ad-hoc custom action',
          requestBody: json({ $ref: '#/components/schemas/RequestInput' }),
          responses: {
            '200': ok('The upstream answer: { status, headers, body }'),
            ...errors,
            '502': { description: 'Upstream failed' },
            '503': { description: 'Breaker open' },
          },
        },
      },
      '/connections/{id}/breaker/reset': {
        parameters: [idParam('id')],
        post: {
          summary: 'Close the breaker around a connection’s ad-hoc calls',
          responses: { '200': ok('The breaker'), ...errors },
        },
      },
      '/actions/{id}': {
        parameters: [idParam('id')],
        get: {
          summary: 'Read a saved action with its breaker',
          responses: { '200': ok('The action'), ...errors },
        },
      },
      '/actions/{id}/breaker/reset': {
        parameters: [idParam('id')],
        post: {
          summary: 'Close a saved action’s breaker',
          responses: { '200': ok('The breaker'), ...errors },
        },
      },
      '/actions/{id}/run': {
        parameters: [idParam('id')],
        post: {
          summary: 'Run a saved action',
          requestBody: json({ $ref: '#/components/schemas/ActionRun' }),
          responses: { '200': ok('The upstream answer'), ...errors },
        },
      },
      '/logs': {
        get: {
          summary: 'Log entries, newest first',
          parameters: [
            ...page,
            { name: 'connector', in: 'query', schema: { type: 'string' } },
            { name: 'connection', in: 'query', schema: { type: 'string' } },
            { name: 'action', in: 'query', schema: { type: 'string' } },
          ],
          responses: { '200': list('A page of log entries'), ...errors },
        },
      },
      '/admin-keys': {
        get: {
          summary: 'List named admin keys (never the keys themselves)',
          parameters: page,
          responses: { '200': list('A page of { id, name, createdAt, revokedAt }'), ...errors },
        },
        post: {
          summary: 'Create a named admin key',
          requestBody: json(schemaOf(adminKeyInputSchema)),
          responses: {
            '201': ok('{ id, name, key, createdAt, revokedAt }: the key is shown only here'),
            ...errors,
          },
        },
      },
      '/admin-keys/{id}': {
        parameters: [idParam('id')],
        delete: {
          summary: 'Revoke a named admin key, at once, in every process',
          responses: { '204': { description: 'Revoked' }, ...errors },
        },
      },
      '/connect-sessions': {
        post: {
          summary: 'Create a connect session for an end user (SPEC §8)',
          requestBody: json(schemaOf(connectSessionInputSchema)),
          responses: {
            '201': ok('{ id, token, url, expiresAt }: the token is shown only here'),
            ...errors,
          },
        },
        get: {
          summary: 'List live connect sessions (never a token)',
          responses: { '200': list('The live sessions'), ...errors },
        },
      },
      '/connect-sessions/{id}': {
        parameters: [idParam('id')],
        delete: {
          summary: 'End a connect session now',
          responses: { '204': { description: 'Ended' }, ...errors },
        },
      },
      '/end-users': {
        get: {
          summary: 'List end users (the endUser ids of connections) with their connections',
          parameters: page,
          responses: {
            '200': list('A page of { id, email, displayName, connections }'),
            ...errors,
          },
        },
      },
      '/end-users/{id}': {
        parameters: [idParam('id')],
        get: {
          summary: 'Read an end user with their connections',
          responses: { '200': ok('{ id, email, displayName, connections }'), ...errors },
        },
        delete: {
          summary: 'Delete (and revoke) all the end user’s connections and end their sessions',
          responses: { '204': { description: 'Deleted' }, ...errors },
        },
      },
      '/auth-types': {
        get: {
          summary:
            'The auth types a connector may use: each with the JSON Schema of its settings and the connector builder’s hints',
          responses: {
            '200': ok(
              '{ items: [{ type, label, settings, presentation, secretSettings, testBeforeReady, hasTest }] }',
              {
                type: 'object',
                required: ['items'],
                properties: {
                  items: {
                    type: 'array',
                    items: {
                      type: 'object',
                      required: [
                        'type',
                        'label',
                        'settings',
                        'presentation',
                        'secretSettings',
                        'testBeforeReady',
                        'hasTest',
                      ],
                      properties: {
                        type: { type: 'string' },
                        label: { type: 'string' },
                        settings: {
                          type: 'object',
                          description: 'JSON Schema (draft 2020-12) of the type’s own settings',
                        },
                        presentation: {
                          type: 'object',
                          description:
                            'Labels, order, layout, conditions and widgets for the builder (docs/auth/README.md)',
                        },
                        secretSettings: { type: 'array', items: { type: 'string' } },
                        testBeforeReady: { type: 'boolean' },
                        hasTest: { type: 'boolean' },
                      },
                    },
                  },
                },
              },
            ),
            ...errors,
          },
        },
      },
      '/connector-templates': {
        get: {
          summary:
            'The connector templates shipped with Patchbay (docs/templates.md): one summary each',
          responses: {
            '200': ok(
              '{ items: [{ name, title, description, docs, authType, grantType?, placeholders }] }',
              {
                type: 'object',
                required: ['items'],
                properties: {
                  items: {
                    type: 'array',
                    items: {
                      type: 'object',
                      required: [
                        'name',
                        'title',
                        'description',
                        'docs',
                        'authType',
                        'placeholders',
                      ],
                      properties: {
                        name: { type: 'string' },
                        title: { type: 'string' },
                        description: { type: 'string' },
                        docs: { type: 'array', items: { type: 'string' } },
                        authType: { type: 'string' },
                        grantType: { type: 'string' },
                        placeholders: { type: 'array', items: schemaOf(templatePlaceholderSchema) },
                      },
                    },
                  },
                },
              },
            ),
            ...errors,
          },
        },
      },
      '/connector-templates/{name}': {
        parameters: [idParam('name')],
        get: {
          summary:
            'One connector template: its connector definition and the placeholders (client id, secret) to fill in before POST /connectors',
          responses: { '200': ok('The template', schemaOf(connectorTemplateSchema)), ...errors },
        },
      },
      '/openapi.json': {
        get: { summary: 'This document', security: [], responses: { '200': ok('OpenAPI 3') } },
      },
    },
  }
}
