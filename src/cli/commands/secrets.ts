/**
 * `patchbay secrets rotate`: re-encrypts every stored secret under a new key while servers keep
 * running. The one command that works on the data folder through the library rather
 * than through a server: it needs the key files (or `PATCHBAY_SECRET_KEY`) and the database
 * (`PATCHBAY_DATA_DIR` / `PATCHBAY_DATABASE_URL`), which no API call should hand out.
 *
 * @module
 */
import type { Command } from 'commander'
import { createPatchbay } from '../../index.js'
import { createLogger } from '../../lib/logger.js'
import { createOutput } from '../output.js'

export function registerSecretsCommands(program: Command): void {
  const secrets = program.command('secrets').description('secrets at rest')
  secrets
    .command('rotate')
    .description(
      're-encrypt every stored secret under a new key, servers running (key files: a new key is ' +
        'generated; PATCHBAY_SECRET_KEY: set the new key, the old one in PATCHBAY_SECRET_KEY_PREVIOUS, first)',
    )
    .action(async (_opts: unknown, cmd: Command) => {
      const out = createOutput(Boolean(cmd.optsWithGlobals<{ json?: boolean }>().json))
      const env = process.env
      const pb = await createPatchbay({
        refreshIntervalMs: 0,
        env,
        logger: createLogger({ PATCHBAY_LOG_LEVEL: 'warn', ...env }, { toStderr: true }),
      })
      try {
        const fromEnv = Boolean(env.PATCHBAY_SECRET_KEY)
        if (!out.json)
          process.stderr.write(
            fromEnv
              ? 'Re-sealing every secret under PATCHBAY_SECRET_KEY…\n'
              : `Writing a new key to ${pb.dataDir}/secret.key and re-sealing every secret…\n`,
          )
        const result = await pb.secrets.rotate()
        if (out.json) out.print(result)
        else {
          out.line(
            `Done: ${result.resealed} re-sealed, ${result.alreadyCurrent} already current; every secret is under key ${result.keyId}.`,
          )
          if (fromEnv && env.PATCHBAY_SECRET_KEY_PREVIOUS)
            out.line(
              'Now remove PATCHBAY_SECRET_KEY_PREVIOUS from every server and restart them: nothing needs the old key any more.',
            )
        }
      } finally {
        await pb.close()
      }
    })
}
