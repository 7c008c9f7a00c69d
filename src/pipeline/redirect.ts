/**
 * Follows redirects: to an allowed origin with credentials re-applied (signatures cover the URL),
 * to any other origin without credentials (docs/pipeline.md).
 *
 * @module
 */
import { discardBody } from './send.js'
import type { Step } from './types.js'

const MAX_REDIRECTS = 5

export const followRedirects: Step = (next) => async (ctx) => {
  let result = await next(ctx)
  while ([301, 302, 303, 307, 308].includes(result.status) && ctx.meta.redirects < MAX_REDIRECTS) {
    const location = result.headers['location']
    const target = typeof location === 'string' ? safeUrl(location, ctx.request.url) : undefined
    if (!target || !/^https?:$/.test(target.protocol)) break
    discardBody(result)
    ctx.meta.redirects++
    const request = ctx.request
    if (
      result.status === 303 ||
      ((result.status === 301 || result.status === 302) && request.method === 'POST')
    ) {
      request.method = request.method === 'HEAD' ? 'HEAD' : 'GET'
      request.body = { kind: 'none' }
      delete request.headers['content-type']
    }
    if (!ctx.allowedOrigins.has(target.origin)) {
      ctx.meta.credentialsWithheld = true
      // Cookies and other caller headers could be credentials too; keep only content negotiation.
      for (const name of Object.keys(request.headers)) {
        if (!['accept', 'accept-language', 'content-type', 'user-agent'].includes(name))
          delete request.headers[name]
      }
    }
    request.url = target
    result = await next(ctx)
  }
  return result
}

function safeUrl(location: string, base: URL): URL | undefined {
  try {
    return new URL(location, base)
  } catch {
    return undefined
  }
}
