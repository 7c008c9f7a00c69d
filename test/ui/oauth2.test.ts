/**
 * OAuth 2.0 through the UI in real Chromium: build the connector (grant types, hidden fields,
 * scopes table), authorize a connection by clicking through the provider's own login and consent
 * pages, then reconnect it from the UI once the provider has revoked the grant (needs_reauth).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { startTestPatchbay, type TestPatchbay } from '../helpers/patchbay.js'
import { dismissToasts, ensureWebBuilt, launchBrowser, signIn, skipBrowser } from './helpers.js'
import { startOidcPagesPeer, type OidcPagesPeer } from './oidc-pages.js'

describe.skipIf(skipBrowser)('OAuth 2.0 in the web UI', () => {
  let peer: OidcPagesPeer
  let t: TestPatchbay
  let browser: Browser
  let context: BrowserContext
  let page: Page

  beforeAll(async () => {
    await ensureWebBuilt()
    peer = await startOidcPagesPeer()
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
    await peer?.close()
  })

  /** Answers the provider's own pages as a user would, until the browser is back at Patchbay. */
  async function clickThroughProvider(login: string) {
    for (let step = 0; step < 10 && !page.url().startsWith(t.url); step++) {
      const loginBox = page.getByRole('textbox', { name: 'Enter any login' })
      const cont = page.getByRole('button', { name: 'Continue' })
      await loginBox
        .or(cont)
        .or(page.getByRole('heading', { level: 1 }))
        .first()
        .waitFor()
      if (!page.url().startsWith(peer.issuer)) break
      if (await loginBox.isVisible()) {
        await loginBox.fill(login)
        await page.keyboard.press('Tab')
        await page.keyboard.type('any-password')
        await page.getByRole('button', { name: 'Sign-in' }).click()
      } else if (await cont.isVisible()) {
        await cont.click()
      }
      await page.waitForLoadState()
    }
    await page.waitForURL((u) => u.href.startsWith(t.url))
  }

  it('builds an oauth2 connector: grant types, hidden fields, defaults, scopes', async () => {
    await page.getByRole('link', { name: 'New connector' }).click()
    await page.getByLabel('Name', { exact: true }).fill('Provider API')
    await page.getByLabel('Base URL').fill(peer.apiUrl)
    await page.getByText('Advanced: allowed origins, identity, circuit breaker').click()
    await page.getByLabel('Identity path').fill('me')
    await page.getByLabel('Identity value path').fill('sub')

    await page.getByRole('tab', { name: 'Security' }).click()
    await page.getByLabel('Auth type').selectOption({ label: 'OAuth 2.0' })
    const grant = page.getByLabel('Grant type')
    expect(await grant.inputValue()).toBe('authorization_code')
    await grant.selectOption({ label: 'Client credentials' })
    expect(await page.getByLabel('Authorization URL').count()).toBe(0)
    expect(await page.getByLabel('Extra authorization parameters: name 1').count()).toBe(0)
    await grant.selectOption({ label: 'Authorization code with PKCE' })
    await page.getByText('Optional for a public PKCE client.').waitFor()
    await grant.selectOption({ label: 'Authorization code' })
    await page.getByLabel('Client ID').fill(peer.client.clientId)
    await page.getByLabel('Client secret').fill(peer.client.clientSecret)
    await page.getByLabel('Authorization URL').fill(peer.authorizationUrl)
    await page.getByLabel('Token URL').fill(peer.tokenUrl)
    await page.getByLabel('Revoke URL').fill(peer.revocationUrl)
    await page.getByLabel('Scope delimiter').fill(' ')
    await page.getByText('Advanced', { exact: true }).click()
    expect(await page.getByLabel('Token lifetime in seconds').getAttribute('placeholder')).toBe(
      '3600',
    )
    expect(await page.getByLabel('Token prefix').getAttribute('placeholder')).toBe('Bearer')
    await page.getByText(/Default 3600; used when the token response has no expires_in/).waitFor()

    await page.getByRole('tab', { name: 'Scopes' }).click()
    for (const [name, value] of [
      ['OpenID', 'openid'],
      ['Offline', 'offline_access'],
      ['Read', 'api:read'],
      ['Write', 'api:write'],
      ['Admin', 'api:admin'],
    ]) {
      await page.getByLabel('Scope name').fill(name!)
      await page.getByLabel('Scope value').fill(value!)
      await page.getByRole('button', { name: 'Add scope' }).click()
    }
    await page.getByLabel('Scope value').fill('has space')
    await page.getByLabel('Scope name').fill('Bad')
    await page.getByRole('button', { name: 'Add scope' }).click()
    await page.getByText('Scope value must be printable ASCII without space, " or \\').waitFor()

    await page.getByRole('button', { name: 'Edit scope api:admin' }).click()
    await page.getByLabel('Edit name of scope api:admin').fill('Administer')
    await page.getByRole('button', { name: 'Save scope' }).click()
    await page.getByRole('cell', { name: 'Administer' }).waitFor()

    await page.getByLabel('Search scopes').fill('api:')
    expect(await page.getByRole('checkbox', { name: /^Select scope/ }).count()).toBe(3)
    await page.getByRole('checkbox', { name: 'Select scope api:write' }).check()
    await page.getByRole('checkbox', { name: 'Select scope api:admin' }).check()
    await page.getByRole('button', { name: 'Delete selected (2)' }).click()
    await page
      .getByRole('dialog', { name: 'Delete scopes?' })
      .getByRole('button', { name: 'Delete scopes' })
      .click()
    await page.getByLabel('Search scopes').fill('')
    expect(await page.getByRole('checkbox', { name: /^Select scope/ }).count()).toBe(3)

    await page.getByRole('button', { name: 'Create connector' }).click()
    await page.getByText('Complete: it can be marked as ready.').waitFor()
    await page.getByRole('button', { name: 'Mark as ready' }).click()
    await page
      .getByRole('dialog', { name: 'Mark as ready?' })
      .getByRole('button', { name: 'Mark as ready' })
      .click()
    await page.getByText('Ready · 0 connections').waitFor()
    const saved = (await t.api('GET', '/api/v1/connectors/provider_api')).body
    expect(saved.auth).toMatchObject({
      type: 'oauth2',
      grantType: 'authorization_code',
      clientId: peer.client.clientId,
      clientSecret: '********',
      scopeDelimiter: ' ',
      expiresIn: 3600,
      tokenPrefix: 'Bearer',
      scopes: [
        { name: 'OpenID', value: 'openid' },
        { name: 'Offline', value: 'offline_access' },
        { name: 'Read', value: 'api:read' },
      ],
    })
  })

  let firstId: string
  it('authorizes a connection through the provider’s own login and consent pages', async () => {
    await page.getByRole('link', { name: 'Add connection' }).click()
    await page.getByRole('group', { name: 'Scopes' }).waitFor()
    expect(await page.getByRole('checkbox', { name: 'Read' }).isChecked()).toBe(true)
    await page.getByLabel('Connection name').fill('Alice at the provider')
    await page.getByRole('button', { name: 'Continue to authorize' }).click()
    await page.getByRole('heading', { name: /Authorize “Alice at the provider”/ }).waitFor()
    await page.getByRole('link', { name: 'Authorize' }).click()
    await page.waitForURL((u) => u.href.startsWith(peer.issuer))
    await page.getByRole('textbox', { name: 'Enter any login' }).waitFor()
    await clickThroughProvider('alice')
    await page.getByRole('heading', { level: 1, name: /Alice at the provider/ }).waitFor()
    await page.getByText('connected', { exact: true }).first().waitFor()
    await page.getByText('alice', { exact: true }).waitFor() // the identity
    expect(page.url()).toMatch(/\/connections\/co_/)
    firstId = page.url().split('/').pop()!
    const conn = (await t.api('GET', `/api/v1/connections/${firstId}`)).body
    expect(conn).toMatchObject({ status: 'connected', identity: 'alice' })
    expect(await page.content()).not.toMatch(/access_token|refresh_token/)
    await dismissToasts(page)
  })

  it('reconnects a needs_reauth connection from the UI', async () => {
    await peer.revokeAccount('alice')
    await page.getByRole('link', { name: 'Open in console' }).click()
    await page.getByLabel('Path').fill('me')
    await page.getByRole('button', { name: 'Send', exact: true }).click()
    await page.getByText(/connection\.needs_reauth/).waitFor()

    await page.goto(`${t.url}/connections/${firstId}`)
    await page.getByText('This connection must be authorized again.').waitFor()
    await page.getByText('needs_reauth', { exact: true }).first().waitFor()
    await page.getByRole('link', { name: 'Reconnect' }).click()
    await page.getByRole('heading', { name: /Reconnect “Alice at the provider”/ }).waitFor()
    await page.getByRole('button', { name: 'Continue to authorize' }).click()
    await page.getByRole('link', { name: 'Authorize' }).click()
    await clickThroughProvider('alice')
    await page.getByRole('heading', { level: 1, name: /Alice at the provider/ }).waitFor()
    await page.getByText('connected', { exact: true }).first().waitFor()
    const list = (await t.api('GET', '/api/v1/connections')).body.items
    expect(list).toHaveLength(1)
    expect(list[0]).toMatchObject({
      status: 'connected',
      identity: 'alice',
      name: 'Alice at the provider',
    })

    await page.getByRole('link', { name: 'Open in console' }).click()
    await page.getByLabel('Path').fill('me')
    await page.getByRole('button', { name: 'Send', exact: true }).click()
    await page.getByRole('region', { name: 'Response' }).getByText('"alice"').waitFor()
  })

  it('locks existing scopes once a connection exists, but still adds new ones', async () => {
    await page.goto(`${t.url}/connectors/provider_api?tab=scopes`)
    await page
      .getByText(/Scopes can be added, but not edited or removed, once a connection exists/)
      .waitFor()
    expect(await page.getByRole('button', { name: 'Edit scope openid' }).isDisabled()).toBe(true)
    expect(await page.getByRole('button', { name: 'Delete scope openid' }).isDisabled()).toBe(true)
    await page.getByLabel('Scope name').fill('Write')
    await page.getByLabel('Scope value').fill('api:write')
    await page.getByRole('button', { name: 'Add scope' }).click()
    await page.getByRole('button', { name: 'Save', exact: true }).click()
    await page.getByText('Saved “Provider API”').waitFor()
    const scopes = (await t.api('GET', '/api/v1/connectors/provider_api')).body.auth.scopes
    expect(scopes.map((s: { value: string }) => s.value)).toEqual([
      'openid',
      'offline_access',
      'api:read',
      'api:write',
    ])
  })

  it('deletes the connection after a confirmation and says the tokens were revoked', async () => {
    const [conn] = (await t.api('GET', '/api/v1/connections')).body.items
    await page.goto(`${t.url}/connections/${conn.id}`)
    await page.getByRole('button', { name: 'Delete', exact: true }).click()
    await page
      .getByRole('dialog', { name: 'Delete connection?' })
      .getByRole('button', { name: 'Delete connection' })
      .click()
    await page.getByText(/its tokens were revoked at the provider/).waitFor()
    expect((await t.api('GET', '/api/v1/connections')).body.items).toHaveLength(0)
  })
})
