/**
 * The API's inputs besides connector definitions, connections and requests (`schema.ts`): connect
 * sessions and the connect page (docs/connect.md), named admin keys, token tests, list queries and
 * the UI's sign-in. One zod schema each, shared by the engine that applies it,
 * the HTTP contract (`server/contract.ts`) and the web app.
 *
 * @module
 */
import { z } from 'zod'
import { connectionInputSchema, listQuerySchema, storable } from './schema.js'
import {
  CONNECTION_STATUSES,
  WEBHOOK_EVENT_STATUSES,
  isConnectionStatus,
  type ConnectionStatus,
} from './literals.js'

/** 30 minutes by default, at most 24 hours (docs/connect.md). */
export const DEFAULT_SESSION_SECONDS = 30 * 60
export const MAX_SESSION_SECONDS = 24 * 60 * 60

/** An end user's id: the `endUser` of a connection. */
export const endUserIdSchema = connectionInputSchema.shape.endUser.unwrap()

function isOrigin(value: string): boolean {
  try {
    const url = new URL(value)
    return (url.protocol === 'https:' || url.protocol === 'http:') && url.origin === value
  } catch {
    return false
  }
}

/** `POST /api/v1/connect-sessions` */
export const connectSessionInputSchema = z
  .object({
    endUser: z
      .object({
        id: endUserIdSchema,
        email: z.email().max(320).optional(),
        displayName: storable(z.string().min(1).max(200)).optional(),
      })
      .strict(),
    /** Connector ids or link names; every ready connector when absent. */
    connectors: z.array(z.string().min(1).max(100)).min(1).max(50).optional(),
    /** A connection of this end user to re-authorize, keeping its id. */
    reconnect: z.string().min(1).max(100).optional(),
    /** Where the page sends the browser when done, with `connectionId` and `status`. */
    returnUrl: storable(z.url({ protocol: /^https?$/ }).max(2000)).optional(),
    /** The only origin the page posts its result to (`window.opener.postMessage`). */
    allowedOrigin: z
      .string()
      .max(300)
      .refine(isOrigin, 'must be an origin: scheme://host[:port], no path')
      .optional(),
    /** Seconds, at most 24 hours; default 30 minutes. */
    expiresIn: z
      .number()
      .int('must be a whole number of seconds')
      .min(60, 'must be at least 60 seconds')
      .max(MAX_SESSION_SECONDS, `must be at most ${MAX_SESSION_SECONDS} seconds (24 hours)`)
      .optional(),
  })
  .strict()
export type ConnectSessionInput = z.input<typeof connectSessionInputSchema>

/** What the connect page posts to create (or re-authorize) a connection. */
export const connectPageInputSchema = z
  .object({
    connector: z.string().min(1).max(100).optional(),
    name: storable(z.string().min(1).max(100)).optional(),
    values: storable(z.record(z.string(), z.unknown())).default({}),
  })
  .strict()

const ADMIN_KEY_NAME = /^[A-Za-z0-9_-](?:[A-Za-z0-9 _-]{0,48}[A-Za-z0-9_-])?$/

/** `POST /api/v1/admin-keys` */
export const adminKeyInputSchema = z
  .object({
    name: z
      .string()
      .regex(
        ADMIN_KEY_NAME,
        'must be 1 to 50 letters, digits, spaces, _ or -, with no space at either end',
      ),
  })
  .strict()

/** `POST /api/v1/connectors/:id/test-token`: sample connection values for the request's templates. */
export const authTestInputSchema = z
  .object({
    values: z
      .record(z.string(), z.unknown())
      .default({})
      .describe('The connection fields the request templates need'),
  })
  .strict()

/** `POST /api/v1/connectors/:id/connection-form`: the values chosen so far. */
export const connectionFormInputSchema = z
  .object({ values: z.record(z.string(), z.unknown()).default({}) })
  .strict()

/** A query value that must be a connection status, in the words the API has always used. */
const connectionStatusQuery = z
  .custom<ConnectionStatus>(isConnectionStatus, {
    error: `must be one of ${CONNECTION_STATUSES.join(', ')}`,
  })
  .meta({ type: 'string', enum: [...CONNECTION_STATUSES] })

/** `GET /api/v1/connections`: filters and a page. */
export const connectionListQuerySchema = listQuerySchema.extend({
  connector: z.string().optional(),
  endUser: z.string().optional(),
  status: connectionStatusQuery.optional(),
})

/** `GET /api/v1/logs`: filters and a page. */
export const logListQuerySchema = listQuerySchema.extend({
  connector: z.string().optional(),
  connection: z.string().optional(),
  action: z.string().optional(),
  /** The MCP key that made the calls (docs/mcp.md). */
  mcpKey: z.string().optional(),
  /** The MCP tool that made the calls. */
  tool: z.string().optional(),
})

/** `GET /api/v1/webhook-events` */
export const webhookEventListQuerySchema = listQuerySchema.extend({
  status: z.enum(WEBHOOK_EVENT_STATUSES).optional(),
  connection: z.string().optional(),
})

/** `POST /ui/session`: the admin key, traded for the UI's session cookie. */
export const uiSignInSchema = z.object({ adminKey: z.string() })

const MCP_KEY_NAME = /^[A-Za-z0-9_-](?:[A-Za-z0-9 _-]{0,48}[A-Za-z0-9_-])?$/
const reference = z.string().min(1).max(100)

/** `POST /api/v1/mcp-keys` */
export const mcpKeyInputSchema = z
  .object({
    name: z
      .string()
      .regex(
        MCP_KEY_NAME,
        'must be 1 to 50 letters, digits, spaces, _ or -, with no space at either end',
      ),
    /** The end user whose connections the tools use (one per connector). */
    endUser: endUserIdSchema.optional(),
    /** Or: the connections the tools use, at most one per connector. */
    connections: z.array(reference).min(1).max(50).optional(),
    /** Connectors (ids or link names) whose saved actions are all tools. */
    connectors: z.array(reference).max(50).optional(),
    /** Saved actions (ids) that are tools. */
    actions: z.array(reference).max(200).optional(),
    /** Also an `http_request` tool for each of `connectors` with custom actions enabled. */
    httpRequest: z.boolean().optional(),
  })
  .strict()
export type McpKeyInput = z.input<typeof mcpKeyInputSchema>
