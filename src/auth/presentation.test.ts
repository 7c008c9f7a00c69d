import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { createBuiltinRegistry } from './builtin.js'
import { presentationProblems, type AuthPresentation, type JsonSchema } from './presentation.js'

const registry = createBuiltinRegistry()
const jsonSchemaOf = (type: string): JsonSchema =>
  z.toJSONSchema(registry.get(type)!.settings, {
    io: 'input',
    unrepresentable: 'any',
  }) as JsonSchema

/** Every enum in a schema with the hints that describe it, as `[path, enum, hint options]`. */
function enumsWithOptions(
  schema: JsonSchema,
  hints: AuthPresentation['settings'],
  path = '',
): [string, unknown[], readonly (readonly [string, string])[]][] {
  const out: [string, unknown[], readonly (readonly [string, string])[]][] = []
  for (const [name, hint] of Object.entries(hints ?? {})) {
    const s = schema.properties?.[name]
    if (!s) continue
    if (s.enum && hint.options) out.push([`${path}${name}`, s.enum, hint.options])
    const inner = typeof s.items === 'object' ? s.items : s.properties ? s : undefined
    if (inner && hint.settings) out.push(...enumsWithOptions(inner, hint.settings, `${name}.`))
  }
  return out
}

describe('auth presentations', () => {
  const types = registry.types()

  it('are given by every built-in type', () => {
    expect(types).toContain('multi')
    for (const type of types) expect(registry.get(type)!.presentation, type).toBeDefined()
  })

  it.each(types)('%s: hints name only settings its schema has, and fit them', (type) => {
    const scheme = registry.get(type)!
    expect(
      presentationProblems(jsonSchemaOf(type), scheme.presentation!, scheme.secretSettings),
    ).toEqual([])
  })

  it.each(types)('%s: every enum with option labels has a label for each value', (type) => {
    const scheme = registry.get(type)!
    for (const [path, values, options] of enumsWithOptions(
      jsonSchemaOf(type),
      scheme.presentation!.settings,
    )) {
      expect(options.map(([v]) => v).sort(), path).toEqual([...values].sort())
      for (const [, label] of options) expect(label, path).not.toBe('')
    }
  })

  it.each(types)('%s: the initial settings are valid settings of a draft', (type) => {
    const scheme = registry.get(type)!
    const initial = scheme.presentation!.initial ?? {}
    // A draft is checked setting by setting (docs/auth/README.md, "Validation and ready").
    expect(scheme.settings.partial().safeParse(initial).success).toBe(true)
  })

  it('mark one type as the one a new connector starts with', () => {
    expect(types.filter((t) => registry.get(t)!.presentation!.preferred)).toEqual(['api_key'])
  })

  it('find what is wrong with a presentation', () => {
    const schema = jsonSchemaOf('oauth2')
    expect(
      presentationProblems(schema, {
        settings: {
          clientSecrett: { label: 'Client secret' },
          grantType: {
            options: [
              ['authorization_code', 'Authorization code'],
              ['implicit', 'Implicit'],
            ],
          },
          tokenUrl: { widget: 'number', group: 'nowhere' },
          authorizationUrl: { visibleWhen: { setting: 'grantType', is: ['password'] } },
          scopes: { settings: { label: {} } },
          clientId: { required: { setting: 'grant', is: ['x'] } },
        },
        groups: { unused: {} },
        initial: { grant: 'x' },
        test: { hint: '', pick: { setting: 'token', noun: 'token' } },
      }),
    ).toEqual([
      'clientSecrett is not a setting of the schema',
      'grantType: options leave out "authorization_code_pkce", "client_credentials", "jwt_bearer"',
      'grantType: options offer "implicit", not in the enum',
      'tokenUrl names the group "nowhere", which is not in groups',
      'tokenUrl: the number widget cannot edit this schema',
      'authorizationUrl.visibleWhen compares "grantType" with "password", not one of its values',
      'scopes.label is not a setting of the schema',
      'clientId.required names "grant", which is not a setting beside it',
      'the group "unused" holds no setting',
      'initial.grant is not a setting of the schema',
      'test.pick.setting "token" is not a setting of the schema',
    ])
  })
})
