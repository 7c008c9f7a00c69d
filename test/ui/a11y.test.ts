/**
 * An axe-core scan of every page (and the builder's every tab and auth form, dialogs, and the
 * phone layout) finds no serious or critical violation.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { json, startUpstream, type Upstream } from '../peers/upstream.js'
import { startTestPatchbay, type TestPatchbay } from '../helpers/patchbay.js'
import {
  ensureWebBuilt,
  launchBrowser,
  seriousViolations,
  signIn,
  skipBrowser,
  type AxeViolation,
} from './helpers.js'

function describeViolations(vs: AxeViolation[]): string {
  return vs
    .map(
      (v) =>
        `${v.impact} ${v.id}: ${v.help}\n` +
        v.nodes
          .slice(0, 5)
          .map((n) => `    ${JSON.stringify(n.target)} ${n.failureSummary ?? ''}`)
          .join('\n'),
    )
    .join('\n')
}

describe.skipIf(skipBrowser)('accessibility (axe-core)', () => {
  let up: Upstream
  let t: TestPatchbay
  let browser: Browser
  let context: BrowserContext
  let page: Page
  let connectorId: string
  let connectionId: string

  beforeAll(async () => {
    await ensureWebBuilt()
    up = await startUpstream()
    up.route('/me', (_req, res) => json(res, 200, { id: 7, email: 'ann@example.com' }))
    t = await startTestPatchbay()
    browser = await launchBrowser()
    // axe-core is injected as a script tag, which the UI's CSP would refuse.
    context = await browser.newContext({ bypassCSP: true, viewport: { width: 1280, height: 800 } })
    page = await context.newPage()
    page.setDefaultTimeout(20_000)
  })
  afterAll(async () => {
    await context?.close()
    await browser?.close()
    await t?.close()
    await up?.close()
  })

  async function expectClean(what: string) {
    const vs = await seriousViolations(page)
    expect(vs, `${what}:\n${describeViolations(vs)}`).toEqual([])
  }

  it('the sign-in page (and the scan catches a planted violation)', async () => {
    await page.goto(t.url)
    await page.getByLabel('Admin key').waitFor()
    await expectClean('sign-in')
    await page.evaluate(() => {
      const b = document.createElement('button')
      b.id = 'planted'
      document.body.append(b) // a button with no accessible name: critical
    })
    expect((await seriousViolations(page)).map((v) => v.id)).toContain('button-name')
    await page.evaluate(() => document.getElementById('planted')?.remove())
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.getByText('Admin key is required').waitFor()
    await expectClean('sign-in with an error')
  })

  it('the empty connectors, connections, console and logs pages', async () => {
    await signIn(page, t.url, t.adminKey)
    await page.getByText('No connectors yet').waitFor()
    await expectClean('connectors (empty)')
    await page.goto(`${t.url}/connections`)
    await page.getByText('No connections yet').waitFor()
    await expectClean('connections (empty)')
    await page.goto(`${t.url}/console`)
    await page.getByText('No connections to call through').waitFor()
    await expectClean('console (empty)')
    await page.goto(`${t.url}/logs`)
    await page.getByText('No calls logged yet').waitFor()
    await expectClean('logs (empty)')
    await page.goto(`${t.url}/nowhere`)
    await page.getByRole('heading', { name: 'Page not found' }).waitFor()
    await expectClean('not found')
  })

  it('the builder: every tab, every auth form, with errors shown', async () => {
    await page.goto(`${t.url}/connectors/new`)
    await page.getByLabel('Name', { exact: true }).fill('-bad name')
    await page.getByText('Advanced: allowed origins, identity, circuit breaker').click()
    await expectClean('builder: general with an error')

    await page.getByRole('tab', { name: 'Security' }).click()
    const types = [
      'Basic authentication',
      'API key',
      'Bearer token',
      'OAuth 1.0a',
      'AWS Signature Version 4',
      'HTTP request token',
      'Custom authentication',
      'Multiple (the user picks one)',
    ]
    for (const label of types) {
      await page.getByLabel('Auth type').selectOption({ label })
      const confirm = page.getByRole('dialog', { name: 'Change the auth type?' })
      if (await confirm.isVisible()) {
        await expectClean(`builder: type-change confirmation to ${label}`)
        await confirm.getByRole('button', { name: /^Change to/ }).click()
      }
      await page.getByText('Extra headers and query, refreshOn, detectOn').click()
      if (label === 'Custom authentication') {
        await page.getByRole('button', { name: 'Add step' }).click()
        await page.getByRole('button', { name: 'Add step 1 headers'.replace(/s$/, '') }).click()
      }
      if (label === 'Multiple (the user picks one)') {
        await page.getByLabel('New option key').fill('key')
        await page.getByRole('button', { name: 'Add option' }).click()
      }
      await expectClean(`builder: security ${label}`)
    }

    await page.getByRole('tab', { name: 'Connection fields' }).click()
    await page.getByRole('button', { name: 'Add field' }).click()
    await page.getByLabel('Field 1 type').selectOption({ label: 'Multiselect' })
    await page.getByRole('button', { name: 'Add option to field 1' }).click()
    await page.getByRole('button', { name: 'Add field' }).click()
    await page.getByLabel('Field 2 type').selectOption({ label: 'Group (advanced settings)' })
    await page.getByRole('button', { name: 'Add field 2 property' }).click()
    await expectClean('builder: connection fields')

    await page.getByRole('tab', { name: 'Custom actions' }).click()
    await page.getByRole('button', { name: 'Add saved action' }).click()
    await page.getByText('Help shown with custom actions').click()
    await expectClean('builder: custom actions')

    await page.getByRole('tab', { name: 'JSON' }).click()
    await page.getByLabel('Connector definition (JSON)').fill('{ "name": ')
    await page.getByText(/^Line 1:/).waitFor()
    await expectClean('builder: JSON with a syntax error')

    await page.getByRole('button', { name: 'Create connector' }).click()
    await page.getByRole('alert').filter({ hasText: 'Not saved' }).waitFor()
    await expectClean('builder: not saved')
  })

  it('a ready connector, its connections, the console and the logs, filled', async () => {
    const created = await t.api('POST', '/api/v1/connectors', {
      name: 'Acme CRM',
      description: 'Contacts',
      baseUrl: up.url,
      fields: [
        {
          name: 'region',
          label: 'Region',
          type: 'select',
          options: [
            ['EU', 'eu'],
            ['US', 'us'],
          ],
        },
        {
          name: 'advanced',
          label: 'Advanced settings',
          type: 'object',
          optional: true,
          properties: [{ name: 'timeout', type: 'number', optional: true }],
        },
      ],
      identity: { path: 'me', valuePath: 'email' },
      auth: { type: 'api_key', params: [{ name: 'API key', key: 'X-Api-Key' }] },
      customAction: { enabled: true, help: { body: 'Calls the Acme API.' } },
      actions: [
        {
          name: 'Get contact',
          method: 'GET',
          path: 'contacts/{{input.id}}',
          inputs: [{ name: 'id', label: 'Contact ID', type: 'text' }],
        },
      ],
    })
    connectorId = created.body.id
    await t.api('POST', `/api/v1/connectors/${connectorId}/ready`)
    const conn = await t.api('POST', '/api/v1/connections', {
      connector: connectorId,
      name: 'Acme EU',
      endUser: 'user-1',
      values: { region: 'eu', 'X-Api-Key': 'k-123456789' },
    })
    connectionId = conn.body.id

    await page.goto(`${t.url}/connectors`)
    await page.getByRole('link', { name: 'Acme CRM', exact: true }).waitFor()
    await expectClean('connectors list')
    await page.getByRole('link', { name: 'Acme CRM', exact: true }).click()
    await page.getByText('Ready · 1 connection').waitFor()
    await expectClean('builder: ready connector')
    await page.getByRole('tab', { name: 'Security' }).click()
    await expectClean('builder: ready security (read-only)')
    await page.getByRole('button', { name: 'Delete' }).click()
    await page.getByRole('dialog', { name: 'Delete connector?' }).waitFor()
    await expectClean('confirmation dialog')
    await page.getByRole('button', { name: 'Cancel' }).click()

    await page.goto(`${t.url}/connections`)
    await page.getByRole('link', { name: 'Acme EU' }).waitFor()
    await expectClean('connections list')
    await page.goto(`${t.url}/connections/new?connector=${connectorId}`)
    await page.getByLabel('API key').waitFor()
    await page.getByText('Advanced settings').click()
    await expectClean('add connection')
    await page.getByRole('button', { name: 'Create connection' }).click()
    await page.getByText('Check the highlighted fields.').waitFor()
    await expectClean('add connection with errors')

    await page.goto(`${t.url}/connections/${connectionId}`)
    await page.getByRole('button', { name: 'Test connection' }).click()
    await page.getByText('Test passed').waitFor()
    await expectClean('connection detail')

    await page.goto(`${t.url}/console?connection=${connectionId}`)
    await page.getByLabel('Path').fill('me')
    await page.getByRole('button', { name: 'Add header' }).click()
    await page.getByRole('button', { name: 'Send', exact: true }).click()
    await page.getByRole('region', { name: 'Response' }).getByText('"ann@example.com"').waitFor()
    await page.getByRole('button', { name: 'Copy as curl' }).click()
    await page.getByRole('button', { name: 'Run Get contact' }).click()
    await page.getByText(/^Response headers \(/).click()
    await expectClean('console with a response')
    await page.getByRole('button', { name: 'Save as action' }).click()
    await page.getByRole('dialog', { name: 'Save as action' }).waitFor()
    await expectClean('save-as-action dialog')
    await page.getByRole('button', { name: 'Cancel' }).click()

    await page.goto(`${t.url}/logs`)
    await page
      .getByRole('button', { name: /Details of GET/ })
      .first()
      .click()
    await page.getByRole('dialog', { name: 'Log entry' }).waitFor()
    await expectClean('log entry')
    await page.getByRole('button', { name: 'Close' }).click()
    await page.getByLabel('Follow live').check()
    await expectClean('logs')
  })

  it('the phone layout (390 wide)', async () => {
    await page.setViewportSize({ width: 390, height: 844 })
    for (const path of [
      '/connectors',
      `/connectors/${connectorId}`,
      '/connections',
      `/connections/${connectionId}`,
      `/console?connection=${connectionId}`,
      '/logs',
    ]) {
      await page.goto(`${t.url}${path}`)
      await page.getByRole('main').getByRole('heading', { level: 1 }).first().waitFor()
      await page.getByRole('button', { name: 'Menu' }).click()
      await page
        .getByRole('navigation', { name: 'Main' })
        .getByRole('link', { name: 'Logs' })
        .waitFor()
      await expectClean(`phone ${path}`)
      const overflow = await page.evaluate(
        () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
      )
      expect(overflow, `${path} scrolls sideways`).toBeLessThanOrEqual(0)
    }
  })
})
