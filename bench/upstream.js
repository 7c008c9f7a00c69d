// @ts-check
/**
 * The benchmark's upstream, run in its own worker thread: a keep-alive `node:http` server on
 * 127.0.0.1 with two fixed answers, `GET /small` (a ~200-byte JSON body) and `GET /large`
 * (256 KiB of bytes). Both demand the API key, so a request that reached it without Patchbay's
 * auth applied fails loudly instead of being counted.
 *
 * Posts `{ port }` once listening; on `'close'` it closes and posts `'closed'`.
 *
 * @module
 */
import { Buffer } from 'node:buffer'
import { createServer } from 'node:http'
import { parentPort, workerData } from 'node:worker_threads'

/** @type {{ apiKey: string, smallBody: string, largeBody: Uint8Array }} */
const { apiKey, smallBody, largeBody } = workerData
const port = parentPort
if (!port) throw new Error('bench/upstream.js runs as a worker thread')

const small = Buffer.from(smallBody)
const large = Buffer.from(largeBody)

const server = createServer((req, res) => {
  // GET only; drain anything else so the socket stays reusable.
  req.resume()
  if (req.headers['x-api-key'] !== apiKey) {
    res.writeHead(401, { 'content-type': 'application/json' })
    res.end('{"error":"missing or wrong X-Api-Key"}')
    return
  }
  const body = req.url === '/small' ? small : req.url === '/large' ? large : undefined
  if (!body) {
    res.writeHead(404, { 'content-type': 'application/json' })
    res.end('{"error":"not found"}')
    return
  }
  res.writeHead(200, {
    'content-type': req.url === '/small' ? 'application/json' : 'application/octet-stream',
    'content-length': String(body.length),
  })
  res.end(body)
})
// Rounds leave a pool idle while another scenario runs; keep its sockets open across that gap.
server.keepAliveTimeout = 60_000

server.listen(0, '127.0.0.1', () => {
  const address = server.address()
  if (!address || typeof address === 'string') throw new Error('no TCP address')
  port.postMessage({ port: address.port })
})

port.on('message', (message) => {
  if (message !== 'close') return
  server.closeAllConnections()
  server.close(() => {
    port.postMessage('closed')
    port.close()
  })
})
