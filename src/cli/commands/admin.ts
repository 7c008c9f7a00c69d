/**
 * `patchbay admin-key create|list|revoke|rotate-bootstrap`: named, revocable admin keys through
 * the API like every other command; `rotate-bootstrap` rewrites the data folder's `admin.key`
 * through the library (there is no API to replace the key that guards the API).
 *
 * @module
 */
import type { Command } from 'commander'
import { createPatchbay } from '../../index.js'
import { createLogger } from '../../lib/logger.js'
import { adminKeys } from '../../server/contract.js'
import { expectOk, openClient, type Client } from '../client.js'
import { createOutput, type Output } from '../output.js'

async function withClient(
  cmd: Command,
  run: (client: Client, out: Output) => Promise<void>,
): Promise<void> {
  const out = createOutput(Boolean(cmd.optsWithGlobals<{ json?: boolean }>().json))
  const client = await openClient()
  try {
    await run(client, out)
  } finally {
    await client.close()
  }
}

export function registerAdminKeyCommands(program: Command): void {
  const adminKey = program
    .command('admin-key')
    .description('admin keys: named and revocable, besides the bootstrap key')
  adminKey
    .command('create <name>')
    .description('create a named admin key (printed once: save it)')
    .action((name: string, _o, cmd: Command) =>
      withClient(cmd, async (client, out) => {
        const created = await expectOk(client, adminKeys.create, { body: { name } })
        out.print(created)
        out.line('Save the key now: it is not shown again (only its hash is stored).')
      }),
    )
  adminKey
    .command('list')
    .description('list named admin keys (never the keys themselves)')
    .action((_o, cmd: Command) =>
      withClient(cmd, async (client, out) => {
        const items: Record<string, unknown>[] = []
        let cursor: string | undefined
        do {
          const page = await expectOk(client, adminKeys.list, { query: { limit: 500, cursor } })
          items.push(...(page.items as unknown as Record<string, unknown>[]))
          cursor = page.nextCursor
        } while (cursor)
        out.table(items, ['id', 'name', 'createdAt', 'revokedAt'])
      }),
    )
  adminKey
    .command('revoke <id>')
    .description('revoke a named admin key (refused from the next request on, in every server)')
    .action((id: string, _o, cmd: Command) =>
      withClient(cmd, async (client, out) => {
        await expectOk(client, adminKeys.revoke, { params: { id } })
        if (out.json) out.print({ id, revoked: true })
        else out.line(`Revoked ${id}.`)
      }),
    )
  adminKey
    .command('rotate-bootstrap')
    .description(
      'replace the generated bootstrap key in <data folder>/admin.key (not with PATCHBAY_ADMIN_KEY)',
    )
    .action(async (_o, cmd: Command) => {
      const out = createOutput(Boolean(cmd.optsWithGlobals<{ json?: boolean }>().json))
      const env = process.env
      if (env.PATCHBAY_ADMIN_KEY)
        throw new Error(
          'PATCHBAY_ADMIN_KEY is set, so the bootstrap key is not a file to rotate: set a new value ' +
            'there and restart the servers (or use named keys: `patchbay admin-key create <name>`)',
        )
      const pb = await createPatchbay({
        refreshIntervalMs: 0,
        env,
        logger: createLogger({ PATCHBAY_LOG_LEVEL: 'warn', ...env }, { toStderr: true }),
      })
      try {
        const { key, file } = pb.admin.rotateBootstrapKey()
        out.print({ key, file })
        out.line(
          'Save the new key now (it is also in the file). Servers on this data folder refuse the old one from now on.',
        )
      } finally {
        await pb.close()
      }
    })
}
