/**
 * `POST /api/v1/connectors/:id/connection-form`: what a connection form asks for, and whether it
 * goes through the browser, for the values chosen so far — answered by the auth scheme, so no
 * client has to know the auth types.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestPatchbay, testStoreKinds, type TestPatchbay } from './helpers/patchbay.js'

for (const storeKind of await testStoreKinds()) {
  describe(`the connection form on ${storeKind}`, () => {
    let t: TestPatchbay
    let multi: string
    beforeAll(async () => {
      t = await startTestPatchbay({ storeKind })
      const c = await t.api('POST', '/api/v1/connectors', {
        name: 'Two Ways',
        baseUrl: 'https://api.example.com/',
        fields: [
          {
            name: 'region',
            type: 'select',
            options: [
              ['EU', 'eu'],
              ['US', 'us'],
            ],
          },
        ],
        auth: {
          type: 'multi',
          options: {
            key: {
              label: 'API key',
              type: 'api_key',
              params: [{ name: 'Key', key: 'k', in: 'header' }],
            },
            oauth: {
              label: 'Sign in',
              type: 'oauth2',
              grantType: 'authorization_code',
              clientId: 'id',
              clientSecret: 'secret',
              authorizationUrl: 'https://auth.example.com/authorize',
              tokenUrl: 'https://auth.example.com/token',
            },
          },
        },
      })
      expect(c.status, JSON.stringify(c.body)).toBe(201)
      multi = c.body.id
    })
    afterAll(async () => {
      await t?.close()
    })

    const form = (values: Record<string, unknown>) =>
      t.api('POST', `/api/v1/connectors/${multi}/connection-form`, { values })

    it('shows the option picker and every option’s fields before a choice', async () => {
      const res = await form({})
      expect(res.status).toBe(200)
      expect(res.body.browser).toBe(false)
      expect(res.body.fields.map((f: any) => [f.name, f.optional ?? false])).toEqual([
        ['region', false],
        ['auth_type', false],
        ['k', true],
      ])
    })

    it('narrows to the chosen option, and says when it goes through the browser', async () => {
      const key = await form({ auth_type: 'key' })
      expect(key.body).toEqual({
        browser: false,
        fields: [
          expect.objectContaining({ name: 'region' }),
          expect.objectContaining({ name: 'auth_type', type: 'select' }),
          { name: 'k', label: 'Key', type: 'password' },
        ],
      })
      const oauth = await form({ auth_type: 'oauth' })
      expect(oauth.body.browser).toBe(true)
      expect(oauth.body.fields.map((f: any) => f.name)).toEqual(['region', 'auth_type'])
    })

    it('refuses bad input with a 400 naming the field, and an unknown connector with a 404', async () => {
      const bad = await t.api('POST', `/api/v1/connectors/${multi}/connection-form`, {
        values: [],
      })
      expect(bad.status).toBe(400)
      expect(bad.body.error.details).toEqual([{ path: 'values', rule: expect.any(String) }])
      const extra = await t.api('POST', `/api/v1/connectors/${multi}/connection-form`, { other: 1 })
      expect(extra.status).toBe(400)
      const missing = await t.api('POST', '/api/v1/connectors/nope/connection-form', {})
      expect(missing.status).toBe(404)
    })
  })
}
