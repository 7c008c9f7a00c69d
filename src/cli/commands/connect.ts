/**
 * `patchbay connect <connector> --end-user ID`: prints a connect URL an end user opens to connect
 * their own account (docs/connect.md); `patchbay connect-session list|end` and `patchbay end-user
 * list|delete` manage the rest.
 *
 * @module
 */
import type { Command } from 'commander'
import { connectSessions, endUsers as endUserRoutes } from '../../server/contract.js'
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

/** `30m`, `2h`, `90s` or plain seconds → seconds. */
export function parseDuration(text: string): number {
  const m = /^(\d+)\s*(s|m|h)?$/i.exec(text.trim())
  if (!m)
    throw new CliError(`--expires-in takes seconds or a duration like 30m or 2h, got "${text}"`)
  const unit = (m[2] ?? 's').toLowerCase()
  return Number(m[1]) * (unit === 'h' ? 3600 : unit === 'm' ? 60 : 1)
}

interface ConnectOptions {
  endUser: string
  email?: string
  displayName?: string
  returnUrl?: string
  allowedOrigin?: string
  expiresIn?: string
  reconnect?: string
}

export function registerConnectCommands(program: Command): void {
  program
    .command('connect <connector...>')
    .description(
      'print a connect URL: the end user opens it to connect their own account to these connectors',
    )
    .requiredOption('--end-user <id>', 'whose account it is (your own user id)')
    .option('--email <email>', "the end user's email, shown in the end-user list")
    .option('--display-name <name>', "the end user's name, shown on the connect page")
    .option('--return-url <url>', 'where to send the browser when done (with connectionId, status)')
    .option('--allowed-origin <origin>', 'the origin of the page that opens the connect popup')
    .option('--expires-in <duration>', 'how long the URL works: seconds, or 30m, 2h (at most 24h)')
    .option('--reconnect <connectionId>', 're-authorize this connection of the end user instead')
    .action((connectors: string[], opts: ConnectOptions, cmd: Command) =>
      withClient(cmd, async (client, out) => {
        const session = await expectOk(client, connectSessions.create, {
          body: {
            endUser: {
              id: opts.endUser,
              ...(opts.email ? { email: opts.email } : {}),
              ...(opts.displayName ? { displayName: opts.displayName } : {}),
            },
            connectors,
            ...(opts.reconnect ? { reconnect: opts.reconnect } : {}),
            ...(opts.returnUrl ? { returnUrl: opts.returnUrl } : {}),
            ...(opts.allowedOrigin ? { allowedOrigin: opts.allowedOrigin } : {}),
            ...(opts.expiresIn ? { expiresIn: parseDuration(opts.expiresIn) } : {}),
          },
        })
        if (out.json) out.print(session)
        else {
          // The URL alone on stdout, for `URL=$(patchbay connect …)`; the rest on stderr.
          out.line(session.url)
          process.stderr.write(`session ${session.id}, valid until ${session.expiresAt}\n`)
        }
      }),
    )

  const sessions = program
    .command('connect-session')
    .description('connect sessions: links end users open to connect their accounts')
  sessions
    .command('list')
    .description('list live connect sessions')
    .action((_o, cmd: Command) =>
      withClient(cmd, async (client, out) => {
        const page = await expectOk(client, connectSessions.list)
        out.table(
          page.items.map((s: any) => ({
            id: s.id,
            endUser: s.endUser.id,
            connectors: s.connectors?.join(',') ?? '(all)',
            reconnect: s.reconnect,
            connections: s.connections.length,
            expiresAt: s.expiresAt,
          })),
          ['id', 'endUser', 'connectors', 'reconnect', 'connections', 'expiresAt'],
        )
      }),
    )
  sessions
    .command('end <id>')
    .description('end a connect session now')
    .action((id: string, _o, cmd: Command) =>
      withClient(cmd, async (client, out) => {
        await expectOk(client, connectSessions.delete, { params: { id } })
        out.print(out.json ? { ended: id } : `ended ${id}`)
      }),
    )

  const endUsers = program
    .command('end-user')
    .description('end users: whose accounts connections hold')
  endUsers
    .command('list')
    .description('list end users with their connections')
    .action((_o, cmd: Command) =>
      withClient(cmd, async (client, out) => {
        const page = await expectOk(client, endUserRoutes.list, { query: { limit: 500 } })
        if (out.json) return out.print(page)
        out.table(
          page.items.map((u: any) => ({
            id: u.id,
            email: u.email,
            displayName: u.displayName,
            connections: u.connections
              .map((c: any) => `${c.id} (${c.connector.linkName}, ${c.status})`)
              .join('; '),
          })),
          ['id', 'email', 'displayName', 'connections'],
        )
      }),
    )
  endUsers
    .command('delete <id>')
    .description("delete (and revoke) all the end user's connections")
    .action((id: string, _o, cmd: Command) =>
      withClient(cmd, async (client, out) => {
        await expectOk(client, endUserRoutes.delete, { params: { id } })
        out.print(out.json ? { deleted: id } : `deleted end user ${id} and their connections`)
      }),
    )
}
