// @ts-check
/**
 * The node limit: the least any Node proxy can do — `node:http` in front of an undici `Pool` that
 * adds one header (the bearer token) — and so the ceiling for Patchbay's hot path, which does the
 * same and more. Two shapes on one server, like Patchbay's:
 *
 * - `ANY /proxy/:id/*` streams the upstream's answer back as it is;
 * - `POST /request` reads a JSON body `{ method, path }`, calls the upstream, and answers the JSON
 *   envelope `{ status, headers, body }` with the body parsed.
 *
 * Prints `{"port":…}` once listening.
 *
 * @module
 */
import { createServer } from 'node:http'
import { Buffer } from 'node:buffer'
import process from 'node:process'
import { Pool } from 'undici'

const pool = new Pool(String(process.env.BENCH_UPSTREAM), { connections: 128 })
const auth = `Bearer ${process.env.BENCH_TOKEN}`

const server = createServer((req, res) => {
  void handle(req, res).catch(() => {
    if (!res.headersSent) res.writeHead(502)
    res.end()
  })
})

/** @param {import('node:http').IncomingMessage} req @param {import('node:http').ServerResponse} res */
async function handle(req, res) {
  const url = req.url ?? '/'
  if (url.startsWith('/proxy/')) {
    const path = url.slice(url.indexOf('/', 7))
    const up = await pool.request({
      method: /** @type {'GET'} */ (req.method),
      path,
      headers: { authorization: auth },
    })
    res.writeHead(up.statusCode, /** @type {Record<string, string>} */ (up.headers))
    up.body.pipe(res)
    return
  }
  const chunks = []
  for await (const chunk of req) chunks.push(chunk)
  const input = JSON.parse(Buffer.concat(chunks).toString('utf8'))
  const up = await pool.request({
    method: input.method,
    path: `/${input.path}`,
    headers: { authorization: auth },
  })
  const body = await up.body.json()
  const text = JSON.stringify({ status: up.statusCode, headers: up.headers, body })
  res.writeHead(200, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  })
  res.end(text)
}

server.keepAliveTimeout = 60_000
server.listen(0, '127.0.0.1', () => {
  const address = server.address()
  process.stdout.write(
    `${JSON.stringify({ port: typeof address === 'object' && address ? address.port : 0 })}\n`,
  )
})
process.on('SIGTERM', () => process.exit(0))
