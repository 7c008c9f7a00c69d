/**
 * `GET /api/v1/auth-types`: every type of the registry with its settings' JSON Schema and its
 * builder hints, an extra scheme included, a code connector's own type left out.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { createBuiltinRegistry } from '../src/auth/builtin.js'
import { startTestPatchbay, type TestPatchbay } from './helpers/patchbay.js'
import { partnerKeyScheme, PARTNER_TYPE } from './helpers/partner-key-scheme.js'

const registry = createBuiltinRegistry()
const BUILTIN = registry.types()

describe('GET /api/v1/auth-types', () => {
  let t: TestPatchbay

  beforeAll(async () => {
    t = await startTestPatchbay({
      schemes: [
        partnerKeyScheme,
        // A code connector's type: connectors made through the API may not use it.
        { ...partnerKeyScheme, type: 'code:owned_crm', ownedBy: 'owned_crm' },
      ],
    })
  })
  afterAll(async () => {
    await t?.close()
  })

  it('lists the registry’s types in its order, an extra scheme last, a code connector’s left out', async () => {
    const res = await t.api('GET', '/api/v1/auth-types')
    expect(res.status).toBe(200)
    expect(BUILTIN.slice(0, 2)).toEqual(['basic', 'api_key'])
    expect(res.body.items.map((i: { type: string }) => i.type)).toEqual([...BUILTIN, PARTNER_TYPE])
  })

  it('describes each type with its settings’ JSON Schema, hints, secrets and test flags', async () => {
    const { items } = (await t.api('GET', '/api/v1/auth-types')).body
    const partner = items.find((i: { type: string }) => i.type === PARTNER_TYPE)
    expect(partner).toEqual({
      type: PARTNER_TYPE,
      label: 'Partner key',
      settings: JSON.parse(
        JSON.stringify(
          z.toJSONSchema(partnerKeyScheme.settings, { io: 'input', unrepresentable: 'any' }),
        ),
      ),
      presentation: JSON.parse(JSON.stringify(partnerKeyScheme.presentation)),
      secretSettings: ['partnerSecret'],
      testBeforeReady: false,
      hasTest: false,
    })
    expect(partner.settings.properties.encoding).toEqual({
      default: 'hex',
      type: 'string',
      enum: ['hex', 'base64url'],
    })

    for (const type of BUILTIN) {
      const item = items.find((i: { type: string }) => i.type === type)
      const scheme = registry.get(type)!
      expect(item.settings, type).toEqual(
        JSON.parse(
          JSON.stringify(z.toJSONSchema(scheme.settings, { io: 'input', unrepresentable: 'any' })),
        ),
      )
      expect(item.presentation, type).toEqual(JSON.parse(JSON.stringify(scheme.presentation)))
    }
    const flags = (type: string) => {
      const i = items.find((x: { type: string }) => x.type === type)
      return [i.label, i.secretSettings, i.testBeforeReady, i.hasTest]
    }
    expect(flags('http_token')).toEqual(['HTTP request token', [], true, true])
    expect(flags('oauth2')).toEqual(['OAuth 2.0', ['clientSecret', 'privateKey'], false, false])
    expect(flags('multi')).toEqual([
      'Multiple authentication types',
      expect.arrayContaining([
        'options.*.consumerSecret',
        'options.*.clientSecret',
        'options.*.partnerSecret',
      ]),
      false,
      false,
    ])
  })

  it('wants the admin key, and is in the OpenAPI document', async () => {
    const anonymous = await t.api('GET', '/api/v1/auth-types', undefined, { authorization: '' })
    expect(anonymous.status).toBe(401)
    expect(anonymous.body.error.code).toBe('auth.unauthorized')
    const doc = (await t.api('GET', '/api/v1/openapi.json')).body
    expect(Object.keys(doc.paths['/auth-types'])).toEqual(['get'])
    expect(
      doc.paths['/auth-types'].get.responses['200'].content['application/json'].schema,
    ).toMatchObject({ required: ['items'] })
  })
})
