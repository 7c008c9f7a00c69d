/**
 * "Start from a template" on the new-connector page, in Chromium: the list is searched, choosing
 * a template asks for its client id and secret, and the builder is filled with its connector,
 * which is created and marked ready like any other.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { startTestPatchbay, type TestPatchbay } from '../helpers/patchbay.js'
import { ensureWebBuilt, launchBrowser, seriousViolations, signIn, skipBrowser } from './helpers.js'

describe.skipIf(skipBrowser)('starting a connector from a template', () => {
  let t: TestPatchbay
  let browser: Browser
  let context: BrowserContext
  let page: Page

  beforeAll(async () => {
    await ensureWebBuilt()
    t = await startTestPatchbay()
    browser = await launchBrowser()
    // bypassCSP: the axe-core scan is an inline script, which the UI's CSP refuses.
    context = await browser.newContext({ bypassCSP: true, viewport: { width: 1280, height: 900 } })
    page = await context.newPage()
    page.setDefaultTimeout(20_000)
    await signIn(page, t.url, t.adminKey)
  })
  afterAll(async () => {
    await context?.close()
    await browser?.close()
    await t?.close()
  })

  const templateButton = (title: string) =>
    page.getByRole('button', { name: `Use the ${title} template` })

  it('searches the templates', async () => {
    await page.getByRole('link', { name: 'New connector' }).click()
    await page.getByRole('heading', { level: 1, name: 'New connector' }).waitFor()
    const toggle = page.getByRole('button', { name: 'Start from a template' })
    expect(await toggle.getAttribute('aria-expanded')).toBe('false')
    await toggle.click()
    expect(await toggle.getAttribute('aria-expanded')).toBe('true')
    const list = page.getByRole('list', { name: 'Connector templates' })
    await templateButton('Salesforce').waitFor()
    expect(await list.getByRole('listitem').count()).toBeGreaterThanOrEqual(30)

    await page.getByLabel('Search templates').fill('git')
    await templateButton('GitLab').waitFor()
    expect(await list.getByRole('listitem').allInnerTexts()).toEqual([
      'GitHub oauth2, authorization_code',
      'GitLab oauth2, authorization_code_pkce',
    ])
    await page.getByLabel('Search templates').fill('no such api')
    await page.getByText('No template matches.').waitFor()
    await page.getByLabel('Search templates').fill('instance_url')
    expect(await list.getByRole('listitem').allInnerTexts()).toEqual([
      'Salesforce oauth2, authorization_code_pkce',
    ])
    expect(await seriousViolations(page)).toEqual([])
  })

  it('asks for the client id and secret, fills the builder, and the connector becomes ready', async () => {
    await page.getByLabel('Search templates').fill('github')
    await templateButton('GitHub').click()
    const form = page.getByRole('form', { name: 'Fill in the GitHub template' })
    await form.getByRole('heading', { name: 'GitHub' }).waitFor()
    await form.getByLabel('Client ID').fill('ui-client-id')
    expect(await form.getByLabel('Client secret').getAttribute('type')).toBe('password')
    await form.getByRole('button', { name: 'Use this template' }).click()
    await form
      .getByRole('alert')
      .getByText(/clientSecret is required: Client secret/)
      .waitFor()
    await form.getByLabel('Client secret').fill('ui-client-secret-13579')
    await form.getByRole('button', { name: 'Use this template' }).click()
    await form.waitFor({ state: 'detached' })

    expect(await page.getByLabel('Name', { exact: true }).inputValue()).toBe('GitHub')
    expect(await page.getByLabel('Link name').inputValue()).toBe('github')
    expect(await page.getByLabel('Base URL').inputValue()).toBe('https://api.github.com/')
    await page.getByRole('tab', { name: 'Scopes' }).click()
    await page.getByText('Repositories, public and private').waitFor()
    await page.getByRole('tab', { name: 'Security' }).click()
    expect(await page.getByLabel('Client ID').inputValue()).toBe('ui-client-id')

    await page.getByRole('button', { name: 'Create connector' }).click()
    await page.getByRole('heading', { level: 1, name: /GitHub/ }).waitFor()
    await page.getByText('Complete: it can be marked as ready.').waitFor()
    await page.getByRole('button', { name: 'Mark as ready' }).click()
    await page
      .getByRole('dialog', { name: 'Mark as ready?' })
      .getByRole('button', { name: 'Mark as ready' })
      .click()
    await page.getByText('Ready · 0 connections').waitFor()

    const list = await t.api('GET', '/api/v1/connectors')
    expect(list.body.items).toHaveLength(1)
    expect(list.body.items[0]).toMatchObject({
      name: 'GitHub',
      stage: 'ready',
      baseUrl: 'https://api.github.com/',
      identity: { path: 'user', valuePath: 'login' },
      auth: {
        type: 'oauth2',
        grantType: 'authorization_code',
        clientId: 'ui-client-id',
        clientSecret: '********',
        authorizationUrl: 'https://github.com/login/oauth/authorize',
        tokenUrl: 'https://github.com/login/oauth/access_token',
        scopeDelimiter: ' ',
      },
    })
    expect(list.body.items[0].auth.scopes).toHaveLength(6)
    expect(list.body.items[0].actions.map((a: { name: string }) => a.name)).toEqual([
      'List my repositories',
    ])
  })

  it('is offered on new connectors only', async () => {
    expect(await page.getByRole('button', { name: 'Start from a template' }).count()).toBe(0)
  })
})
