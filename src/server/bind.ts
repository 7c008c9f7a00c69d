/**
 * Binds handlers to the contract's routes (`contract.ts`) on a Hono app. For a JSON route the
 * binder reads the query and the body the route declares, checks them with its schemas (a bad
 * one is a 400 naming each field, `input.invalid`), calls the handler with the result, and
 * answers what the handler returns as JSON with the route's status. A `raw` route's handler
 * answers the request itself. Nothing else happens per request: the hot routes (`…/request`,
 * `/proxy`) cost what a hand-written Hono route costs.
 *
 * @module
 */
import type { Context, Env, Hono, MiddlewareHandler } from 'hono'
import { toFieldIssues } from '../engine/issues.js'
import { invalidInput } from '../errors.js'
import type { Group, HandlerInput, ReplyOf, RouteSpec } from './contract.js'
import { readJson } from './http.js'

export type Handler<R extends RouteSpec, E extends Env = Env> = R extends { raw: true }
  ? (c: Context<E>) => Response | Promise<Response>
  : (
      input: HandlerInput<R>,
      c: Context<E>,
    ) => ReplyOf<R> | Response | Promise<ReplyOf<R> | Response>

export type Handlers<G extends Group, E extends Env = Env> = {
  [K in keyof G]: Handler<G[K], E>
}

export interface BindOptions<G extends Group, E extends Env> {
  /** Middleware that runs before a route's query and body are read (e.g. its authentication). */
  before?: { [K in keyof G]?: MiddlewareHandler<E> }
}

/**
 * Registers every route of `group` on `app`, which is mounted at `base` (the routes' paths start
 * with it). Each route needs its handler: a missing one is a compile error.
 */
export function bind<G extends Group, E extends Env>(
  app: Hono<E>,
  base: string,
  group: G,
  handlers: Handlers<G, E>,
  options: BindOptions<G, E> = {},
): void {
  for (const [name, route] of Object.entries(group)) {
    if (!route.path.startsWith(base))
      throw new Error(`bind: ${route.path} is not under ${base || '/'}`)
    const path = route.path.slice(base.length) || '/'
    const handler = handlers[name] as (...args: never[]) => unknown
    const answer = route.raw
      ? (handler as (c: Context<E>) => Response | Promise<Response>)
      : jsonHandler<E>(route, handler as JsonHandler<E>)
    const before = options.before?.[name]
    // `ALL`: any method at all, as `app.all` answers it.
    const method = route.method === 'ALL' ? 'ALL' : route.method
    if (before) app.on(method, path, before, answer)
    else app.on(method, path, answer)
  }
}

type JsonHandler<E extends Env> = (
  input: { params: Record<string, string>; query: unknown; body: unknown },
  c: Context<E>,
) => unknown

function jsonHandler<E extends Env>(
  route: RouteSpec,
  handler: JsonHandler<E>,
): (c: Context<E>) => Promise<Response> {
  const { query, body, status } = route
  const queryKeys = query ? Object.keys(query.shape) : []
  const checkBody = body && route.bodyCheck !== 'engine' ? body : undefined
  return async (c) => {
    let parsedQuery: unknown
    if (query) {
      // As Hono reads them: the first value of each; an empty one is absent.
      const raw: Record<string, string | undefined> = {}
      for (const key of queryKeys) raw[key] = c.req.query(key) || undefined
      const parsed = query.safeParse(raw)
      if (!parsed.success) throw invalidInput(toFieldIssues(parsed.error))
      parsedQuery = parsed.data
    }
    let parsedBody: unknown
    if (body) {
      parsedBody = await readJson(c)
      if (checkBody) {
        // `reportInput`: a wrong type reads "must be a string", not "is required".
        const parsed = checkBody.safeParse(parsedBody, { reportInput: true })
        if (!parsed.success) throw invalidInput(toFieldIssues(parsed.error))
        parsedBody = parsed.data
      }
    }
    const out = await handler({ params: c.req.param(), query: parsedQuery, body: parsedBody }, c)
    if (out instanceof Response) return out
    if (status === 204) return c.body(null, 204)
    return c.json(out as object, status as 200 | 201)
  }
}
