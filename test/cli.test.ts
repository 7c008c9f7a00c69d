import { execFile } from 'node:child_process'
import { existsSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestPatchbay, type TestPatchbay } from './helpers/patchbay.js'
import { json, startUpstream, type Upstream } from './peers/upstream.js'

const run = promisify(execFile)
const CLI = join(import.meta.dirname, '..', 'dist', 'cli', 'main.js')

async function cli(
  args: string[],
  env: Record<string, string>,
): Promise<{ stdout: string; stderr: string; code: number }> {
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

describe('the CLI', () => {
  let up: Upstream
  let t: TestPatchbay
  beforeAll(async () => {
    if (!existsSync(CLI))
      throw new Error('dist/cli/main.js is missing: run `npm run build` (npm test does it first)')
    up = await startUpstream()
    up.route('*', (req, res) =>
      json(res, req.headers['x-api-key'] === 'cli-secret-777' ? 200 : 401, {
        path: req.path,
        body: req.body,
      }),
    )
    t = await startTestPatchbay()
  })
  afterAll(async () => {
    await t.close()
    await up.close()
  })

  it('creates, connects, calls and reads logs against a running server without printing the secret', async () => {
    const env = { PATCHBAY_URL: t.url, PATCHBAY_ADMIN_KEY: t.adminKey }
    const file = join(mkdtempSync(join(tmpdir(), 'pb-cli-')), 'c.json')
    const { writeFileSync } = await import('node:fs')
    writeFileSync(
      file,
      JSON.stringify({
        name: 'Cli API',
        baseUrl: up.url,
        auth: { type: 'api_key', params: [{ name: 'Key', key: 'X-Api-Key' }] },
        customAction: { enabled: true },
      }),
    )
    const created = await cli(['connector', 'create', '-f', file, '--ready', '--json'], env)
    expect(created.code, created.stderr).toBe(0)
    expect(JSON.parse(created.stdout)).toMatchObject({ linkName: 'cli_api', stage: 'ready' })
    const conn = await cli(
      ['connection', 'create', '-c', 'cli_api', '-v', 'X-Api-Key=cli-secret-777', '--json'],
      env,
    )
    expect(conn.code, conn.stderr).toBe(0)
    const id = JSON.parse(conn.stdout).id as string
    const call = await cli(['call', id, 'POST', 'things', '-d', '{"a":1}', '-H', 'X-Extra: 1'], env)
    expect(call.code, call.stderr).toBe(0)
    expect(call.stdout).toContain('HTTP 200')
    expect(call.stdout).toContain('"path": "/things"')
    expect(up.requests.at(-1)!.headers['x-extra']).toBe('1')
    const logs = await cli(['logs', '--connection', id], env)
    expect(logs.stdout).toMatch(/POST\s+http:\/\/127\.0\.0\.1:\d+\/things\s+200/)
    const list = await cli(['connection', 'list'], env)
    const show = await cli(['connection', 'show', id], env)
    for (const out of [created, conn, call, logs, list, show])
      expect(out.stdout + out.stderr).not.toContain('cli-secret-777')
  })

  it('works offline on the data folder', async () => {
    const env = { PATCHBAY_DATA_DIR: mkdtempSync(join(tmpdir(), 'pb-cli-')) }
    const created = await cli(
      [
        'connector',
        'create',
        '-f',
        join(import.meta.dirname, '..', 'examples', 'text-token.json'),
        '--json',
      ],
      env,
    )
    expect(created.code, created.stderr).toBe(0)
    const list = await cli(['connector', 'list'], env)
    expect(list.stdout).toMatch(
      /intercom_style_text_token\s+Intercom style text token\s+draft\s+bearer\s+0/,
    )
  })

  it('exits 1 with the API error for bad input', async () => {
    const env = { PATCHBAY_URL: t.url, PATCHBAY_ADMIN_KEY: t.adminKey }
    const res = await cli(['connection', 'show', 'co_missing'], env)
    expect(res.code).toBe(1)
    expect(res.stderr).toContain('connection.not_found')
    const wrongKey = await cli(['connector', 'list'], {
      PATCHBAY_URL: t.url,
      PATCHBAY_ADMIN_KEY: 'nope',
    })
    expect(wrongKey.code).toBe(1)
    expect(wrongKey.stderr).toContain('auth.unauthorized')
  })
})
