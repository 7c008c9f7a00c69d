/**
 * The MCP keys page in Chromium (docs/mcp.md): a key created for an end user and a connector is
 * shown once with a client configuration, works for the SDK's MCP client, shows in the logs with
 * its tool, and is refused once revoked from the page; bad input is named under its field; the
 * page passes an axe-core scan.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import {
  StreamableHTTPClientTransport,
  StreamableHTTPError,
} from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestPatchbay, type TestPatchbay } from '../helpers/patchbay.js'
import { startUpstream, type Upstream } from '../peers/upstream.js'
import { ensureWebBuilt, launchBrowser, seriousViolations, signIn, skipBrowser } from './helpers.js'

describe.skipIf(skipBrowser)('MCP keys page', () => {
  let up: Upstream
  let t: TestPatchbay
  let browser: Browser
  let context: BrowserContext
  let page: Page
  let key: string
  const clients: Client[] = []

  async function agent(): Promise<Client> {
    const client = new Client({ name: 'ui-test-agent', version: '1.0.0' })
    await client.connect(
      new StreamableHTTPClientTransport(new URL('/mcp', t.url), {
        requestInit: { headers: { authorization: `Bearer ${key}` } },
      }),
    )
    clients.push(client)
    return client
  }

  beforeAll(async () => {
    await ensureWebBuilt()
    up = await startUpstream()
    t = await startTestPatchbay()
    const c = await t.api('POST', '/api/v1/connectors', {
      name: 'Acme CRM',
      baseUrl: `${up.origin}/v1/`,
      auth: { type: 'bearer' },
      actions: [
        {
          name: 'Find deal',
          method: 'GET',
          path: 'deals/{{input.id}}',
          inputs: [{ name: 'id', type: 'text' }],
        },
      ],
    })
    await t.api('POST', `/api/v1/connectors/${c.body.id}/ready`)
    await t.api('POST', '/api/v1/connections', {
      connector: c.body.id,
      name: 'Ann at Acme',
      endUser: 'ann',
      values: { token: 'ann-token-5150' },
    })
    browser = await launchBrowser()
    // axe-core is injected as a script tag, which the UI's CSP would refuse.
    context = await browser.newContext({ bypassCSP: true, viewport: { width: 1280, height: 900 } })
    page = await context.newPage()
    page.setDefaultTimeout(20_000)
    await signIn(page, t.url, t.adminKey)
  })
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()))
    await context?.close()
    await browser?.close()
    await t?.close()
    await up?.close()
  })

  it('names a bad field under it and creates nothing', async () => {
    await page
      .getByRole('navigation', { name: 'Main' })
      .getByRole('link', { name: 'MCP keys' })
      .click()
    await page.getByRole('heading', { level: 1, name: 'MCP keys' }).waitFor()
    await page.getByText('No MCP keys yet').waitFor()
    await page.getByLabel('Name').fill('support agent')
    await page.getByLabel('End user').fill('not valid!')
    await page
      .getByRole('group', { name: 'Connectors' })
      .getByRole('checkbox', { name: 'Acme CRM' })
      .check()
    await page.getByRole('button', { name: 'Create key' }).click()
    await page
      .locator('.field-error')
      .getByText(/may use only letters, digits/)
      .waitFor()
    expect((await t.api('GET', '/api/v1/mcp-keys')).body.items).toEqual([])
    expect(await seriousViolations(page)).toEqual([])
  })

  it('creates a key shown once, which an MCP client then uses', async () => {
    await page.getByLabel('End user').fill('ann')
    await page.getByRole('button', { name: 'Create key' }).click()
    await page.getByText('Copy the key now: it is not shown again.').waitFor()
    key = await page.getByLabel('New MCP key').inputValue()
    expect(key).toMatch(/^pbm_[A-Za-z0-9_-]{43}$/)
    const config = JSON.parse(
      (await page.getByLabel('MCP client configuration').textContent()) ?? '',
    )
    expect(config).toEqual({
      mcpServers: {
        patchbay: {
          command: 'patchbay',
          args: ['mcp'],
          env: { PATCHBAY_MCP_KEY: key, PATCHBAY_URL: t.url },
        },
      },
    })
    const row = page.getByRole('row').filter({ hasText: 'support agent' })
    await row.getByText('end user ann').waitFor()
    await row.getByText('all actions of Acme CRM').waitFor()
    await row.getByText('active').waitFor()
    expect(await seriousViolations(page)).toEqual([])

    const client = await agent()
    const { tools } = await client.listTools()
    expect(tools.map((tool) => tool.name)).toEqual(['acme_crm__find_deal'])
    const result = await client.callTool({ name: 'acme_crm__find_deal', arguments: { id: '8' } })
    expect(result.structuredContent).toMatchObject({ status: 200, body: { path: '/v1/deals/8' } })
    expect(up.requests.at(-1)!.headers.authorization).toBe('Bearer ann-token-5150')

    // The key disappears once the page is left: it is never listed again.
    await page.getByRole('button', { name: 'Done' }).click()
    await page.getByText('Copy the key now').waitFor({ state: 'detached' })
    expect(await page.content()).not.toContain(key)
  })

  it('shows the tool and the key of the call in the logs, filtered by key', async () => {
    await page
      .getByRole('row')
      .filter({ hasText: 'support agent' })
      .getByRole('link', { name: 'Logs' })
      .click()
    await page.getByRole('heading', { level: 1, name: 'Logs' }).waitFor()
    await page.getByText('MCP tool acme_crm__find_deal · key support agent').waitFor()
    expect(await page.getByLabel('MCP key').inputValue()).toMatch(/^mk_/)
    await page.getByRole('button', { name: /^Details of GET/ }).click()
    const dialog = page.getByRole('dialog', { name: 'Log entry' })
    await dialog.getByText('acme_crm__find_deal').waitFor()
    await dialog.getByText('support agent').waitFor()
    await page.keyboard.press('Escape')
    await page.getByLabel('MCP tool').fill('no_such_tool')
    await page.getByText('No calls logged yet').waitFor()
  })

  it('revokes a key after a confirmation; the agent is refused from its next request', async () => {
    await page
      .getByRole('navigation', { name: 'Main' })
      .getByRole('link', { name: 'MCP keys' })
      .click()
    await page.getByRole('button', { name: 'Revoke support agent' }).click()
    const dialog = page.getByRole('dialog', { name: 'Revoke MCP key?' })
    await dialog.getByText(/refused from their next request on/).waitFor()
    await dialog.getByRole('button', { name: 'Revoke key' }).click()
    await page
      .getByRole('row')
      .filter({ hasText: 'support agent' })
      .getByText(/^revoked /)
      .waitFor()
    const err = await clients[0]!.listTools().catch((e: unknown) => e)
    expect(err).toBeInstanceOf(StreamableHTTPError)
    expect((err as StreamableHTTPError).code).toBe(401)
  })
})
