/**
 * Saved-action inputs of every type, against the harness's ready connector and its action with
 * inputs of every type (text, number, boolean, multiselect, object): the upstream envelope or a
 * named 4xx.
 *
 * @module
 */
import fc from 'fast-check'
import { expect, it } from 'vitest'
import { badString, garbage, patch, mutate } from './arbitraries.js'
import { describeFuzz, params, PROPERTY_TIMEOUT_MS } from './harness.js'

await describeFuzz('saved-action inputs', (f) => {
  it(
    'answers saved-action inputs of every type with the upstream envelope or a named 4xx',
    async () => {
      const actionId = (f.target.actions as { id: string }[])[0]!.id
      const text = fc.oneof(fc.constantFrom('inbox', 'a b/c?d#e', '..', '%2f'), badString)
      const inputs = mutate(
        { list: 'inbox' },
        [
          patch('list', fc.oneof(text, garbage)),
          patch('tag', fc.oneof(text, garbage)),
          patch('note', fc.oneof(text, garbage)),
          patch(
            'count',
            fc.oneof(fc.integer(), fc.double(), fc.constantFrom('7', 'x', ''), garbage),
          ),
          patch('flag', fc.oneof(fc.constantFrom(true, 'false', 'yes'), garbage)),
          patch('tags', fc.oneof(fc.constantFrom(['a', 'b'], 'a,b', ['c']), garbage)),
          patch('meta', fc.oneof(fc.record({ k: text }), fc.constant({}), garbage)),
        ],
        3,
      )
      const body = mutate({ connection: f.connectionId, inputs: {} }, [
        patch('inputs', inputs),
        patch('inputs', inputs),
        patch('inputs', inputs),
        patch('connection', fc.oneof(fc.constantFrom('co_nope', '', '\u0000'), garbage)),
      ])
      await fc.assert(
        fc.asyncProperty(body, async (b) => {
          f.up.requests.length = 0
          const res = await f.sendJson('POST', `/api/v1/actions/${actionId}/run`, b)
          f.check(res, `POST /actions/:id/run ${JSON.stringify(b)?.slice(0, 400)}`)
          if (res.status === 200) expect(res.body.action.id).toBe(actionId)
        }),
        params(250),
      )
    },
    PROPERTY_TIMEOUT_MS,
  )
})
