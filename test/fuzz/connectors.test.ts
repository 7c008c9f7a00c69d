/**
 * Connector definitions: any JSON value, definitions that are valid but for a few fields (the 400
 * names the field), and PATCH bodies on a draft and a ready connector.
 *
 * @module
 */
import fc from 'fast-check'
import { expect, it } from 'vitest'
import { garbage, TOP_LEVEL, nearValidConnector, patchInput, type Obj } from './arbitraries.js'
import { describeFuzz, params, PROPERTY_TIMEOUT_MS, fieldPaths } from './harness.js'

await describeFuzz('connector definitions', (f) => {
  it(
    'answers any JSON value as a connector definition with a 201 or a named 4xx',
    async () => {
      await fc.assert(
        fc.asyncProperty(fc.oneof(fc.anything(), fc.jsonValue(), garbage), async (body) => {
          const res = await f.sendJson('POST', '/api/v1/connectors', body)
          f.check(res, `POST /connectors ${JSON.stringify(body)?.slice(0, 300)}`)
          f.recordConnector(res)
        }),
        params(250),
      )
    },
    PROPERTY_TIMEOUT_MS,
  )

  it(
    'refuses near-valid connector definitions field by field, naming the field',
    async () => {
      await fc.assert(
        fc.asyncProperty(nearValidConnector(f.auth), async ({ body, mutated }) => {
          const res = await f.sendJson('POST', '/api/v1/connectors', body)
          const what = `POST /connectors ${JSON.stringify(body).slice(0, 400)}`
          f.check(res, what)
          if (f.recordConnector(res)) {
            const got = res.body as Obj
            expect(got.stage).toBe('draft')
            expect(got.name).toBe(body.name)
            expect(got.baseUrl).toBe(body.baseUrl)
          }
          // One field made wrong: the 400 names that field (or the unknown one, at the top).
          if (
            res.status === 400 &&
            res.body.error.code === 'input.invalid' &&
            mutated.length === 1
          ) {
            const key = mutated[0]!
            const known = Object.hasOwn(TOP_LEVEL, key)
            const paths = fieldPaths(res)
            const named = paths.some((p) =>
              known ? p === key || p.startsWith(`${key}.`) : p === '' || p === key,
            )
            if (!named) throw new Error(`the 400 does not name "${key}": ${what} → ${res.text}`)
          }
        }),
        params(450),
      )
    },
    PROPERTY_TIMEOUT_MS,
  )

  it(
    'answers PATCH bodies on draft and ready connectors with a 200 or a named 4xx',
    async () => {
      await fc.assert(
        fc.asyncProperty(fc.boolean(), patchInput(f.auth), async (onDraft, body) => {
          const id = (onDraft ? f.patchDraft.id : f.patchReady.id) as string
          const res = await f.sendJson('PATCH', `/api/v1/connectors/${id}`, body)
          f.check(
            res,
            `PATCH /connectors/${onDraft ? 'draft' : 'ready'} ${JSON.stringify(body)?.slice(0, 400)}`,
          )
          if (res.status === 200) {
            expect(res.body.id).toBe(id)
            f.connectors.set(id, res.body as Obj)
          }
        }),
        params(300),
      )
    },
    PROPERTY_TIMEOUT_MS,
  )
})
