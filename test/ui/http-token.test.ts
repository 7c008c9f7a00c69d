/**
 * The HTTP-request token test in the builder: send the token request, pick the value that is the
 * token, see the header that will be sent; the connector is marked ready only once tested.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { json, startUpstream, type Upstream } from '../peers/upstream.js'
import { startTestPatchbay, type TestPatchbay } from '../helpers/patchbay.js'
import { ensureWebBuilt, launchBrowser, signIn, skipBrowser } from './helpers.js'

const TOKEN = 'tok_9f8e7d6c5b4a3210zyxw'

describe.skipIf(skipBrowser)('the HTTP-request token test', () => {
  let up: Upstream
  let t: TestPatchbay
  let browser: Browser
  let context: BrowserContext
  let page: Page
  let id: string

  beforeAll(async () => {
    await ensureWebBuilt()
    up = await startUpstream()
    up.route('/auth/token', (req, res) => {
      const body = JSON.parse(req.body || '{}') as { user?: string }
      if (body.user !== 'ann') return json(res, 401, { error: 'unknown user' })
      json(res, 200, { data: { token: TOKEN, kind: 'session' }, expires_in: 900 })
    })
    t = await startTestPatchbay()
    const created = await t.api('POST', '/api/v1/connectors', {
      name: 'Token API',
      baseUrl: up.url,
      fields: [{ name: 'user', label: 'User', type: 'text' }],
      auth: {
        type: 'http_token',
        request: { method: 'POST', url: `${up.url}auth/token`, body: { user: '{{user}}' } },
        tokenPath: 'token',
        prefix: 'Bearer',
      },
    })
    expect(created.status, JSON.stringify(created.body)).toBe(201)
    id = created.body.id
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

  it('is not ready before a test request passed', async () => {
    await page.goto(`${t.url}/connectors/${id}?tab=security`)
    await page.getByText(/needs a successful test request/).waitFor()
    expect(await page.getByRole('button', { name: 'Mark as ready' }).isDisabled()).toBe(true)
  })

  it('shows the answer, lets the user pick the token, and previews the header', async () => {
    const test = page.getByRole('region', { name: 'Test request' })
    await test.getByLabel('User').fill('ann')
    await test.getByRole('button', { name: 'Test request' }).click()
    await test.getByText('No token', { exact: true }).waitFor()
    await test.getByText(/token path token/).waitFor()
    expect(await page.content()).not.toContain(TOKEN)
    await test.getByRole('button', { name: 'Use data.token as the token' }).click()
    expect(await page.getByLabel('Token path').inputValue()).toBe('data.token')
    await page.getByRole('button', { name: 'Save', exact: true }).click()
    await page.getByText(/Saved “Token API”/).waitFor()

    await test.getByLabel('User').fill('ann')
    await test.getByRole('button', { name: 'Test request' }).click()
    await test.getByText('Token found', { exact: true }).waitFor()
    await test.getByText(`Authorization: Bearer …${TOKEN.slice(-4)}`).waitFor()
    expect(await page.content()).not.toContain(TOKEN)
  })

  it('is marked ready once the current settings passed', async () => {
    await page.reload()
    await page.getByText('Complete: it can be marked as ready.').waitFor()
    await page.getByRole('button', { name: 'Mark as ready' }).click()
    await page
      .getByRole('dialog', { name: 'Mark as ready?' })
      .getByRole('button', { name: 'Mark as ready' })
      .click()
    await page.getByText('Ready · 0 connections').waitFor()
  })
})
