/**
 * The web UI's connection form asks for a connector field that re-declares its auth type's field
 * once, with the connector's label and options (docs/auth/README.md) — also for a `multi`
 * connector, whose form the UI narrows to the chosen option itself.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestPatchbay, type TestPatchbay } from '../helpers/patchbay.js'
import { ensureWebBuilt, launchBrowser, signIn, skipBrowser } from './helpers.js'

describe.skipIf(skipBrowser)('re-declared connection fields in the connection form', () => {
  let t: TestPatchbay
  let browser: Browser
  let context: BrowserContext
  let page: Page
  let multi: string

  beforeAll(async () => {
    await ensureWebBuilt()
    t = await startTestPatchbay()
    const c = await t.api('POST', '/api/v1/connectors', {
      name: 'Two ways in',
      baseUrl: 'https://api.example.com/',
      fields: [
        {
          name: 'auth_type',
          type: 'select',
          label: 'How do you sign in?',
          options: [
            ['With an API key', 'key'],
            ['With a user name', 'login'],
          ],
        },
        { name: 'api_key', type: 'password', label: 'Your API key' },
      ],
      auth: {
        type: 'multi',
        options: {
          key: { label: 'API key', type: 'api_key', params: [{ name: 'Key', key: 'api_key' }] },
          login: { label: 'Basic', type: 'basic' },
        },
      },
    })
    expect(c.status, JSON.stringify(c.body)).toBe(201)
    multi = c.body.id as string
    expect((await t.api('POST', `/api/v1/connectors/${multi}/ready`)).status).toBe(200)
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
  })

  it('shows a multi connector’s own auth_type select once, with its label and options', async () => {
    await page.goto(`${t.url}/connections/new?connector=${multi}`)
    const picker = page.getByLabel('How do you sign in?')
    await picker.waitFor()
    expect(await picker.count()).toBe(1)
    expect(await page.getByLabel('Authentication type').count()).toBe(0)
    await picker.selectOption({ label: 'With an API key' })
    const key = page.getByLabel('Your API key')
    await key.waitFor()
    expect(await key.count()).toBe(1)
    expect(await page.getByLabel('Key', { exact: true }).count()).toBe(0)
    expect(await page.getByLabel('How do you sign in?').count()).toBe(1)
    await key.fill('k-42')
    await page
      .getByRole('button', { name: /^(Create|Connect|Add)/ })
      .first()
      .click()
    await page.getByRole('heading', { level: 1, name: 'Two ways in' }).waitFor()
    const list = await t.api('GET', `/api/v1/connections?connector=${multi}`)
    expect(list.body.items).toHaveLength(1)
    expect(list.body.items[0]).toMatchObject({
      values: { auth_type: 'key' },
      secretsSet: ['api_key'],
    })
  })
})
