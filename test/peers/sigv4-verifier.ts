/**
 * An independent AWS Signature Version 4 verifier, written from AWS's description on node:crypto
 * alone (no signing library), and a loopback `node:http` server that accepts only requests it
 * verifies. Tests use it as the "AWS side" of a signed request.
 *
 * Supports signatures in the `Authorization` header and in the query string (presigned URLs).
 *
 * @see https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html
 * @module
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto'
import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'

const ALGORITHM = 'AWS4-HMAC-SHA256'

export interface SigV4Request {
  method: string
  /** The request target as sent: percent-encoded path, then `?query` when there is one. */
  target: string
  /** Header lines in arrival order; a name may repeat. */
  headers: [string, string][]
  body: Uint8Array
}

export interface SigV4VerifyOptions {
  service: string
  region: string
  /** The secret for an access key id, or undefined for an unknown key. */
  secretFor: (accessKeyId: string) => string | undefined
  /**
   * `true` (every service but S3): remove `.`/`..`/empty segments and URI-encode each segment
   * twice. `false` (S3): encode each segment once, as sent.
   */
  normalizePath?: boolean
  /**
   * Leave `X-Amz-Security-Token` out of a presigned URL's canonical query (AWS IoT's WebSocket
   * URLs add the token after signing).
   */
  unsignedSessionToken?: boolean
  /** Checked against `x-amz-date` (±`maxSkewSeconds`) and `X-Amz-Expires`. Default: now. */
  now?: Date
  maxSkewSeconds?: number
}

export interface SigV4Computed {
  canonicalRequest: string
  stringToSign: string
  /** The signature the request should carry. */
  signature: string
}

export type SigV4Verification =
  | ({
      ok: true
      accessKeyId: string
      signedHeaders: string[]
      in: 'header' | 'query'
    } & SigV4Computed)
  | ({ ok: false; reason: string } & Partial<SigV4Computed>)

export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex')
}

function hmac(key: string | Uint8Array, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest()
}

/** `kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request")`. */
export function signingKey(secret: string, date: string, region: string, service: string): Buffer {
  const kDate = hmac(`AWS4${secret}`, date)
  const kRegion = hmac(kDate, region)
  const kService = hmac(kRegion, service)
  return hmac(kService, 'aws4_request')
}

/** URI-encodes every byte except the unreserved characters `A-Z a-z 0-9 - _ . ~`. */
export function awsUriEncode(text: string): string {
  let out = ''
  for (const byte of Buffer.from(text, 'utf8')) {
    const c = String.fromCharCode(byte)
    out += /[A-Za-z0-9\-_.~]/.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`
  }
  return out
}

function percentDecode(text: string): string {
  return decodeURIComponent(text)
}

export function canonicalUri(rawPath: string, normalizePath: boolean): string {
  const path = rawPath === '' ? '/' : rawPath
  const segments = path.split('/').slice(1).map(percentDecode)
  if (!normalizePath) return '/' + segments.map(awsUriEncode).join('/')
  const kept: string[] = []
  for (const segment of segments) {
    if (segment === '' || segment === '.') continue
    if (segment === '..') kept.pop()
    else kept.push(segment)
  }
  const trailing = kept.length > 0 && path.endsWith('/') ? '/' : ''
  return '/' + kept.map((s) => awsUriEncode(awsUriEncode(s))).join('/') + trailing
}

function parseQuery(rawQuery: string): [string, string][] {
  return rawQuery
    .split('&')
    .filter((part) => part !== '')
    .map((part) => {
      const eq = part.indexOf('=')
      const key = eq === -1 ? part : part.slice(0, eq)
      const value = eq === -1 ? '' : part.slice(eq + 1)
      return [percentDecode(key), percentDecode(value)]
    })
}

export function canonicalQuery(pairs: [string, string][]): string {
  return pairs
    .map(([k, v]) => [awsUriEncode(k), awsUriEncode(v)] as const)
    .sort(([ak, av], [bk, bv]) => (ak < bk ? -1 : ak > bk ? 1 : av < bv ? -1 : av > bv ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&')
}

function canonicalHeaderValue(values: string[]): string {
  return values.map((v) => v.trim().replace(/\s+/g, ' ')).join(',')
}

function parseAuthorization(value: string): Record<string, string> | undefined {
  if (!value.startsWith(`${ALGORITHM} `)) return undefined
  const fields: Record<string, string> = {}
  for (const part of value.slice(ALGORITHM.length + 1).split(',')) {
    const eq = part.indexOf('=')
    if (eq === -1) return undefined
    fields[part.slice(0, eq).trim()] = part.slice(eq + 1).trim()
  }
  return fields
}

function parseAmzDate(value: string): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value)
  if (!m) return undefined
  return new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!))
}

function safeEqualHex(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8')
  const y = Buffer.from(b, 'utf8')
  return x.length === y.length && timingSafeEqual(x, y)
}

/** Verifies a request's SigV4 signature; on failure `reason` says which check failed. */
export function verifySigV4(request: SigV4Request, options: SigV4VerifyOptions): SigV4Verification {
  const fail = (reason: string, computed: Partial<SigV4Computed> = {}): SigV4Verification => ({
    ok: false,
    reason,
    ...computed,
  })
  const q = request.target.indexOf('?')
  const rawPath = q === -1 ? request.target : request.target.slice(0, q)
  const rawQuery = q === -1 ? '' : request.target.slice(q + 1)
  let query: [string, string][]
  try {
    query = parseQuery(rawQuery)
  } catch {
    return fail('malformed percent-encoding in the query')
  }
  const headerValues = (name: string): string[] =>
    request.headers.filter(([n]) => n.toLowerCase() === name).map(([, v]) => v)
  const queryValue = (name: string): string | undefined => query.find(([k]) => k === name)?.[1]

  let where: 'header' | 'query'
  let credential: string | undefined
  let signedHeadersText: string | undefined
  let provided: string | undefined
  let amzDateText: string | undefined
  let expires: number | undefined
  const authorization = headerValues('authorization')
  if (authorization.length > 0) {
    where = 'header'
    if (authorization.length > 1) return fail('more than one Authorization header')
    const fields = parseAuthorization(authorization[0]!)
    if (!fields) return fail(`Authorization is not ${ALGORITHM}`)
    credential = fields.Credential
    signedHeadersText = fields.SignedHeaders
    provided = fields.Signature
    const dates = headerValues('x-amz-date')
    if (dates.length !== 1) return fail('needs exactly one x-amz-date header')
    amzDateText = dates[0]
  } else if (queryValue('X-Amz-Algorithm') !== undefined) {
    where = 'query'
    if (queryValue('X-Amz-Algorithm') !== ALGORITHM)
      return fail(`X-Amz-Algorithm is not ${ALGORITHM}`)
    credential = queryValue('X-Amz-Credential')
    signedHeadersText = queryValue('X-Amz-SignedHeaders')
    provided = queryValue('X-Amz-Signature')
    amzDateText = queryValue('X-Amz-Date')
    const e = queryValue('X-Amz-Expires')
    if (e === undefined || !/^\d+$/.test(e)) return fail('X-Amz-Expires is missing or not a number')
    expires = Number(e)
  } else {
    return fail('the request is not signed')
  }
  if (!credential || !signedHeadersText || !provided || !amzDateText) {
    return fail('Credential, SignedHeaders, Signature and the date are all required')
  }

  const amzDate = parseAmzDate(amzDateText)
  if (!amzDate) return fail('the date is not in ISO 8601 basic format')
  const now = options.now ?? new Date()
  const skewMs = (options.maxSkewSeconds ?? 900) * 1000
  if (amzDate.getTime() - now.getTime() > skewMs) return fail('the date is in the future')
  if (where === 'header' && now.getTime() - amzDate.getTime() > skewMs) {
    return fail('the date is too old')
  }
  if (where === 'query' && now.getTime() > amzDate.getTime() + expires! * 1000) {
    return fail('the presigned URL has expired')
  }

  const [accessKeyId, date, region, service, terminator, ...extra] = credential.split('/')
  if (!accessKeyId || extra.length > 0 || terminator !== 'aws4_request') {
    return fail('Credential is malformed')
  }
  if (date !== amzDateText.slice(0, 8)) return fail('the credential date is not the request date')
  if (region !== options.region) return fail(`the credential region is not ${options.region}`)
  if (service !== options.service) return fail(`the credential service is not ${options.service}`)
  const secret = options.secretFor(accessKeyId)
  if (secret === undefined) return fail('unknown access key')

  const signedHeaders = signedHeadersText.split(';')
  if (signedHeaders.some((h) => h !== h.toLowerCase() || h === '')) {
    return fail('SignedHeaders must be lower-case names')
  }
  if ([...signedHeaders].sort().join(';') !== signedHeadersText) {
    return fail('SignedHeaders is not sorted')
  }
  if (!signedHeaders.includes('host')) return fail('host is not signed')
  if (where === 'header' && !signedHeaders.includes('x-amz-date')) {
    return fail('x-amz-date is not signed')
  }
  const headerLines: string[] = []
  for (const name of signedHeaders) {
    const values = headerValues(name)
    if (values.length === 0) return fail(`signed header ${name} is missing`)
    headerLines.push(`${name}:${canonicalHeaderValue(values)}`)
  }

  let payloadHash = sha256Hex(request.body)
  const claimed = headerValues('x-amz-content-sha256')[0]
  if (claimed !== undefined) {
    if (claimed === 'UNSIGNED-PAYLOAD') payloadHash = claimed
    else if (claimed !== payloadHash) return fail('the body does not match x-amz-content-sha256')
  }

  let uri: string
  try {
    uri = canonicalUri(rawPath, options.normalizePath ?? true)
  } catch {
    return fail('malformed percent-encoding in the path')
  }
  const canonicalRequest = [
    request.method.toUpperCase(),
    uri,
    canonicalQuery(
      where === 'query'
        ? query.filter(
            ([k]) =>
              k !== 'X-Amz-Signature' &&
              !(options.unsignedSessionToken && k === 'X-Amz-Security-Token'),
          )
        : query,
    ),
    headerLines.join('\n') + '\n',
    signedHeadersText,
    payloadHash,
  ].join('\n')
  const scope = `${date}/${region}/${service}/aws4_request`
  const stringToSign = [ALGORITHM, amzDateText, scope, sha256Hex(canonicalRequest)].join('\n')
  const signature = createHmac('sha256', signingKey(secret, date, region, service))
    .update(stringToSign, 'utf8')
    .digest('hex')
  const computed = { canonicalRequest, stringToSign, signature }
  if (!safeEqualHex(signature, provided)) return fail('the signature does not match', computed)
  return { ok: true, accessKeyId, signedHeaders, in: where, ...computed }
}

/** Reads a `node:http` request into the verifier's shape. */
export async function readSigV4Request(req: IncomingMessage): Promise<SigV4Request> {
  const chunks: Buffer[] = []
  for await (const chunk of req) chunks.push(chunk as Buffer)
  const headers: [string, string][] = []
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    headers.push([req.rawHeaders[i]!, req.rawHeaders[i + 1]!])
  }
  return {
    method: req.method ?? 'GET',
    target: req.url ?? '/',
    headers,
    body: Buffer.concat(chunks),
  }
}

export interface SigV4ServerRecord {
  request: SigV4Request
  verification: SigV4Verification
}

export interface SigV4Server {
  /** `http://127.0.0.1:<port>` */
  url: string
  /** Every request received, with the verifier's verdict. */
  records: SigV4ServerRecord[]
  close(): Promise<void>
}

/**
 * A loopback upstream that answers 200 `{ ok: true, accessKeyId, method, target, body }` to a
 * correctly signed request and 403 `{ ok: false, reason }` to anything else, like AWS.
 */
export async function startSigV4Server(
  options: Omit<SigV4VerifyOptions, 'now'> & { now?: () => Date },
): Promise<SigV4Server> {
  const records: SigV4ServerRecord[] = []
  const server: Server = createServer((req, res) => {
    void (async () => {
      const request = await readSigV4Request(req)
      const verification = verifySigV4(request, { ...options, now: options.now?.() ?? new Date() })
      records.push({ request, verification })
      const payload = verification.ok
        ? {
            ok: true,
            accessKeyId: verification.accessKeyId,
            method: request.method,
            target: request.target,
            body: Buffer.from(request.body).toString('utf8'),
          }
        : { ok: false, reason: verification.reason }
      res.writeHead(verification.ok ? 200 : 403, { 'content-type': 'application/json' })
      res.end(JSON.stringify(payload))
    })()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    records,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections()
        server.close((err) => (err ? reject(err) : resolve()))
      }),
  }
}
