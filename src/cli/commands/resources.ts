/**
 * `patchbay connector|connection|call|action|logs …`: each a thin call to the HTTP API.
 *
 * @module
 */
import { readFileSync } from 'node:fs'
import type { Command } from 'commander'
import type { ConnectorInput } from '../../connector/schema.js'
import type { ConnectionStatus } from '../../connector/literals.js'
import { fillTemplate } from '../../connector/templates.js'
import {
  actions,
  connections,
  connectorTemplates,
  connectors,
  logs,
} from '../../server/contract.js'
import { CliError, expectOk, openClient, type Client } from '../client.js'
import { createOutput, type Output } from '../output.js'

type Run = (client: Client, out: Output) => Promise<void>

function withClient(cmd: Command, run: Run): Promise<void> {
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

/** `-v key=value` pairs; a value that parses as JSON (numbers, arrays, true) is taken as such. */
function pairs(list: string[] = [], flag: string): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const item of list) {
    const i = item.indexOf('=')
    if (i < 1) throw new CliError(`${flag} takes key=value, got "${item}"`)
    out[item.slice(0, i)] = coerce(item.slice(i + 1))
  }
  return out
}

/** A value that parses as JSON (numbers, arrays, true) is taken as such. */
function coerce(raw: string): unknown {
  if (!/^(\[|\{|true$|false$|-?\d+(\.\d+)?$)/.test(raw)) return raw
  try {
    return JSON.parse(raw) as unknown
  } catch {
    return raw
  }
}

/** `key=value` pairs, the values as given. */
function textPairs(list: string[]): Record<string, string> {
  const out: Record<string, string> = {}
  for (const item of list) {
    const i = item.indexOf('=')
    if (i < 1) throw new CliError(`--value takes key=value, got "${item}"`)
    out[item.slice(0, i)] = item.slice(i + 1)
  }
  return out
}

const collect = (v: string, prev: string[] = []) => [...prev, v]

function readJsonFile(file: string): unknown {
  let text: string
  try {
    text = readFileSync(file === '-' ? 0 : file, 'utf8')
  } catch (err) {
    throw new CliError(`cannot read ${file}: ${(err as Error).message}`)
  }
  try {
    return JSON.parse(text)
  } catch (err) {
    throw new CliError(`${file} is not valid JSON: ${(err as Error).message}`)
  }
}

export function registerResourceCommands(program: Command): void {
  const connector = program
    .command('connector')
    .description('connectors: how to authenticate against an API')
  connector
    .command('create')
    .description(
      'create a connector (draft) from a JSON file, or from a template (patchbay connector templates)',
    )
    .option('-f, --file <file>', 'connector JSON (- for stdin)')
    .option('-t, --template <name>', 'a connector template, e.g. github')
    .option(
      '-v, --value <key=value>',
      'with --template: a placeholder (clientId=…, clientSecret=…) or a dotted path into the connector (name=…, auth.scopeDelimiter=…); repeatable',
      collect,
    )
    .option('--set <key=value>', 'the same as --value', collect)
    .option('--ready', 'mark it ready right away')
    .action(
      (
        opts: {
          file?: string
          template?: string
          value?: string[]
          set?: string[]
          ready?: boolean
        },
        cmd: Command,
      ) =>
        withClient(cmd, async (client, out) => {
          if ((opts.file === undefined) === (opts.template === undefined))
            throw new CliError('give one of --file or --template')
          const values = [...(opts.value ?? []), ...(opts.set ?? [])]
          if (opts.file !== undefined && values.length)
            throw new CliError('--value and --set fill a --template; edit the file instead')
          let definition: unknown
          if (opts.template !== undefined) {
            const template = await expectOk(client, connectorTemplates.get, {
              params: { name: opts.template },
            })
            // Placeholders (ids, secrets) are text; other settings may be numbers or lists.
            const names = new Set(template.placeholders.map((p) => p.name))
            const given = Object.entries(textPairs(values)).map(([k, v]) => [
              k,
              names.has(k) ? v : coerce(v),
            ])
            const filled = fillTemplate(template, Object.fromEntries(given))
            if (filled.issues.length)
              throw new CliError(filled.issues.map((i) => `${i.path} ${i.rule}`).join('; '))
            if (filled.missing.length && !out.json)
              out.line(
                `Not filled in, so the connector stays a draft until you set them:\n${filled.missing
                  .map((m) => `  -v ${m.path}=…  ${m.rule}`)
                  .join('\n')}`,
              )
            definition = filled.connector
          } else definition = readJsonFile(opts.file!)
          // The definition as it is: the server checks it.
          let c = await expectOk(client, connectors.create, { body: definition as ConnectorInput })
          if (opts.ready) c = await expectOk(client, connectors.ready, { params: { id: c.id } })
          out.print(
            out.json
              ? c
              : { id: c.id, linkName: c.linkName, name: c.name, stage: c.stage, auth: c.auth.type },
          )
        }),
    )
  connector
    .command('templates [name]')
    .description('list the connector templates, or show one (its placeholders and definition)')
    .action((name: string | undefined, _o, cmd: Command) =>
      withClient(cmd, async (client, out) => {
        if (name !== undefined) {
          const t = await expectOk(client, connectorTemplates.get, { params: { name } })
          if (out.json) return out.print(t)
          out.line(`${t.title} (${t.name}): ${t.description}`)
          out.line(`docs: ${t.docs.join(' ')}`)
          for (const p of t.placeholders)
            out.line(`  -v ${p.name}=…  ${p.label}${p.optional ? ' (optional)' : ''}`)
          return
        }
        const page = await expectOk(client, connectorTemplates.list)
        out.table(
          page.items.map((t) => ({
            name: t.name,
            title: t.title,
            auth: t.grantType ? `${t.authType} (${t.grantType})` : t.authType,
            placeholders: t.placeholders.map((p) => p.name).join(', '),
          })),
          ['name', 'title', 'auth', 'placeholders'],
        )
      }),
    )
  connector
    .command('list')
    .description('list connectors')
    .action((_o, cmd: Command) =>
      withClient(cmd, async (client, out) => {
        const page = await expectOk(client, connectors.list, { query: { limit: 500 } })
        out.table(
          page.items.map((c: any) => ({
            id: c.id,
            linkName: c.linkName,
            name: c.name,
            stage: c.stage,
            auth: c.auth.type,
            connections: c.connectionCount,
          })),
          ['id', 'linkName', 'name', 'stage', 'auth', 'connections'],
        )
      }),
    )
  connector
    .command('show <idOrLinkName>')
    .description('show a connector (secrets masked)')
    .action((id: string, _o, cmd: Command) =>
      withClient(cmd, async (client, out) =>
        out.print(await expectOk(client, connectors.get, { params: { id } })),
      ),
    )
  connector
    .command('ready <idOrLinkName>')
    .description('move a draft connector to ready')
    .action((id: string, _o, cmd: Command) =>
      withClient(cmd, async (client, out) => {
        const c = await expectOk(client, connectors.ready, { params: { id } })
        out.print(out.json ? c : { id: c.id, name: c.name, stage: c.stage })
      }),
    )
  connector
    .command('test-token <idOrLinkName>')
    .description(
      'send the connector’s token request with sample values and show the answer (the token masked); needed before an http_token connector can be marked ready',
    )
    .option('-v, --value <key=value>', 'a connection field the request uses (repeatable)', collect)
    .action((id: string, opts: { value?: string[] }, cmd: Command) =>
      withClient(cmd, async (client, out) => {
        const res = await expectOk(client, connectors.testToken, {
          params: { id },
          body: { values: pairs(opts.value, '--value') },
        })
        if (out.json) out.print(res)
        else {
          out.line(`HTTP ${res.status}${res.problem ? ` — ${res.problem}` : ''}`)
          if (res.token) out.line(`token at ${res.tokenPath}: ${res.token}`)
          out.line(`header: ${res.headerPreview}`)
          out.line(typeof res.body === 'string' ? res.body : JSON.stringify(res.body, null, 2))
        }
        if (!res.ok) process.exitCode = 1
      }),
    )
  connector
    .command('delete <idOrLinkName>')
    .description('delete a connector that has no connections')
    .action((id: string, _o, cmd: Command) =>
      withClient(cmd, async (client, out) => {
        await expectOk(client, connectors.delete, { params: { id } })
        out.print(out.json ? { deleted: id } : `deleted ${id}`)
      }),
    )

  const connection = program
    .command('connection')
    .description('connections: authorized accounts of a connector')
  connection
    .command('create')
    .description(
      'create a connection; browser flows print the authorize URL and wait for the callback',
    )
    .requiredOption('-c, --connector <idOrLinkName>', 'the connector')
    .option('-n, --name <name>', 'a name for the connection')
    .option('-v, --value <key=value>', 'a field value (repeatable)', collect)
    .option('--end-user <id>', 'the end user the connection belongs to')
    .option('--no-wait', 'do not wait for a browser flow to finish')
    .option('--timeout <seconds>', 'how long to wait for a browser flow', '600')
    .action(
      (
        opts: {
          connector: string
          name?: string
          value?: string[]
          endUser?: string
          wait: boolean
          timeout: string
        },
        cmd: Command,
      ) =>
        withClient(cmd, async (client, out) => {
          const body = {
            connector: opts.connector,
            ...(opts.name ? { name: opts.name } : {}),
            ...(opts.endUser ? { endUser: opts.endUser } : {}),
            values: pairs(opts.value, '--value'),
          }
          let c = await expectOk(client, connections.create, { body })
          if (c.status === 'pending') {
            out.line(`Open this URL in a browser to authorize:\n\n  ${c.authorizeUrl}\n`)
            if (opts.wait && client.mode === 'local') {
              out.line(
                '(waiting needs a running server to receive the callback: run `patchbay serve` and set PATCHBAY_URL)',
              )
            } else if (opts.wait) {
              const deadline = Date.now() + Number(opts.timeout) * 1000
              out.line('Waiting for the authorization to finish…')
              while (c.status === 'pending' && Date.now() < deadline) {
                await new Promise((r) => setTimeout(r, 1000))
                c = await expectOk(client, connections.get, { params: { id: c.id } })
              }
            }
          }
          out.print(
            out.json
              ? c
              : {
                  id: c.id,
                  name: c.name,
                  status: c.status,
                  statusMessage: c.statusMessage,
                  identity: c.identity,
                },
          )
          if (c.status === 'error') process.exitCode = 1
        }),
    )
  connection
    .command('list')
    .description('list connections')
    .option('-c, --connector <idOrLinkName>', 'only this connector’s')
    .option('--end-user <id>', 'only this end user’s')
    .option('--status <status>', 'pending, connected, needs_reauth or error')
    .action((opts: { connector?: string; endUser?: string; status?: string }, cmd: Command) =>
      withClient(cmd, async (client, out) => {
        const page = await expectOk(client, connections.list, {
          query: {
            limit: 500,
            connector: opts.connector,
            endUser: opts.endUser,
            // As typed: the server names the statuses it takes.
            status: opts.status as ConnectionStatus | undefined,
          },
        })
        out.table(
          page.items.map((c: any) => ({
            id: c.id,
            connector: c.connector.linkName,
            name: c.name,
            endUser: c.endUser,
            status: c.status,
            identity: c.identity,
          })),
          ['id', 'connector', 'name', 'endUser', 'status', 'identity'],
        )
      }),
    )
  for (const [verb, route, description] of [
    ['show', connections.get, 'show a connection (never a secret)'],
    ['test', connections.test, 'test a connection'],
    ['refresh', connections.refresh, 'refresh a connection’s credentials now'],
  ] as const) {
    connection
      .command(`${verb} <id>`)
      .description(description)
      .action((id: string, _o, cmd: Command) =>
        withClient(cmd, async (client, out) => {
          const res = await expectOk(client, route, { params: { id } })
          out.print(res)
          if (verb === 'test' && 'ok' in res && !res.ok) process.exitCode = 1
        }),
      )
  }
  connection
    .command('delete <id>')
    .description('delete a connection (revoking its tokens where the provider allows)')
    .action((id: string, _o, cmd: Command) =>
      withClient(cmd, async (client, out) => {
        await expectOk(client, connections.delete, { params: { id } })
        out.print(out.json ? { deleted: id } : `deleted ${id}`)
      }),
    )

  program
    .command('call <connection> <method> <path>')
    .description(
      'send a request through a connection (a path joins the base URL; a full URL must be on its origin)',
    )
    .option('-d, --data <body>', 'request body: JSON, or text; @file reads a file')
    .option('-H, --header <name:value>', 'a header (repeatable)', collect)
    .option('-q, --query <key=value>', 'a query parameter (repeatable)', collect)
    .action(
      (
        connectionId: string,
        method: string,
        path: string,
        opts: { data?: string; header?: string[]; query?: string[] },
        cmd: Command,
      ) =>
        withClient(cmd, async (client, out) => {
          const headers: Record<string, string> = {}
          for (const h of opts.header ?? []) {
            const i = h.indexOf(':')
            if (i < 1) throw new CliError(`--header takes name:value, got "${h}"`)
            headers[h.slice(0, i).trim()] = h.slice(i + 1).trim()
          }
          let body: unknown
          if (opts.data !== undefined) {
            const text = opts.data.startsWith('@')
              ? readFileSync(opts.data.slice(1), 'utf8')
              : opts.data
            try {
              body = JSON.parse(text)
            } catch {
              body = text
            }
          }
          const target = /^https?:\/\//i.test(path) ? { url: path } : { path }
          const query = pairs(opts.query, '--query') as Record<string, string>
          const res = await expectOk(client, connections.request, {
            params: { id: connectionId },
            body: {
              method,
              ...target,
              ...(Object.keys(query).length ? { query } : {}),
              ...(Object.keys(headers).length ? { headers } : {}),
              ...(body === undefined ? {} : { body }),
            },
          })
          if (out.json) return out.print(res)
          out.line(
            `HTTP ${res.status}${res.refreshed ? ' (credentials refreshed)' : ''}${res.error ? ` — ${res.error.message}` : ''}`,
          )
          out.line(typeof res.body === 'string' ? res.body : JSON.stringify(res.body, null, 2))
          if (res.status >= 400 || res.error) process.exitCode = 1
        }),
    )

  const action = program.command('action').description('saved custom actions')
  action
    .command('run <actionId>')
    .description('run a saved action through a connection')
    .requiredOption('--connection <id>', 'the connection to run it with')
    .option('-i, --input <key=value>', 'an input (repeatable)', collect)
    .action((actionId: string, opts: { connection: string; input?: string[] }, cmd: Command) =>
      withClient(cmd, async (client, out) => {
        const res = await expectOk(client, actions.run, {
          params: { id: actionId },
          body: { connection: opts.connection, inputs: pairs(opts.input, '--input') },
        })
        if (out.json) return out.print(res)
        out.line(
          `HTTP ${res.status}${res.refreshed ? ' (credentials refreshed)' : ''}${res.error ? ` — ${res.error.message}` : ''}`,
        )
        out.line(typeof res.body === 'string' ? res.body : JSON.stringify(res.body, null, 2))
        if (res.status >= 400 || res.error) process.exitCode = 1
      }),
    )

  program
    .command('logs')
    .description('log entries, newest first (secrets redacted)')
    .option('--connection <id>', 'only this connection’s')
    .option('--action <id>', 'only this action’s')
    .option('--connector <id>', 'only this connector’s')
    .option('-n, --limit <n>', 'how many', '20')
    .action(
      (
        opts: { connection?: string; action?: string; connector?: string; limit: string },
        cmd: Command,
      ) =>
        withClient(cmd, async (client, out) => {
          const { connection, action, connector } = opts
          const page = await expectOk(client, logs.list, {
            query: { limit: opts.limit, connection, action, connector },
          })
          out.table(
            page.items.map((l: any) => ({
              time: l.time,
              kind: l.kind,
              method: l.method,
              url: l.url,
              status: l.status,
              ms: l.durationMs,
              refresh: l.refreshOutcome,
              error: l.error,
            })),
            ['time', 'kind', 'method', 'url', 'status', 'ms', 'refresh', 'error'],
          )
        }),
    )
}
