/**
 * A tenth auth type needs no UI code: Patchbay starts with `partner_key`, a test-only scheme that
 * only its own module describes (test/helpers/partner-key-scheme.ts), and the builder offers it,
 * draws its form from its settings' JSON Schema and hints (a text, a secret, an enum, a list),
 * saves it, marks it ready; a connection made in the UI then sends a request with the scheme's
 * auth to a loopback upstream that records it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { json, startUpstream, type Upstream } from '../peers/upstream.js'
import { startTestPatchbay, storeContains, type TestPatchbay } from '../helpers/patchbay.js'
import { partnerKeyScheme, partnerSignature, PARTNER_TYPE } from '../helpers/partner-key-scheme.js'
import { ensureWebBuilt, launchBrowser, seriousViolations, signIn, skipBrowser } from './helpers.js'

const SECRET = 'ps_7f3a9c1e5b2d8046'

describe.skipIf(skipBrowser)('a builder form generated from a scheme alone', () => {
  let up: Upstream
  let t: TestPatchbay
  let browser: Browser
  let context: BrowserContext
  let page: Page

  beforeAll(async () => {
    await ensureWebBuilt()
    up = await startUpstream()
    up.route('/orders', (_req, res) => json(res, 200, { orders: [{ id: 'o-1' }] }))
    t = await startTestPatchbay({ schemes: [partnerKeyScheme] })
    browser = await launchBrowser()
    // axe-core is injected as a script tag, which the UI's CSP would refuse.
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

  it('offers the type and draws its form from the schema and the hints', async () => {
    await page.getByRole('link', { name: 'New connector' }).click()
    await page.getByLabel('Name', { exact: true }).fill('Partner API')
    await page.getByLabel('Base URL').fill(up.url)
    await page.getByRole('tab', { name: 'Security' }).click()
    await page.getByLabel('Auth type').selectOption({ label: 'Partner key (signed)' })
    expect(await page.getByLabel('Auth type').inputValue()).toBe(PARTNER_TYPE)

    // A text setting: label, placeholder and hint from the presentation.
    const header = page.getByLabel('Signature header')
    expect(await header.getAttribute('placeholder')).toBe('X-Partner-Auth')
    await page.getByText('Where the signed account goes.').waitFor()
    // A secret setting: a password input, required as the schema says.
    const secret = page.getByLabel('Partner secret')
    expect(await secret.getAttribute('type')).toBe('password')
    expect(await secret.getAttribute('aria-required')).toBe('true')
    // An enum: its option labels, and the empty choice that leaves the default.
    const encoding = page.getByLabel('Signature encoding')
    expect(await encoding.locator('option').allTextContents()).toEqual([
      'Hexadecimal (default)',
      'Hexadecimal',
      'Base64url',
    ])
    // A list: items added up to the schema's maxItems, each with its own inputs.
    await page.getByText('Sent on every request as x-partner-tags.').waitFor()
    const add = page.getByRole('button', { name: 'Add tag' })
    for (let i = 0; i < 3; i++) await add.click()
    expect(await add.isDisabled()).toBe(true)
    expect(await page.getByLabel(/^Tag \d name$/).count()).toBe(3)
    await page.getByRole('button', { name: 'Remove tag 3' }).click()
    expect(await add.isDisabled()).toBe(false)
    await page.getByText('Connections ask for the partner account.').waitFor()
    expect(await seriousViolations(page)).toEqual([])

    // The API's own rule, shown at its input.
    await secret.fill('short')
    await page.getByLabel('Tag 1 name').fill('env')
    await page.getByLabel('Tag 1 value').fill('test')
    await page.getByLabel('Tag 2 name').fill('Team')
    await page.getByLabel('Tag 2 value').fill('core')
    await page.getByRole('button', { name: 'Create connector' }).click()
    await page.getByText('Partner secret must be at least 8 characters').waitFor()
    await page.getByText('Tag 2 name must be lower-case letters').waitFor()
    expect((await t.api('GET', '/api/v1/connectors')).body.items).toHaveLength(0)
  })

  it('saves the settings, the secret encrypted and never shown again', async () => {
    await page.getByLabel('Partner secret').fill(SECRET)
    await page.getByLabel('Tag 2 name').fill('team')
    await page.getByLabel('Signature header').fill('X-Partner-Sig')
    await page.getByLabel('Signature encoding').selectOption({ label: 'Base64url' })
    await page.getByRole('button', { name: 'Create connector' }).click()
    await page.getByRole('heading', { level: 1, name: /Partner API/ }).waitFor()
    await page.getByText('Complete: it can be marked as ready.').waitFor()

    const saved = (await t.api('GET', '/api/v1/connectors/partner_api')).body
    expect(saved.auth).toEqual({
      type: PARTNER_TYPE,
      header: 'X-Partner-Sig',
      partnerSecret: '********',
      encoding: 'base64url',
      tags: [
        { name: 'env', value: 'test' },
        { name: 'team', value: 'core' },
      ],
    })
    expect(await storeContains(t, SECRET)).toBe(false)

    await page.reload()
    await page.getByRole('tab', { name: 'Security' }).click()
    expect(await page.getByLabel('Partner secret').inputValue()).toBe('')
    await page.getByText('Saved; type a new value to replace it.').waitFor()
    expect(await page.getByLabel('Tag 2 value').inputValue()).toBe('core')
    expect(await page.getByLabel('Signature encoding').inputValue()).toBe('base64url')
    expect(await page.content()).not.toContain(SECRET)

    await page.getByRole('button', { name: 'Mark as ready' }).click()
    await page
      .getByRole('dialog', { name: 'Mark as ready?' })
      .getByRole('button', { name: 'Mark as ready' })
      .click()
    await page.getByText('Ready · 0 connections').waitFor()
  })

  it('connects through the UI and sends a request with the scheme’s auth applied', async () => {
    await page.getByRole('link', { name: 'Add connection' }).click()
    await page.getByRole('heading', { level: 1, name: 'Add connection' }).waitFor()
    await page.getByLabel('Connection name').fill('Partner production')
    await page.getByLabel('Partner account').fill('acct-42')
    await page.getByRole('button', { name: 'Create connection' }).click()
    await page.getByRole('heading', { level: 1, name: /Partner production/ }).waitFor()

    await page.getByRole('link', { name: 'Open in console' }).click()
    await page.getByLabel('Path').fill('orders')
    await page.getByRole('button', { name: 'Send', exact: true }).click()
    await page.getByRole('region', { name: 'Response' }).getByText('"o-1"').waitFor()

    const calls = up.requests.filter((r) => r.path === '/orders')
    expect(calls).toHaveLength(1)
    expect(calls[0]!.headers['x-partner-sig']).toBe(
      partnerSignature(SECRET, 'acct-42', 'base64url'),
    )
    expect(calls[0]!.headers['x-partner-tags']).toBe('env=test;team=core')
    expect(await page.content()).not.toContain(SECRET)
  })
})
