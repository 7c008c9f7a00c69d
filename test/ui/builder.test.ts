/**
 * The connector builder beyond the walkthrough: the JSON tab round-trips with the form and points
 * at the line of a problem, a type change in draft warns, connection fields are edited and
 * reordered, saved actions are written with typed inputs, and deletion asks first.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { startTestPatchbay, type TestPatchbay } from '../helpers/patchbay.js'
import { ensureWebBuilt, launchBrowser, signIn, skipBrowser } from './helpers.js'

describe.skipIf(skipBrowser)('the connector builder', () => {
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
  })
  afterAll(async () => {
    await context?.close()
    await browser?.close()
    await t?.close()
  })

  const json = () => page.getByLabel('Connector definition (JSON)')

  it('round-trips a UI edit and a JSON edit exactly', async () => {
    await page.getByRole('link', { name: 'New connector' }).click()
    await page.getByLabel('Name', { exact: true }).fill('Round Trip')
    await page.getByLabel('Base URL').fill('https://api.example.com/v1/')
    await page.getByRole('tab', { name: 'JSON' }).click()
    const fromUi = JSON.parse(await json().inputValue())
    expect(fromUi).toMatchObject({
      name: 'Round Trip',
      linkName: 'round_trip',
      baseUrl: 'https://api.example.com/v1/',
      auth: { type: 'api_key' },
    })

    const edited = {
      ...fromUi,
      description: 'Edited as JSON',
      fields: [{ name: 'subdomain', label: 'Subdomain', type: 'text' }],
      baseUrl: 'https://{{subdomain}}.example.com/v1/',
    }
    const text = JSON.stringify(edited, null, 2)
    await json().fill(text)
    await page.getByText('Valid JSON; the auth settings are checked when you save.').waitFor()
    await page.getByRole('tab', { name: 'General' }).click()
    expect(await page.getByLabel('Description').inputValue()).toBe('Edited as JSON')
    expect(await page.getByLabel('Base URL').inputValue()).toBe(
      'https://{{subdomain}}.example.com/v1/',
    )
    await page.getByRole('tab', { name: 'Connection fields' }).click()
    expect(await page.getByLabel('Field 1 label').inputValue()).toBe('Subdomain')
    await page.getByRole('tab', { name: 'JSON' }).click()
    expect(await json().inputValue()).toBe(text)
  })

  it('points a JSON problem at its line, and a syntax error too', async () => {
    const text = await json().inputValue()
    const lines = text.split('\n')
    const at = lines.findIndex((l) => l.includes('"baseUrl"')) + 1
    await json().fill(text.replace(/"baseUrl": "[^"]*"/, '"baseUrl": "not a url"'))
    await page
      .getByText(`Line ${at}: baseUrl must be an absolute http:// or https:// URL`)
      .waitFor()
    await json().fill(text.replace('"name": "Round Trip",', '"name": "Round Trip"'))
    await page.getByText(/^Line \d+: expected "," or "}"/).waitFor()
    await json().fill(text)
    await page.getByText('Valid JSON; the auth settings are checked when you save.').waitFor()
  })

  it('warns before a type change discards settings, in draft', async () => {
    await page.getByRole('tab', { name: 'Security' }).click()
    await page.getByLabel('Parameter 1 key').fill('X-Custom-Key')
    await page.getByLabel('Auth type').selectOption({ label: 'Basic authentication' })
    const dialog = page.getByRole('dialog', { name: 'Change the auth type?' })
    await dialog.getByText(/discards the current API key settings/).waitFor()
    await dialog.getByRole('button', { name: 'Cancel' }).click()
    expect(await page.getByLabel('Auth type').inputValue()).toBe('api_key')
    expect(await page.getByLabel('Parameter 1 key').inputValue()).toBe('X-Custom-Key')
    await page.getByLabel('Auth type').selectOption({ label: 'Bearer token' })
    await dialog.getByRole('button', { name: 'Change to Bearer token' }).click()
    await page.getByLabel('Token prefix').waitFor()
    expect(await page.getByLabel('Parameter 1 key').count()).toBe(0)
  })

  it('edits, types and reorders connection fields', async () => {
    await page.getByRole('tab', { name: 'Connection fields' }).click()
    await page.getByRole('button', { name: 'Add field' }).click()
    await page.getByLabel('Field 2 name').fill('plan')
    await page.getByLabel('Field 2 label').fill('Plan')
    await page.getByLabel('Field 2 type').selectOption({ label: 'Select' })
    await page.getByRole('button', { name: 'Add option to field 2' }).click()
    await page.getByLabel('Field 2 option 1 label').fill('Free')
    await page.getByLabel('Field 2 option 1 value').fill('free')
    await page.getByRole('button', { name: 'Add option to field 2' }).click()
    await page.getByLabel('Field 2 option 2 label').fill('Pro')
    await page.getByLabel('Field 2 option 2 value').fill('pro')
    await page.getByLabel('Field 2 is optional').check()
    await page.getByRole('button', { name: 'Add field' }).click()
    await page.getByLabel('Field 3 name').fill('advanced')
    await page.getByLabel('Field 3 type').selectOption({ label: 'Group (advanced settings)' })
    await page.getByRole('button', { name: 'Add field 3 property' }).click()
    await page.getByLabel('Field 3 property 1 name').fill('timeout')
    await page.getByLabel('Field 3 property 1 type').selectOption({ label: 'Number' })
    await page.getByRole('button', { name: 'Move field 2 up' }).click()
    expect(await page.getByLabel('Field 1 name').inputValue()).toBe('plan')
    expect(await page.getByLabel('Field 2 name').inputValue()).toBe('subdomain')
  })

  it('writes a saved action with a JSON body and typed inputs', async () => {
    await page.getByRole('tab', { name: 'Custom actions' }).click()
    expect(await page.getByLabel('Enable custom actions').isChecked()).toBe(true)
    await page.getByRole('button', { name: 'Add saved action' }).click()
    await page.getByLabel('Action 1 name').fill('Create note')
    await page.getByLabel('Action 1 method').selectOption('POST')
    await page.getByLabel('Action 1 path').fill('notes')
    await page.getByLabel('Action 1 body (JSON)').fill('{ "text": "{{input.text}}"')
    await page.getByText(/Action 1 body is not valid JSON/).waitFor()
    await page.getByLabel('Action 1 body (JSON)').fill('{ "text": "{{input.text}}" }')
    await page.getByRole('button', { name: 'Add action 1 input' }).click()
    await page.getByLabel('Action 1 input 1 name').fill('text')
    await page.getByLabel('Action 1 input 1 label').fill('Note text')

    await page.getByRole('button', { name: 'Create connector' }).click()
    await page.getByRole('heading', { level: 1, name: /Round Trip/ }).waitFor()
    const saved = (await t.api('GET', '/api/v1/connectors/round_trip')).body
    expect(saved).toMatchObject({
      description: 'Edited as JSON',
      auth: { type: 'bearer' },
      fields: [
        {
          name: 'plan',
          label: 'Plan',
          type: 'select',
          optional: true,
          options: [
            ['Free', 'free'],
            ['Pro', 'pro'],
          ],
        },
        { name: 'subdomain', label: 'Subdomain', type: 'text' },
        { name: 'advanced', type: 'object', properties: [{ name: 'timeout', type: 'number' }] },
      ],
      actions: [
        {
          name: 'Create note',
          method: 'POST',
          path: 'notes',
          body: { text: '{{input.text}}' },
          inputs: [{ name: 'text', label: 'Note text', type: 'text' }],
        },
      ],
    })
  })

  it('saves an edit of a saved connector, and deletes it after a confirmation', async () => {
    await page.getByRole('tab', { name: 'General' }).click()
    await page.getByLabel('Description').fill('Edited in the form')
    await page.getByText('Unsaved changes').waitFor()
    await page.getByRole('button', { name: 'Save', exact: true }).click()
    await page.getByText('Saved “Round Trip”').waitFor()
    expect((await t.api('GET', '/api/v1/connectors/round_trip')).body.description).toBe(
      'Edited in the form',
    )
    await page.getByRole('button', { name: 'Delete', exact: true }).click()
    const dialog = page.getByRole('dialog', { name: 'Delete connector?' })
    await dialog.getByRole('button', { name: 'Cancel' }).click()
    expect((await t.api('GET', '/api/v1/connectors/round_trip')).status).toBe(200)
    await page.getByRole('button', { name: 'Delete', exact: true }).click()
    await dialog.getByRole('button', { name: 'Delete connector' }).click()
    await page.getByRole('heading', { level: 1, name: 'Connectors' }).waitFor()
    expect((await t.api('GET', '/api/v1/connectors/round_trip')).status).toBe(404)
  })

  it('imports a connector JSON file and exports it again', async () => {
    await page.getByLabel('Connector JSON file to import').setInputFiles({
      name: 'weather.json',
      mimeType: 'application/json',
      buffer: Buffer.from(
        JSON.stringify({
          name: 'Weather',
          baseUrl: 'https://weather.example.com/',
          auth: { type: 'api_key', params: [{ name: 'Key', key: 'appid', in: 'query' }] },
        }),
      ),
    })
    await page.getByRole('heading', { level: 1, name: /Weather/ }).waitFor()
    const download = page.waitForEvent('download')
    await page.getByRole('button', { name: 'Export JSON' }).click()
    const file = await download
    expect(file.suggestedFilename()).toBe('weather.json')
    const path = await file.path()
    const { readFileSync } = await import('node:fs')
    const exported = JSON.parse(readFileSync(path, 'utf8'))
    expect(exported).toMatchObject({
      name: 'Weather',
      linkName: 'weather',
      auth: { type: 'api_key', params: [{ name: 'Key', key: 'appid', in: 'query' }] },
    })
    expect(exported.id).toBeUndefined()
  })

  it('works from the keyboard: tabs move with the arrow keys, Escape closes a dialog', async () => {
    await page.goto(`${t.url}/connectors/new`)
    await page.getByRole('tab', { name: 'General' }).focus()
    await page.keyboard.press('ArrowRight')
    await page.getByRole('heading', { level: 2, name: 'Security' }).waitFor()
    expect(
      await page
        .getByRole('tab', { name: 'Security' })
        .evaluate((el) => el === document.activeElement),
    ).toBe(true)
    await page.keyboard.press('End')
    await page.getByRole('heading', { level: 2, name: 'JSON' }).waitFor()
    await page.keyboard.press('Home')
    await page.getByRole('heading', { level: 2, name: 'General' }).waitFor()

    await page.getByRole('tab', { name: 'Security' }).click()
    await page.getByLabel('Parameter 1 key').fill('X-Other')
    await page.getByLabel('Auth type').focus()
    await page.getByLabel('Auth type').selectOption({ label: 'Basic authentication' })
    const dialog = page.getByRole('dialog', { name: 'Change the auth type?' })
    await dialog.waitFor()
    await page.keyboard.press('Escape')
    await dialog.waitFor({ state: 'hidden' })
    expect(await page.getByLabel('Auth type').inputValue()).toBe('api_key')
  })
})
