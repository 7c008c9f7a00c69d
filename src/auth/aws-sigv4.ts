/**
 * `aws_sigv4`: AWS Signature Version 4, in the `Authorization` header (default) or in the query
 * string (a presigned URL), signed with `@smithy/signature-v4` over a node:crypto SHA-256.
 *
 * The signature covers the method, path, query, headers and body as they are when `apply` runs, so
 * `apply` must be the last step that changes the request: `signsRequest` has the engine apply the
 * `extra` headers and query parameters before it, and a retry signs a fresh copy of the request.
 *
 * To make what is signed and what is sent the same bytes, `apply` rewrites the URL's path and query
 * into AWS's own encoding (RFC 3986 unreserved characters kept, everything else `%XX`; a `+` in the
 * query read as a space, as `URLSearchParams` writes it).
 *
 * @see https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html
 * @module
 */
import type { HttpRequest } from '@smithy/protocol-http'
import type { SignatureV4 } from '@smithy/signature-v4'
import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto'
import { z } from 'zod'
import { PatchbayError } from '../errors.js'
import { encodeBody, type OutgoingRequest } from '../lib/request.js'
import { defineAuthScheme } from './scheme.js'

/** Services that take the path as it is (no normalisation, no second encoding) and want the payload hash header. */
const S3_LIKE = new Set(['s3', 's3-object-lambda', 's3-outposts', 's3express'])

/** Query parameters a presigned URL carries; removed before signing again. */
const PRESIGN_PARAMS = [
  'X-Amz-Algorithm',
  'X-Amz-Credential',
  'X-Amz-Date',
  'X-Amz-Expires',
  'X-Amz-SignedHeaders',
  'X-Amz-Signature',
  'X-Amz-Security-Token',
]

const signingName = z
  .string()
  .min(1, 'is required')
  .max(64)
  .regex(/^[a-z0-9][a-z0-9-]*$/, 'must be lower-case letters, digits and -, such as execute-api')

export const awsSigV4Settings = z
  .object({
    /** The service's signing name: `execute-api`, `s3`, `es`, `lambda`, … */
    service: signingName,
    /** `us-east-1`, … (`us-east-1` for global services such as IAM). */
    region: signingName,
    /** `header` (default): `Authorization`; `query`: a presigned URL (`X-Amz-Signature`). */
    signatureIn: z.enum(['header', 'query']).default('header'),
    /** Lifetime of a presigned URL in seconds (query signing only); AWS allows at most 7 days. */
    expiresIn: z.number().int().min(1).max(604_800).default(3600),
    /**
     * Normalise the path and encode it a second time in the canonical request, as every AWS
     * service but S3 wants. Default: `false` for S3, `true` otherwise.
     */
    normalizePath: z.boolean().optional(),
    /** Send the payload hash as `x-amz-content-sha256` (header signing). Default: `true` for S3. */
    signPayload: z.boolean().optional(),
    /**
     * Include the session token in the signature (default). A few services (IoT over WebSocket)
     * want it added after signing instead.
     */
    signSessionToken: z.boolean().default(true),
  })
  .strict()
export type AwsSigV4Settings = z.infer<typeof awsSigV4Settings>

export interface AwsCredentials {
  accessKeyId: string
  secretAccessKey: string
  sessionToken?: string | undefined
}

export const awsSigV4Scheme = defineAuthScheme({
  type: 'aws_sigv4',
  label: 'AWS Signature Version 4',
  settings: awsSigV4Settings,
  presentation: {
    settings: {
      service: {
        label: 'Service',
        placeholder: 'execute-api',
        hint: 'The signing name: execute-api, s3, es, lambda…',
        group: 'scope',
      },
      region: { label: 'Region', placeholder: 'us-east-1', group: 'scope' },
      signatureIn: {
        label: 'Signature location',
        emptyLabel: 'Authorization header (default)',
        options: [
          ['header', 'Authorization header'],
          ['query', 'Query string (presigned URL)'],
        ],
      },
      expiresIn: {
        label: 'Presigned URL lifetime in seconds',
        placeholder: '3600',
        visibleWhen: { setting: 'signatureIn', is: ['query'] },
      },
      normalizePath: { label: 'Normalize the path', group: 'advanced' },
      signPayload: { label: 'Send the payload hash', group: 'advanced' },
      signSessionToken: { label: 'Sign the session token', group: 'advanced' },
    },
    groups: {
      scope: { layout: 'columns-2' },
      advanced: { title: 'Advanced', collapsed: true, layout: 'columns-3' },
    },
    note: 'Connections ask for an access key ID, a secret access key and an optional session token.',
  },
  connectionFields: () => [
    { name: 'accessKeyId', label: 'Access key ID', type: 'text' },
    { name: 'secretAccessKey', label: 'Secret access key', type: 'password' },
    { name: 'sessionToken', label: 'Session token', type: 'password', optional: true },
  ],
  canRefresh: () => false,
  // Nothing to acquire: the keys are the connection's own values.
  connect: () => Promise.resolve({ status: 'connected', credentials: { values: {} } }),
  async apply(ctx, request) {
    await signAwsRequest(request, credentialsFrom(ctx.values), ctx.settings, new Date(ctx.now()))
  },
  signsRequest: true,
  redact: (s) =>
    s.signatureIn === 'query'
      ? { query: ['X-Amz-Signature', 'X-Amz-Security-Token', 'X-Amz-Credential'] }
      : { headers: ['authorization', 'x-amz-security-token'] },
})

function credentialsFrom(values: Record<string, unknown>): AwsCredentials {
  const accessKeyId = typeof values.accessKeyId === 'string' ? values.accessKeyId.trim() : ''
  const secretAccessKey = typeof values.secretAccessKey === 'string' ? values.secretAccessKey : ''
  if (!accessKeyId || !secretAccessKey) {
    throw new PatchbayError(
      'connection.invalid_values',
      'AWS signing needs accessKeyId and secretAccessKey',
      {
        details: [
          ...(accessKeyId ? [] : [{ path: 'accessKeyId', rule: 'is required' }]),
          ...(secretAccessKey ? [] : [{ path: 'secretAccessKey', rule: 'is required' }]),
        ],
      },
    )
  }
  const sessionToken =
    typeof values.sessionToken === 'string' && values.sessionToken !== ''
      ? values.sessionToken
      : undefined
  return { accessKeyId, secretAccessKey, sessionToken }
}

// Loaded by the first signature: a server with no SigV4 connector does not hold it in memory.
let library:
  Promise<{ SignatureV4: typeof SignatureV4; HttpRequest: typeof HttpRequest }> | undefined
const signerLibrary = () =>
  (library ??= Promise.all([import('@smithy/signature-v4'), import('@smithy/protocol-http')]).then(
    ([v4, http]) => ({ SignatureV4: v4.SignatureV4, HttpRequest: http.HttpRequest }),
  ))

/**
 * Signs `request` in place: writes `authorization`, `x-amz-date`, `x-amz-security-token` and
 * `x-amz-content-sha256` headers, or, for `signatureIn: 'query'`, the `X-Amz-*` query parameters.
 */
export async function signAwsRequest(
  request: OutgoingRequest,
  credentials: AwsCredentials,
  settings: Pick<AwsSigV4Settings, 'service' | 'region'> & Partial<AwsSigV4Settings>,
  signingDate: Date,
): Promise<void> {
  const s3Like = S3_LIKE.has(settings.service)
  const normalizePath = settings.normalizePath ?? !s3Like
  const signPayload = settings.signPayload ?? s3Like
  const signSessionToken = settings.signSessionToken ?? true
  const inQuery = settings.signatureIn === 'query'

  // What goes on the wire is what gets signed (see the module comment).
  if (inQuery) for (const name of PRESIGN_PARAMS) request.url.searchParams.delete(name)
  request.url.pathname = awsEncodePath(request.url.pathname)
  const query = [...request.url.searchParams]
  request.url.search = query.map(([k, v]) => `${uriEncode(k)}=${uriEncode(v)}`).join('&')

  const body = encodeBody(request)
  const headers: Record<string, string> = { ...request.headers }
  headers.host ??= request.url.host
  if (!inQuery) {
    // Stale values from an earlier signature of this request object.
    delete headers['x-amz-security-token']
  }

  const { SignatureV4, HttpRequest } = await signerLibrary()
  const signer = new SignatureV4({
    service: settings.service,
    region: settings.region,
    credentials: {
      accessKeyId: credentials.accessKeyId,
      secretAccessKey: credentials.secretAccessKey,
      ...(credentials.sessionToken && (signSessionToken || !inQuery)
        ? { sessionToken: credentials.sessionToken }
        : {}),
    },
    sha256: NodeSha256,
    uriEscapePath: normalizePath,
    applyChecksum: signPayload,
  })
  const unsigned = new HttpRequest({
    method: request.method.toUpperCase(),
    protocol: request.url.protocol,
    hostname: request.url.hostname,
    ...(request.url.port ? { port: Number(request.url.port) } : {}),
    path: request.url.pathname,
    query: toQueryBag(query),
    headers,
    body,
  })
  const unsignableHeaders =
    credentials.sessionToken && !signSessionToken ? new Set(['x-amz-security-token']) : undefined

  if (inQuery) {
    const signed = await signer.presign(unsigned, {
      signingDate,
      expiresIn: settings.expiresIn ?? 3600,
    })
    const signedQuery = signed.query ?? {}
    const params: [string, string][] = Object.entries(signedQuery).flatMap(([k, v]) =>
      v === null ? [] : Array.isArray(v) ? v.map((x): [string, string] => [k, x]) : [[k, v]],
    )
    // Added after signing, as the caller asked.
    if (credentials.sessionToken && !signSessionToken) {
      params.push(['X-Amz-Security-Token', credentials.sessionToken])
    }
    request.url.search = params.map(([k, v]) => `${uriEncode(k)}=${uriEncode(v)}`).join('&')
    // presign moved the `x-amz-*` headers into the query.
    for (const name of Object.keys(request.headers)) {
      if (name.startsWith('x-amz-') && name in signedQuery) delete request.headers[name]
    }
    return
  }

  const signed = await signer.sign(unsigned, {
    signingDate,
    ...(unsignableHeaders ? { unsignableHeaders } : {}),
  })
  for (const name of [
    'authorization',
    'x-amz-date',
    'x-amz-security-token',
    'x-amz-content-sha256',
  ]) {
    const value = signed.headers[name]
    if (value === undefined) delete request.headers[name]
    else request.headers[name] = value
  }
}

function toQueryBag(pairs: [string, string][]): Record<string, string | string[]> {
  const bag: Record<string, string | string[]> = {}
  for (const [k, v] of pairs) {
    const prev = bag[k]
    bag[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v]
  }
  return bag
}

/** RFC 3986 percent-encoding of everything but the unreserved characters, as SigV4 wants. */
export function uriEncode(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  )
}

/** Re-encodes each path segment in SigV4's encoding, keeping the slashes. */
export function awsEncodePath(path: string): string {
  return path
    .split('/')
    .map((segment) => {
      let decoded: string
      try {
        decoded = decodeURIComponent(segment)
      } catch {
        decoded = segment // a stray `%` is a literal one
      }
      return uriEncode(decoded)
    })
    .join('/')
}

type SourceData = string | ArrayBuffer | ArrayBufferView

function toBytes(data: SourceData): Uint8Array {
  if (typeof data === 'string') return Buffer.from(data, 'utf8')
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
  return new Uint8Array(data)
}

/** SHA-256 / HMAC-SHA256 on node:crypto, in the shape `@smithy/signature-v4` takes. */
class NodeSha256 {
  readonly #secret: SourceData | undefined
  #hash: Hash | Hmac

  constructor(secret?: SourceData) {
    this.#secret = secret
    this.#hash = NodeSha256.#create(secret)
  }

  static #create(secret: SourceData | undefined): Hash | Hmac {
    return secret === undefined ? createHash('sha256') : createHmac('sha256', toBytes(secret))
  }

  update(data: SourceData): void {
    this.#hash.update(toBytes(data))
  }

  digest(): Promise<Uint8Array> {
    return Promise.resolve(new Uint8Array(this.#hash.digest()))
  }

  reset(): void {
    this.#hash = NodeSha256.#create(this.#secret)
  }
}
