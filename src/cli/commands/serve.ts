/**
 * `patchbay serve`: the HTTP server, with the admin key printed once when it is generated and an
 * example connector on first start.
 *
 * @module
 */
import { readFileSync } from 'node:fs'
import type { Command } from 'commander'
import { createPatchbay, type Patchbay } from '../../index.js'
import { startServer } from '../../server/serve.js'

export function registerServe(program: Command, version: string): void {
  program
    .command('serve')
    .description('start the HTTP server (API, OAuth callbacks, proxy, web UI)')
    .option('-p, --port <port>', 'port (PATCHBAY_PORT, default 4000)')
    .option('--host <host>', 'interface (PATCHBAY_HOST, default 127.0.0.1)')
    .action(async (opts: { port?: string; host?: string }) => {
      const port = Number(opts.port ?? process.env.PATCHBAY_PORT ?? 4000)
      const host = opts.host ?? process.env.PATCHBAY_HOST ?? '127.0.0.1'
      if (!Number.isInteger(port) || port < 0 || port > 65535)
        throw new Error(`--port must be 0..65535, got ${opts.port}`)
      const display =
        host === '0.0.0.0' || host === '::' ? 'localhost' : host.includes(':') ? `[${host}]` : host
      const publicUrl = process.env.PATCHBAY_PUBLIC_URL ?? `http://${display}:${port}`
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
      const seeded = await seedExample(pb, publicUrl)
      const lines = [
        `Patchbay ${version} is running at ${publicUrl}  (store: ${pb.storeDialect}, data: ${pb.dataDir})`,
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
      console.log(lines.join('\n'))
      let stopping = false
      const stop = () => {
        if (stopping) return
        stopping = true
        void server
          .close()
          .then(() => pb.close())
          .then(() => process.exit(0))
      }
      process.on('SIGINT', stop)
      process.on('SIGTERM', stop)
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
