/**
 * Bodies that are not JSON, with any content type and any admin key, on every route that takes a
 * body: a 4xx, `input.malformed_json` when the body does not parse.
 *
 * @module
 */
import fc from 'fast-check'
import { expect, it } from 'vitest'
import { nastyPart, type Obj } from './arbitraries.js'
import { describeFuzz, params, PROPERTY_TIMEOUT_MS } from './harness.js'

await describeFuzz('raw bodies', (f) => {
  it(
    'answers raw bodies that are not JSON, with any content type, with a 4xx',
    async () => {
      const route = fc.constantFrom(
        ['POST', '/api/v1/connectors'],
        ['POST', '/api/v1/connections'],
        ['PATCH', 'draft'],
        ['PATCH', 'ready'],
        ['POST', 'request'],
        ['POST', '/api/v1/actions/act_nope/run'],
      )
      const rawBody = fc.oneof(
        fc.string(),
        fc.string({ unit: 'binary' }),
        fc.uint8Array({ maxLength: 300 }),
        fc.string({
          unit: fc.oneof(nastyPart, fc.constantFrom('{', '}', '[', ']', '"', ':', ',', '\\u')),
        }),
        fc.jsonValue().map((v) => JSON.stringify(v).slice(0, -1)), // truncated JSON
        fc.constantFrom(
          '{"name": "x",}',
          '{"a":1}{"b":2}',
          'NaN',
          "{'name':'x'}",
          '\ufeff{}',
          '{"__proto__":{"x":1}}',
        ),
      )
      const contentType = fc.constantFrom(
        undefined,
        'application/json',
        'application/json; charset=utf-16',
        'text/plain',
        'application/x-www-form-urlencoded',
        'multipart/form-data; boundary=xyz',
        'application/octet-stream',
        'application/xml',
        '*/*',
        'garbage',
      )
      const authorization = fc.oneof(
        { arbitrary: fc.constant(undefined), weight: 8 },
        {
          arbitrary: fc.constantFrom(
            null,
            'Bearer wrong',
            'Bearer ',
            'Basic Zm9vOmJhcg==',
            'bearer  x y',
          ),
          weight: 1,
        },
      )
      await fc.assert(
        fc.asyncProperty(
          route,
          rawBody,
          contentType,
          authorization,
          async ([method, to], body, type, auth) => {
            const path =
              to === 'draft'
                ? `/api/v1/connectors/${f.patchDraft.id as string}`
                : to === 'ready'
                  ? `/api/v1/connectors/${f.patchReady.id as string}`
                  : to === 'request'
                    ? `/api/v1/connections/${f.connectionId}/request`
                    : to!
            const res = await f.send(method!, path, {
              body,
              headers: type === undefined ? {} : { 'content-type': type },
              ...(auth === undefined ? {} : { authorization: auth }),
            })
            const what = `${method} ${path} (${type}) ${JSON.stringify(typeof body === 'string' ? body : Buffer.from(body).toString('hex')).slice(0, 300)}`
            f.check(res, what)
            if (auth !== undefined) {
              expect(res.status, what).toBe(401)
              return
            }
            // Read as the server reads it (UTF-8, a leading BOM dropped); not JSON means a 400.
            const text = new TextDecoder().decode(
              typeof body === 'string' ? Buffer.from(body) : body,
            )
            let isJson = text.trim() === ''
            try {
              JSON.parse(text)
              isJson = true
            } catch {
              // stays false
            }
            if (!isJson) expect(res.body?.error?.code, what).toBe('input.malformed_json')
            if (method === 'POST' && path === '/api/v1/connectors') f.recordConnector(res)
            else if (method === 'POST' && path === '/api/v1/connections') f.recordConnection(res)
            else if (method === 'PATCH' && res.status === 200)
              f.connectors.set(res.body.id as string, res.body as Obj)
          },
        ),
        params(300),
      )
    },
    PROPERTY_TIMEOUT_MS,
  )
})
