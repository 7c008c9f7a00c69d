import { describe, expect, it } from 'vitest'
import { objectSchema, slug, toolNames, TOOL_NAME_RE } from './tools.js'

const action = (id: string, name: string) => ({ id, name })

describe('tool names', () => {
  it('joins the link name and the action name as a slug', () => {
    const names = toolNames('acme_crm', [
      action('act_1', 'Create contact'),
      action('act_2', 'Liste des élèves / 2024!'),
      action('act_3', 'getUser'),
    ])
    expect([...names.actions.values()]).toEqual([
      'acme_crm__create_contact',
      'acme_crm__liste_des_eleves_2024',
      'acme_crm__getuser',
    ])
    expect(names.httpRequest).toBe('acme_crm__http_request')
  })

  it('gives actions whose names meet (or meet http_request) a hash of their id, stably', () => {
    const actions = [
      action('act_1', 'Create contact'),
      action('act_2', 'create-contact'),
      action('act_3', 'HTTP request'),
      action('act_4', 'Other'),
    ]
    const a = toolNames('acme', actions)
    const b = toolNames('acme', [...actions].reverse())
    expect(a.actions).toEqual(b.actions)
    expect(a.actions.get('act_1')).toMatch(/^acme__create_contact_[0-9a-f]{6}$/)
    expect(a.actions.get('act_2')).toMatch(/^acme__create_contact_[0-9a-f]{6}$/)
    expect(a.actions.get('act_1')).not.toBe(a.actions.get('act_2'))
    expect(a.actions.get('act_3')).toMatch(/^acme__http_request_[0-9a-f]{6}$/)
    expect(a.httpRequest).toBe('acme__http_request')
    expect(a.actions.get('act_4')).toBe('acme__other')
  })

  it('keeps every name within 64 characters of letters, digits, _ and -', () => {
    const link = `l${'x'.repeat(49)}`
    const names = toolNames(link, [
      action('act_1', 'A very long action name that goes on and on and on'),
      action('act_2', 'A very long action name that goes on and on and on too'),
      action('act_3', '日本語'),
      action('act_4', '***'),
    ])
    const all = [...names.actions.values(), names.httpRequest]
    for (const name of all) {
      expect(name).toMatch(TOOL_NAME_RE)
      expect(name.startsWith(`${link}__`)).toBe(true)
    }
    expect(new Set(all).size).toBe(all.length)
    // No letter or digit to keep: a placeholder (cut to fit) and the hash.
    expect(names.actions.get('act_3')).toMatch(new RegExp(`^${link}__actio_[0-9a-f]{6}$`))
    expect(toolNames('acme', [action('act_5', '日本語')]).actions.get('act_5')).toMatch(
      /^acme__action_[0-9a-f]{6}$/,
    )
  })

  it('never gives two connectors the same name, although link names may hold _', () => {
    const a = toolNames('a_b', [action('act_1', 'c')])
    const b = toolNames('a', [action('act_2', 'b c')])
    expect(a.actions.get('act_1')).toBe('a_b__c')
    expect(b.actions.get('act_2')).toBe('a__b_c')
    expect(slug('__x__y__')).toBe('x_y')
  })
})

describe('input schemas', () => {
  it('marks a field required unless it is optional or has a default, and nests objects', () => {
    expect(
      objectSchema([
        { name: 'q', type: 'text' },
        { name: 'n', type: 'number', optional: true },
        { name: 'on', type: 'boolean', default: true, hint: 'Switch' },
        {
          name: 'more',
          type: 'object',
          properties: [{ name: 'deep', type: 'select', options: [['One', '1']] }],
        },
      ]),
    ).toEqual({
      type: 'object',
      properties: {
        q: { type: 'string', maxLength: 10_000 },
        n: { type: 'number' },
        on: { type: 'boolean', default: true, description: 'Switch' },
        more: {
          type: 'object',
          properties: { deep: { type: 'string', enum: ['1'] } },
          required: ['deep'],
          additionalProperties: false,
        },
      },
      required: ['q', 'more'],
      additionalProperties: false,
    })
  })
})
