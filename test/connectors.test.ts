import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestPatchbay, testStoreKinds, type TestPatchbay } from './helpers/patchbay.js'
import { startUpstream, type Upstream } from './peers/upstream.js'

describe.each(await testStoreKinds())('on %s', (storeKind) => {
  let t: TestPatchbay
  let up: Upstream
  beforeAll(async () => {
    t = await startTestPatchbay({ storeKind })
    up = await startUpstream()
  })
  afterAll(async () => {
    await t.close()
    await up.close()
  })

  const PNG = Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010806000000', 'hex')
  const base = () => ({
    name: 'Acme CRM',
    baseUrl: 'https://api.acme.test/',
    auth: { type: 'bearer' },
  })

  async function count(): Promise<number> {
    return (await t.api('GET', '/api/v1/connectors?limit=500')).body.items.length
  }

  describe('naming rules: each bad input is a 400 naming the field and rule, and nothing is written', () => {
    const cases: [string, Record<string, unknown>, string, RegExp][] = [
      ['a name over 50 characters', { name: 'a'.repeat(51) }, 'name', /at most 50/],
      [
        'a name starting with a special character',
        { name: '-Acme' },
        'name',
        /must start with a letter, digit or _/,
      ],
      [
        'a name with a special character not allowed',
        { name: 'Acme#CRM' },
        'name',
        /only letters, digits/,
      ],
      ['an empty name', { name: '' }, 'name', /required/],
      [
        'a link name starting with a digit',
        { linkName: '1acme' },
        'linkName',
        /must start with a letter/,
      ],
      ['a link name with a dash', { linkName: 'acme-crm' }, 'linkName', /letters, digits and _/],
      ['a link name over 50 characters', { linkName: 'a'.repeat(51) }, 'linkName', /at most 50/],
      [
        'a description over 255 characters',
        { description: 'a'.repeat(256) },
        'description',
        /at most 255/,
      ],
      [
        'a description with a special character not allowed',
        { description: 'Best <CRM>' },
        'description',
        /may use only/,
      ],
      [
        'a logo that is a GIF',
        { logo: 'data:image/gif;base64,R0lGODlhAQABAAAAACw=' },
        'logo',
        /PNG\/JPG\/JPEG only/,
      ],
      [
        'a logo of 1 MiB',
        {
          logo: `data:image/png;base64,${Buffer.concat([PNG, Buffer.alloc(1024 * 1024)]).toString('base64')}`,
        },
        'logo',
        /smaller than 1 MiB/,
      ],
      [
        'a logo whose bytes are not a PNG',
        { logo: `data:image/png;base64,${Buffer.from('hello').toString('base64')}` },
        'logo',
        /not a PNG/,
      ],
      ['a base URL without scheme', { baseUrl: 'api.acme.test/v1' }, 'baseUrl', /absolute http/],
      [
        'a base URL with another scheme',
        { baseUrl: 'ftp://acme.test/' },
        'baseUrl',
        /absolute http/,
      ],
      [
        'a base URL template naming no field',
        { baseUrl: 'https://{{tenant}}.acme.test/' },
        'baseUrl',
        /not a connection field/,
      ],
      [
        'an unknown auth type',
        { auth: { type: 'kerberos' } },
        'auth.type',
        /must be one of .*basic.*api_key/,
      ],
      [
        'an unknown auth setting',
        { auth: { type: 'bearer', colour: 'red' } },
        'auth.colour',
        /not a setting/,
      ],
      [
        'an api_key param in a wrong place',
        { auth: { type: 'api_key', params: [{ name: 'K', key: 'k', in: 'cookie' }] } },
        'auth.params.0.in',
        /one of/,
      ],
      ['an unknown top-level field', { colour: 'red' }, '', /unknown field "colour"/],
      [
        'a field name with a space',
        { fields: [{ name: 'sub domain', type: 'text' }] },
        'fields.0.name',
        /letters, digits and _/,
      ],
      [
        'a select field without options',
        { fields: [{ name: 'region', type: 'select' }] },
        'fields.0.options',
        /needs options/,
      ],
      [
        'a bad detectOn regex',
        { auth: { type: 'bearer', detectOn: ['/(/'] } },
        'auth.detectOn.0',
        /regular expression/,
      ],
    ]
    for (const [what, patch, path, rule] of cases) {
      it(`refuses ${what}`, async () => {
        const before = await count()
        const res = await t.api('POST', '/api/v1/connectors', { ...base(), ...patch })
        expect(res.status).toBe(400)
        expect(res.body.error.code).toBe('input.invalid')
        const issue = (res.body.error.details as { path: string; rule: string }[]).find(
          (d) => d.path === path,
        )
        expect(issue, JSON.stringify(res.body.error.details)).toBeDefined()
        expect(issue!.rule).toMatch(rule)
        expect(res.body.error.message).toContain(path || 'unknown')
        expect(await count()).toBe(before)
      })
    }

    it('accepts every allowed special character and derives the link name', async () => {
      const res = await t.api('POST', '/api/v1/connectors', {
        ...base(),
        name: 'Acme_CRM *-@/!:|&~\\+ 2',
      })
      expect(res.status, JSON.stringify(res.body)).toBe(201)
      expect(res.body.linkName).toBe('acme_crm_2')
      expect(res.body.stage).toBe('draft')
    })

    it('refuses malformed JSON with a 400', async () => {
      const res = await t.api('POST', '/api/v1/connectors', '{"name": ')
      expect(res.status).toBe(400)
      expect(res.body.error.code).toBe('input.malformed_json')
    })

    it('refuses a second connector with the same link name with a 409', async () => {
      await t.api('POST', '/api/v1/connectors', { ...base(), linkName: 'twice' })
      const res = await t.api('POST', '/api/v1/connectors', { ...base(), linkName: 'twice' })
      expect(res.status).toBe(409)
      expect(res.body.error).toMatchObject({
        code: 'connector.link_name_taken',
        details: [{ path: 'linkName' }],
      })
    })
  })

  describe('lifecycle', () => {
    it('keeps an incomplete draft from ready, listing what is missing', async () => {
      const c = await t.api('POST', '/api/v1/connectors', {
        ...base(),
        name: 'Half done',
        auth: { type: 'api_key' },
      })
      expect(c.status).toBe(201)
      expect(c.body.missing).toEqual([{ path: 'auth.params', rule: 'is required' }])
      const ready = await t.api('POST', `/api/v1/connectors/${c.body.id}/ready`)
      expect(ready.status).toBe(409)
      expect(ready.body.error.code).toBe('connector.incomplete')
      expect((await t.api('GET', `/api/v1/connectors/${c.body.id}`)).body.stage).toBe('draft')
    })

    it('refuses a connection on a draft', async () => {
      const c = await t.api('POST', '/api/v1/connectors', { ...base(), name: 'Still draft' })
      const res = await t.api('POST', '/api/v1/connections', {
        connector: c.body.id,
        values: { token: 'x' },
      })
      expect(res.status).toBe(409)
      expect(res.body.error.code).toBe('connector.not_ready')
      expect(
        (await t.api('GET', `/api/v1/connections?connector=${c.body.id}`)).body.items,
      ).toHaveLength(0)
    })

    it('discards the old auth settings when the type changes in draft', async () => {
      const c = await t.api('POST', '/api/v1/connectors', {
        ...base(),
        name: 'Switcher',
        auth: { type: 'bearer', prefix: 'Token', header: 'X-T' },
      })
      const res = await t.api('PATCH', `/api/v1/connectors/${c.body.id}`, {
        auth: { type: 'basic' },
      })
      expect(res.status, JSON.stringify(res.body)).toBe(200)
      expect(res.body.auth).toEqual({
        type: 'basic',
        usernameLabel: 'Username',
        passwordLabel: 'Password',
      })
    })

    it('freezes the auth type and parameters once ready, and ready is final', async () => {
      const c = await t.api('POST', '/api/v1/connectors', { ...base(), name: 'Frozen' })
      await t.api('POST', `/api/v1/connectors/${c.body.id}/ready`)
      const type = await t.api('PATCH', `/api/v1/connectors/${c.body.id}`, {
        auth: { type: 'basic' },
      })
      expect(type.status).toBe(409)
      expect(type.body.error).toMatchObject({
        code: 'connector.auth_type_locked',
        details: [{ path: 'auth.type' }],
      })
      const param = await t.api('PATCH', `/api/v1/connectors/${c.body.id}`, {
        auth: { type: 'bearer', prefix: 'Token' },
      })
      expect(param.status).toBe(409)
      expect(param.body.error).toMatchObject({
        code: 'connector.frozen',
        details: [{ path: 'auth.prefix' }],
      })
      const url = await t.api('PATCH', `/api/v1/connectors/${c.body.id}`, {
        baseUrl: 'https://other.test/',
      })
      expect(url.body.error).toMatchObject({
        code: 'connector.frozen',
        details: [{ path: 'baseUrl' }],
      })
      const still = await t.api('GET', `/api/v1/connectors/${c.body.id}`)
      expect(still.body).toMatchObject({
        stage: 'ready',
        baseUrl: 'https://api.acme.test/',
        auth: { type: 'bearer', prefix: 'Bearer' },
      })
    })

    it('keeps the secret settings when a PATCH leaves out auth, in draft and once ready', async () => {
      const c = await t.api('POST', '/api/v1/connectors', {
        ...base(),
        name: 'Secret keeper',
        auth: {
          type: 'oauth2',
          grantType: 'client_credentials',
          clientId: 'id-1',
          clientSecret: 'kept-secret-0123',
          tokenUrl: 'https://auth.acme.test/token',
        },
      })
      expect(c.status, JSON.stringify(c.body)).toBe(201)
      const draft = await t.api('PATCH', `/api/v1/connectors/${c.body.id}`, { name: 'Keeper 2' })
      expect(draft.status, JSON.stringify(draft.body)).toBe(200)
      expect(draft.body.auth.clientSecret).toBe('********')
      expect(draft.body.missing).toEqual([])
      expect((await t.api('POST', `/api/v1/connectors/${c.body.id}/ready`)).status).toBe(200)
      const ready = await t.api('PATCH', `/api/v1/connectors/${c.body.id}`, { name: 'Keeper 3' })
      expect(ready.status, JSON.stringify(ready.body)).toBe(200)
      expect(ready.body).toMatchObject({ name: 'Keeper 3', auth: { clientSecret: '********' } })
    })

    it('keeps name, description, logo, field labels and actions editable once ready', async () => {
      const c = await t.api('POST', '/api/v1/connectors', {
        ...base(),
        name: 'Editable',
        fields: [{ name: 'region', label: 'Region', type: 'text' }],
      })
      await t.api('POST', `/api/v1/connectors/${c.body.id}/ready`)
      const logo = `data:image/png;base64,${PNG.toString('base64')}`
      const res = await t.api('PATCH', `/api/v1/connectors/${c.body.id}`, {
        name: 'Editable 2',
        description: 'Now with a description.',
        logo,
        fields: [{ name: 'region', label: 'Data region', type: 'text' }],
        actions: [{ name: 'List', method: 'get', path: 'items' }],
      })
      expect(res.status, JSON.stringify(res.body)).toBe(200)
      expect(res.body).toMatchObject({
        name: 'Editable 2',
        logo,
        fields: [{ label: 'Data region' }],
        actions: [{ name: 'List', method: 'GET' }],
      })
      const shape = await t.api('PATCH', `/api/v1/connectors/${c.body.id}`, {
        fields: [{ name: 'zone', type: 'text' }],
      })
      expect(shape.body.error).toMatchObject({
        code: 'connector.frozen',
        details: [{ path: 'fields' }],
      })
    })

    it('masks secret settings and keeps them when the mask is sent back', async () => {
      const c = await t.api('POST', '/api/v1/connectors', {
        ...base(),
        name: 'Masked',
        auth: {
          type: 'oauth1',
          consumerKey: 'ck',
          consumerSecret: 'cs-very-secret',
          requestTokenUrl: 'https://a.test/r',
          authorizationUrl: 'https://a.test/a',
          accessTokenUrl: 'https://a.test/t',
        },
      })
      expect(c.status, JSON.stringify(c.body)).toBe(201)
      expect(c.body.auth.consumerSecret).toBe('********')
      expect(JSON.stringify(c.body)).not.toContain('cs-very-secret')
      const patched = await t.api('PATCH', `/api/v1/connectors/${c.body.id}`, {
        auth: { ...c.body.auth, consumerKey: 'ck2' },
      })
      expect(patched.body.auth).toMatchObject({ consumerKey: 'ck2', consumerSecret: '********' })
      const loaded = await t.pb.connectors.get(c.body.id)
      expect(loaded.auth.consumerSecret).toBe('********')
    })

    it('refuses to delete a connector with connections, then deletes it once they are gone', async () => {
      const c = await t.api('POST', '/api/v1/connectors', {
        ...base(),
        name: 'Deletable',
        baseUrl: up.url,
      })
      await t.api('POST', `/api/v1/connectors/${c.body.id}/ready`)
      const conn = await t.api('POST', '/api/v1/connections', {
        connector: c.body.id,
        values: { token: 'x' },
      })
      const refused = await t.api('DELETE', `/api/v1/connectors/${c.body.id}`)
      expect(refused.status).toBe(409)
      expect(refused.body.error.code).toBe('connector.in_use')
      expect((await t.api('DELETE', `/api/v1/connections/${conn.body.id}`)).status).toBe(204)
      expect((await t.api('DELETE', `/api/v1/connectors/${c.body.id}`)).status).toBe(204)
      expect((await t.api('GET', `/api/v1/connectors/${c.body.id}`)).status).toBe(404)
    })
  })

  describe('connections', () => {
    it('validates values against the connector fields, naming each bad one, and writes nothing', async () => {
      const c = await t.api('POST', '/api/v1/connectors', {
        ...base(),
        name: 'Fielded',
        baseUrl: 'https://{{subdomain}}.acme.test/',
        fields: [
          { name: 'subdomain', type: 'text' },
          {
            name: 'region',
            type: 'select',
            options: [
              ['EU', 'eu'],
              ['US', 'us'],
            ],
          },
          {
            name: 'scopes',
            type: 'multiselect',
            delimiter: ' ',
            options: [
              ['Read', 'r'],
              ['Write', 'w'],
            ],
            optional: true,
          },
          { name: 'limit', type: 'number', optional: true },
        ],
      })
      await t.api('POST', `/api/v1/connectors/${c.body.id}/ready`)
      const bad = await t.api('POST', '/api/v1/connections', {
        connector: c.body.id,
        values: { region: 'mars', limit: 'ten', scopes: ['x'], extra: 1 },
      })
      expect(bad.status).toBe(400)
      expect(bad.body.error.code).toBe('connection.invalid_values')
      const paths = (bad.body.error.details as { path: string }[]).map((d) => d.path).sort()
      expect(paths).toEqual([
        'values.extra',
        'values.limit',
        'values.region',
        'values.scopes',
        'values.subdomain',
        'values.token',
      ])
      expect(
        (await t.api('GET', `/api/v1/connections?connector=${c.body.id}`)).body.items,
      ).toHaveLength(0)
      const ok = await t.api('POST', '/api/v1/connections', {
        connector: c.body.id,
        endUser: 'user-7',
        values: { subdomain: 'eu1', region: 'eu', scopes: 'r w', token: 't0ken-value' },
      })
      expect(ok.status, JSON.stringify(ok.body)).toBe(201)
      expect(ok.body).toMatchObject({
        status: 'connected',
        endUser: 'user-7',
        values: { subdomain: 'eu1', region: 'eu', scopes: ['r', 'w'] },
        secretsSet: ['token'],
      })
      const byUser = await t.api('GET', '/api/v1/connections?endUser=user-7')
      expect(byUser.body.items.map((i: { id: string }) => i.id)).toEqual([ok.body.id])
    })

    it('pages lists with nextCursor and refuses a forged cursor', async () => {
      for (let i = 0; i < 3; i++)
        await t.api('POST', '/api/v1/connectors', { ...base(), name: `Paged ${i}` })
      const first = await t.api('GET', '/api/v1/connectors?limit=2')
      expect(first.body.items).toHaveLength(2)
      const second = await t.api(
        'GET',
        `/api/v1/connectors?limit=2&cursor=${first.body.nextCursor}`,
      )
      expect(second.body.items[0].id).not.toBe(first.body.items[1].id)
      const forged = await t.api('GET', '/api/v1/connectors?cursor=abc')
      expect(forged.status).toBe(400)
      const limit = await t.api('GET', '/api/v1/connectors?limit=0')
      expect(limit.body.error.details[0]).toMatchObject({ path: 'limit' })
    })

    it('answers 401 without the admin key, and 404 with the error shape for unknown ids', async () => {
      const res = await fetch(`${t.url}/api/v1/connectors`)
      expect(res.status).toBe(401)
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe(
        'auth.unauthorized',
      )
      const wrong = await t.api('GET', '/api/v1/connectors', undefined, {
        authorization: 'Bearer nope',
      })
      expect(wrong.status).toBe(401)
      expect((await t.api('GET', '/api/v1/connections/co_missing')).body.error.code).toBe(
        'connection.not_found',
      )
    })
  })
})
