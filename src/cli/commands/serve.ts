/**
 * `patchbay serve`: the HTTP server — one process, or `--workers N` behind one port
 * (`server/cluster.ts`) — with the admin key printed once when it is generated and an example
 * connector on first start.
 *
 * @module
 */
import { readFileSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import type { Command } from 'commander'
import { createPatchbay, type Patchbay } from '../../index.js'
import {
  isWorker,
  onWorkerShutdown,
  reportReady,
  runPrimary,
  workerIndex,
} from '../../server/cluster.js'
import { startServer } from '../../server/serve.js'

export function registerServe(program: Command, version: string): void {
  program
    .command('serve')
    .description('start the HTTP server (API, OAuth callbacks, proxy, web UI)')
    .option('-p, --port <port>', 'port (PATCHBAY_PORT, default 4000)')
    .option('--host <host>', 'interface (PATCHBAY_HOST, default 127.0.0.1)')
    .option(
      '-w, --workers <n>',
      'processes behind the port (PATCHBAY_WORKERS, default: the number of cores; 1 for one process)',
    )
    .action(async (opts: { port?: string; host?: string; workers?: string }) => {
      const port = Number(opts.port ?? process.env.PATCHBAY_PORT ?? 4000)
      const host = opts.host ?? process.env.PATCHBAY_HOST ?? '127.0.0.1'
      if (!Number.isInteger(port) || port < 0 || port > 65535)
        throw new Error(`--port must be 0..65535, got ${opts.port}`)
      const workersText = opts.workers ?? process.env.PATCHBAY_WORKERS
      const workers = workersText === undefined ? availableParallelism() : Number(workersText)
      if (!Number.isInteger(workers) || workers < 1 || workers > 256)
        throw new Error(
          `--workers (PATCHBAY_WORKERS) must be a whole number from 1 to 256, got ${workersText}`,
        )
      const display =
        host === '0.0.0.0' || host === '::' ? 'localhost' : host.includes(':') ? `[${host}]` : host
      const publicUrl = process.env.PATCHBAY_PUBLIC_URL ?? `http://${display}:${port}`
      const banner = (
        pb: Pick<Patchbay, 'storeDialect' | 'dataDir'>,
        admin: ReturnType<Patchbay['admin']['ensureKey']>,
        seeded: string | undefined,
        processes: number,
      ) => {
        const lines = [
          `Patchbay ${version} is running at ${publicUrl}  (store: ${pb.storeDialect}, data: ${pb.dataDir}${processes > 1 ? `, ${processes} workers` : ''})`,
          admin.generated
            ? `Admin key (shown once; also saved in ${admin.file}):\n  ${admin.key}`
            : admin.file
              ? `Admin key: in ${admin.file}`
              : 'Admin key: from PATCHBAY_ADMIN_KEY',
          `API: ${publicUrl}/api/v1 (OpenAPI at ${publicUrl}/api/v1/openapi.json)`,
          `MCP: ${publicUrl}/mcp (Streamable HTTP, with a scoped key from \`patchbay mcp-key create\`)`,
        ]
        if (seeded)
          lines.push(`Example connector "${seeded}" is ready: see the README's walkthrough.`)
        return lines.join('\n')
      }

      if (workers > 1 && !isWorker()) {
        // The primary prepares the store once (migrations, the key check, the admin key), then
        // only supervises.
        const pb = await createPatchbay({ publicUrl, refreshIntervalMs: 0, purgeIntervalMs: 0 })
        const admin = pb.admin.ensureKey()
        const shown = { storeDialect: pb.storeDialect, dataDir: pb.dataDir }
        await pb.close()
        await runPrimary({
          workers,
          banner: (ready) => banner(shown, admin, ready.find((r) => r.seeded)?.seeded, workers),
        })
        process.exit()
      }

      const pb = await createPatchbay({ publicUrl })
      const server = await startServer(pb, {
        port,
        host,
        version,
        mcpAllowAdminKey: /^(1|true|yes)$/i.test(process.env.PATCHBAY_MCP_ALLOW_ADMIN_KEY ?? ''),
      })
      // The demo API is this server itself: allow exactly its own address, whatever the network policy.
      pb.allowEndpoint(
        `${host === '0.0.0.0' || host === '::' || host === 'localhost' ? '127.0.0.1' : host}:${server.port}`,
      )
      const admin = pb.admin.ensureKey()
      // One process seeds (the first worker): two would race to create the same connector.
      const seeded = workerIndex() === 0 ? await seedExample(pb, publicUrl) : undefined
      let stopping = false
      const stop = () => {
        if (stopping) return
        stopping = true
        void server
          .close()
          .then(() => pb.close())
          .then(() => process.exit(0))
      }
      if (isWorker()) {
        reportReady({ port: server.port, seeded })
        onWorkerShutdown(stop)
      } else {
        console.log(banner(pb, admin, seeded, 1))
        process.on('SIGINT', stop)
        process.on('SIGTERM', stop)
      }
    })
}

/** On an empty database, adds the demo connector, pointed at this server's built-in demo API. */
async function seedExample(pb: Patchbay, publicUrl: string): Promise<string | undefined> {
  if (!(await pb.seedOnce('example'))) return undefined
  if ((await pb.connectors.list({ limit: 1 })).items.length > 0) return undefined
  const def = JSON.parse(
    readFileSync(new URL('../../../examples/demo.json', import.meta.url), 'utf8'),
  ) as Record<string, unknown>
  def.baseUrl = `${publicUrl}/demo/api/`
  const c = await pb.connectors.create(def)
  await pb.connectors.ready(c.id)
  return c.linkName
}
