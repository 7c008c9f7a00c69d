/**
 * Every connector naming rule shows its message in the connector form as the user types, in the
 * API's own words (the UI validates with the same schemas), and nothing is saved.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { DESCRIPTION_RULE, LINK_NAME_RULE, NAME_RULE } from '../../src/connector/rules.js'
import { startTestPatchbay, type TestPatchbay } from '../helpers/patchbay.js'
import { ensureWebBuilt, launchBrowser, signIn, skipBrowser } from './helpers.js'

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])
const LOGO_TYPE_RULE = 'must be a data:image/png or data:image/jpeg base64 URL (PNG/JPG/JPEG only)'

describe.skipIf(skipBrowser)('naming rules in the connector form', () => {
  let t: TestPatchbay
  let browser: Browser
  let context: BrowserContext
  let page: Page

  beforeAll(async () => {
    await ensureWebBuilt()
    t = await startTestPatchbay()
    browser = await launchBrowser()
    context = await browser.newContext({ viewport: { width: 1280, height: 800 } })
    page = await context.newPage()
    page.setDefaultTimeout(20_000)
    await signIn(page, t.url, t.adminKey)
    await page.getByRole('link', { name: 'New connector' }).click()
    await page.getByRole('heading', { level: 1, name: 'New connector' }).waitFor()
    await page.getByLabel('Base URL').fill('https://api.example.com/')
  })
  afterAll(async () => {
    await context?.close()
    await browser?.close()
    await t?.close()
  })

  const message = (text: string) => page.getByText(text, { exact: true })

  async function expectMessage(label: string, value: string, text: string) {
    const input = page.getByLabel(label, { exact: true })
    await input.fill(value)
    await message(text).waitFor()
    expect(await input.getAttribute('aria-invalid')).toBe('true')
  }

  it('checks the name: required, at most 50 characters, allowed characters', async () => {
    await page.getByLabel('Name', { exact: true }).fill('Acme')
    await page.getByLabel('Name', { exact: true }).fill('')
    await message('Name is required').waitFor()
    await expectMessage('Name', 'A'.repeat(51), 'Name must be at most 50 characters')
    await expectMessage('Name', '-Acme', `Name ${NAME_RULE}`)
    await expectMessage('Name', 'Acme #1', `Name ${NAME_RULE}`)
    await expectMessage('Name', 'Acme <CRM>', `Name ${NAME_RULE}`)
    // A valid name clears the message.
    await page.getByLabel('Name', { exact: true }).fill('Acme CRM')
    await message(`Name ${NAME_RULE}`).waitFor({ state: 'detached' })
  })

  it('checks the link name: starts with a letter, letters digits and _, at most 50', async () => {
    await expectMessage('Link name', '1acme', `Link name ${LINK_NAME_RULE}`)
    await expectMessage('Link name', 'acme-crm', `Link name ${LINK_NAME_RULE}`)
    await expectMessage('Link name', '_acme', `Link name ${LINK_NAME_RULE}`)
    await expectMessage('Link name', 'a'.repeat(51), 'Link name must be at most 50 characters')
  })

  it('checks the description: at most 255 characters, allowed characters', async () => {
    await expectMessage(
      'Description',
      'd'.repeat(256),
      'Description must be at most 255 characters',
    )
    await expectMessage(
      'Description',
      'Contacts <b>and</b> deals',
      `Description ${DESCRIPTION_RULE}`,
    )
    await expectMessage('Description', 'Price: $5', `Description ${DESCRIPTION_RULE}`)
  })

  it('checks the logo: PNG or JPEG only, real image content, under 1 MiB', async () => {
    const upload = page.getByLabel('Upload logo (PNG or JPEG, under 1 MiB)')
    await upload.setInputFiles({
      name: 'logo.gif',
      mimeType: 'image/gif',
      buffer: Buffer.from('GIF89a0000'),
    })
    await message(`Logo ${LOGO_TYPE_RULE}`).waitFor()
    await upload.setInputFiles({
      name: 'logo.png',
      mimeType: 'image/png',
      buffer: Buffer.from('this is not a png image'),
    })
    await message('Logo content is not a PNG image').waitFor()
    await upload.setInputFiles({
      name: 'big.png',
      mimeType: 'image/png',
      buffer: Buffer.concat([PNG_SIGNATURE, Buffer.alloc(1024 * 1024)]),
    })
    await message('Logo must be smaller than 1 MiB').waitFor()
    expect(await page.getByRole('img', { name: 'Logo preview' }).count()).toBe(0)
  })

  it('saves nothing while a rule is broken, and lists what to fix', async () => {
    await page.getByRole('button', { name: 'Create connector' }).click()
    const alert = page.getByRole('alert').filter({ hasText: 'Not saved' })
    await alert.waitFor()
    await alert.getByText('must be at most 50 characters').waitFor() // the link name
    await alert.getByText(DESCRIPTION_RULE).waitFor()
    expect((await t.api('GET', '/api/v1/connectors')).body.items).toHaveLength(0)
  })

  it('saves once every rule holds, and shows a taken link name from the API', async () => {
    await t.api('POST', '/api/v1/connectors', {
      name: 'Taken',
      baseUrl: 'https://api.example.com/',
      auth: { type: 'bearer' },
    })
    await page.getByLabel('Link name', { exact: true }).fill('taken')
    await page.getByLabel('Description', { exact: true }).fill('Contacts and deals, v2 (beta)')
    await page.getByRole('button', { name: 'Create connector' }).click()
    await page.getByRole('alert').filter({ hasText: 'already used by another connector' }).waitFor()
    await message('Link name must be unique').waitFor()
    expect((await t.api('GET', '/api/v1/connectors')).body.items).toHaveLength(1)

    await page.getByLabel('Link name', { exact: true }).fill('acme_crm')
    await page.getByLabel('Upload logo (PNG or JPEG, under 1 MiB)').setInputFiles({
      name: 'logo.png',
      mimeType: 'image/png',
      buffer: Buffer.from(
        'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==',
        'base64',
      ),
    })
    await page.getByRole('img', { name: 'Logo preview' }).waitFor()
    await page.getByRole('button', { name: 'Create connector' }).click()
    await page.getByRole('heading', { level: 1, name: /Acme CRM/ }).waitFor()
    const saved = (await t.api('GET', '/api/v1/connectors/acme_crm')).body
    expect(saved).toMatchObject({
      name: 'Acme CRM',
      linkName: 'acme_crm',
      description: 'Contacts and deals, v2 (beta)',
    })
    expect(saved.logo).toMatch(/^data:image\/png;base64,/)
  })
})
