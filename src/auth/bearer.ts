/**
 * `bearer`: a static token in a header — also Intercom's "text token", which may use another header.
 *
 * @module
 */
import { z } from 'zod'
import { assertHeaderValue, defineAuthScheme } from './scheme.js'

export const bearerScheme = defineAuthScheme({
  type: 'bearer',
  label: 'Bearer token',
  settings: z
    .object({
      parameterName: z.string().min(1).max(100).default('Bearer Token'),
      prefix: z
        .string()
        .max(50)
        .regex(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]*$/, 'must be a single word such as Bearer, or empty')
        .default('Bearer'),
      header: z
        .string()
        .min(1)
        .max(100)
        .regex(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/, 'must be a valid HTTP header name')
        .default('Authorization'),
    })
    .strict(),
  presentation: {
    settings: {
      parameterName: {
        label: 'Token field label',
        placeholder: 'Bearer Token',
        hint: 'What the connection form calls the token. Default “Bearer Token”.',
        group: 'token',
      },
      prefix: {
        label: 'Token prefix',
        placeholder: 'Bearer',
        hint: 'Sent before the token, e.g. Bearer. Default “Bearer”.',
        group: 'token',
      },
      header: {
        label: 'Header',
        placeholder: 'Authorization',
        hint: 'Default Authorization.',
        group: 'token',
      },
    },
    groups: { token: { layout: 'columns-3' } },
  },
  connectionFields: (s) => [{ name: 'token', label: s.parameterName, type: 'password' }],
  canRefresh: () => false,
  connect(ctx) {
    assertHeaderValue(String(ctx.values.token ?? ''), 'token')
    return Promise.resolve({ status: 'connected', credentials: { values: {} } })
  },
  apply(ctx, request) {
    const token = String(ctx.values.token ?? '')
    request.headers[ctx.settings.header.toLowerCase()] = ctx.settings.prefix
      ? `${ctx.settings.prefix} ${token}`
      : token
  },
  redact: (s) => ({ headers: [s.header.toLowerCase()] }),
})
