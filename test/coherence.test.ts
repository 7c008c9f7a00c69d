/**
 * What a process keeps for the hot path (a connection's opened credentials, its call state) is
 * never used once another process changed it: two real `patchbay serve` processes on one store
 * (PostgreSQL, and SQLite on one data folder). After a refresh in one, the other's very next call
 * carries the new token (and makes no token request of its own); after a delete in one, the
 * other's next call is a 404 that never reaches the API.
 */
import { randomBytes } from 'node:crypto'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { dropTestSchema, postgresTestUrl, testSchemaName } from './helpers/postgres.js'
import {
  requireBuild,
  startServerProcess,
  stopAll,
  tokenConnection,
  type ServerProcess,
} from './helpers/processes.js'
import { startTokenServer, type TokenServer } from './peers/token-server.js'

const databaseUrl = await postgresTestUrl()
const kinds = databaseUrl ? (['postgres', 'sqlite'] as const) : (['sqlite'] as const)

for (const kind of kinds) {
  describe(`two patchbay serve processes on one ${kind} store`, () => {
    const schema = testSchemaName()
    const adminKey = `coh-admin-${randomBytes(12).toString('hex')}`
    let tokens: TokenServer
    let a: ServerProcess
    let b: ServerProcess

    beforeAll(async () => {
      requireBuild()
      tokens = await startTokenServer()
      const env = {
        PATCHBAY_SECRET_KEY: randomBytes(32).toString('hex'),
        PATCHBAY_ALLOW_PRIVATE_NETWORK: 'true',
        PATCHBAY_LOG_LEVEL: 'silent',
        ...(kind === 'postgres'
          ? { PATCHBAY_DATABASE_URL: databaseUrl!, PATCHBAY_DATABASE_SCHEMA: schema }
          : { PATCHBAY_DATA_DIR: mkdtempSync(join(tmpdir(), 'pb-coherence-')) }),
      }
      a = await startServerProcess({ adminKey, env, name: 'process a' })
      b = await startServerProcess({ adminKey, env, publicUrl: a.url, name: 'process b' })
    }, 60_000)
    afterAll(async () => {
      await stopAll([a, b])
      await tokens?.close()
      if (kind === 'postgres') await dropTestSchema(schema)
    })

    const connection = (name: string) => tokenConnection(a, tokens.url, name)

    /** One call through `p`; the token the API saw on it. */
    async function callThrough(p: ServerProcess, id: string, path: string) {
      const before = tokens.requestsTo(`/protected/${path}`).length
      const res = await p.api('POST', `/api/v1/connections/${id}/request`, {
        method: 'GET',
        path,
      })
      const seen = tokens.requestsTo(`/protected/${path}`).slice(before)
      return { res, sent: seen.map((r) => r.headers.authorization) }
    }

    it('answers the next call in the other process with the token a refresh just wrote', async () => {
      const id = await connection('Refreshed elsewhere')
      // Both processes have made a call, so both keep the connection ready.
      for (const p of [a, b]) expect((await callThrough(p, id, 'warm')).res.body.status).toBe(200)
      for (let round = 0; round < 10; round++) {
        const [writer, reader] = round % 2 ? [b, a] : [a, b]
        const old = tokens.issued.at(-1)!
        const refreshed = await writer.api('POST', `/api/v1/connections/${id}/refresh`)
        expect(refreshed.status, JSON.stringify(refreshed.body)).toBe(200)
        const fresh = tokens.issued.at(-1)!
        expect(fresh).not.toBe(old)
        // The old token still works at the API: only the reader's own choice of token shows.
        const requestsBefore = tokens.tokenRequests
        const { res, sent } = await callThrough(reader, id, `round-${round}`)
        expect(res.body.status).toBe(200)
        expect(sent).toEqual([`Bearer ${fresh}`])
        expect(tokens.tokenRequests).toBe(requestsBefore)
      }
    })

    it('refuses the next call in the other process once one deleted the connection', async () => {
      const id = await connection('Deleted elsewhere')
      for (const p of [a, b]) expect((await callThrough(p, id, 'warm')).res.body.status).toBe(200)
      expect((await a.api('DELETE', `/api/v1/connections/${id}`)).status).toBe(204)
      const { res, sent } = await callThrough(b, id, 'after-delete')
      expect(res.status).toBe(404)
      expect(res.body.error.code).toBe('connection.not_found')
      expect(sent).toEqual([])
      const proxied = await b.api('GET', `/proxy/${id}/after-delete`)
      expect(proxied.status).toBe(404)
      expect(tokens.requestsTo('/protected/after-delete')).toEqual([])
    })
  })
}
