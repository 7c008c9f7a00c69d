/**
 * `/api/v1` routes, bound to the contract (`../contract.ts`). Each calls the library;
 * none touches the store.
 *
 * @module
 */
import { Hono } from 'hono'
import type { Patchbay } from '../../engine/patchbay.js'
import { shippedTemplate, shippedTemplates } from '../../connector/template-files.js'
import { summarizeTemplate } from '../../connector/templates.js'
import { bind } from '../bind.js'
import {
  API_BASE,
  actions,
  authTypes,
  connections,
  connectorTemplates,
  connectors,
  logs,
  mcpKeys,
  webhookEvents,
} from '../contract.js'
import { adminKeyRoutes } from './admin.js'
import { describeAuthTypes } from './auth-types.js'
import { connectSessionRoutes } from './connect.js'

export function apiRoutes(pb: Patchbay): Hono {
  const api = new Hono()

  bind(api, API_BASE, connectors, {
    create: ({ body }) => pb.connectors.create(body),
    list: ({ query }) => pb.connectors.list(query),
    get: ({ params }) => pb.connectors.get(params.id),
    update: ({ params, body }) => pb.connectors.update(params.id, body),
    delete: async ({ params }) => {
      await pb.connectors.delete(params.id)
    },
    ready: ({ params }) => pb.connectors.ready(params.id),
    testToken: ({ params, body }) => pb.connectors.testAuth(params.id, body),
    connectionForm: ({ params, body }) => pb.connectors.connectionForm(params.id, body),
  })

  bind(api, API_BASE, connections, {
    create: ({ body }) => pb.connections.create(body),
    list: ({ query }) => pb.connections.list(query),
    get: ({ params }) => pb.connections.get(params.id),
    delete: async ({ params }) => {
      await pb.connections.delete(params.id)
    },
    test: ({ params }) => pb.connections.test(params.id),
    reconnect: ({ params, body }) => pb.connections.reconnect(params.id, body),
    refresh: ({ params }) => pb.connections.refresh(params.id),
    request: ({ params, body }) => pb.connections.request(params.id, body),
    resetBreaker: ({ params }) => pb.connections.resetBreaker(params.id),
  })

  bind(api, API_BASE, actions, {
    get: ({ params }) => pb.actions.get(params.id),
    resetBreaker: ({ params }) => pb.actions.resetBreaker(params.id),
    run: ({ params, body }) => pb.actions.run(params.id, body),
  })

  bind(api, API_BASE, logs, {
    list: ({ query }) => pb.logs.list(query),
  })

  api.route('/', adminKeyRoutes(pb))
  api.route('/', connectSessionRoutes(pb))
  // The registry does not change once the engine is created.
  let types: ReturnType<typeof describeAuthTypes> | undefined
  bind(api, API_BASE, authTypes, {
    list: () => ({ items: (types ??= describeAuthTypes(pb.registry)) }),
  })

  bind(api, API_BASE, mcpKeys, {
    list: ({ query }) => pb.mcpKeys.list(query),
    create: ({ body }) => pb.mcpKeys.create(body),
    get: ({ params }) => pb.mcpKeys.get(params.id),
    revoke: async ({ params }) => {
      await pb.mcpKeys.revoke(params.id)
    },
  })

  bind(api, API_BASE, webhookEvents, {
    list: ({ query }) => pb.webhookEvents.list(query),
    get: ({ params }) => pb.webhookEvents.get(params.id),
    retry: ({ params }) => pb.webhookEvents.retry(params.id),
  })

  // The shipped templates are read once per process.
  bind(api, API_BASE, connectorTemplates, {
    list: () => ({ items: shippedTemplates().map(summarizeTemplate) }),
    get: ({ params }) => shippedTemplate(params.name),
  })

  return api
}
