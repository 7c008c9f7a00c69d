/**
 * Everything a connector author or an upstream wrote is shown as text, never as HTML. The browser
 * context bypasses the CSP here, so only the rendering stands between the markup and a script.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { NAME_RULE } from '../../src/connector/rules.js'
import { startUpstream, type Upstream } from '../peers/upstream.js'
import { startTestPatchbay, type TestPatchbay } from '../helpers/patchbay.js'
import { ensureWebBuilt, launchBrowser, signIn, skipBrowser } from './helpers.js'

const XSS = `<img src=x onerror="window.__pwned=(window.__pwned||0)+1">`

describe.skipIf(skipBrowser)('user-provided text renders as text', () => {
  let up: Upstream
  let t: TestPatchbay
  let browser: Browser
  let context: BrowserContext
  let page: Page
  let connectionId: string

  beforeAll(async () => {
    await ensureWebBuilt()
    up = await startUpstream()
    up.route('/page', (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' })
      res.end(`<html><body>${XSS}</body></html>`)
    })
    up.route('/json', (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ [XSS]: XSS }))
    })
    t = await startTestPatchbay()
    const created = await t.api('POST', '/api/v1/connectors', {
      name: 'Markup API',
      baseUrl: up.url,
      fields: [{ name: 'region', label: XSS, type: 'text', hint: XSS }],
      auth: { type: 'bearer', parameterName: XSS },
      customAction: {
        enabled: true,
        help: { body: XSS, learnMoreText: XSS, learnMoreUrl: 'https://example.com/' },
      },
      actions: [
        {
          name: 'Get page',
          method: 'GET',
          path: 'page',
          inputs: [{ name: 'q', label: XSS, type: 'text', optional: true }],
        },
      ],
    })
    expect(created.status, JSON.stringify(created.body)).toBe(201)
    await t.api('POST', `/api/v1/connectors/${created.body.id}/ready`)
    const conn = await t.api('POST', '/api/v1/connections', {
      connector: created.body.id,
      name: XSS,
      values: { region: XSS, token: 'tok-123456789' },
    })
    expect(conn.status, JSON.stringify(conn.body)).toBe(201)
    connectionId = conn.body.id
    browser = await launchBrowser()
    context = await browser.newContext({ bypassCSP: true, viewport: { width: 1280, height: 800 } })
    page = await context.newPage()
    page.setDefaultTimeout(20_000)
    await signIn(page, t.url, t.adminKey)
  })
  afterAll(async () => {
    await context?.close()
    await browser?.close()
    await t?.close()
    await up?.close()
  })

  async function expectNoMarkup() {
    const found = await page.evaluate(() => ({
      pwned: (window as { __pwned?: number }).__pwned,
      images: document.querySelectorAll('img[src="x"]').length,
    }))
    expect(found).toEqual({ pwned: undefined, images: 0 })
  }

  it('shows a connector name typed with markup as text, with the rule it breaks', async () => {
    await page.getByRole('link', { name: 'New connector' }).click()
    // Short enough for the length rule, so the character rule is the one that shows.
    const name = '<img src=x onerror=__pwned=1>'
    await page.getByLabel('Name', { exact: true }).fill(name)
    await page.getByText(`Name ${NAME_RULE}`, { exact: true }).waitFor()
    expect(await page.getByLabel('Name', { exact: true }).inputValue()).toBe(name)
    await page.getByRole('tab', { name: 'JSON' }).click()
    expect(await page.getByLabel('Connector definition (JSON)').inputValue()).toContain(
      JSON.stringify(name),
    )
    await expectNoMarkup()
  })

  it('shows connection names, field labels and help text as text', async () => {
    await page.goto(`${t.url}/connections`)
    await page.getByRole('link', { name: XSS }).waitFor()
    await page.getByRole('link', { name: XSS }).click()
    await page.getByRole('heading', { level: 1, name: XSS }).waitFor()
    await page.getByText(XSS, { exact: true }).first().waitFor() // the region value
    await expectNoMarkup()

    await page.goto(`${t.url}/connections/new`)
    await page.getByLabel('Connector').selectOption({ label: 'Markup API' })
    await page.getByLabel(XSS, { exact: true }).first().waitFor()
    await expectNoMarkup()
  })

  it('shows a response body and a log body with markup as text', async () => {
    await page.goto(`${t.url}/console?connection=${connectionId}`)
    await page.getByText(XSS, { exact: true }).first().waitFor() // the help text
    await page.getByLabel('Path').fill('page')
    await page.getByRole('button', { name: 'Send', exact: true }).click()
    const response = page.getByRole('region', { name: 'Response' })
    await response.getByLabel('Response body').getByText(XSS, { exact: false }).waitFor()
    await expectNoMarkup()

    await page.getByLabel('Path').fill('json')
    await page.getByRole('button', { name: 'Send', exact: true }).click()
    await response.getByText(JSON.stringify(XSS)).first().waitFor()
    await expectNoMarkup()

    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Logs' }).click()
    const row = page
      .getByRole('row')
      .filter({ hasText: `${up.url}page` })
      .first()
    await row.getByRole('button', { name: /Details of GET/ }).click()
    const dialog = page.getByRole('dialog', { name: 'Log entry' })
    await dialog.getByLabel('Response body').getByText(XSS, { exact: false }).waitFor()
    await expectNoMarkup()
  })

  it('shows saved-action input labels with markup as text', async () => {
    await page.goto(`${t.url}/console?connection=${connectionId}`)
    await page.getByRole('button', { name: 'Run Get page' }).click()
    await page.getByLabel(XSS, { exact: true }).waitFor()
    await expectNoMarkup()
  })
})
