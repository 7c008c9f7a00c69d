/**
 * A tiny API under `/demo/api` so the example connector works on a machine with no internet: it
 * wants `X-Api-Key: demo-key` and echoes what it received (the key itself masked).
 *
 * @module
 */
import { Hono } from 'hono'

export const DEMO_KEY = 'demo-key'

export function demoRoutes(): Hono {
  const demo = new Hono()
  demo.all('/*', async (c) => {
    if (c.req.header('x-api-key') !== DEMO_KEY) {
      return c.json({ error: 'unauthorized', message: 'send X-Api-Key: demo-key' }, 401)
    }
    const url = new URL(c.req.url)
    const path = url.pathname.replace(/^\/demo\/api/, '') || '/'
    if (path === '/me') return c.json({ id: 42, login: 'demo-user', name: 'Demo User' })
    const text = ['GET', 'HEAD'].includes(c.req.method) ? '' : await c.req.text()
    let body: unknown = text || null
    try {
      body = text ? JSON.parse(text) : null
    } catch {
      // keep text
    }
    return c.json({ method: c.req.method, path, query: Object.fromEntries(url.searchParams), body })
  })
  return demo
}
