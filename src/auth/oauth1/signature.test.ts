import { readFileSync } from 'node:fs'
import { afterAll, describe, expect, it } from 'vitest'
import type { HttpClient } from '../../lib/http.js'
import { decodeBody, type OutgoingRequest } from '../../lib/request.js'
import {
  authorizationUrl,
  processAuthorizationCallback,
  processTemporaryCredentialsResponse,
  processTokenCredentialsResponse,
  temporaryCredentialsRequest,
  tokenCredentialsRequest,
} from './flow.js'
import {
  authorizationHeader,
  baseStringUri,
  collectParameters,
  normalizeParameters,
  percentEncode,
  sign,
  signRequest,
  signatureBaseString,
  signingKey,
  type ParameterList,
  type SignatureMethod,
} from './signature.js'
import { parseAuthorizationHeader, verifyRequest } from './verify.js'

// RFC 5849 and other published vectors, vendored in the repository (test/vectors/README.md).
const VECTORS_URL = new URL('../../../test/vectors/oauth1/vectors.json', import.meta.url)

interface HmacVector {
  id: string
  signatureMethod: SignatureMethod
  method: string
  url: string
  realm?: string
  contentType?: string
  body?: string
  queryParams: ParameterList
  bodyParams: ParameterList
  oauthParams: Record<string, string>
  params: ParameterList
  consumerKey: string
  consumerSecret: string
  token: string | null
  tokenSecret: string
  nonce: string
  timestamp: string
  expected: {
    baseStringUri: string
    normalizedParameters?: string
    baseString: string
    baseStringPublished: boolean
    signingKey: string
    signature: string
    publishedSignature?: string
    authorizationHeader?: string
  }
}

interface PlaintextVector {
  id: string
  consumerKey: string
  consumerSecret: string
  token?: string
  tokenSecret: string
  verifier?: string
  expected: { signature: string; headerValue: string }
  request: string
}

interface BaseStringUriVector {
  id: string
  scheme: string
  requestLine: string
  host: string
  expected: string
}

interface FlowVector {
  clientCredentials: { key: string; secret: string }
  endpoints: { temporaryCredentials: string; authorize: string; token: string }
  callback: string
  temporaryCredentialsResponse: string
  authorizeUrl: string
  callbackUrl: string
  tokenResponse: string
  signedRequests: string[]
}

interface VectorFile {
  description: string
  hmacSha1: HmacVector[]
  plaintext: PlaintextVector[]
  baseStringUris: BaseStringUriVector[]
  flow: FlowVector
}

const vectors = JSON.parse(readFileSync(VECTORS_URL, 'utf8')) as VectorFile
const expectedCount =
  vectors.hmacSha1.length + vectors.plaintext.length + vectors.baseStringUris.length + 1
let ran = 0

afterAll(() => {
  console.log(`oauth1 vectors: ${ran} run`)
})

/** The request as it goes on the wire: the URL with its raw query, the raw body. */
function wireRequest(v: HmacVector, as: 'form' | 'raw'): OutgoingRequest {
  const bytes = v.body === undefined ? undefined : new TextEncoder().encode(v.body)
  const body =
    as === 'form'
      ? decodeBody(bytes, v.contentType)
      : bytes
        ? { kind: 'raw' as const, bytes, ...(v.contentType ? { contentType: v.contentType } : {}) }
        : { kind: 'none' as const }
  return { method: v.method, url: new URL(v.url), headers: {}, body }
}

function headerMap(header: string): Record<string, string> {
  const parsed = parseAuthorizationHeader(header)
  if (!parsed) throw new Error(`not an OAuth header: ${header}`)
  return {
    ...Object.fromEntries(parsed.parameters),
    ...(parsed.realm === undefined ? {} : { realm: parsed.realm }),
  }
}

describe('the vector file', () => {
  it('has only the sections this suite runs, so a new one cannot be skipped', () => {
    expect(Object.keys(vectors).sort()).toEqual(
      ['baseStringUris', 'description', 'flow', 'hmacSha1', 'plaintext'].sort(),
    )
    expect(vectors.hmacSha1.length).toBeGreaterThanOrEqual(7)
  })
})

describe.each(vectors.hmacSha1)('HMAC-SHA1 vector $id', (v) => {
  const request = wireRequest(v, 'form')
  const credentials = {
    consumerKey: v.consumerKey,
    consumerSecret: v.consumerSecret,
    ...(v.token === null ? {} : { token: v.token, tokenSecret: v.tokenSecret }),
  }
  const options = {
    signatureMethod: v.signatureMethod,
    nonce: v.nonce,
    timestamp: v.timestamp,
    ...(v.realm === undefined ? {} : { realm: v.realm }),
    ...(v.oauthParams.oauth_callback === undefined
      ? {}
      : { callback: v.oauthParams.oauth_callback }),
    ...(v.oauthParams.oauth_verifier === undefined
      ? {}
      : { verifier: v.oauthParams.oauth_verifier }),
    version: v.oauthParams.oauth_version === undefined ? (false as const) : ('1.0' as const),
  }

  it('reproduces every published value, from the wire form of the request', () => {
    expect(v.signatureMethod).toBe('HMAC-SHA1')
    expect(baseStringUri(request.url)).toBe(v.expected.baseStringUri)

    const collected = collectParameters(request, v.oauthParams)
    expect(collected).toEqual(v.params)
    // The same request with its body as raw bytes (not parsed by the pipeline) signs the same.
    expect(collectParameters(wireRequest(v, 'raw'), v.oauthParams)).toEqual(v.params)
    expect([...request.url.searchParams]).toEqual(v.queryParams)

    if (v.expected.normalizedParameters !== undefined) {
      expect(normalizeParameters(collected)).toBe(v.expected.normalizedParameters)
    }
    const baseString = signatureBaseString(v.method, v.url, collected)
    expect(baseString).toBe(v.expected.baseString)
    expect(signingKey(v.consumerSecret, v.tokenSecret)).toBe(v.expected.signingKey)
    expect(sign('HMAC-SHA1', baseString, v.consumerSecret, v.tokenSecret)).toBe(
      v.expected.signature,
    )
    if (v.expected.publishedSignature !== undefined) {
      // RFC 5849 erratum 2550: the printed signature is not the one the stated secrets produce.
      expect(v.expected.signature).not.toBe(v.expected.publishedSignature)
    }
    ran++
  })

  it('signs the request with signRequest to the same signature and header', () => {
    const signed = signRequest(request, credentials, options)
    expect(signed.baseString).toBe(v.expected.baseString)
    expect(signed.parameters).toEqual({ ...v.oauthParams, oauth_signature: v.expected.signature })

    if (v.expected.authorizationHeader !== undefined) {
      const published = headerMap(v.expected.authorizationHeader)
      expect(headerMap(signed.header)).toEqual(published)
      // Byte for byte, with the parameters in the source's order (order is not significant).
      const ordered = Object.keys(published)
        .filter((name) => name !== 'realm')
        .map((name): [string, string] => [name, signed.parameters[name]!])
      expect(authorizationHeader(ordered, v.realm)).toBe(v.expected.authorizationHeader)
    }
  })

  it('verifies as a server would, and refuses it with another secret', () => {
    const header =
      v.expected.authorizationHeader ?? signRequest(request, credentials, options).header
    const received = { ...request, headers: { authorization: header } }
    const secrets = { consumerSecret: v.consumerSecret, tokenSecret: v.tokenSecret }
    expect(verifyRequest(received, secrets)).toMatchObject({ valid: true })
    expect(verifyRequest(received, { ...secrets, consumerSecret: 'wrong' })).toMatchObject({
      valid: false,
      problem: 'signature_invalid',
    })
  })
})

describe.each(vectors.plaintext)('PLAINTEXT vector $id', (v) => {
  it('signs with the encoded secrets and percent-encodes them in the header', () => {
    expect(sign('PLAINTEXT', 'ignored', v.consumerSecret, v.tokenSecret)).toBe(v.expected.signature)
    expect(percentEncode(v.expected.signature)).toBe(v.expected.headerValue)

    const m = /^(\w+) (\S+) HTTP\/1\.1, Host: ([^,]+)(?:, oauth_callback="([^"]+)")?$/.exec(
      v.request,
    )
    expect(m).not.toBeNull()
    const [, method, path, host, encodedCallback] = m!
    const request: OutgoingRequest = {
      method: method!,
      url: new URL(`https://${host}${path}`),
      headers: {},
      body: { kind: 'none' },
    }
    const signed = signRequest(
      request,
      {
        consumerKey: v.consumerKey,
        consumerSecret: v.consumerSecret,
        ...(v.token ? { token: v.token, tokenSecret: v.tokenSecret } : {}),
      },
      {
        signatureMethod: 'PLAINTEXT',
        ...(encodedCallback ? { callback: decodeURIComponent(encodedCallback) } : {}),
        ...(v.verifier ? { verifier: v.verifier } : {}),
      },
    )
    expect(signed.parameters.oauth_signature).toBe(v.expected.signature)
    expect(signed.header).toContain(`oauth_signature="${v.expected.headerValue}"`)
    if (encodedCallback) expect(signed.header).toContain(`oauth_callback="${encodedCallback}"`)
    expect(
      verifyRequest(
        { ...request, headers: { authorization: signed.header } },
        { consumerSecret: v.consumerSecret, tokenSecret: v.tokenSecret },
      ),
    ).toMatchObject({ valid: true, signatureMethod: 'PLAINTEXT' })
    ran++
  })
})

describe.each(vectors.baseStringUris)('base string URI vector $id', (v) => {
  it('lowercases, drops the default port and keeps the path as sent', () => {
    const target = v.requestLine.split(' ')[1]!
    expect(baseStringUri(new URL(`${v.scheme}://${v.host}${target}`))).toBe(v.expected)
    expect(baseStringUri(`${v.scheme}://${v.host}${target}`)).toBe(v.expected)
    ran++
  })
})

describe('the RFC 5849 §1.2 three-legged exchange', () => {
  it('runs against a scripted provider that expects exactly the published requests', async () => {
    const flow = vectors.flow
    const byId = new Map(vectors.hmacSha1.map((v) => [v.id, v]))
    const [temporaryVector, tokenVector, resourceVector] = flow.signedRequests.map((id) => {
      const v = byId.get(id)
      if (!v) throw new Error(`flow names the unknown vector ${id}`)
      return v
    }) as [HmacVector, HmacVector, HmacVector]
    const client = {
      consumerKey: flow.clientCredentials.key,
      consumerSecret: flow.clientCredentials.secret,
    }

    // The provider answers each leg once, in order; what it received is checked after each leg
    // (an assertion thrown inside the client would surface as a network error).
    const answers = [flow.temporaryCredentialsResponse, flow.tokenResponse]
    const received: { url: string; method?: string; authorization?: string }[] = []
    const http: HttpClient = (url, init = {}) => {
      received.push({
        url: String(url),
        ...(init.method ? { method: init.method } : {}),
        ...(init.headers?.authorization ? { authorization: init.headers.authorization } : {}),
      })
      const text = answers.shift()
      if (text === undefined) return Promise.reject(new Error('unexpected request'))
      return Promise.resolve({
        status: 200,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        text,
        body: Object.fromEntries(new URLSearchParams(text)),
      })
    }
    const expectReceived = (v: HmacVector) => {
      const last = received.at(-1)!
      expect(last.url).toBe(v.url)
      expect(last.method).toBe(v.method)
      expect(headerMap(last.authorization ?? '')).toEqual(
        headerMap(v.expected.authorizationHeader!),
      )
    }
    const sign = (v: HmacVector) => ({
      nonce: v.nonce,
      timestamp: v.timestamp,
      version: false as const,
      ...(v.realm === undefined ? {} : { realm: v.realm }),
    })

    expect(temporaryVector.oauthParams.oauth_callback).toBe(flow.callback)
    const temporary = processTemporaryCredentialsResponse(
      await temporaryCredentialsRequest(
        http,
        new URL(flow.endpoints.temporaryCredentials),
        client,
        flow.callback,
        sign(temporaryVector),
      ),
    )
    expectReceived(temporaryVector)
    expect(temporary).toEqual({ token: tokenVector.token, tokenSecret: tokenVector.tokenSecret })

    const authorize = authorizationUrl(new URL(flow.endpoints.authorize), temporary.token)
    expect(authorize.href).toBe(flow.authorizeUrl)

    const callback = new URL(flow.callbackUrl)
    expect(`${callback.origin}${callback.pathname}`).toBe(flow.callback)
    const verifier = processAuthorizationCallback(callback.searchParams, temporary.token)
    expect(verifier).toBe(tokenVector.oauthParams.oauth_verifier)

    expect(tokenVector.url).toBe(flow.endpoints.token)
    const token = processTokenCredentialsResponse(
      await tokenCredentialsRequest(
        http,
        new URL(flow.endpoints.token),
        client,
        temporary,
        verifier,
        sign(tokenVector),
      ),
    )
    expectReceived(tokenVector)
    expect(received).toHaveLength(2)
    expect(answers).toHaveLength(0)
    expect(token).toEqual({
      token: resourceVector.token,
      tokenSecret: resourceVector.tokenSecret,
      extra: {},
    })

    const resource = signRequest(
      wireRequest(resourceVector, 'form'),
      { ...client, token: token.token, tokenSecret: token.tokenSecret },
      sign(resourceVector),
    )
    expect(headerMap(resource.header)).toEqual(
      headerMap(resourceVector.expected.authorizationHeader!),
    )
    ran++
  })
})

describe('every vector', () => {
  it('ran', () => {
    expect(ran).toBe(expectedCount)
  })
})

describe('percentEncode', () => {
  it('keeps exactly ALPHA DIGIT - . _ ~ and encodes every other UTF-8 byte as uppercase %XX', () => {
    const unreserved = 'ABCXYZabcxyz0189-._~'
    expect(percentEncode(unreserved)).toBe(unreserved)
    expect(percentEncode(' !"#$%&\'()*+,/:;<=>?@[\\]^`{|}')).toBe(
      '%20%21%22%23%24%25%26%27%28%29%2A%2B%2C%2F%3A%3B%3C%3D%3E%3F%40%5B%5C%5D%5E%60%7B%7C%7D',
    )
    expect(percentEncode('é')).toBe('%C3%A9')
    expect(percentEncode('€')).toBe('%E2%82%AC')
    expect(percentEncode('😀')).toBe('%F0%9F%98%80')
    expect(percentEncode('\n\u007f')).toBe('%0A%7F')
  })

  it('refuses a lone surrogate, which has no UTF-8 form', () => {
    expect(() => percentEncode('a\ud800b')).toThrow(TypeError)
  })
})

describe('normalizeParameters', () => {
  it('sorts by encoded name, then value, in byte order, and keeps duplicates', () => {
    expect(
      normalizeParameters([
        ['b', '2'],
        ['a', 'z'],
        ['a', 'Z'],
        ['B', '1'],
        ['a', 'z'],
        ['a b', ''],
      ]),
    ).toBe('B=1&a=Z&a=z&a=z&a%20b=&b=2')
  })
})

describe('collectParameters', () => {
  const base = { url: new URL('https://api.example.com/x?q=1&oauth_signature=s'), headers: {} }

  it('leaves out realm and oauth_signature, and bodies that are not forms', () => {
    const json = collectParameters(
      { ...base, body: { kind: 'json', value: { a: 1 } } },
      {
        realm: 'r',
        oauth_nonce: 'n',
        oauth_signature: 'x',
      },
    )
    expect(json).toEqual([
      ['q', '1'],
      ['oauth_nonce', 'n'],
    ])
  })

  it('reads a form body only when the content type is a form', () => {
    const body = { kind: 'form' as const, fields: [['f', 'v']] as ParameterList }
    expect(collectParameters({ ...base, body })).toEqual([
      ['q', '1'],
      ['f', 'v'],
    ])
    expect(collectParameters({ ...base, headers: { 'content-type': 'text/plain' }, body })).toEqual(
      [['q', '1']],
    )
    const raw = {
      kind: 'raw' as const,
      bytes: new TextEncoder().encode('f=v'),
      contentType: 'text/plain',
    }
    expect(collectParameters({ ...base, body: raw })).toEqual([['q', '1']])
  })
})

describe('baseStringUri', () => {
  it('keeps a non-default port, drops userinfo and fragment, and refuses other schemes', () => {
    expect(baseStringUri('HTTPS://u:p@Api.Example.COM:443/A%2fb?x#f')).toBe(
      'https://api.example.com/A%2fb',
    )
    expect(baseStringUri('https://example.com:80/')).toBe('https://example.com:80/')
    expect(() => baseStringUri('ftp://example.com/')).toThrow(TypeError)
    expect(() => baseStringUri('not a url')).toThrow('"url" must be a URL')
  })
})

describe('signRequest', () => {
  const request: OutgoingRequest = {
    method: 'get',
    url: new URL('https://api.example.com/r?a=1'),
    headers: {},
    body: { kind: 'none' },
  }
  const credentials = { consumerKey: 'ck', consumerSecret: 'cs', token: 't', tokenSecret: 'ts' }

  it('uses a fresh random nonce and the clock for the timestamp', () => {
    const a = signRequest(request, credentials, { now: () => 1_700_000_000_999 })
    const b = signRequest(request, credentials, { now: () => 1_700_000_000_999 })
    expect(a.parameters.oauth_timestamp).toBe('1700000000')
    expect(a.parameters.oauth_version).toBe('1.0')
    expect(a.parameters.oauth_nonce).toMatch(/^[0-9a-f]{32}$/)
    expect(a.parameters.oauth_nonce).not.toBe(b.parameters.oauth_nonce)
    expect(a.baseString.startsWith('GET&')).toBe(true)
  })

  it.each(['HMAC-SHA1', 'HMAC-SHA256', 'PLAINTEXT'] as const)(
    'signs with %s and verifies',
    (signatureMethod) => {
      const signed = signRequest(request, credentials, { signatureMethod })
      const received = { ...request, headers: { authorization: signed.header } }
      expect(verifyRequest(received, { consumerSecret: 'cs', tokenSecret: 'ts' })).toMatchObject({
        valid: true,
        signatureMethod,
      })
      expect(
        verifyRequest(
          received,
          { consumerSecret: 'cs', tokenSecret: 'ts' },
          {
            signatureMethods: ['HMAC-SHA256'],
          },
        ).valid,
      ).toBe(signatureMethod === 'HMAC-SHA256')
    },
  )

  it('checks its inputs at the boundary', () => {
    expect(() => signRequest(request, { ...credentials, consumerKey: '' })).toThrow(
      '"consumerKey" must be a non-empty string',
    )
    expect(() =>
      signRequest(request, credentials, { signatureMethod: 'RSA-SHA1' as SignatureMethod }),
    ).toThrow('"signatureMethod" must be one of HMAC-SHA1, HMAC-SHA256, PLAINTEXT')
    expect(() => signRequest(request, credentials, { timestamp: 'soon' })).toThrow(
      '"timestamp" must be a whole number of seconds',
    )
  })
})

describe('verifyRequest', () => {
  const credentials = { consumerKey: 'ck', consumerSecret: 'cs', token: 't', tokenSecret: 'ts' }
  const secrets = { consumerSecret: 'cs', tokenSecret: 'ts' }

  it('accepts protocol parameters sent in a form body instead of the header (§3.5.2)', () => {
    const request: OutgoingRequest = {
      method: 'POST',
      url: new URL('https://api.example.com/r?a=1'),
      headers: {},
      body: { kind: 'form', fields: [['status', 'hi there']] },
    }
    const signed = signRequest(request, credentials)
    const body = request.body as { kind: 'form'; fields: ParameterList }
    const received: OutgoingRequest = {
      ...request,
      body: { kind: 'form', fields: [...body.fields, ...Object.entries(signed.parameters)] },
    }
    expect(verifyRequest(received, secrets)).toMatchObject({ valid: true })
  })

  it('refuses a parameter sent twice, a missing one, another version and an old timestamp', () => {
    const request: OutgoingRequest = {
      method: 'GET',
      url: new URL('https://api.example.com/r'),
      headers: {},
      body: { kind: 'none' },
    }
    const signed = signRequest(request, credentials, { now: () => 1_000_000_000_000 })
    const withHeader = (authorization: string) => ({ ...request, headers: { authorization } })
    expect(
      verifyRequest(withHeader(`${signed.header}, oauth_nonce="again"`), secrets),
    ).toMatchObject({ valid: false, problem: 'parameter_rejected' })
    const { oauth_nonce: _, ...noNonce } = signed.parameters
    expect(verifyRequest(withHeader(authorizationHeader(noNonce)), secrets)).toMatchObject({
      valid: false,
      problem: 'parameter_absent',
    })
    expect(
      verifyRequest(
        withHeader(authorizationHeader({ ...signed.parameters, oauth_version: '2.0' })),
        secrets,
      ),
    ).toMatchObject({ valid: false, problem: 'version_rejected' })
    expect(
      verifyRequest(withHeader(signed.header), secrets, {
        maxSkewSeconds: 300,
        now: () => 1_000_000_301_000,
      }),
    ).toMatchObject({ valid: false, problem: 'timestamp_refused' })
    expect(verifyRequest(withHeader('OAuth oauth_nonce=unquoted'), secrets)).toMatchObject({
      valid: false,
      problem: 'parameter_rejected',
    })
  })
})
