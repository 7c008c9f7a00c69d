/**
 * The connector templates (`templates/*.json`, docs/templates.md) against a real Patchbay server
 * on loopback: each parses as a connector, is a draft missing only its placeholders as shipped,
 * becomes ready with them filled in, and — for browser flows — builds the authorization URL the
 * docs table names, with the scopes joined by the template's delimiter and PKCE where it says;
 * the docs table lists exactly the template files; the API route and the CLI serve them.
 */
import { execFile } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { readTemplates, TEMPLATES_DIR } from '../src/connector/template-files.js'
import { fillTemplate, type ConnectorTemplate } from '../src/connector/templates.js'
import { startTestPatchbay, type TestPatchbay } from './helpers/patchbay.js'

const ROOT = join(import.meta.dirname, '..')
const templates = readTemplates()
const SAMPLE = { clientId: 'tmpl-client-id-123', clientSecret: 'tmpl-client-secret-0123456789' }

/** The sample values of the template's own placeholders. */
const samplesFor = (template: ConnectorTemplate) =>
  Object.fromEntries(
    template.placeholders.map((p) => [p.name, SAMPLE[p.name as keyof typeof SAMPLE]]),
  )

type Obj = Record<string, any>

/** A row of the docs table, by column. */
interface DocRow {
  name: string
  title: string
  auth: string
  grant: string
  pkce: string
  endpoint: string
  delimiter: string
  kept: string[]
}

const unquote = (cell: string) => cell.replace(/^`|`$/g, '')

function docRows(): DocRow[] {
  const text = readFileSync(join(ROOT, 'docs', 'templates.md'), 'utf8')
  return text
    .split('\n')
    .filter((line) => line.startsWith('| `'))
    .map((line) => {
      const cells = line
        .slice(1, -1)
        .split(' | ')
        .map((c) => c.trim())
      const [name, title, auth, grant, pkce, endpoint, delimiter, kept] = cells
      return {
        name: unquote(name!),
        title: title!,
        auth: unquote(auth!),
        grant: unquote(grant!),
        pkce: pkce!,
        endpoint: unquote(endpoint!),
        delimiter: delimiter!,
        kept: kept === '—' ? [] : kept!.split(', ').map(unquote),
      }
    })
}

/** Values for the connection fields a connection must give (a field with a default keeps it). */
function sampleValues(fields: Obj[] = []): Obj {
  const values: Obj = {}
  for (const f of fields) {
    if (f.optional || f.default !== undefined) continue
    values[f.name] = f.type === 'select' ? f.options[0][1] : 'example'
  }
  return values
}

/** `{{field}}` in a docs URL with the connection's value (or the field's default). */
function rendered(url: string, fields: Obj[] = [], values: Obj): string {
  return url.replace(/\{\{\s*(\w+)\s*\}\}/g, (_, key: string) => {
    const value = values[key] ?? fields.find((f) => f.name === key)?.default
    if (value === undefined) throw new Error(`no sample value for {{${key}}}`)
    return String(value)
  })
}

const usesBrowser = (t: ConnectorTemplate) =>
  ['authorization_code', 'authorization_code_pkce'].includes(
    (t.connector.auth as Obj | undefined)?.grantType,
  )

describe('connector templates', () => {
  let t: TestPatchbay
  beforeAll(async () => {
    t = await startTestPatchbay()
  })
  afterAll(() => t?.close())

  it('ships at least 30 templates, each named by its file, in the npm package', () => {
    expect(templates.length).toBeGreaterThanOrEqual(30)
    const names = templates.map((x) => x.name)
    for (const wanted of [
      'github',
      'gitlab',
      'google',
      'google_service_account',
      'microsoft_graph',
      'slack',
      'salesforce',
      'hubspot',
      'zoho_crm',
      'notion',
      'stripe',
      'shopify',
      'atlassian',
      'zendesk',
      'intercom',
      'asana',
      'linear',
      'airtable',
      'dropbox',
      'box',
      'quickbooks',
      'xero',
      'mailchimp',
      'twilio',
      'sendgrid',
      'aws_s3',
      'discord',
      'figma',
      'calendly',
      'zoom',
      'pipedrive',
    ])
      expect(names).toContain(wanted)
    expect(TEMPLATES_DIR).toBe(join(ROOT, 'templates') + '/')
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { files: string[] }
    expect(pkg.files).toContain('templates')
  })

  it('are listed in docs/templates.md exactly, with their auth type, grant, PKCE, delimiter and kept values', () => {
    const rows = docRows()
    expect(rows.map((r) => r.name).sort()).toEqual(templates.map((x) => x.name).sort())
    for (const template of templates) {
      const row = rows.find((r) => r.name === template.name)!
      const auth = template.connector.auth as Obj
      const grant: string | undefined = auth.grantType
      const browser = usesBrowser(template)
      expect(row.title, template.name).toBe(template.title)
      expect(row.auth, template.name).toBe(auth.type)
      expect(row.grant, template.name).toBe(grant ?? '—')
      expect(row.pkce, template.name).toBe(
        browser ? (grant === 'authorization_code_pkce' ? 'yes' : 'no') : '—',
      )
      expect(row.endpoint, template.name).toBe(browser ? auth.authorizationUrl : '—')
      const delimiter = auth.scopes?.length
        ? ({ ' ': 'space', ',': 'comma' } as Obj)[auth.scopeDelimiter ?? ',']
        : '—'
      expect(row.delimiter, template.name).toBe(delimiter)
      expect(row.kept, template.name).toEqual(Object.keys(auth.tokenResponseValues ?? {}))
    }
  })

  it('answers the list and each template at /api/v1/connector-templates, and 404 for another', async () => {
    const list = await t.api('GET', '/api/v1/connector-templates')
    expect(list.status).toBe(200)
    expect(list.body.items).toHaveLength(templates.length)
    expect(list.body.items.find((i: Obj) => i.name === 'salesforce')).toEqual({
      name: 'salesforce',
      title: 'Salesforce',
      description: expect.stringContaining('instance_url'),
      docs: expect.arrayContaining([
        expect.stringMatching(/^https:\/\/developer\.salesforce\.com/),
      ]),
      authType: 'oauth2',
      grantType: 'authorization_code_pkce',
      placeholders: [
        expect.objectContaining({ name: 'clientId', path: 'auth.clientId' }),
        expect.objectContaining({ name: 'clientSecret', path: 'auth.clientSecret', secret: true }),
      ],
    })
    const one = await t.api('GET', '/api/v1/connector-templates/github')
    expect(one.status).toBe(200)
    expect(one.body).toEqual(templates.find((x) => x.name === 'github'))
    const missing = await t.api('GET', '/api/v1/connector-templates/nope')
    expect(missing.status).toBe(404)
    expect(missing.body.error.code).toBe('connector.template_not_found')
    const doc = await t.api('GET', '/api/v1/openapi.json')
    expect(Object.keys(doc.body.paths)).toEqual(
      expect.arrayContaining(['/connector-templates', '/connector-templates/{name}']),
    )
  })

  describe.each(templates.map((x) => [x.name, x] as const))('%s', (name, template) => {
    const connector = template.connector as Obj
    const auth = connector.auth as Obj

    it('parses as a connector: as shipped, a draft that lacks only its placeholders', async () => {
      for (const p of template.placeholders) expect(p.path.startsWith('auth.')).toBe(true)
      const res = await t.api('POST', '/api/v1/connectors', {
        ...connector,
        linkName: `${name}_draft`,
      })
      expect(res.status, JSON.stringify(res.body)).toBe(201)
      // What keeps it a draft is a placeholder, and nothing else.
      const placeholders = template.placeholders.map((p) => p.path)
      const missing: string[] = res.body.missing.map((m: Obj) => m.path)
      for (const path of missing) expect(placeholders, path).toContain(path)
      expect(missing.length > 0).toBe(template.placeholders.some((p) => !p.optional))
      expect(res.body.customAction).toMatchObject({
        enabled: true,
        help: { learnMoreUrl: expect.stringMatching(/^https:\/\//) },
      })
    })

    it('becomes ready with its placeholders filled in', async () => {
      const filled = fillTemplate(template, samplesFor(template))
      expect(filled.issues).toEqual([])
      expect(filled.missing).toEqual([])
      const res = await t.api('POST', '/api/v1/connectors', filled.connector)
      expect(res.status, JSON.stringify(res.body)).toBe(201)
      expect(res.body.missing).toEqual([])
      const ready = await t.api('POST', `/api/v1/connectors/${res.body.id}/ready`)
      expect(ready.status, JSON.stringify(ready.body)).toBe(200)
      expect(ready.body.stage).toBe('ready')
      for (const p of template.placeholders) {
        const stored = p.path.split('.').reduce<any>((o, k) => o?.[k], ready.body)
        expect(stored, p.name).toBe(p.secret ? '********' : SAMPLE[p.name as keyof typeof SAMPLE])
      }
    })

    it.runIf(usesBrowser(template))(
      'builds the authorization URL of the docs table, with every scope and PKCE where it says',
      async () => {
        const row = docRows().find((r) => r.name === name)!
        const linkName = (connector.linkName as string | undefined) ?? `${name}_ready`
        const filled = fillTemplate(template, { ...samplesFor(template), linkName: `${name}_flow` })
        const created = await t.api('POST', '/api/v1/connectors', filled.connector)
        expect(created.status, JSON.stringify(created.body)).toBe(201)
        expect((await t.api('POST', `/api/v1/connectors/${created.body.id}/ready`)).status).toBe(
          200,
        )
        const values = sampleValues(connector.fields)
        const conn = await t.api('POST', '/api/v1/connections', {
          connector: created.body.id,
          values,
        })
        expect(conn.status, JSON.stringify(conn.body)).toBe(201)
        expect(conn.body.status).toBe('pending')
        const url = new URL(conn.body.authorizeUrl)
        const expected = new URL(rendered(row.endpoint, connector.fields, values))
        expect(`${url.origin}${url.pathname}`, linkName).toBe(
          `${expected.origin}${expected.pathname}`,
        )
        const q = Object.fromEntries(url.searchParams)
        expect(q).toMatchObject({
          response_type: 'code',
          client_id: SAMPLE.clientId,
          redirect_uri: `${t.url}/oauth/callback`,
          state: expect.stringMatching(/^[\w-]{43}$/),
          ...(auth.authorizationParams ?? {}),
        })
        const scopes: Obj[] = auth.scopes ?? []
        if (scopes.length === 0) expect(q.scope).toBeUndefined()
        else expect(q.scope).toBe(scopes.map((s) => s.value).join(auth.scopeDelimiter ?? ','))
        if (row.pkce === 'yes') {
          expect(q.code_challenge).toMatch(/^[\w-]{43}$/)
          expect(q.code_challenge_method).toBe('S256')
        } else {
          expect(q.code_challenge).toBeUndefined()
          expect(q.code_challenge_method).toBeUndefined()
        }
        expect(conn.body.authorizeUrl).not.toContain(SAMPLE.clientSecret)
      },
    )
  })
})

const CLI = join(ROOT, 'dist', 'cli', 'main.js')
const run = promisify(execFile)

async function cli(args: string[], env: Record<string, string>) {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args], {
      env: { PATH: process.env.PATH ?? '', ...env },
    })
    return { stdout, stderr, code: 0 }
  } catch (err) {
    const e = err as { stdout: string; stderr: string; code: number }
    return { stdout: e.stdout, stderr: e.stderr, code: e.code }
  }
}

describe('connector templates from the CLI', () => {
  let t: TestPatchbay
  let env: Record<string, string>
  beforeAll(async () => {
    if (!existsSync(CLI))
      throw new Error('dist/cli/main.js is missing: run `npm run build` (npm test does it first)')
    t = await startTestPatchbay()
    env = { PATCHBAY_URL: t.url, PATCHBAY_ADMIN_KEY: t.adminKey }
  })
  afterAll(() => t?.close())

  it('lists the templates and shows one with its placeholders', async () => {
    const list = await cli(['connector', 'templates'], env)
    expect(list.code, list.stderr).toBe(0)
    expect(list.stdout).toMatch(
      /github\s+GitHub\s+oauth2 \(authorization_code\)\s+clientId, clientSecret/,
    )
    expect(list.stdout.trim().split('\n').length).toBeGreaterThanOrEqual(templates.length)
    const one = await cli(['connector', 'templates', 'zoho_crm'], env)
    expect(one.code, one.stderr).toBe(0)
    expect(one.stdout).toContain('-v clientId=…  Client ID')
    expect(one.stdout).toContain('https://www.zoho.com/crm/developer/docs/api/v8/scopes.html')
  })

  it('creates a ready connector from a template with -v and --set, printing no secret', async () => {
    const res = await cli(
      [
        'connector',
        'create',
        '--template',
        'github',
        '-v',
        'clientId=cli-client-id',
        '--set',
        'clientSecret=cli-client-secret-2468',
        '--set',
        'name=GitHub ops',
        '-v',
        'auth.expiresIn=7200',
        '--ready',
        '--json',
      ],
      env,
    )
    expect(res.code, res.stderr).toBe(0)
    expect(res.stdout + res.stderr).not.toContain('cli-client-secret-2468')
    const out = JSON.parse(res.stdout)
    expect(out).toMatchObject({
      name: 'GitHub ops',
      linkName: 'github_ops',
      stage: 'ready',
      auth: {
        type: 'oauth2',
        clientId: 'cli-client-id',
        clientSecret: '********',
        expiresIn: 7200,
      },
    })
    const stored = await t.api('GET', '/api/v1/connectors/github_ops')
    expect(stored.body.auth.authorizationUrl).toBe('https://github.com/login/oauth/authorize')
  })

  it('leaves a draft naming the placeholders left out, and refuses unknown keys and names', async () => {
    const draft = await cli(['connector', 'create', '--template', 'slack'], env)
    expect(draft.code, draft.stderr).toBe(0)
    expect(draft.stdout).toContain('-v clientId=…')
    expect(draft.stdout).toMatch(/stage\s*:?\s*draft/)
    const bad = await cli(['connector', 'create', '--template', 'slack', '-v', 'nope=1'], env)
    expect(bad.code).toBe(1)
    expect(bad.stderr).toContain('nope is not a placeholder of the slack template')
    const unknown = await cli(['connector', 'create', '--template', 'nope'], env)
    expect(unknown.code).toBe(1)
    expect(unknown.stderr).toContain('connector.template_not_found')
    const both = await cli(['connector', 'create'], env)
    expect(both.code).toBe(1)
    expect(both.stderr).toContain('give one of --file or --template')
  })
})
