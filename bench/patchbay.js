// @ts-check
/**
 * Patchbay under test, run in its own worker thread so that it has an event loop of its own, as
 * it would in production: the compiled library (`dist/`) in a fresh temporary data folder (SQLite),
 * its HTTP server on 127.0.0.1, one ready `api_key` connector with custom actions enabled that
 * points at the benchmark's upstream, and one connection.
 *
 * Posts `{ url, connectionId }` once serving; on `'close'` it stops the server and the engine,
 * removes the data folder and posts `'closed'`.
 *
 * @module
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { Server as HttpServer } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parentPort, workerData } from 'node:worker_threads'
import { createPatchbay } from '../dist/index.js'
import { startServer } from '../dist/server/serve.js'

/** @type {{ adminKey: string, apiKey: string, upstreamPort: number }} */
const { adminKey, apiKey, upstreamPort } = workerData
const port = parentPort
if (!port) throw new Error('bench/patchbay.js runs as a worker thread')

const dataDir = mkdtempSync(join(tmpdir(), 'patchbay-bench-'))
/** @type {Awaited<ReturnType<typeof createPatchbay>> | undefined} */
let pb
/** @type {Awaited<ReturnType<typeof startServer>> | undefined} */
let server

async function stop() {
  try {
    await server?.close({ graceMs: 0 })
    await pb?.close()
  } finally {
    rmSync(dataDir, { recursive: true, force: true })
  }
}

try {
  pb = await createPatchbay({
    dataDir,
    refreshIntervalMs: 0,
    timeoutMs: 10_000,
    // Exactly the upstream's loopback endpoint, not every private address.
    allowEndpoints: [`127.0.0.1:${upstreamPort}`],
    env: { PATCHBAY_ADMIN_KEY: adminKey, PATCHBAY_LOG_LEVEL: 'silent' },
  })
  server = await startServer(pb, { port: 0, host: '127.0.0.1' })
  pb.setPublicUrl(server.url)
  // As on the upstream: rounds leave the client's pool idle while another scenario runs.
  if (server.server instanceof HttpServer) server.server.keepAliveTimeout = 60_000

  const connector = await pb.connectors.create({
    name: 'Bench Upstream',
    baseUrl: `http://127.0.0.1:${upstreamPort}/`,
    auth: { type: 'api_key', params: [{ name: 'API key', key: 'X-Api-Key', in: 'header' }] },
    customAction: { enabled: true },
  })
  await pb.connectors.ready(connector.id)
  const connection = await pb.connections.create({
    connector: connector.id,
    values: { 'X-Api-Key': apiKey },
  })
  port.postMessage({ url: server.url, connectionId: connection.id })
} catch (err) {
  await stop()
  throw err
}

port.on('message', (message) => {
  if (message !== 'close') return
  void stop().finally(() => {
    port.postMessage('closed')
    port.close()
  })
})
