#!/usr/bin/env -S node --max-semi-space-size=4
/**
 * `patchbay <noun> <verb>`: everything the API does, for scripts and CI.
 *
 * @module
 */
import { readFileSync } from 'node:fs'
import { Command } from 'commander'
import { CliError } from './client.js'
import { registerAdminKeyCommands } from './commands/admin.js'
import { registerConnectCommands } from './commands/connect.js'
import { registerMcpCommands } from './commands/mcp.js'
import { registerResourceCommands } from './commands/resources.js'
import { registerSecretsCommands } from './commands/secrets.js'
import { registerServe } from './commands/serve.js'

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  version: string
}

const program = new Command()
  .name('patchbay')
  .description(
    'Custom connectors: authenticate against any HTTP API and run custom actions through connections.',
  )
  .version(pkg.version)
  .option('--json', 'print JSON (for scripts)')
  .showHelpAfterError()

registerServe(program, pkg.version)
registerResourceCommands(program)
registerConnectCommands(program)
registerSecretsCommands(program)
registerAdminKeyCommands(program)
registerMcpCommands(program, pkg.version)

program.parseAsync(process.argv).catch((err: unknown) => {
  const json = process.argv.includes('--json')
  if (err instanceof CliError) {
    if (json && err.body) console.log(JSON.stringify(err.body, null, 2))
    else console.error(`error: ${err.message}`)
  } else console.error(`error: ${(err as Error).message}`)
  process.exitCode = 1
})
