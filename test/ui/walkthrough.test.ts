/**
 * A new user's walk through the UI in real Chromium, selecting only by role, label and text:
 * build an api_key connector from an empty UI, mark it ready, add a connection, call a loopback
 * API that checks the key from the console, and find the call in the logs with the key redacted.
 * Saves the README screenshots on the way.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { json, startUpstream, type Upstream } from '../peers/upstream.js'
import { startTestPatchbay, type TestPatchbay } from '../helpers/patchbay.js'
import {
  dismissToasts,
  ensureWebBuilt,
  launchBrowser,
  screenshotPath,
  signIn,
  skipBrowser,
} from './helpers.js'

const SECRET = 'sk_live_8d1f0c2b9e7a'

describe.skipIf(skipBrowser)('the web UI walkthrough', () => {
  let up: Upstream
  let t: TestPatchbay
  let browser: Browser
  let context: BrowserContext
  let page: Page

  beforeAll(async () => {
    await ensureWebBuilt()
    up = await startUpstream()
    up.route('/contacts', (req, res) => {
      if (req.headers['x-api-key'] !== SECRET)
        return json(res, 401, { error: 'missing or wrong X-Api-Key' })
      json(res, 200, {
        items: [
          { id: 1, name: 'Ada Lovelace', email: 'ada@example.com' },
          { id: 2, name: 'Alan Turing', email: 'alan@example.com' },
        ],
        limit: Number(req.query.get('limit') ?? 10),
      })
    })
    t = await startTestPatchbay()
    browser = await launchBrowser()
    context = await browser.newContext({ viewport: { width: 1280, height: 800 } })
    page = await context.newPage()
    page.setDefaultTimeout(20_000)
  })
  afterAll(async () => {
    await context?.close()
    await browser?.close()
    await t?.close()
    await up?.close()
  })

  it('builds an api_key connector from an empty UI and marks it ready', async () => {
    await signIn(page, t.url, t.adminKey)
    await page.getByText('No connectors yet').waitFor()
    await page.getByRole('link', { name: 'Create a connector' }).click()
    await page.getByRole('heading', { level: 1, name: 'New connector' }).waitFor()

    await page.getByLabel('Name', { exact: true }).fill('Acme CRM')
    expect(await page.getByLabel('Link name').inputValue()).toBe('acme_crm')
    await page.getByLabel('Description').fill('Contacts and deals (test)')
    await page.getByLabel('Base URL').fill(up.url)

    await page.getByRole('tab', { name: 'Security' }).click()
    await page.getByLabel('Auth type').selectOption({ label: 'API key' })
    await page.getByLabel('Parameter 1 label').fill('API key')
    await page.getByLabel('Parameter 1 key').fill('X-Api-Key')
    await page.getByLabel('Parameter 1 location').selectOption({ label: 'Header' })

    await page.getByRole('button', { name: 'Create connector' }).click()
    await page.getByRole('heading', { level: 1, name: /Acme CRM/ }).waitFor()
    await page.getByText('Complete: it can be marked as ready.').waitFor()
    expect(page.url()).toMatch(/\/connectors\/cn_/)

    await page.getByRole('button', { name: 'Mark as ready' }).click()
    const dialog = page.getByRole('dialog', { name: 'Mark as ready?' })
    await dialog.getByRole('button', { name: 'Mark as ready' }).click()
    await page.getByText('Ready · 0 connections').waitFor()
    await page.getByRole('tab', { name: 'Security' }).click()
    await page.getByText(/These settings are read-only: the connector is ready/).waitFor()
    expect(await page.getByLabel('Parameter 1 key').isDisabled()).toBe(true)
    await dismissToasts(page)
    await page.screenshot({ path: screenshotPath('builder.png') })

    const list = await t.api('GET', '/api/v1/connectors')
    expect(list.body.items).toHaveLength(1)
    expect(list.body.items[0]).toMatchObject({
      name: 'Acme CRM',
      linkName: 'acme_crm',
      stage: 'ready',
      auth: { type: 'api_key', params: [{ name: 'API key', key: 'X-Api-Key', in: 'header' }] },
    })
  })

  it('adds a connection from the connector', async () => {
    await page.getByRole('link', { name: 'Add connection' }).click()
    await page.getByRole('heading', { level: 1, name: 'Add connection' }).waitFor()
    const key = page.getByLabel('API key')
    expect(await key.getAttribute('type')).toBe('password')
    expect(await key.inputValue()).toBe('')
    await page.getByLabel('Connection name').fill('Acme production')
    await key.fill(SECRET)
    await page.getByRole('button', { name: 'Create connection' }).click()
    await page.getByRole('heading', { level: 1, name: /Acme production/ }).waitFor()
    await page.getByText('secret, set (never shown)').waitFor()
    expect(await page.content()).not.toContain(SECRET)
    await page.getByRole('button', { name: 'Test connection' }).click()
    await page.getByText('Test passed').waitFor()
    await dismissToasts(page)
    await page.screenshot({ path: screenshotPath('connection.png') })
  })

  it('sends a request in the console, to an API that checks the key', async () => {
    await page.getByRole('link', { name: 'Open in console' }).click()
    await page.getByRole('heading', { level: 1, name: 'Action console' }).waitFor()
    await page.getByLabel('Path').fill('contacts')
    await page.getByRole('button', { name: 'Add query parameter' }).click()
    await page.getByLabel('Query parameters: name 1').fill('limit')
    await page.getByLabel('Query parameters: value 1').fill('2')
    await page.getByText(`${up.url}contacts?limit=2`).waitFor()
    up.requests.length = 0
    await page.getByRole('button', { name: 'Send', exact: true }).click()
    const response = page.getByRole('region', { name: 'Response' })
    await response.getByText('200', { exact: true }).waitFor()
    await response.getByText('"Ada Lovelace"').waitFor()
    await response.getByText('No refresh').waitFor()
    expect(up.requests).toHaveLength(1)
    expect(up.requests[0]!.headers['x-api-key']).toBe(SECRET)
    expect(up.requests[0]!.url).toBe('/contacts?limit=2')

    await page.getByRole('button', { name: 'Copy as curl' }).click()
    const curl = await page.getByLabel('curl command', { exact: true }).inputValue()
    expect(curl).toContain(`/proxy/`)
    expect(curl).toContain('/contacts?limit=2')
    expect(curl).toContain('Bearer $PATCHBAY_ADMIN_KEY')
    expect(curl).not.toContain(t.adminKey)

    await page.getByRole('region', { name: 'History' }).getByText('GET contacts').waitFor()
    await dismissToasts(page)
    await page.screenshot({ path: screenshotPath('console.png'), fullPage: true })
  })

  it('shows a binary answer by its size, with a download', async () => {
    up.route('/logo.png', (_req, res) => {
      res.writeHead(200, { 'content-type': 'image/png' })
      res.end(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 1, 2, 3, 255, 254]))
    })
    await page.getByLabel('Path').fill('logo.png')
    await page.getByRole('button', { name: 'Remove query parameters row 1' }).click()
    await page.getByRole('button', { name: 'Send', exact: true }).click()
    const response = page.getByRole('region', { name: 'Response' })
    await response.getByText('Binary body (image/png, 10 bytes).').waitFor()
    await response.getByRole('link', { name: 'Download the body' }).waitFor()
    await page
      .getByRole('region', { name: 'History' })
      .getByRole('button', { name: /GET contacts/ })
      .click()
    expect(await page.getByLabel('Path').inputValue()).toBe('contacts')
    expect(await page.getByLabel('Query parameters: value 1').inputValue()).toBe('2')
  })

  it('saves the request as an action and runs it from its form', async () => {
    await page.getByRole('button', { name: 'Save as action' }).click()
    const dialog = page.getByRole('dialog', { name: 'Save as action' })
    await dialog.getByLabel('Action name').fill('List contacts')
    await dialog.getByRole('button', { name: 'Save action' }).click()
    const saved = page.getByRole('region', { name: /Saved actions of Acme CRM/ })
    await saved.getByText('List contacts', { exact: true }).waitFor()
    const c = (await t.api('GET', '/api/v1/connectors/acme_crm')).body
    expect(c.actions).toMatchObject([
      { name: 'List contacts', method: 'GET', path: 'contacts', query: { limit: '2' } },
    ])
    up.requests.length = 0
    await saved.getByRole('button', { name: 'Run List contacts' }).click()
    await saved.getByRole('button', { name: 'Run action List contacts' }).click()
    await page.getByText(/Action “List contacts”/).waitFor()
    await page.getByRole('region', { name: 'Response' }).getByText('"Alan Turing"').waitFor()
    expect(up.requests).toHaveLength(1)
  })

  it('finds the call in the logs with the key redacted', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Logs' }).click()
    await page.getByRole('heading', { level: 1, name: 'Logs' }).waitFor()
    const row = page
      .getByRole('row')
      .filter({ hasText: `${up.url}contacts?limit=2` })
      .first()
    await row.waitFor()
    await row.getByRole('button', { name: /Details of GET/ }).click()
    const dialog = page.getByRole('dialog', { name: 'Log entry' })
    await dialog.getByRole('heading', { name: 'Request (redacted)' }).waitFor()
    const headers = dialog.getByRole('table', { name: 'Request headers' })
    await headers
      .getByRole('row', { name: /x-api-key/ })
      .getByText('[REDACTED]')
      .waitFor()
    await dialog
      .getByLabel('Response body')
      .getByText(/Ada Lovelace/)
      .waitFor()
    expect(await page.content()).not.toContain(SECRET)
    await dialog.getByRole('button', { name: 'Close' }).click()
  })

  it('signs out, after which the API refuses the old session', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click()
    await page.getByLabel('Admin key').waitFor()
    const status = await page.evaluate(async () => (await fetch('/api/v1/connectors')).status)
    expect(status).toBe(401)
  })
})
