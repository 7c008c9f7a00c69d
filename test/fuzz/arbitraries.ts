/**
 * The fast-check arbitraries the fuzz suites draw from (`harness.ts` runs them): generic garbage
 * (nasty strings and keys, any JSON, raw URL pieces), garbage per connector setting, and inputs
 * for each surface that are valid but for a few defects. Those built from what a running server
 * knows (its auth types, read from its OpenAPI document; the fixtures the harness creates) take it
 * as an argument.
 *
 * @module
 */
import fc from 'fast-check'

export type Obj = Record<string, unknown>

/** The server's auth types and their settings, read from its OpenAPI document at start. */
export interface AuthCatalog {
  types: string[]
  /** Each type's settings (JSON schemas by name), `type` left out. */
  props: Record<string, Record<string, Obj>>
  /** Complete settings per type, where this server accepts them as complete. */
  complete: Record<string, Obj>
}

// ---------------------------------------------------------------------------------------------
// Generic garbage
// ---------------------------------------------------------------------------------------------

/** Characters and fragments that break parsers, stores, templates and headers. */
const NASTY = [
  '\u0000',
  '\r\n',
  '\n',
  '\r',
  '\t',
  '\u000b',
  '\u007f',
  '\u0085',
  '\u2028',
  '\u202e',
  '\ufeff',
  '\ud800', // lone high surrogate
  '\udfff', // lone low surrogate
  '💥',
  'é',
  'ÿ',
  '中文',
  'Ω',
  '{{',
  '}}',
  '{{x}}',
  '{{ region }}',
  '{{__proto__}}',
  '{{constructor}}',
  '../',
  '..%2f',
  '%00',
  '%',
  '%zz',
  '<script>alert(1)</script>',
  "'; DROP TABLE connectors; --",
  '\\',
  '"',
  '`',
  '$(id)',
  ' ',
  '',
  '__proto__',
  'constructor',
  'toString',
]
/** The fragments stores, URL encoders and HTTP headers choke on, drawn as often as all others. */
export const nastyPart = fc.oneof(
  fc.constantFrom(...NASTY),
  fc.constantFrom('\u0000', '\ud800', '\udc00', '\r\n'),
)

/** Strings of every kind: ASCII, unicode, any code point, over-long, and nasty fragments. */
export const badString: fc.Arbitrary<string> = fc.oneof(
  fc.string(),
  fc.string({ unit: 'grapheme', maxLength: 60 }),
  fc.string({ unit: 'binary', maxLength: 60 }),
  {
    weight: 2,
    arbitrary: fc.string({
      unit: fc.oneof(nastyPart, fc.string({ unit: 'binary-ascii', minLength: 1, maxLength: 1 })),
      maxLength: 8,
    }),
  },
  fc.string({ minLength: 45, maxLength: 400 }),
  {
    // A plausible value with one nasty fragment inside: passes most rules, then meets the store.
    weight: 3,
    arbitrary: fc
      .tuple(fc.string({ maxLength: 10 }), nastyPart, fc.string({ maxLength: 10 }))
      .map((p) => p.join('')),
  },
  fc.constantFrom('a'.repeat(51), 'a'.repeat(256), 'x'.repeat(5_001), 'é'.repeat(10_001)),
)

export const badKey: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: badString, weight: 3 },
  {
    arbitrary: fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', ''),
    weight: 1,
  },
)

/** Any JSON, with nasty strings and keys. */
export const garbage: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.anything({
    maxDepth: 3,
    key: badKey,
    values: [badString, fc.integer(), fc.double(), fc.boolean(), fc.constant(null)],
  }),
  badString,
  fc.constantFrom(
    0,
    -1,
    1.5,
    1e308,
    -1e308,
    Number.MAX_SAFE_INTEGER + 2,
    true,
    false,
    null,
    [],
    {},
  ),
  fc.array(badString, { maxLength: 60 }),
)

/** Percent-encodes every byte of the UTF-8 form that is not unreserved (never throws). */
export function pct(s: string): string {
  let out = ''
  for (const byte of Buffer.from(s, 'utf8')) {
    const ch = String.fromCharCode(byte)
    out += /[A-Za-z0-9\-._~]/.test(ch) ? ch : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`
  }
  return out
}

/** Raw (already encoded) URL pieces that confuse routers and decoders. */
export const rawSegment: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    '..',
    '.',
    '%2e%2e',
    '%2E%2E',
    '..%2f..',
    '..%2F..%2F..',
    '%2f',
    '%5c',
    '%00',
    'a%00b',
    '%ZZ',
    '%',
    '%e',
    '%c0%ae',
    '%ED%A0%80',
    '%FF%FE',
    '%25',
    '%2500',
    '~',
    ';',
    '@',
    ':',
    "!$&'()*+,=",
    '',
    'a'.repeat(2000),
  ),
  badString.map((s) => pct(s).slice(0, 1000)),
)

// ---------------------------------------------------------------------------------------------
// Fixtures and garbage per connector setting
// ---------------------------------------------------------------------------------------------

const DELETE = Symbol('delete the key')

const PNG_HEAD = Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010806000000', 'hex')
const TINY_PNG = `data:image/png;base64,${PNG_HEAD.toString('base64')}`
const TINY_JPEG = `data:image/jpeg;base64,${Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 0x10]).toString('base64')}`
const pngOf = (bytes: number) =>
  `data:image/png;base64,${Buffer.concat([PNG_HEAD, Buffer.alloc(bytes - PNG_HEAD.length)]).toString('base64')}`
/** Big logos, built once: just under 1 MiB (allowed), 1 MiB and 2 MiB (refused). */
const BIG_LOGOS = [pngOf(1024 * 1024 - 1), pngOf(1024 * 1024), pngOf(2 * 1024 * 1024)]

const validName = fc
  .tuple(fc.stringMatching(/^[A-Za-z][A-Za-z0-9 _*@!:|&~+-]{0,30}$/), fc.nat(1_000_000))
  .map(([s, n]) => `${s.trimEnd()} ${n}`.slice(0, 50))

/** Garbage for one auth setting, shaped by its JSON schema type where that helps. */
function settingGarbage(key: string, schema: Obj | undefined): fc.Arbitrary<unknown> {
  if (key === 'scopes') {
    const scope = fc.oneof(
      fc.record({
        name: fc.constantFrom('Read', 'Write'),
        value: fc.constantFrom('read', 'write'),
      }),
      fc.record(
        {
          name: fc.oneof(fc.constantFrom('Read', ''), badString),
          value: fc.oneof(fc.constantFrom('a b', 'a"b', 'a\\b', '', 'x'.repeat(501)), badString),
        },
        { requiredKeys: [] },
      ),
      badString,
      garbage,
    )
    return fc.oneof(
      fc.array(scope, { maxLength: 60 }),
      // Around the limit of 50: valid, distinct scopes.
      fc
        .integer({ min: 45, max: 60 })
        .map((n) => Array.from({ length: n }, (_, i) => ({ name: `S${i}`, value: `scope${i}` }))),
      garbage,
    )
  }
  if (key === 'expiresIn' || schema?.type === 'integer' || schema?.type === 'number')
    return fc.oneof(
      fc.constantFrom(
        0,
        -1,
        899,
        900,
        86_400,
        86_401,
        604_801,
        1e9,
        2 ** 53,
        1.5,
        -0,
        '3600',
        null,
      ),
      fc.integer(),
      fc.double(),
      garbage,
    )
  if (schema?.type === 'array')
    return fc.oneof(fc.array(fc.oneof(badString, garbage), { maxLength: 60 }), garbage)
  if (schema?.type === 'string')
    return fc.oneof(
      badString,
      fc.constantFrom('https://', 'api.acme.test/token', 'http://{{nope}}/', 'ftp://x', '/(/'),
      garbage,
    )
  return fc.oneof(
    fc.dictionary(badKey, fc.oneof(badString, garbage), { maxKeys: 4 }),
    fc.array(fc.dictionary(badKey, garbage, { maxKeys: 3 }), { maxLength: 3 }),
    garbage,
  )
}

/** Garbage per top-level connector field (wrong types, over-long, unicode, bad URLs, huge logos). */
export const TOP_LEVEL: Record<string, () => fc.Arbitrary<unknown>> = {
  name: () =>
    fc.oneof(
      badString,
      garbage,
      fc.constantFrom(
        'a'.repeat(51),
        '-Acme',
        'Acme#CRM',
        ' Acme',
        'Ünïcödé 名前',
        '_x',
        '1x',
        'a\u0000b',
      ),
    ),
  linkName: () =>
    fc.oneof(
      badString,
      garbage,
      fc.constantFrom('1acme', 'acme-crm', 'a'.repeat(51), 'acme_crm', 'Ω'),
    ),
  description: () =>
    fc.oneof(
      badString,
      garbage,
      fc.constantFrom('a'.repeat(256), 'Best <CRM>', 'line\nbreak', 'tab\t'),
    ),
  logo: () =>
    fc.oneof(
      { weight: 3, arbitrary: badString },
      { weight: 3, arbitrary: garbage },
      {
        weight: 4,
        arbitrary: fc.constantFrom(
          'data:image/gif;base64,R0lGODlhAQABAAAAACw=',
          'data:image/png;base64,',
          'data:image/png;base64,!!!!',
          `data:image/png;base64,${Buffer.from('hello').toString('base64')}`,
          'data:image/svg+xml;base64,PHN2Zz48L3N2Zz4=',
          'https://acme.test/logo.png',
          TINY_JPEG.replace('jpeg', 'png'),
        ),
      },
      // Rare: every list answer afterwards carries the ones that were allowed.
      { weight: 1, arbitrary: fc.constantFrom(...BIG_LOGOS) },
    ),
  baseUrl: () =>
    fc.oneof(
      badString,
      garbage,
      fc.constantFrom(
        'api.acme.test/v1',
        'ftp://acme.test/',
        'https://{{tenant}}.acme.test/',
        'https://{{ }}.acme.test/',
        'http://',
        'http://[::1',
        'http://%zz/',
        'https://acme.test:99999/',
        'javascript:alert(1)',
        '//acme.test/',
        `https://acme.test/${'a'.repeat(10_000)}`,
        'https://acme.test/\u0000',
        'https://user:pass@acme.test/',
      ),
    ),
  allowedOrigins: () =>
    fc.oneof(
      garbage,
      fc.array(
        fc.oneof(
          badString,
          fc.constantFrom('https://a.test', 'https://a.test/', 'https://a.test/x', 'a.test'),
        ),
        {
          maxLength: 25,
        },
      ),
    ),
  fields: () => fc.oneof(garbage, fc.array(badField(2), { maxLength: 6 })),
  customAction: () =>
    fc.oneof(
      garbage,
      fc.record(
        {
          enabled: fc.oneof(fc.boolean(), garbage),
          help: fc.oneof(
            garbage,
            fc.record(
              {
                learnMoreUrl: fc.oneof(
                  badString,
                  fc.constantFrom('https://x.test', 'javascript:x', 'x'),
                ),
                learnMoreText: badString,
                body: fc.oneof(badString, fc.constant('b'.repeat(5001))),
              },
              { requiredKeys: [] },
            ),
          ),
        },
        { requiredKeys: [] },
      ),
    ),
  actions: () => fc.oneof(garbage, fc.array(badAction(), { maxLength: 4 })),
  breaker: () =>
    fc.oneof(
      garbage,
      fc.record(
        {
          threshold: fc.oneof(fc.integer(), fc.double(), fc.constantFrom(0, 1001, '5')),
          cooldownSeconds: fc.oneof(fc.integer(), fc.constantFrom(0, 86_401, 1.5)),
        },
        { requiredKeys: [] },
      ),
    ),
  identity: () =>
    fc.oneof(
      garbage,
      fc.record(
        {
          method: fc.oneof(badString, fc.constantFrom('get', 'TRACE')),
          path: badString,
          valuePath: badString,
        },
        { requiredKeys: [] },
      ),
    ),
  auth: () => garbage,
}

function badField(depth: number): fc.Arbitrary<unknown> {
  return fc.oneof(
    { weight: 1, arbitrary: garbage },
    {
      weight: 4,
      arbitrary: fc.record(
        {
          name: fc.oneof(
            fc.constantFrom(
              'subdomain',
              'token',
              'region',
              'x_1',
              'constructor',
              '__proto__',
              'toString',
              'sub domain',
              '1a',
              '',
            ),
            badString,
          ),
          label: fc.oneof(badString, fc.constant('L'.repeat(101))),
          type: fc.oneof(
            {
              weight: 4,
              arbitrary: fc.constantFrom(
                'text',
                'password',
                'select',
                'multiselect',
                'number',
                'boolean',
                'object',
              ),
            },
            { weight: 1, arbitrary: fc.oneof(badString, garbage) },
          ),
          hint: badString,
          optional: fc.oneof(fc.boolean(), garbage),
          default: garbage,
          options: fc.oneof(
            fc.array(fc.tuple(badString, badString), { maxLength: 4 }),
            fc.array(garbage, { maxLength: 3 }),
            garbage,
          ),
          delimiter: fc.oneof(fc.constantFrom(',', ' ', '\u0000', '|||||!'), badString),
          properties: depth > 0 ? fc.array(badField(depth - 1), { maxLength: 3 }) : garbage,
        },
        { requiredKeys: [] },
      ),
    },
  )
}

function badAction(): fc.Arbitrary<unknown> {
  return fc.oneof(
    { weight: 1, arbitrary: garbage },
    {
      weight: 4,
      arbitrary: fc.record(
        {
          id: fc.oneof(badString, fc.constantFrom('act_nope', 'x'.repeat(65))),
          name: fc.oneof(fc.constantFrom('List', 'Create contact'), badString),
          description: badString,
          method: fc.oneof(fc.constantFrom('get', 'POST', 'TRACE', 'CONNECT'), badString),
          path: fc.oneof(
            fc.constantFrom('items', 'lists/{{input.list}}', 'x'.repeat(2001)),
            badString,
          ),
          query: fc.oneof(fc.dictionary(badKey, badString, { maxKeys: 3 }), garbage),
          headers: fc.oneof(
            fc.dictionary(
              fc.oneof(badKey, fc.constantFrom('X-Ok', 'bad name', 'a\r\nb')),
              badString,
              { maxKeys: 3 },
            ),
            garbage,
          ),
          body: garbage,
          inputs: fc.oneof(fc.array(badField(1), { maxLength: 3 }), garbage),
        },
        { requiredKeys: ['name', 'method', 'path'] },
      ),
    },
  )
}

/** An object from entries, keeping keys such as `__proto__` as own properties (as JSON.parse does). */
export function objectOf(entries: [string, unknown][]): Obj {
  const out: Obj = {}
  for (const [k, v] of entries)
    Object.defineProperty(out, k, {
      value: v,
      enumerable: true,
      writable: true,
      configurable: true,
    })
  return out
}

/** `{ [key]: value }` for `mutate`, keeping keys such as `__proto__` as own properties. */
export function patch(key: string, value: fc.Arbitrary<unknown>): fc.Arbitrary<Obj> {
  return value.map((v) => objectOf([[key, v]]))
}

/**
 * `base` with up to `max` changes: a patch from `patches` (merged; a `DELETE` value removes the
 * key), a key removed, or an unknown key added with garbage.
 */
export function mutate(base: Obj, patches: fc.Arbitrary<Obj>[], max = 2): fc.Arbitrary<Obj> {
  const change = fc.oneof(
    { weight: 8, arbitrary: fc.oneof(...patches) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(...Object.keys(base)).map((k) => objectOf([[k, DELETE]])),
    },
    { weight: 1, arbitrary: fc.tuple(badKey, garbage).map(([k, v]) => objectOf([[k, v]])) },
  )
  return fc.array(change, { maxLength: max }).map((changes) => {
    const out = objectOf(Object.entries(structuredClone(base)))
    for (const c of changes)
      for (const [k, v] of Object.entries(c)) {
        if (v === DELETE) delete out[k]
        else
          Object.defineProperty(out, k, {
            value: v,
            enumerable: true,
            writable: true,
            configurable: true,
          })
      }
    return out
  })
}

// ---------------------------------------------------------------------------------------------
// Inputs built from what the server knows
// ---------------------------------------------------------------------------------------------

/** A valid draft auth for each type: complete for the built-in ones, just `{ type }` otherwise. */
export function validAuth(catalog: AuthCatalog): fc.Arbitrary<Obj> {
  return fc
    .constantFrom(...catalog.types)
    .chain((type) => fc.constantFrom<Obj>({ type }, catalog.complete[type] ?? { type }))
}

/** Garbage settings for a type: its own setting names (from the OpenAPI document) and more. */
export function badAuth(catalog: AuthCatalog): fc.Arbitrary<unknown> {
  return fc.oneof(
    { arbitrary: garbage, weight: 1 },
    {
      weight: 6,
      arbitrary: fc
        .tuple(fc.constantFrom(...catalog.types), fc.boolean())
        .chain(([type, fromComplete]) => {
          const props = catalog.props[type] ?? {}
          const keys = [...new Set([...Object.keys(props), 'scopes', 'expiresIn', 'colour'])]
          return fc.subarray(keys, { minLength: 1, maxLength: 4 }).chain((picked) =>
            fc.tuple(...picked.map((k) => settingGarbage(k, props[k]))).map((values) => {
              const auth: Obj = { ...(fromComplete ? (catalog.complete[type] ?? {}) : {}), type }
              picked.forEach((k, i) => (auth[k] = values[i]))
              return auth
            }),
          )
        }),
    },
    {
      weight: 1,
      arbitrary: fc.record({ type: fc.oneof(badString, garbage) }, { requiredKeys: [] }),
    },
  )
}

export function nearValidConnector(catalog: AuthCatalog): fc.Arbitrary<{
  body: Obj & { name: string; baseUrl: string }
  mutated: string[]
}> {
  const base = fc.record(
    {
      name: validName,
      baseUrl: fc.constantFrom(
        'https://api.acme.test/',
        'https://api.acme.test/v1',
        'http://127.0.0.1:9/x/',
      ),
      auth: validAuth(catalog),
      description: fc.constantFrom('A CRM (for tests), v1.0', 'Fuzz & friends', ''),
      logo: fc.constantFrom(TINY_PNG, TINY_JPEG),
      fields: fc.constantFrom<Obj[]>(
        [],
        [{ name: 'subdomain', type: 'text' }],
        [
          { name: 'region', type: 'select', options: [['EU', 'eu']] },
          { name: 'on', type: 'boolean', default: true },
        ],
      ),
      customAction: fc.constantFrom(
        { enabled: true },
        { enabled: false, help: { learnMoreUrl: 'https://docs.test/' } },
      ),
      breaker: fc.constant({ threshold: 3, cooldownSeconds: 10 }),
      identity: fc.constant({ path: 'me', valuePath: 'data.email' }),
      actions: fc.constant([{ name: 'List', method: 'get', path: 'items', query: { page: '1' } }]),
      allowedOrigins: fc.constant(['https://files.acme.test']),
    },
    { requiredKeys: ['name', 'baseUrl', 'auth'] },
  )
  const mutation = fc.oneof(
    {
      weight: 6,
      arbitrary: fc
        .constantFrom(...Object.keys(TOP_LEVEL))
        .chain((k) => fc.tuple(fc.constant(k), TOP_LEVEL[k]!())),
    },
    { weight: 2, arbitrary: fc.tuple(fc.constant('auth'), badAuth(catalog)) },
    {
      weight: 1,
      arbitrary: fc.tuple(fc.constantFrom('name', 'baseUrl', 'auth'), fc.constant(DELETE)),
    },
    {
      weight: 1,
      arbitrary: fc.tuple(
        badKey.filter((k) => !Object.hasOwn(TOP_LEVEL, k)),
        garbage,
      ),
    },
  )
  return fc.tuple(base, fc.array(mutation, { maxLength: 3 })).map(([b, muts]) => {
    const body: Obj = { ...b }
    for (const [k, v] of muts) {
      if (v === DELETE) delete body[k]
      else
        Object.defineProperty(body, k, {
          value: v,
          enumerable: true,
          writable: true,
          configurable: true,
        })
    }
    const mutated = [...new Set(muts.map(([k]) => k))]
    return { body: body as Obj & { name: string; baseUrl: string }, mutated }
  })
}

export function patchInput(catalog: AuthCatalog): fc.Arbitrary<unknown> {
  const key = fc.constantFrom(...Object.keys(TOP_LEVEL))
  const entry = fc.oneof(
    { weight: 4, arbitrary: key.chain((k) => fc.tuple(fc.constant(k), TOP_LEVEL[k]!())) },
    {
      weight: 2,
      arbitrary: fc.tuple(fc.constant('auth'), fc.oneof(badAuth(catalog), validAuth(catalog))),
    },
    {
      weight: 2,
      arbitrary: fc.tuple(
        fc.constantFrom('name', 'description', 'logo', 'identity', 'linkName'),
        fc.oneof(fc.constant(null), validName, fc.constant(TINY_PNG)),
      ),
    },
    {
      weight: 1,
      arbitrary: fc.tuple(
        fc.constant('auth'),
        fc
          .array(fc.oneof(fc.constantFrom('read', 'write'), badString), { maxLength: 60 })
          .map((scopes) => ({
            type: 'api_key',
            params: [{ name: 'Key', key: 'X-Key', in: 'query' }],
            scopes,
          })),
      ),
    },
    { weight: 1, arbitrary: fc.tuple(badKey, garbage) },
  )
  return fc.oneof(
    { weight: 6, arbitrary: fc.array(entry, { maxLength: 3 }).map((es) => objectOf(es)) },
    { weight: 1, arbitrary: garbage },
  )
}

/**
 * A connection input for `target` (the harness's ready connector with a field of every type):
 * valid but for a few defects, or garbage.
 */
export function connectionInput(target: Obj): fc.Arbitrary<unknown> {
  const text = fc.oneof(fc.constantFrom('eu', 'us-east', 'a b/c?d#e', '..', '%2f'), badString)
  const valueOf = (valid: fc.Arbitrary<unknown>) =>
    fc.oneof({ weight: 3, arbitrary: valid }, { weight: 1, arbitrary: garbage })
  const advanced = mutate({ retries: 2, note: 'n' }, [
    patch('note', valueOf(text)),
    patch('retries', valueOf(fc.oneof(fc.integer(), fc.constantFrom('3', 'x', ' 4 ')))),
    patch('pin', valueOf(badString)),
    patch('mode', valueOf(fc.constantFrom('fast', 'safe', 'slow'))),
  ])
  const values = mutate(
    { region: 'eu', tier: 'pro', 'X-Api-Key': 'k-1' },
    [
      patch('region', valueOf(text)),
      patch('secret', valueOf(badString)),
      patch('tier', valueOf(fc.constantFrom('free', 'pro', 'Free', 'PRO', ' free'))),
      patch(
        'features',
        valueOf(
          fc.oneof(
            fc.subarray(['a', 'b', 'c']),
            fc.constantFrom('a b', 'a,b', 'a  c', ' ', 'd', 'a b d'),
            fc.array(fc.oneof(fc.constantFrom('a', 'b'), badString, fc.integer()), {
              maxLength: 5,
            }),
          ),
        ),
      ),
      patch(
        'limit',
        valueOf(
          fc.oneof(
            fc.integer(),
            fc.double(),
            fc.constantFrom('5', ' 5 ', '1e400', '-0', '0x1f', 'Infinity', 'NaN', '', '12abc'),
          ),
        ),
      ),
      patch('sandbox', valueOf(fc.constantFrom(true, false, 'true', 'false', 'TRUE', 1, 0, ''))),
      patch('advanced', valueOf(advanced)),
      patch('X-Api-Key', valueOf(badString)),
    ],
    4,
  )
  const input = mutate({ connector: target.id, name: 'My connection', values: {} }, [
    patch('values', fc.oneof({ weight: 12, arbitrary: values }, { weight: 1, arbitrary: garbage })),
    patch('values', values),
    patch('values', values),
    patch(
      'connector',
      fc.oneof(fc.constantFrom(target.linkName, 'nope', 'cn_nope', '', '\u0000'), garbage),
    ),
    patch('name', fc.oneof(fc.constantFrom('Ünïcödé 🙂', 'x'.repeat(101)), badString, garbage)),
    patch(
      'endUser',
      fc.oneof(fc.constantFrom('user-1', 'ann@acme.test', 'a|b:c+d', 'a b'), badString, garbage),
    ),
    patch(
      'returnUrl',
      fc.oneof(
        fc.constantFrom('https://app.test/done', 'javascript:alert(1)', '/relative'),
        badString,
      ),
    ),
  ])
  return fc.oneof({ weight: 12, arbitrary: input }, { weight: 1, arbitrary: garbage })
}

/** An ad-hoc request body for a connection on `origin`: valid but for a few defects, or garbage. */
export function requestInput(origin: string): fc.Arbitrary<unknown> {
  const headerName = fc.oneof(
    { weight: 3, arbitrary: fc.stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,20}$/) },
    {
      weight: 3,
      arbitrary: fc.constantFrom(
        'Content-Type',
        'expect',
        'Host',
        'Content-Length',
        'Transfer-Encoding',
        'Connection',
        'Keep-Alive',
        'Upgrade',
        'TE',
        'Authorization',
        'X-Api-Key',
        'Cookie',
      ),
    },
    {
      weight: 1,
      arbitrary: fc.constantFrom('bad name', 'a:b', 'x\r\ny', '', 'é', '(x)', 'x\u0000'),
    },
    { weight: 1, arbitrary: badString },
  )
  const headerValue = fc.oneof(
    fc.constantFrom(
      'application/json',
      'text/plain',
      'application/x-www-form-urlencoded',
      '100-continue',
      'chunked',
      'close',
      'abc',
      '-1',
      '12',
    ),
    fc.constantFrom(
      'a\r\nInjected: yes',
      'a\nb',
      'a\rb',
      'a\u0000b',
      ' padded ',
      '\t',
      'ÿ',
      'é',
      '中文',
      '💥',
      '\u007f',
    ),
    badString,
  )
  const url = fc.oneof(
    fc.constantFrom(
      `${origin}/x`,
      `${origin}/a/../../b?c=d#e`,
      `${origin}/%00`,
      `${origin}/\u0000`,
      `${origin}:99999/`,
      `${origin.replace('127.0.0.1', 'localhost')}/`,
      'http://169.254.169.254/latest/meta-data/',
      'https://api.other.test/',
      'ftp://x/',
      'javascript:alert(1)',
      'data:text/plain,hi',
      'file:///etc/passwd',
      'http://[::1',
      'http://%zz/',
      `//${new URL(origin).host}/x`,
      '',
    ),
    badString,
  )
  const path = fc.oneof(
    fc.constantFrom(
      'ping',
      '/ping',
      '//evil.test/x',
      '///x',
      '\\\\evil.test',
      '\\\\[',
      '//[',
      '/\\[',
      '\\/[',
      '..',
      '../../../etc/passwd',
      '%2e%2e/%2e%2e',
      'http://evil.test/',
      'mailto:x',
      'a?b=c#d',
      '?',
      '#',
      '{{region}}',
      '%',
      '%zz',
      'a b',
      '\u0000',
      '\ud800',
      'x'.repeat(8_001),
    ),
    badString,
  )
  const method = fc.oneof(
    fc.constantFrom('GET', 'post', 'Put', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'),
    fc.constantFrom('CONNECT', 'TRACE', 'GE T', 'get\r\n', ''),
    badString,
    garbage,
  )
  const base64 = fc.oneof(
    fc.uint8Array({ maxLength: 50 }).map((b) => Buffer.from(b).toString('base64')),
    fc.constantFrom(
      '!!!!',
      'abc',
      '====',
      'YQ',
      'YQ=',
      'YQ===',
      'a b',
      'Zm9v\nYmFy',
      '中文',
      '-_-_',
    ),
    badString,
    garbage,
  )
  const body = fc.oneof(fc.jsonValue({ maxDepth: 3 }), badString, garbage)
  const query = fc.oneof(
    fc.dictionary(
      badKey,
      fc.oneof(badString, fc.integer(), fc.boolean(), fc.array(badString, { maxLength: 3 })),
      { maxKeys: 4 },
    ),
    garbage,
  )
  const headers = fc.oneof(
    {
      weight: 4,
      arbitrary: fc
        .array(fc.tuple(headerName, headerValue), { minLength: 1, maxLength: 3 })
        .map((entries) => objectOf([['X-Trace', '1'], ...entries])),
    },
    { weight: 1, arbitrary: garbage },
  )
  const bases: Obj[] = [
    { method: 'GET', path: 'ping' },
    { method: 'POST', path: 'items', body: { a: 1 }, headers: { 'X-Trace': '1' } },
    { method: 'PUT', url: `${origin}/t/eu/x`, query: { a: '1', b: ['2', '3'] } },
    {
      method: 'POST',
      path: 'upload',
      body: 'aGVsbG8=',
      bodyEncoding: 'base64',
      headers: { 'Content-Type': 'application/octet-stream' },
    },
    {
      method: 'POST',
      path: 'form',
      body: { a: 'b' },
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    },
  ]
  const input = fc
    .constantFrom(...bases)
    .chain((base) =>
      mutate(
        base,
        [
          patch('method', method),
          patch('path', path),
          patch('url', url),
          patch('query', query),
          patch('headers', headers),
          patch('headers', headers),
          patch('body', body),
          base64.map((b) => ({ bodyEncoding: 'base64', body: b })),
          patch('bodyEncoding', garbage),
        ],
        3,
      ),
    )
  return fc.oneof({ weight: 12, arbitrary: input }, { weight: 1, arbitrary: garbage })
}
