import { describe, expect, it } from 'vitest'
import { isPatchbayError } from '../errors.js'
import {
  encodeBody,
  isFormType,
  setBodyField,
  type OutgoingRequest,
  type RequestBody,
} from './request.js'

const FORM = 'application/x-www-form-urlencoded'

function request(body: RequestBody, headers: Record<string, string> = {}): OutgoingRequest {
  return { method: 'POST', url: new URL('https://api.example.com/x'), headers, body }
}

function refusal(req: OutgoingRequest): { message: string; details: unknown } {
  try {
    setBodyField(req, 'k', 'secret-value')
  } catch (err) {
    expect(isPatchbayError(err, 'request.invalid')).toBe(true)
    expect((err as Error).message).not.toContain('secret-value')
    return err as { message: string; details: unknown }
  }
  throw new Error('expected a refusal')
}

describe('isFormType', () => {
  it('reads the media type in any case, with parameters', () => {
    expect(isFormType(FORM)).toBe(true)
    expect(isFormType(' Application/X-WWW-Form-Urlencoded ; charset=utf-8')).toBe(true)
    expect(isFormType('application/x-www-form-urlencodedx')).toBe(false)
    expect(isFormType('text/plain')).toBe(false)
    expect(isFormType(undefined)).toBe(false)
  })
})

describe('setBodyField', () => {
  it('parses urlencoded bytes as a form and adds the field last, the others in order', () => {
    const req = request(
      { kind: 'raw', bytes: Buffer.from('b=2&k=old&a=x+y') },
      { 'content-type': FORM },
    )
    setBodyField(req, 'k', 'v')
    expect(req.body).toEqual({
      kind: 'form',
      fields: [
        ['b', '2'],
        ['a', 'x y'],
        ['k', 'v'],
      ],
    })
    expect(encodeBody(req)).toBe('b=2&a=x+y&k=v')
  })

  it("reads the raw body's own content type when the request has none", () => {
    const req = request({ kind: 'raw', bytes: Buffer.from('a=1'), contentType: FORM })
    setBodyField(req, 'k', 'v')
    expect(encodeBody(req)).toBe('a=1&k=v')
    expect(req.headers['content-type']).toBe(FORM)
  })

  it('makes an empty body a form, or a JSON object under a JSON content type', () => {
    const none = request({ kind: 'none' })
    setBodyField(none, 'k', 'v')
    expect(encodeBody(none)).toBe('k=v')
    const json = request({ kind: 'none' }, { 'content-type': 'application/vnd.api+json' })
    setBodyField(json, 'k', 'v')
    expect(encodeBody(json)).toBe('{"k":"v"}')
  })

  it('sets a JSON property, even one named __proto__', () => {
    const req = request({ kind: 'json', value: { a: 1 } })
    setBodyField(req, '__proto__', 'v')
    expect(encodeBody(req)).toBe('{"a":1,"__proto__":"v"}')
  })

  it('refuses a body without fields, saying why and what to send', () => {
    expect(refusal(request({ kind: 'json', value: [1] })).message).toBe(
      `the connector's auth adds the field "k" to the request body, and a JSON array has no fields: send a form (content-type: ${FORM}) or a JSON object instead`,
    )
    expect(refusal(request({ kind: 'json', value: null })).message).toContain('a JSON null')
    expect(refusal(request({ kind: 'json', value: 3 })).message).toContain('a JSON number')
    expect(
      refusal(request({ kind: 'raw', bytes: Buffer.from('a'), contentType: 'text/plain' })).message,
    ).toContain('a body of type text/plain has no fields')
    expect(refusal(request({ kind: 'raw', bytes: Buffer.from('a') })).message).toContain(
      'a body without a content-type',
    )
    expect(
      refusal(
        request({ kind: 'raw', bytes: Buffer.from([0x61, 0x3d, 0xff]) }, { 'content-type': FORM }),
      ).message,
    ).toContain('a urlencoded body that is not UTF-8 text')
    expect(refusal(request({ kind: 'none' }, { 'content-type': 'text/csv' })).details).toEqual([
      {
        path: 'headers.content-type',
        rule: `must be ${FORM} or JSON, or absent: the connector's auth adds the body field "k"`,
      },
    ])
  })
})
