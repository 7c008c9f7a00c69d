// @ts-check
/**
 * The benchmark's upstream API, a process of its own: keep-alive `node:http` on 127.0.0.1 answering
 * `GET /small` with about 200 bytes of JSON when the request carries `Authorization: Bearer
 * <BENCH_TOKEN>`, 401 otherwise — so a request that reached it without auth applied fails loudly
 * instead of being counted. Prints `{"port":…}` once listening.
 *
 * @module
 */
import { createServer } from 'node:http'
import { Buffer } from 'node:buffer'
import process from 'node:process'
import { SMALL_BODY } from './shared.js'

const expected = `Bearer ${process.env.BENCH_TOKEN}`
const body = Buffer.from(SMALL_BODY)
const server = createServer((req, res) => {
  req.resume()
  if (req.headers.authorization !== expected) {
    res.writeHead(401, { 'content-type': 'application/json', 'content-length': '2' })
    res.end('{}')
    return
  }
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(body.length) })
  res.end(body)
})
server.keepAliveTimeout = 60_000
server.listen(0, '127.0.0.1', () => {
  const address = server.address()
  process.stdout.write(
    `${JSON.stringify({ port: typeof address === 'object' && address ? address.port : 0 })}\n`,
  )
})
process.on('SIGTERM', () => process.exit(0))
