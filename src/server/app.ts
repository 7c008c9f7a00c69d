/**
 * The HTTP server: `/api/v1` (admin key), `/oauth*` callbacks, `/proxy/:id/*`, and the web UI.
 *
 * @module
 */
import { Readable } from 'node:stream'
import { Hono, type Context } from 'hono'
import type { BlankEnv } from 'hono/types'
import { bodyLimit } from 'hono/body-limit'
import type { Patchbay } from '../engine/patchbay.js'
import { PatchbayError, isPatchbayError } from '../errors.js'
import { isForwarded } from './fast-path.js'
import { errorResponse, refuseNul, refuseNulIn } from './http.js'
import { demoRoutes } from './demo.js'
import { connectRoutes } from './connect.js'
import { bind } from './bind.js'
import { API_BASE, mcp, openapi as openapiRoute, ops, proxy } from './contract.js'
import { buildOpenApi } from './openapi.js'
import { resultPage } from './pages.js'
import { apiRoutes } from './routes/api.js'
import { createUi } from './ui.js'

export interface AppOptions {
  version?: string
  /** Accept admin keys on `/mcp` too (docs/mcp.md); off by default: agents get scoped keys. */
  mcpAllowAdminKey?: boolean
}

function bearer(c: Context): string | undefined {
  const header = c.req.header('authorization')
  const m = header ? /^Bearer\s+(.+)$/i.exec(header) : null
  return m?.[1]?.trim() ?? c.req.header('x-patchbay-key') ?? undefined
}

export function createApp(pb: Patchbay, options: AppOptions = {}): Hono {
  const app = new Hono()
  const version = options.version ?? '0.0.0'
  let document: Record<string, unknown> | undefined
  const ui = createUi(pb)

  app.onError((err, c) => errorResponse(c, err, pb.logger))

  // One structured line per request; headers that carry keys are redacted by the logger.
  app.use('*', async (c, next) => {
    const started = performance.now()
    await next()
    const path = new URL(c.req.url).pathname
    if (path === '/healthz' || path === '/readyz' || path === '/metrics') return
    pb.logger.info(
      {
        req: {
          method: c.req.method,
          path,
          headers: { authorization: c.req.header('authorization') },
        },
        res: { status: c.res.status },
        ms: Math.round(performance.now() - started),
      },
      'request',
    )
  })

  bind(app, '', ops, {
    healthz: () => ({ status: 'ok' }),
    readyz: async (_, c) => {
      const { ready, reason } = await pb.readiness()
      return ready
        ? { status: 'ready' }
        : c.json({ status: 'unavailable', reason: reason ?? 'not ready' }, 503)
    },
    metrics: async (c) =>
      c.body(await pb.metrics.registry.metrics(), 200, {
        'content-type': pb.metrics.registry.contentType,
      }),
  })
  app.notFound((c) =>
    c.json(
      {
        error: {
          code: 'input.invalid',
          message: `no route ${c.req.method} ${new URL(c.req.url).pathname}`,
        },
      },
      404,
    ),
  )

  const requireAdmin = async (c: Context, next: () => Promise<void>) => {
    const key = bearer(c)
    if (key ? !(await pb.admin.verify(key)) : !(await ui.authenticate(c))) {
      throw new PatchbayError(
        'auth.unauthorized',
        'send the admin key as "Authorization: Bearer <key>" (printed at first start, or PATCHBAY_ADMIN_KEY)',
      )
    }
    await next()
  }

  bind(app, '', openapiRoute, {
    document: () => (document ??= buildOpenApi(pb.registry, version)),
  })
  app.use(`${API_BASE}/*`, requireAdmin)
  app.use(
    `${API_BASE}/*`,
    bodyLimit({
      maxSize: 5 * 1024 * 1024,
      onError: (c) =>
        c.json(
          { error: { code: 'input.invalid', message: 'the request body is over 5 MiB' } },
          413,
        ),
    }),
  )
  app.use(`${API_BASE}/*`, refuseNul)
  app.route(API_BASE, apiRoutes(pb))

  const callback = (path: string) => async (c: Context) => {
    const params = new URL(c.req.url).searchParams
    try {
      const outcome = await pb.connections.complete(path, params)
      const status = outcome.connection?.status ?? 'error'
      if (outcome.returnUrl) {
        const target = new URL(outcome.returnUrl)
        if (outcome.connection) target.searchParams.set('connectionId', outcome.connection.id)
        target.searchParams.set('status', status)
        return c.redirect(target.href, 302)
      }
      if (outcome.error) {
        return c.html(
          resultPage(
            'Authorization failed',
            `${outcome.connection?.connector.name ?? 'The connector'}: ${outcome.error.message}`,
            false,
          ),
          400,
        )
      }
      return c.html(
        resultPage(
          'Connected',
          `${outcome.connection?.name ?? 'The connection'} is connected. You can close this window.`,
          true,
        ),
      )
    } catch (err) {
      if (isPatchbayError(err))
        return c.html(
          resultPage('Authorization failed', err.message, false),
          err.code === 'oauth.state_invalid' ? 400 : 502,
        )
      throw err
    }
  }
  // Each auth type with a browser flow names the route its provider sends the browser back to.
  for (const { path } of pb.registry.callbacks()) app.get(path, callback(path))

  // The transparent proxy: the upstream's answer streamed back as it is.
  const forward = async (c: Context<BlankEnv, typeof proxy.forward.path>) => {
    const id = c.req.param('id')
    refuseNulIn('id', id)
    const url = new URL(c.req.url)
    // Everything after `/proxy/<id>/`, however the caller encoded the id.
    const path = url.pathname.split('/').slice(3).join('/')
    const headers: Record<string, string> = {}
    c.req.raw.headers.forEach((v, k) => {
      if (isForwarded(k)) headers[k] = v
    })
    const body = ['GET', 'HEAD'].includes(c.req.method)
      ? undefined
      : new Uint8Array(await c.req.arrayBuffer())
    const res = await pb.connections.proxy(id, {
      method: c.req.method,
      path,
      search: url.search,
      headers,
      body,
    })
    const out = new Headers()
    for (const [k, v] of Object.entries(res.headers))
      for (const item of Array.isArray(v) ? v : [v]) out.append(k, item)
    const stream: BodyInit =
      res.body instanceof Uint8Array
        ? Buffer.from(res.body)
        : (Readable.toWeb(res.body) as ReadableStream)
    return new Response(
      [204, 304].includes(res.status) || c.req.method === 'HEAD' ? null : stream,
      { status: res.status, headers: out },
    )
  }
  app.use(proxy.forward.path, requireAdmin, bodyLimit({ maxSize: 25 * 1024 * 1024 }))
  bind(app, '', proxy, { forward })

  // MCP over Streamable HTTP for AI agents, with scoped MCP keys (docs/mcp.md). The MCP SDK is
  // loaded by the first call: a server no agent talks to does not hold it in memory.
  let mcpHandler: Promise<(request: Request) => Promise<Response>> | undefined
  bind(app, '', mcp, {
    endpoint: async (c) => {
      mcpHandler ??= import('../mcp/http.js').then(({ createMcpHttpHandler }) =>
        createMcpHttpHandler(pb, { version, allowAdminKey: options.mcpAllowAdminKey }),
      )
      return (await mcpHandler)(c.req.raw)
    },
  })

  app.route('/demo/api', demoRoutes())
  // The hosted connect page and its session-token routes (docs/connect.md); never the admin key.
  app.route('/connect', connectRoutes(pb))

  app.route('/', ui.routes)
  return app
}
