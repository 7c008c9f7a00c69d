/**
 * `basic`: HTTP Basic authentication.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7617
 * @module
 */
import { z } from 'zod'
import { defineAuthScheme } from './scheme.js'

export const basicScheme = defineAuthScheme({
  type: 'basic',
  label: 'Basic authentication',
  settings: z
    .object({
      usernameLabel: z.string().min(1).max(100).default('Username'),
      passwordLabel: z.string().min(1).max(100).default('Password'),
    })
    .strict(),
  presentation: {
    settings: {
      usernameLabel: {
        label: 'Username label',
        placeholder: 'Username',
        hint: 'What the connection form calls the username. Default “Username”.',
        group: 'labels',
      },
      passwordLabel: {
        label: 'Password label',
        placeholder: 'Password',
        hint: 'Default “Password”.',
        group: 'labels',
      },
    },
    groups: { labels: { layout: 'columns-2' } },
  },
  connectionFields: (s) => [
    { name: 'username', label: s.usernameLabel, type: 'text' },
    { name: 'password', label: s.passwordLabel, type: 'password' },
  ],
  canRefresh: () => false,
  connect: () => Promise.resolve({ status: 'connected', credentials: { values: {} } }),
  apply(ctx, request) {
    const user = String(ctx.values.username ?? '')
    const pass = String(ctx.values.password ?? '')
    request.headers['authorization'] = `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`
  },
  redact: () => ({ headers: ['authorization'] }),
})
