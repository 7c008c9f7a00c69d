/**
 * `api_key`: one or more keys, each in a header, the query string or a form body field.
 *
 * @module
 */
import { z } from 'zod'
import { setBodyField } from '../lib/request.js'
import { assertHeaderValue, defineAuthScheme } from './scheme.js'

const param = z
  .object({
    /** The label the connection form shows. */
    name: z.string().min(1).max(100),
    /** The header name, query key or form field the value is sent under. */
    key: z
      .string()
      .min(1)
      .max(100)
      .regex(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/, 'must be a valid header, query or form key'),
    in: z.enum(['header', 'query', 'form']).default('header'),
  })
  .strict()

export const apiKeyScheme = defineAuthScheme({
  type: 'api_key',
  label: 'API key',
  settings: z
    .object({
      params: z
        .array(param)
        .min(1, 'needs at least one parameter')
        .max(10)
        .refine(
          (ps) => new Set(ps.map((p) => `${p.in}:${p.key.toLowerCase()}`)).size === ps.length,
          {
            message: 'keys must be unique per location',
          },
        ),
    })
    .strict(),
  presentation: {
    preferred: true,
    initial: { params: [{ name: 'API key', key: 'X-Api-Key', in: 'header' }] },
    settings: {
      params: {
        label: 'Parameters',
        hint: 'Each parameter is a value the connection asks for and sends in a header, the query string or a form body field under its key.',
        itemLabel: 'Parameter',
        newItem: { name: '', key: '', in: 'header' },
        settings: {
          name: {
            label: 'label',
            hint: 'What the connection form shows, e.g. API key.',
            group: 'param',
          },
          key: {
            label: 'key',
            hint: 'The header name, query key or form field, e.g. X-Api-Key.',
            group: 'param',
          },
          in: {
            label: 'location',
            options: [
              ['header', 'Header'],
              ['query', 'Query string'],
              ['form', 'Form body'],
            ],
            group: 'param',
          },
        },
        groups: { param: { layout: 'columns-3' } },
      },
    },
  },
  // The connection holds one value per param, under the param's `key`.
  connectionFields: (s) => s.params.map((p) => ({ name: p.key, label: p.name, type: 'password' })),
  canRefresh: () => false,
  connect(ctx) {
    for (const p of ctx.settings.params) {
      if (p.in === 'header') assertHeaderValue(String(ctx.values[p.key] ?? ''), p.key)
    }
    return Promise.resolve({ status: 'connected', credentials: { values: {} } })
  },
  apply(ctx, request) {
    for (const p of ctx.settings.params) {
      const value = String(ctx.values[p.key] ?? '')
      if (p.in === 'header') request.headers[p.key.toLowerCase()] = value
      else if (p.in === 'query') request.url.searchParams.set(p.key, value)
      else setBodyField(request, p.key, value)
    }
  },
  redact: (s) => ({
    headers: s.params.filter((p) => p.in === 'header').map((p) => p.key.toLowerCase()),
    query: s.params.filter((p) => p.in === 'query').map((p) => p.key),
    form: s.params.filter((p) => p.in === 'form').map((p) => p.key),
  }),
})
