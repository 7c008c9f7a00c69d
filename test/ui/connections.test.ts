/**
 * Connections and logs in the UI: filters, the breaker shown and reset by hand, deletion with a
 * confirmation; logs filtered, followed live and paged.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { json, startUpstream, type Upstream } from '../peers/upstream.js'
import { startTestPatchbay, type TestPatchbay } from '../helpers/patchbay.js'
import { ensureWebBuilt, launchBrowser, signIn, skipBrowser } from './helpers.js'

describe.skipIf(skipBrowser)('connections and logs', () => {
  let up: Upstream
  let t: TestPatchbay
  let browser: Browser
  let context: BrowserContext
  let page: Page
  const ids: Record<string, string> = {}

  beforeAll(async () => {
    await ensureWebBuilt()
    up = await startUpstream()
    up.route('/fail', (_req, res) => json(res, 500, { error: 'boom' }))
    t = await startTestPatchbay()
    for (const name of ['Alpha API', 'Beta API']) {
      const c = await t.api('POST', '/api/v1/connectors', {
        name,
        baseUrl: up.url,
        auth: { type: 'bearer' },
        customAction: { enabled: true },
        breaker: { threshold: 2, cooldownSeconds: 600 },
      })
      ids[name] = c.body.id
      await t.api('POST', `/api/v1/connectors/${c.body.id}/ready`)
    }
    for (const [name, connector, endUser] of [
      ['Alpha for ann', 'Alpha API', 'ann'],
      ['Alpha for bob', 'Alpha API', 'bob'],
      ['Beta for ann', 'Beta API', 'ann'],
    ] as const) {
      const conn = await t.api('POST', '/api/v1/connections', {
        connector: ids[connector],
        name,
        endUser,
        values: { token: `token-${name.replace(/\W/g, '')}` },
      })
      ids[name] = conn.body.id
    }
    browser = await launchBrowser()
    context = await browser.newContext({ viewport: { width: 1280, height: 800 } })
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

  const rows = () => page.getByRole('row').filter({ has: page.getByRole('link') })

  it('filters connections by connector, end user and status', async () => {
    await page
      .getByRole('navigation', { name: 'Main' })
      .getByRole('link', { name: 'Connections' })
      .click()
    await page.getByRole('link', { name: 'Beta for ann' }).waitFor()
    expect(await rows().count()).toBe(3)
    await page.getByLabel('Connector').selectOption({ label: 'Alpha API' })
    await page.getByRole('link', { name: 'Beta for ann' }).waitFor({ state: 'detached' })
    expect(await rows().count()).toBe(2)
    await page.getByLabel('End user').fill('bob')
    await page.getByRole('link', { name: 'Alpha for ann' }).waitFor({ state: 'detached' })
    expect(await rows().count()).toBe(1)
    await page.getByLabel('Status').selectOption({ label: 'needs_reauth' })
    await page.getByText('No connection matches these filters').waitFor()
    await page.getByRole('button', { name: 'Clear the filters' }).click()
    await page.getByRole('link', { name: 'Beta for ann' }).waitFor()
    expect(await rows().count()).toBe(3)
  })

  it('shows an open breaker with its failures and resets it by hand', async () => {
    for (let i = 0; i < 2; i++)
      await t.api('POST', `/api/v1/connections/${ids['Alpha for ann']}/request`, { path: 'fail' })
    await page.getByRole('link', { name: 'Alpha for ann' }).click()
    const breaker = page.getByRole('region', { name: 'Values' })
    await breaker.getByText('open', { exact: true }).waitFor()
    await breaker.getByText(/2 consecutive failures; tries again/).waitFor()
    await page.getByRole('button', { name: 'Reset breaker' }).click()
    await breaker.getByText('closed', { exact: true }).waitFor()
    expect(
      (await t.api('GET', `/api/v1/connections/${ids['Alpha for ann']}`)).body.breaker,
    ).toMatchObject({
      state: 'closed',
      failures: 0,
    })
  })

  it('filters the logs by status class and connection, follows them live, and pages', async () => {
    for (let i = 0; i < 55; i++)
      await t.api('POST', `/api/v1/connections/${ids['Beta for ann']}/request`, { path: `ok/${i}` })
    await page.goto(`${t.url}/logs`)
    await page.getByText(`${up.url}ok/54`).waitFor()
    expect(await page.getByText(`${up.url}ok/2`, { exact: true }).count()).toBe(0)
    await page.getByRole('button', { name: 'Load older entries' }).click()
    await page.getByText(`${up.url}ok/2`, { exact: true }).waitFor()

    await page.getByLabel('Status class').selectOption({ label: '5xx' })
    await page.getByText(`${up.url}ok/54`).waitFor({ state: 'detached' })
    expect(await page.getByText(`${up.url}fail`, { exact: true }).count()).toBe(2)
    await page.getByLabel('Status class').selectOption({ label: 'Any status' })
    await page.getByLabel('Connection').selectOption({ label: 'Alpha for ann' })
    await page.getByText(`${up.url}ok/54`).waitFor({ state: 'detached' })
    await page.getByText(`${up.url}fail`, { exact: true }).first().waitFor()

    await page.getByLabel('Follow live').check()
    await t.api('POST', `/api/v1/connections/${ids['Alpha for ann']}/request`, { path: 'live/1' })
    await page.getByText(`${up.url}live/1`).waitFor({ timeout: 10_000 })
  })

  it('deletes a connection after a confirmation', async () => {
    await page.goto(`${t.url}/connections/${ids['Alpha for bob']}`)
    await page.getByRole('button', { name: 'Delete', exact: true }).click()
    const dialog = page.getByRole('dialog', { name: 'Delete connection?' })
    await dialog.getByText(/Its credentials are erased/).waitFor()
    await dialog.getByRole('button', { name: 'Cancel' }).click()
    expect((await t.api('GET', `/api/v1/connections/${ids['Alpha for bob']}`)).status).toBe(200)
    await page.getByRole('button', { name: 'Delete', exact: true }).click()
    await dialog.getByRole('button', { name: 'Delete connection' }).click()
    await page.getByText('Deleted “Alpha for bob”').waitFor()
    await page.getByRole('heading', { level: 1, name: 'Connections' }).waitFor()
    expect((await t.api('GET', `/api/v1/connections/${ids['Alpha for bob']}`)).status).toBe(404)
  })
})
