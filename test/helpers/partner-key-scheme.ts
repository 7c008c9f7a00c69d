/**
 * A test-only auth type, `partner_key`, described here and nowhere else: no UI code, no server
 * code and no docs know it. A request carries `<header>: <account>:<HMAC-SHA256 of the account
 * with the connector's partner secret>` in the chosen encoding, and the connector's tags as
 * `x-partner-tags: name=value;…`. The tests pass it to `createPatchbay({ schemes })` to show that
 * a new type's builder form comes from its schema and presentation alone.
 */
import { createHmac } from 'node:crypto'
import { z } from 'zod'
import { defineAuthScheme } from '../../src/index.js'

export const PARTNER_TYPE = 'partner_key'

const partnerSettings = z
  .object({
    header: z
      .string()
      .min(1)
      .max(100)
      .regex(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/, 'must be a valid HTTP header name')
      .default('X-Partner-Auth'),
    partnerSecret: z.string().min(8).max(200),
    encoding: z.enum(['hex', 'base64url']).default('hex'),
    tags: z
      .array(
        z
          .object({
            name: z.string().regex(/^[a-z]+$/, 'must be lower-case letters'),
            value: z.string().min(1).max(50),
          })
          .strict(),
      )
      .max(3)
      .default([]),
  })
  .strict()

/** What a request to the upstream must carry, computed apart from the scheme. */
export function partnerSignature(
  secret: string,
  account: string,
  encoding: 'hex' | 'base64url',
): string {
  return `${account}:${createHmac('sha256', secret).update(account).digest(encoding)}`
}

export const partnerKeyScheme = defineAuthScheme({
  type: PARTNER_TYPE,
  label: 'Partner key',
  settings: partnerSettings,
  secretSettings: ['partnerSecret'],
  presentation: {
    label: 'Partner key (signed)',
    settings: {
      header: {
        label: 'Signature header',
        placeholder: 'X-Partner-Auth',
        hint: 'Where the signed account goes.',
        group: 'signing',
      },
      partnerSecret: {
        label: 'Partner secret',
        hint: 'Signs the account with HMAC-SHA256.',
        group: 'signing',
      },
      encoding: {
        label: 'Signature encoding',
        emptyLabel: 'Hexadecimal (default)',
        options: [
          ['hex', 'Hexadecimal'],
          ['base64url', 'Base64url'],
        ],
      },
      tags: {
        label: 'Tags',
        itemLabel: 'Tag',
        hint: 'Sent on every request as x-partner-tags.',
        newItem: { name: '', value: '' },
        settings: { name: { label: 'name' }, value: { label: 'value' } },
      },
    },
    groups: { signing: { layout: 'columns-2' } },
    note: 'Connections ask for the partner account.',
  },
  connectionFields: () => [{ name: 'account', label: 'Partner account', type: 'text' }],
  canRefresh: () => false,
  connect: () => Promise.resolve({ status: 'connected', credentials: { values: {} } }),
  apply(ctx, request) {
    const s = ctx.settings
    request.headers[s.header.toLowerCase()] = partnerSignature(
      s.partnerSecret,
      String(ctx.values.account ?? ''),
      s.encoding,
    )
    if (s.tags.length)
      request.headers['x-partner-tags'] = s.tags.map((t) => `${t.name}=${t.value}`).join(';')
  },
  redact: (s) => ({ headers: [s.header.toLowerCase()] }),
})
