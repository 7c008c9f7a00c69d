import { describe, expect, it } from 'vitest'
import { defineConnector } from '../connector/define.js'
import { createBuiltinRegistry } from './builtin.js'
import { createCodeScheme } from './code.js'
import { signsRequest, type AuthRegistry, type AuthScheme } from './scheme.js'

const registry = createBuiltinRegistry()
const scheme = (type: string) => registry.get(type)!
const parse = (s: AuthScheme, settings: Record<string, unknown>) =>
  s.settings.parse(settings) as Record<string, unknown>

describe('signsRequest', () => {
  it('is true for the types that sign in apply, and false for every other', () => {
    const signing = registry.types().filter((type) => {
      const s = scheme(type)
      return s.signsRequest === true
    })
    expect(signing.sort()).toEqual(['aws_sigv4', 'oauth1'])
    expect(signsRequest(scheme('bearer'), {}, {})).toBe(false)
  })

  it("answers for multi's selected option", () => {
    const multi = scheme('multi')
    const settings = parse(multi, {
      options: {
        aws: { label: 'AWS', type: 'aws_sigv4', service: 's3', region: 'us-east-1' },
        key: { label: 'Key', type: 'api_key', params: [{ name: 'Key', key: 'k' }] },
      },
    })
    expect(signsRequest(multi, settings, { auth_type: 'aws' })).toBe(true)
    expect(signsRequest(multi, settings, { auth_type: 'key' })).toBe(false)
    expect(signsRequest(multi, settings, { auth_type: 'nope' })).toBe(false)
    expect(signsRequest(multi, settings, {})).toBe(false)
  })

  it("follows a code connector's base type, unless an apply lambda replaces its apply", () => {
    const codeScheme = (auth: Record<string, unknown>, settings: Record<string, unknown>) => {
      const s = createCodeScheme(
        defineConnector({ name: 'Code', baseUrl: 'https://api.example.com/', auth } as never),
        { linkName: 'code', registry: (): AuthRegistry => registry },
      )
      return { s, settings: parse(s, settings) }
    }
    const keys = { service: 's3', region: 'us-east-1' }
    const aws = codeScheme({ type: 'aws_sigv4', ...keys }, keys)
    expect(signsRequest(aws.s, aws.settings, {})).toBe(true)
    const lambda = codeScheme({ type: 'aws_sigv4', ...keys, apply() {} }, keys)
    expect(signsRequest(lambda.s, lambda.settings, {})).toBe(false)
  })
})
