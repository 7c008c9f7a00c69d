/**
 * Connector fields that name one of their auth type's connection fields (docs/auth/README.md,
 * "Connector fields that re-declare an auth type's field"), through the API on both stores: the
 * re-declaration is merged — the connector's label, hint, default and options win, the type stays
 * the auth type's, and the field is asked for once, in the connector's `connectionFields` and on
 * the hosted connect page — a re-declaration without a `type` takes the auth type's, and an
 * incompatible one is a 400 naming `fields.N.type`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CONNECT_SESSION_HEADER } from '../src/server/connect.js'
import { startTestPatchbay, testStoreKinds, type TestPatchbay } from './helpers/patchbay.js'
import { json, startUpstream, type Upstream } from './peers/upstream.js'

interface Field {
  name: string
  label?: string
  hint?: string
  type: string
  options?: [string, string][]
  optional?: boolean
}

describe.each(await testStoreKinds())(
  'connector fields re-declaring auth fields on %s',
  (storeKind) => {
    let t: TestPatchbay
    let up: Upstream

    beforeAll(async () => {
      up = await startUpstream()
      up.route('*', (req, res) =>
        json(res, 200, {
          authorization: req.headers.authorization ?? null,
          query: Object.fromEntries(req.query),
        }),
      )
      t = await startTestPatchbay({ storeKind })
    })
    afterAll(async () => {
      await t?.close()
      await up?.close()
    })

    async function create(body: Record<string, unknown>) {
      const res = await t.api('POST', '/api/v1/connectors', { baseUrl: up.url, ...body })
      expect(res.status, JSON.stringify(res.body)).toBe(201)
      expect((await t.api('POST', `/api/v1/connectors/${res.body.id}/ready`)).status).toBe(200)
      return res.body as { id: string; fields: Field[]; connectionFields: Field[] }
    }

    /** The fields the hosted connect page shows for `connector` (for the values chosen so far). */
    async function connectPageFields(connector: string, values?: Record<string, unknown>) {
      const session = await t.api('POST', '/api/v1/connect-sessions', {
        endUser: { id: 'fields-user' },
        connectors: [connector],
      })
      expect(session.status, JSON.stringify(session.body)).toBe(201)
      const headers = { [CONNECT_SESSION_HEADER]: session.body.token as string }
      if (values === undefined) {
        const res = await fetch(`${t.url}/connect/api/session`, { headers })
        expect(res.status).toBe(200)
        const body = (await res.json()) as { connectors: { id: string; fields: Field[] }[] }
        return body.connectors.find((c) => c.id === connector)!.fields
      }
      const res = await fetch(`${t.url}/connect/api/fields`, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json' },
        body: JSON.stringify({ connector, values }),
      })
      expect(res.status).toBe(200)
      return ((await res.json()) as { fields: Field[] }).fields
    }

    const named = (fields: Field[], name: string) => fields.filter((f) => f.name === name)

    it('merges a multi connector’s own auth_type select: its label and options, asked once', async () => {
      const c = await create({
        name: 'Two ways in',
        fields: [
          {
            name: 'auth_type',
            type: 'select',
            label: 'How do you sign in?',
            hint: 'Ask your admin which one your account uses.',
            options: [
              ['With an API key', 'key'],
              ['With a user name', 'login'],
            ],
          },
        ],
        auth: {
          type: 'multi',
          options: {
            key: {
              label: 'API key',
              type: 'api_key',
              params: [{ name: 'Key', key: 'api_key', in: 'query' }],
            },
            login: { label: 'Basic', type: 'basic' },
          },
        },
        customAction: { enabled: true },
      })
      const expected = {
        name: 'auth_type',
        type: 'select',
        label: 'How do you sign in?',
        hint: 'Ask your admin which one your account uses.',
        options: [
          ['With an API key', 'key'],
          ['With a user name', 'login'],
        ],
      }
      expect(named(c.connectionFields, 'auth_type')).toEqual([expected])
      expect(c.connectionFields.map((f) => f.name)).toEqual([
        'auth_type',
        'api_key',
        'username',
        'password',
      ])
      const page = await connectPageFields(c.id)
      expect(named(page, 'auth_type')).toEqual([expected])
      const chosen = await connectPageFields(c.id, { auth_type: 'key' })
      expect(chosen.map((f) => f.name)).toEqual(['auth_type', 'api_key'])
      expect(named(chosen, 'auth_type')).toEqual([expected])

      const conn = await t.api('POST', '/api/v1/connections', {
        connector: c.id,
        values: { auth_type: 'key', api_key: 'k-123' },
      })
      expect(conn.status, JSON.stringify(conn.body)).toBe(201)
      const call = await t.api('POST', `/api/v1/connections/${conn.body.id}/request`, { path: 'x' })
      expect(call.body.body.query).toEqual({ api_key: 'k-123' })

      // Options the auth type does not offer are refused, by name.
      const bad = await t.api('POST', '/api/v1/connectors', {
        name: 'Three ways in',
        baseUrl: up.url,
        fields: [{ name: 'auth_type', type: 'select', options: [['SSO', 'sso']] }],
        auth: { type: 'multi', options: { login: { label: 'Basic', type: 'basic' } } },
      })
      expect(bad.status).toBe(400)
      expect(bad.body.error.details).toEqual([
        {
          path: 'fields.0.options',
          rule: '"auth_type" may only list options of the multi auth type (login), not sso',
        },
      ])
    })

    it('shows an api_key param re-declared with a label and hint once, with the connector’s label', async () => {
      const c = await create({
        name: 'Keyed',
        fields: [
          {
            name: 'api_key',
            type: 'password',
            label: 'Your API key',
            hint: 'Settings → API → Create key',
          },
        ],
        auth: { type: 'api_key', params: [{ name: 'Key', key: 'api_key', in: 'query' }] },
        customAction: { enabled: true },
      })
      const expected = {
        name: 'api_key',
        type: 'password',
        label: 'Your API key',
        hint: 'Settings → API → Create key',
      }
      expect(c.connectionFields).toEqual([expected])
      expect(await connectPageFields(c.id)).toEqual([expected])
      const conn = await t.api('POST', '/api/v1/connections', {
        connector: c.id,
        values: { api_key: 'secret-key-9' },
      })
      expect(conn.status, JSON.stringify(conn.body)).toBe(201)
      expect(conn.body.secretsSet).toEqual(['api_key'])
      expect(conn.body.values).toEqual({})
    })

    it('gives a basic password re-declared without a type the auth type’s type', async () => {
      const c = await create({
        name: 'Phrase',
        fields: [{ name: 'password', label: 'Pass phrase' }],
        auth: { type: 'basic' },
        customAction: { enabled: true },
      })
      expect(c.fields).toEqual([{ name: 'password', label: 'Pass phrase', type: 'password' }])
      expect(c.connectionFields).toEqual([
        { name: 'password', label: 'Pass phrase', type: 'password' },
        { name: 'username', label: 'Username', type: 'text' },
      ])
      expect(named(await connectPageFields(c.id), 'password')).toEqual([
        { name: 'password', label: 'Pass phrase', type: 'password' },
      ])
      const conn = await t.api('POST', '/api/v1/connections', {
        connector: c.id,
        values: { username: 'ann', password: 'open sesame' },
      })
      expect(conn.status, JSON.stringify(conn.body)).toBe(201)
      expect(conn.body.secretsSet).toEqual(['password'])
      expect(conn.body.values).toEqual({ username: 'ann' })
      const call = await t.api('POST', `/api/v1/connections/${conn.body.id}/request`, { path: 'x' })
      expect(call.body.body.authorization).toBe(
        `Basic ${Buffer.from('ann:open sesame').toString('base64')}`,
      )
    })

    it('refuses a re-declaration of another type, naming fields.N.type', async () => {
      const res = await t.api('POST', '/api/v1/connectors', {
        name: 'Clash',
        baseUrl: up.url,
        fields: [
          { name: 'region', type: 'text' },
          { name: 'password', type: 'text', label: 'Password' },
        ],
        auth: { type: 'basic' },
      })
      expect(res.status).toBe(400)
      expect(res.body.error).toMatchObject({
        code: 'input.invalid',
        details: [
          {
            path: 'fields.1.type',
            rule: '"password" is a password field of the basic auth type: declare it with type "password", or leave it out',
          },
        ],
      })
      expect(
        (await t.api('GET', '/api/v1/connectors?limit=100')).body.items.map(
          (x: { name: string }) => x.name,
        ),
      ).not.toContain('Clash')
    })
  },
)
