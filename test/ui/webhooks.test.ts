/**
 * The Webhooks page in Chromium: a dead-lettered event is listed with its last answer, its Retry
 * button sends it again (the receiver then accepts it), and the page passes an axe-core scan.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestPatchbay, type TestPatchbay } from '../helpers/patchbay.js'
import { ensureWebBuilt, launchBrowser, seriousViolations, signIn, skipBrowser } from './helpers.js'

describe.skipIf(skipBrowser)('the Webhooks page', () => {
  let receiver: Server
  let status = 500
  const received: { id: string; answered: number }[] = []
  let t: TestPatchbay
  let browser: Browser
  let context: BrowserContext
  let page: Page
  let connectionId: string

  beforeAll(async () => {
    await ensureWebBuilt()
    receiver = createServer((req, res) => {
      const chunks: Buffer[] = []
      req.on('data', (c: Buffer) => chunks.push(c))
      req.on('end', () => {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { id: string }
        received.push({ id: body.id, answered: status })
        res.writeHead(status).end()
      })
    })
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r))
    const port = (receiver.address() as AddressInfo).port
    t = await startTestPatchbay({
      // One try: a refused event is dead-lettered at once.
      webhook: {
        url: `http://127.0.0.1:${port}/hooks`,
        secret: 'whsec_ui_0123456789ab',
        retryDelaysMs: [],
      },
    })
    const c = await t.api('POST', '/api/v1/connectors', {
      name: 'Hooked API',
      baseUrl: 'https://api.example.com/',
      auth: { type: 'bearer' },
    })
    await t.api('POST', `/api/v1/connectors/${c.body.id}/ready`)
    const conn = await t.api('POST', '/api/v1/connections', {
      connector: c.body.id,
      name: 'Ann’s account',
      endUser: 'ann',
      values: { token: 'hooked-token' },
    })
    connectionId = conn.body.id as string
    await t.pb.webhooks.idle()
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
    await new Promise<void>((r) => {
      receiver?.closeAllConnections()
      receiver?.close(() => r())
    })
  })

  it('lists a dead-lettered event and sends it again with Retry', async () => {
    const [dead] = (await t.api('GET', '/api/v1/webhook-events?status=dead')).body.items
    expect(dead).toMatchObject({ type: 'connection.created', connectionId, attempts: 1 })

    await page
      .getByRole('navigation', { name: 'Main' })
      .getByRole('link', { name: 'Webhooks' })
      .click()
    await page.getByRole('heading', { level: 1, name: 'Webhooks' }).waitFor()
    const row = page.getByRole('row').filter({ hasText: dead.id })
    await row.getByText('connection.created').waitFor()
    await row.getByText('Ann’s account').waitFor()
    await row.getByText('the receiver answered 500').waitFor()
    const vs = await seriousViolations(page)
    expect(vs, JSON.stringify(vs, null, 2)).toEqual([])

    status = 200
    await row.getByRole('button', { name: 'Retry connection.created for Ann’s account' }).click()
    await page.getByText('Sending connection.created again').waitFor()
    await t.pb.webhooks.idle()
    expect(received.map((r) => `${r.id} ${r.answered}`)).toEqual([
      `${dead.id} 500`,
      `${dead.id} 200`,
    ])
    await page.getByRole('button', { name: 'Refresh' }).click()
    await page.getByText('No dead-lettered events').waitFor()
    await page.getByLabel('Status').selectOption({ label: 'Delivered' })
    await page.getByRole('row').filter({ hasText: dead.id }).waitFor()
    expect(new URL(page.url()).search).toBe('?status=delivered')
    expect((await t.api('GET', `/api/v1/webhook-events/${dead.id}`)).body.status).toBe('delivered')
  })
})
