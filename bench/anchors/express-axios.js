// @ts-check
/**
 * The peer's shape: the proxy most open-source connector platforms put in front of an API — an
 * Express 4 app calling the upstream with axios (keep-alive agent), adding the bearer token —
 * in the same two shapes as the node limit (`/proxy/:id/*` streamed, `POST /request` enveloped).
 * Prints `{"port":…}` once listening.
 *
 * @module
 */
import { Agent } from 'node:http'
import process from 'node:process'
import axios from 'axios'
import express from 'express'

const upstream = String(process.env.BENCH_UPSTREAM)
const auth = `Bearer ${process.env.BENCH_TOKEN}`
const client = axios.create({
  baseURL: upstream,
  httpAgent: new Agent({ keepAlive: true, maxSockets: 128 }),
  validateStatus: () => true,
})

const app = express()
app.all('/proxy/:id/*', async (req, res) => {
  try {
    const up = await client.request({
      method: req.method,
      url: `/${req.params[0]}`,
      headers: { authorization: auth },
      responseType: 'stream',
    })
    res.status(up.status)
    for (const [k, v] of Object.entries(up.headers)) if (v !== undefined) res.setHeader(k, v)
    up.data.pipe(res)
  } catch {
    res.sendStatus(502)
  }
})
app.post('/request', express.json(), async (req, res) => {
  try {
    const up = await client.request({
      method: req.body.method,
      url: `/${req.body.path}`,
      headers: { authorization: auth },
    })
    res.json({ status: up.status, headers: up.headers, body: up.data })
  } catch {
    res.sendStatus(502)
  }
})

const server = app.listen(0, '127.0.0.1', () => {
  const address = server.address()
  process.stdout.write(
    `${JSON.stringify({ port: typeof address === 'object' && address ? address.port : 0 })}\n`,
  )
})
server.keepAliveTimeout = 60_000
process.on('SIGTERM', () => process.exit(0))
