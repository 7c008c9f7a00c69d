/**
 * `patchbay mcp`: the MCP server over stdio for a local agent (docs/mcp.md), with a scoped key;
 * in-process on the data folder, or relayed to `PATCHBAY_URL`'s `/mcp`. stdout carries only the
 * protocol. `patchbay mcp-key create|list|revoke` manages the scoped keys through the API.
 *
 * @module
 */
import type { Command } from 'commander'
import { createPatchbay } from '../../index.js'
import { createLogger } from '../../lib/logger.js'
import type { RunningMcpStdio } from '../../mcp/stdio.js'
import { mcpKeys } from '../../server/contract.js'
import { CliError, expectOk, openClient, type Client } from '../client.js'
import { createOutput, type Output } from '../output.js'

function withClient(cmd: Command, run: (client: Client, out: Output) => Promise<void>) {
  const json = Boolean(cmd.optsWithGlobals<{ json?: boolean }>().json)
  return (async () => {
    const client = await openClient()
    try {
      await run(client, createOutput(json))
    } finally {
      await client.close()
    }
  })()
}

const collect = (value: string, previous: string[] = []) => [...previous, value]

interface CreateOptions {
  endUser?: string
  connection?: string[]
  connector?: string[]
  action?: string[]
  httpRequest?: boolean
}

export function registerMcpCommands(program: Command, version: string): void {
  program
    .command('mcp')
    .description(
      'serve MCP over stdio for a local AI agent: the tools of a scoped MCP key (PATCHBAY_MCP_KEY)',
    )
    .option('--key <key>', 'the scoped MCP key (prefer PATCHBAY_MCP_KEY: arguments show in ps)')
    .action(async (opts: { key?: string }) => {
      const env = process.env
      const key = opts.key ?? env.PATCHBAY_MCP_KEY
      if (!key)
        throw new CliError(
          'give the scoped MCP key in PATCHBAY_MCP_KEY (or --key); create one with `patchbay mcp-key create`',
        )
      let running: RunningMcpStdio
      let close: () => Promise<void>
      if (env.PATCHBAY_URL) {
        const { relayMcpStdio } = await import('../../mcp/stdio.js')
        running = await relayMcpStdio(env.PATCHBAY_URL, key)
        close = () => running.close()
      } else {
        // The background timers stay off: this process does what its agent asks, nothing more.
        const pb = await createPatchbay({
          refreshIntervalMs: 0,
          purgeIntervalMs: 0,
          env,
          logger: createLogger({ PATCHBAY_LOG_LEVEL: 'warn', ...env }, { toStderr: true }),
        })
        try {
          const { serveMcpStdio } = await import('../../mcp/stdio.js')
          running = await serveMcpStdio(pb, key, { version })
        } catch (err) {
          await pb.close()
          throw err
        }
        // Closing flushes the log entries of the last calls before the process ends.
        close = () => running.close().then(() => pb.close())
      }
      let stopping: Promise<void> | undefined
      const stop = () => (stopping ??= close().then(() => process.exit(0)))
      process.on('SIGINT', () => void stop())
      process.on('SIGTERM', () => void stop())
      await running.done
      await stop()
    })

  const mcpKey = program
    .command('mcp-key')
    .description('scoped MCP keys for AI agents: which end user, which tools')
  mcpKey
    .command('create <name>')
    .description('create a scoped MCP key (printed once: save it)')
    .option('--end-user <id>', "the tools use this end user's connections")
    .option(
      '--connection <id>',
      'or: the tools use this connection (repeat, one per connector)',
      collect,
    )
    .option(
      '--connector <idOrLinkName>',
      'every saved action of this connector is a tool (repeat)',
      collect,
    )
    .option('--action <id>', 'this saved action is a tool (repeat)', collect)
    .option(
      '--http-request',
      'also an http_request tool for each --connector with custom actions on',
    )
    .action((name: string, opts: CreateOptions, cmd: Command) =>
      withClient(cmd, async (client, out) => {
        const created = await expectOk(client, mcpKeys.create, {
          body: {
            name,
            ...(opts.endUser !== undefined ? { endUser: opts.endUser } : {}),
            ...(opts.connection ? { connections: opts.connection } : {}),
            ...(opts.connector ? { connectors: opts.connector } : {}),
            ...(opts.action ? { actions: opts.action } : {}),
            ...(opts.httpRequest ? { httpRequest: true } : {}),
          },
        })
        out.print(created)
        out.line(
          'Save the key now: it is not shown again (only its hash is stored). Give it to the agent as PATCHBAY_MCP_KEY for `patchbay mcp`, or as "Authorization: Bearer <key>" on /mcp.',
        )
      }),
    )
  mcpKey
    .command('list')
    .description('list scoped MCP keys (never the keys themselves)')
    .action((_o, cmd: Command) =>
      withClient(cmd, async (client, out) => {
        const items: Record<string, unknown>[] = []
        let cursor: string | undefined
        do {
          const page = await expectOk(client, mcpKeys.list, { query: { limit: 500, cursor } })
          items.push(...(page.items as unknown as Record<string, unknown>[]))
          cursor = page.nextCursor
        } while (cursor)
        out.table(items, [
          'id',
          'name',
          'endUser',
          'connections',
          'connectors',
          'actions',
          'httpRequest',
          'createdAt',
          'revokedAt',
        ])
      }),
    )
  mcpKey
    .command('revoke <id>')
    .description('revoke a scoped MCP key (refused from the next request on, in every process)')
    .action((id: string, _o, cmd: Command) =>
      withClient(cmd, async (client, out) => {
        await expectOk(client, mcpKeys.revoke, { params: { id } })
        if (out.json) out.print({ id, revoked: true })
        else out.line(`Revoked ${id}.`)
      }),
    )
}
