/**
 * The web UI's connection form asks for a connector field that re-declares its auth type's field
 * once, with the connector's label and options (docs/auth/README.md) — also for a `multi`
 * connector, whose form the server narrows to the chosen option as the user picks it
 * (`POST /connectors/:id/connection-form`).
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
  it('narrows the form to the option picked, asking the server each time', async () => {
    const asked: unknown[] = []
    page.on('request', (r) => {
      if (r.url().endsWith(`/api/v1/connectors/${multi}/connection-form`))
        asked.push(r.postDataJSON())
    })
    const answered = (choice: string) =>
      page.waitForResponse(
        (r) =>
          r.url().endsWith(`/api/v1/connectors/${multi}/connection-form`) &&
          (r.request().postDataJSON() as { values: Record<string, unknown> }).values.auth_type ===
            choice,
      )
    await page.goto(`${t.url}/connections/new?connector=${multi}`)
    const picker = page.getByLabel('How do you sign in?')
    await picker.waitFor()
    await Promise.all([answered('login'), picker.selectOption({ label: 'With a user name' })])
    await page.getByLabel('Username').waitFor()
    expect(await page.getByLabel('Password').count()).toBe(1)
    await Promise.all([answered('key'), picker.selectOption({ label: 'With an API key' })])
    await page.getByLabel('Username').waitFor({ state: 'detached' })
    expect(await page.getByLabel('Password').count()).toBe(0)
    expect(await page.getByLabel('Your API key').count()).toBe(1)
    // Secret values are never sent to shape the form.
    await page.getByLabel('Your API key').fill('k-secret')
    await page.waitForTimeout(400)
    expect(asked.length).toBeGreaterThanOrEqual(3)
    expect(JSON.stringify(asked)).not.toContain('k-secret')
  })
})
