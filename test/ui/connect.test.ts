/**
 * The hosted connect page in real Chromium (docs/connect.md), as an end user with no admin cookie:
 * an app on another loopback origin opens the connect URL in a popup; an api_key connection (to a
 * loopback upstream) and an oauth2 connection (oidc-provider, through its authorization and
 * interaction routes) are made; the app receives each result by postMessage, for its origin
 * only; and the admin sees both connections with the session's end user.
 */
import { existsSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestPatchbay, type TestPatchbay } from '../helpers/patchbay.js'
import { startOidcPeer, type OidcPeer } from '../peers/oidc.js'
import { json, startUpstream, type Upstream } from '../peers/upstream.js'
import { ensureWebBuilt, launchBrowser, seriousViolations, skipBrowser } from './helpers.js'

/** The embedding app: a page that opens the connect popup and keeps every message it gets. */
const APP_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Acme app</title></head>
<body><main><h1>Acme app</h1>
<button id="connect" type="button">Connect an account</button>
<script>
  window.messages = []
  window.addEventListener('message', (event) => {
    window.messages.push({ origin: event.origin, data: event.data })
  })
  document.getElementById('connect').addEventListener('click', () => {
    const url = new URLSearchParams(location.search).get('connect')
    window.open(url, 'patchbay-connect', 'popup,width=520,height=720')
  })
</script></main></body></html>`

async function startApp(): Promise<{ origin: string; close(): Promise<void> }> {
  const server: Server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
    res.end(APP_PAGE)
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections()
        server.close(() => r())
      }),
  }
}

interface Message {
  origin: string
  data: { type: string; status: string; connectionId: string | null }
}

describe.skipIf(skipBrowser)('the hosted connect page in Chromium', () => {
  let t: TestPatchbay
  let browser: Browser
  let context: BrowserContext
  let app: Awaited<ReturnType<typeof startApp>>
  let upstream: Upstream
  let peer: OidcPeer
  let keyed: string
  let oauth: string

  beforeAll(async () => {
    await ensureWebBuilt()
    const page = new URL('../../web/dist/connect.html', import.meta.url)
    if (!existsSync(page))
      throw new Error(
        'web/dist/connect.html is missing: the Vite config must build web/connect.html as a second input',
      )
    peer = await startOidcPeer({ accessTokenTtl: 3600 })
    upstream = await startUpstream()
    upstream.route('/me', (req, res) =>
      req.headers['x-api-key'] === 'sk-browser-123'
        ? json(res, 200, { login: 'end-user-at-upstream' })
        : json(res, 401, { error: 'bad key' }),
    )
    app = await startApp()
    t = await startTestPatchbay({ env: { PATCHBAY_BRAND_NAME: 'Acme Integrations' } })
    const ready = async (def: Record<string, unknown>) => {
      const c = await t.api('POST', '/api/v1/connectors', def)
      expect(c.status, JSON.stringify(c.body)).toBe(201)
      expect((await t.api('POST', `/api/v1/connectors/${c.body.id}/ready`)).status).toBe(200)
      return c.body.id as string
    }
    keyed = await ready({
      name: 'Keyed API',
      description: 'Tickets and customers',
      baseUrl: upstream.url,
      auth: { type: 'api_key', params: [{ name: 'API key', key: 'X-Api-Key', in: 'header' }] },
      identity: { path: 'me', valuePath: 'login' },
      customAction: { enabled: true },
    })
    oauth = await ready({
      name: 'OIDC Drive',
      description: 'Files, signed in with OAuth 2.0',
      baseUrl: upstream.url,
      auth: {
        type: 'oauth2',
        grantType: 'authorization_code',
        authorizationUrl: peer.authorizationUrl,
        tokenUrl: peer.tokenUrl,
        clientId: peer.clients.basic.clientId,
        clientSecret: peer.clients.basic.clientSecret,
        clientAuth: 'basic',
        scopes: [
          { name: 'OpenID', value: 'openid' },
          { name: 'Offline access', value: 'offline_access' },
        ],
        scopeDelimiter: ' ',
      },
      customAction: { enabled: true },
    })
    browser = await launchBrowser()
    context = await browser.newContext()
  })
  afterAll(async () => {
    await context?.close()
    await browser?.close()
    await t?.close()
    await app?.close()
    await upstream?.close()
    await peer?.close()
  })

  async function session(body: Record<string, unknown>) {
    const res = await t.api('POST', '/api/v1/connect-sessions', body)
    expect(res.status, JSON.stringify(res.body)).toBe(201)
    return res.body as { id: string; token: string; url: string }
  }

  async function openPopup(appPage: Page): Promise<Page> {
    const [popup] = await Promise.all([
      appPage.waitForEvent('popup'),
      appPage.getByRole('button', { name: 'Connect an account' }).click(),
    ])
    return popup
  }

  const messages = (appPage: Page) =>
    appPage.evaluate(() => (window as unknown as { messages: Message[] }).messages)

  async function waitForMessages(appPage: Page, n: number): Promise<Message[]> {
    await appPage.waitForFunction(
      (count) => (window as unknown as { messages: unknown[] }).messages.length >= count,
      n,
    )
    return messages(appPage)
  }

  it('connects an api_key account and an OAuth 2.0 account from a popup, reporting to the opener', async () => {
    const s = await session({
      endUser: { id: 'eu-browser', email: 'eu@example.com', displayName: 'Erin User' },
      connectors: [keyed, oauth],
      allowedOrigin: app.origin,
    })
    const appPage = await context.newPage()
    await appPage.goto(`${app.origin}/?connect=${encodeURIComponent(s.url)}`)

    // 1. api_key, to the loopback upstream.
    const popup = await openPopup(appPage)
    await popup.getByRole('heading', { name: 'Connect your account' }).waitFor()
    expect(popup.url()).toBe(`${t.url}/connect`) // the token left the address bar
    await expect(popup.title()).resolves.toContain('Acme Integrations')
    await popup.getByText('Acme Integrations').waitFor()
    await popup.getByText('Erin User').waitFor()
    await popup.getByRole('button', { name: /Keyed API/ }).click()
    await popup.getByRole('heading', { name: 'Connect Keyed API' }).waitFor()
    const key = popup.getByLabel('API key')
    expect(await key.getAttribute('type')).toBe('password')
    expect(await key.inputValue()).toBe('')
    // A wrong key is refused by nothing here (api_key connects at once); an empty one is named.
    await popup.getByRole('button', { name: 'Connect', exact: true }).click()
    await popup.getByText(/API key is required/).waitFor()
    await key.fill('sk-browser-123')
    await popup.getByRole('button', { name: 'Connect', exact: true }).click()
    await popup.getByRole('heading', { name: 'Connected' }).waitFor()
    const [first] = await waitForMessages(appPage, 1)
    expect(first).toEqual({
      origin: t.url,
      data: { type: 'patchbay:connect', status: 'connected', connectionId: expect.any(String) },
    })
    await popup.close()

    // 2. OAuth 2.0, through the provider and back to the page.
    const popup2 = await openPopup(appPage)
    await popup2.getByRole('button', { name: /OIDC Drive/ }).click()
    await popup2.getByRole('heading', { name: 'Connect OIDC Drive' }).waitFor()
    await popup2.getByText('More options').click()
    expect(await popup2.getByRole('checkbox', { name: 'Offline access' }).isChecked()).toBe(true)
    await popup2.getByRole('button', { name: 'Continue to OIDC Drive' }).click()
    await popup2.waitForURL((url) => url.pathname === '/connect/done')
    await popup2.getByRole('heading', { name: 'Connected' }).waitFor()
    const all = await waitForMessages(appPage, 2)
    expect(all[1]).toEqual({
      origin: t.url,
      data: { type: 'patchbay:connect', status: 'connected', connectionId: expect.any(String) },
    })
    expect(all[1]!.data.connectionId).not.toBe(first!.data.connectionId)
    expect(peer.tokenRequestLog.at(-1)).toMatchObject({
      grantType: 'authorization_code',
      status: 200,
    })
    await popup2.close()

    // The end user never held an admin session.
    const cookies = await context.cookies(t.url)
    expect(cookies.filter((c) => c.name.includes('patchbay_session'))).toEqual([])

    // 3. The admin sees both, with the session's end user.
    const list = await t.api('GET', '/api/v1/connections?endUser=eu-browser')
    const byId = new Map(list.body.items.map((c: { id: string }) => [c.id, c]))
    expect(byId.get(first!.data.connectionId!)).toMatchObject({
      connector: { id: keyed },
      endUser: 'eu-browser',
      status: 'connected',
      identity: 'end-user-at-upstream',
    })
    expect(byId.get(all[1]!.data.connectionId!)).toMatchObject({
      connector: { id: oauth },
      endUser: 'eu-browser',
      status: 'connected',
    })
    const users = await t.api('GET', '/api/v1/end-users/eu-browser')
    expect(users.body).toMatchObject({ email: 'eu@example.com', displayName: 'Erin User' })
    expect(users.body.connections).toHaveLength(2)
    await appPage.close()
  })

  it('has no serious accessibility violations (axe-core) on the choice and the form', async () => {
    const s = await session({ endUser: { id: 'eu-a11y' }, connectors: [keyed, oauth] })
    // axe is injected as a script: this context alone lets it past the CSP.
    const scan = await browser.newContext({ bypassCSP: true })
    try {
      const page = await scan.newPage()
      await page.goto(s.url)
      await page.getByRole('heading', { name: 'Connect your account' }).waitFor()
      expect(await seriousViolations(page)).toEqual([])
      await page.getByRole('button', { name: /Keyed API/ }).click()
      await page.getByRole('heading', { name: 'Connect Keyed API' }).waitFor()
      expect(await seriousViolations(page)).toEqual([])
    } finally {
      await scan.close()
    }
  })

  it('posts nothing to an opener whose origin the session did not name', async () => {
    const s = await session({
      endUser: { id: 'eu-other' },
      connectors: [keyed],
      allowedOrigin: 'https://app.example.com',
    })
    const appPage = await context.newPage()
    await appPage.goto(`${app.origin}/?connect=${encodeURIComponent(s.url)}`)
    const popup = await openPopup(appPage)
    // One connector: its form straight away.
    await popup.getByRole('heading', { name: 'Connect Keyed API' }).waitFor()
    await popup.getByLabel('API key').fill('sk-browser-123')
    await popup.getByRole('button', { name: 'Connect', exact: true }).click()
    await popup.getByRole('heading', { name: 'Connected' }).waitFor()
    // A message for this origin would have been queued before the popup rendered its result.
    await appPage.evaluate(() => new Promise((r) => setTimeout(r, 0)))
    expect(await messages(appPage)).toEqual([])
    await appPage.close()
  })

  it('redirects to returnUrl with connectionId and status when not in a popup', async () => {
    const s = await session({
      endUser: { id: 'eu-redirect' },
      connectors: [keyed],
      returnUrl: `${app.origin}/done?from=patchbay`,
    })
    const page = await context.newPage()
    await page.goto(s.url)
    await page.getByLabel('API key').fill('sk-browser-123')
    await page.getByRole('button', { name: 'Connect', exact: true }).click()
    await page.waitForURL((url) => url.origin === app.origin && url.pathname === '/done')
    const params = new URL(page.url()).searchParams
    expect(params.get('from')).toBe('patchbay')
    expect(params.get('status')).toBe('connected')
    const id = params.get('connectionId')!
    expect((await t.api('GET', `/api/v1/connections/${id}`)).body.endUser).toBe('eu-redirect')
    await page.close()
  })

  it('shows a clear page when the link ends during the flow, and when it is opened again', async () => {
    const s = await session({ endUser: { id: 'eu-ended' }, connectors: [oauth] })
    const page = await context.newPage()
    await page.goto(s.url)
    await page.getByRole('heading', { name: 'Connect OIDC Drive' }).waitFor()
    await t.api('DELETE', `/api/v1/connect-sessions/${s.id}`)
    // The flow was started before the link ended: the provider's answer is refused.
    await page.getByRole('button', { name: 'Continue to OIDC Drive' }).click()
    await page.getByRole('heading', { name: 'This connect link has ended' }).waitFor()
    const reopened = await page.goto(s.url)
    expect(reopened?.status()).toBe(410)
    await page.getByRole('heading', { name: 'This connect link has ended' }).waitFor()
    await page.close()
  })
})
