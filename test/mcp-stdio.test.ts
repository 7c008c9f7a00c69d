/**
 * `patchbay mcp` (docs/mcp.md) as a local agent runs it: the built CLI spawned by the SDK's
 * stdio client transport, serving a scoped key's tools in-process on the data folder (SQLite, or
 * the PostgreSQL schema), or relaying to a running server's `/mcp` with `PATCHBAY_URL`. stdout
 * carries only the protocol; a revoked key stops working in the running process too.
 */
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js'
import { McpError, type CallToolResult } from '@modelcontextprotocol/sdk/types.js'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { startTestPatchbay, testStoreKinds, type TestPatchbay } from './helpers/patchbay.js'
import { postgresTestUrl } from './helpers/postgres.js'
import { requireBuild } from './helpers/processes.js'
import { startUpstream, type Upstream } from './peers/upstream.js'

const run = promisify(execFile)

/** Polls `check` until it answers something, failing after `ms`. */
async function until<T>(check: () => Promise<T | undefined>, what: string, ms = 10_000) {
  const deadline = Date.now() + ms
  for (;;) {
    const value = await check()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`)
    await new Promise((r) => setTimeout(r, 25))
  }
}

describe.each(await testStoreKinds())('patchbay mcp over stdio on %s', (storeKind) => {
  let t: TestPatchbay
  let up: Upstream
  let main: string
  let env: Record<string, string>
  const ids: Record<string, string> = {}
  const open: { client: Client; stderr: string[]; errors: Error[] }[] = []

  async function spawnMcp(extra: Record<string, string>) {
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [main, 'mcp'],
      env: { ...env, ...extra },
      stderr: 'pipe',
    })
    const stderr: string[] = []
    transport.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk.toString('utf8')))
    const client = new Client({ name: 'stdio-agent', version: '1.0.0' })
    const errors: Error[] = []
    client.onerror = (err) => errors.push(err)
    await client.connect(transport)
    const entry = { client, stderr, errors }
    open.push(entry)
    return entry
  }

  async function createKey(name: string): Promise<{ id: string; key: string }> {
    const res = await t.api('POST', '/api/v1/mcp-keys', {
      name,
      endUser: 'ann',
      connectors: [ids.connector!],
    })
    expect(res.status, JSON.stringify(res.body)).toBe(201)
    return res.body
  }

  beforeAll(async () => {
    main = requireBuild()
    t = await startTestPatchbay({ storeKind })
    up = await startUpstream()
    env = {
      PATCHBAY_DATA_DIR: t.dataDir,
      PATCHBAY_ALLOW_PRIVATE_NETWORK: 'true',
      ...(storeKind === 'postgres'
        ? {
            PATCHBAY_DATABASE_URL: (await postgresTestUrl())!,
            PATCHBAY_DATABASE_SCHEMA: t.schema!,
          }
        : {}),
    }
    const c = await t.api('POST', '/api/v1/connectors', {
      name: 'Notes API',
      baseUrl: `${up.origin}/api/`,
      auth: { type: 'api_key', params: [{ name: 'Key', key: 'X-Api-Key', in: 'header' }] },
      actions: [
        {
          name: 'Add note',
          method: 'POST',
          path: 'notes',
          body: { title: '{{input.title}}' },
          inputs: [{ name: 'title', type: 'text', hint: 'What to remember' }],
        },
      ],
    })
    expect(c.status, JSON.stringify(c.body)).toBe(201)
    ids.connector = c.body.id
    await t.api('POST', `/api/v1/connectors/${c.body.id}/ready`)
    const conn = await t.api('POST', '/api/v1/connections', {
      connector: c.body.id,
      endUser: 'ann',
      values: { 'X-Api-Key': 'stdio-key-4411' },
    })
    expect(conn.body.status).toBe('connected')
  })
  afterEach(async () => {
    await Promise.all(open.splice(0).map((o) => o.client.close()))
  })
  afterAll(async () => {
    await t?.close()
    await up?.close()
  })

  it('serves the key’s tools in-process on the data folder, logging key and tool', async () => {
    const { id, key } = await createKey('stdio local')
    const mcp = await spawnMcp({ PATCHBAY_MCP_KEY: key })
    const { tools } = await mcp.client.listTools()
    expect(tools.map((tool) => tool.name)).toEqual(['notes_api__add_note'])
    expect(tools[0]!.inputSchema).toEqual({
      type: 'object',
      properties: {
        title: { type: 'string', maxLength: 10_000, description: 'What to remember' },
      },
      required: ['title'],
      additionalProperties: false,
    })
    up.requests.length = 0
    const result = (await mcp.client.callTool({
      name: 'notes_api__add_note',
      arguments: { title: 'Milk' },
    })) as CallToolResult
    expect(result.isError).toBeFalsy()
    expect(result.structuredContent).toMatchObject({
      status: 200,
      body: { ok: true, path: '/api/notes' },
      action: { name: 'Add note' },
    })
    expect(up.requests).toHaveLength(1)
    expect(up.requests[0]!.headers['x-api-key']).toBe('stdio-key-4411')
    expect(JSON.parse(up.requests[0]!.body)).toEqual({ title: 'Milk' })
    const entry = await until(async () => {
      const logs = await t.api('GET', `/api/v1/logs?mcpKey=${id}`)
      return logs.body.items[0]
    }, 'the stdio process logged the call')
    expect(entry).toMatchObject({ mcpKeyId: id, tool: 'notes_api__add_note', status: 200 })
    // Nothing but JSON-RPC on stdout: the client parsed every line.
    expect(mcp.errors).toEqual([])
  })

  it('refuses a revoked key in the running process, and a bad key at start', async () => {
    const { id, key } = await createKey('stdio revoke')
    const mcp = await spawnMcp({ PATCHBAY_MCP_KEY: key })
    expect((await mcp.client.listTools()).tools).toHaveLength(1)
    expect((await t.api('DELETE', `/api/v1/mcp-keys/${id}`)).status).toBe(204)
    const err = await mcp.client.listTools().catch((e: unknown) => e)
    expect(err).toBeInstanceOf(McpError)
    expect((err as Error).message).toContain('the MCP key is not valid')

    const bad = await run(process.execPath, [main, 'mcp'], {
      env: { PATH: process.env.PATH ?? '', ...env, PATCHBAY_MCP_KEY: t.adminKey },
    }).catch((e: unknown) => e as { code: number; stdout: string; stderr: string })
    expect(bad).toMatchObject({ code: 1, stdout: '' })
    expect((bad as { stderr: string }).stderr).toContain('admin keys are not accepted')
  })

  // The CLI talks to the API, which the other tests cover on both stores: one store is enough.
  it.skipIf(storeKind !== 'sqlite')(
    'creates, lists and revokes keys with patchbay mcp-key, the key printed once',
    async () => {
      const remote = {
        PATH: process.env.PATH ?? '',
        PATCHBAY_URL: t.url,
        PATCHBAY_ADMIN_KEY: t.adminKey,
      }
      const created = await run(
        process.execPath,
        [
          main,
          '--json',
          'mcp-key',
          'create',
          'cli agent',
          '--end-user',
          'ann',
          '--connector',
          'notes_api',
          '--http-request',
        ],
        { env: remote },
      )
      const key = JSON.parse(created.stdout) as Record<string, unknown>
      expect(key).toMatchObject({
        name: 'cli agent',
        endUser: 'ann',
        connectors: [ids.connector],
        httpRequest: true,
        key: expect.stringMatching(/^pbm_/),
      })
      // Offline, on the data folder, through the same code the server runs.
      const listed = await run(process.execPath, [main, 'mcp-key', 'list'], {
        env: { PATH: process.env.PATH ?? '', ...env, PATCHBAY_ADMIN_KEY: t.adminKey },
      })
      expect(listed.stdout).toContain(key.id as string)
      expect(listed.stdout).toContain('cli agent')
      expect(listed.stdout).not.toContain(key.key as string)
      const revoked = await run(process.execPath, [main, 'mcp-key', 'revoke', key.id as string], {
        env: remote,
      })
      expect(revoked.stdout).toBe(`Revoked ${key.id as string}.\n`)
      const bad = await run(
        process.execPath,
        [main, 'mcp-key', 'create', 'x', '--end-user', 'ann'],
        {
          env: remote,
        },
      ).catch((e: unknown) => e as { code: number; stderr: string })
      expect(bad).toMatchObject({ code: 1 })
      expect((bad as { stderr: string }).stderr).toContain(
        'error: input.invalid: connectors: give connectors, actions or both',
      )
    },
  )

  it('relays to a running server’s /mcp when PATCHBAY_URL is set', async () => {
    const { id, key } = await createKey('stdio relay')
    const mcp = await spawnMcp({ PATCHBAY_MCP_KEY: key, PATCHBAY_URL: t.url })
    expect((await mcp.client.listTools()).tools.map((tool) => tool.name)).toEqual([
      'notes_api__add_note',
    ])
    up.requests.length = 0
    const result = (await mcp.client.callTool({
      name: 'notes_api__add_note',
      arguments: { title: 'Eggs' },
    })) as CallToolResult
    expect(result.structuredContent).toMatchObject({ status: 200 })
    expect(JSON.parse(up.requests[0]!.body)).toEqual({ title: 'Eggs' })
    const logs = await t.api('GET', `/api/v1/logs?mcpKey=${id}`)
    expect(logs.body.items[0]).toMatchObject({ tool: 'notes_api__add_note' })
    // The server refuses a revoked key; the relay answers the request with the error.
    await t.api('DELETE', `/api/v1/mcp-keys/${id}`)
    const err = await mcp.client.listTools().catch((e: unknown) => e)
    expect(err).toBeInstanceOf(McpError)
    expect((err as Error).message).toContain('the MCP key is not valid (unknown or revoked)')
    expect(mcp.errors).toEqual([])
  })
})
