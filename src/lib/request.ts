/**
 * The outgoing request as the pipeline and auth schemes see it: mutable, with a structured body
 * so that schemes can add form or JSON fields and signers can read form parameters.
 *
 * @module
 */
import { PatchbayError } from '../errors.js'

const FORM_TYPE = 'application/x-www-form-urlencoded'

export type RequestBody =
  | { kind: 'none' }
  | { kind: 'json'; value: unknown }
  | { kind: 'form'; fields: [string, string][] }
  | { kind: 'raw'; bytes: Uint8Array; contentType?: string }

export interface OutgoingRequest {
  method: string
  url: URL
  /** Lower-case names. */
  headers: Record<string, string>
  body: RequestBody
}

export function cloneRequest(req: OutgoingRequest): OutgoingRequest {
  return {
    method: req.method,
    url: new URL(req.url.href),
    headers: { ...req.headers },
    body:
      req.body.kind === 'form'
        ? { kind: 'form', fields: req.body.fields.map(([k, v]) => [k, v] as [string, string]) }
        : req.body.kind === 'json'
          ? { kind: 'json', value: structuredClone(req.body.value) }
          : req.body,
  }
}

/** A `content-type` value's media type, lower-cased, without parameters (RFC 9110 §8.3.1). */
export function mediaType(contentType: string | undefined): string | undefined {
  return contentType?.split(';')[0]!.trim().toLowerCase() || undefined
}

/** Whether a `content-type` is `application/x-www-form-urlencoded`, in any case, with any parameters. */
export function isFormType(contentType: string | undefined): boolean {
  return mediaType(contentType) === FORM_TYPE
}

/** A urlencoded form's fields, decoded, in order (`+` is a space; WHATWG URL, urlencoded parsing). */
export function parseForm(text: string): [string, string][] {
  return [...new URLSearchParams(text)]
}

/**
 * Sets one body field (an `api_key` in `form`, a `custom` `apply.body` field, a code connector's
 * `payload`), on the body the request has:
 * - a form, or urlencoded bytes (parsed first): the field goes last, replacing one of that name;
 *   the other fields keep their order;
 * - a JSON object: a string property;
 * - no body: a form (RFC 6749 style), or a JSON object when the request's content type is JSON.
 *
 * Any other body — a JSON array or scalar, text, binary — has no place for a field: the request is
 * refused with `request.invalid`, saying what to send instead, and nothing is sent.
 */
export function setBodyField(req: OutgoingRequest, key: string, value: string): void {
  const body = req.body
  const type = mediaType(
    req.headers['content-type'] ?? (body.kind === 'raw' ? body.contentType : undefined),
  )
  switch (body.kind) {
    case 'none':
      if (type === undefined || type === FORM_TYPE) {
        req.body = { kind: 'form', fields: [[key, value]] }
      } else if (isJsonType(type)) {
        req.body = { kind: 'json', value: defineField({}, key, value) }
      } else {
        throw noFieldsInType(key, type)
      }
      return
    case 'form':
      body.fields = body.fields.filter(([k]) => k !== key)
      body.fields.push([key, value])
      return
    case 'json':
      if (body.value !== null && typeof body.value === 'object' && !Array.isArray(body.value)) {
        defineField(body.value as Record<string, unknown>, key, value)
        return
      }
      throw noPlaceFor(
        key,
        Array.isArray(body.value)
          ? 'a JSON array'
          : `a JSON ${body.value === null ? 'null' : typeof body.value}`,
      )
    case 'raw': {
      if (type !== FORM_TYPE) {
        throw noPlaceFor(key, type ? `a body of type ${type}` : 'a body without a content-type')
      }
      const text = utf8(body.bytes)
      if (text === undefined) throw noPlaceFor(key, 'a urlencoded body that is not UTF-8 text')
      req.body = { kind: 'form', fields: parseForm(text) }
      setBodyField(req, key, value)
      return
    }
  }
}

function isJsonType(type: string): boolean {
  return type === 'application/json' || type.endsWith('+json')
}

/** An own property even for names like `__proto__`, which plain assignment would not create. */
function defineField(target: Record<string, unknown>, key: string, value: string) {
  Object.defineProperty(target, key, {
    value,
    enumerable: true,
    writable: true,
    configurable: true,
  })
  return target
}

function utf8(bytes: Uint8Array): string | undefined {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes)
  } catch {
    return undefined
  }
}

/** The caller's body cannot carry the auth's field: a 400 that says what to send (never a 502). */
function noPlaceFor(key: string, what: string): PatchbayError {
  return new PatchbayError(
    'request.invalid',
    `the connector's auth adds the field "${key}" to the request body, and ${what} has no fields: send a form (content-type: ${FORM_TYPE}) or a JSON object instead`,
    {
      details: [
        {
          path: 'body',
          rule: `must be a form (${FORM_TYPE}) or a JSON object: the connector's auth adds the field "${key}" to it`,
        },
      ],
    },
  )
}

/** A bodiless request whose content type no field can go in. */
function noFieldsInType(key: string, type: string): PatchbayError {
  return new PatchbayError(
    'request.invalid',
    `the connector's auth adds the field "${key}" to the request body, and a body of type ${type} has no fields: send the request without a content-type, or as a form (${FORM_TYPE}) or JSON`,
    {
      details: [
        {
          path: 'headers.content-type',
          rule: `must be ${FORM_TYPE} or JSON, or absent: the connector's auth adds the body field "${key}"`,
        },
      ],
    },
  )
}

/** Serialises the body for the wire; sets `content-type` when the request has none. */
export function encodeBody(req: OutgoingRequest): Uint8Array | string | undefined {
  const body = req.body
  switch (body.kind) {
    case 'none':
      return undefined
    case 'json':
      req.headers['content-type'] ??= 'application/json'
      return JSON.stringify(body.value)
    case 'form':
      req.headers['content-type'] ??= 'application/x-www-form-urlencoded'
      return new URLSearchParams(body.fields).toString()
    case 'raw':
      if (body.contentType) req.headers['content-type'] ??= body.contentType
      return body.bytes
  }
}

/** Parses wire bytes into a structured body by content type, so schemes can work with it. */
export function decodeBody(
  bytes: Uint8Array | undefined,
  contentType: string | undefined,
): RequestBody {
  if (!bytes || bytes.byteLength === 0) return { kind: 'none' }
  if (isFormType(contentType)) {
    return { kind: 'form', fields: parseForm(Buffer.from(bytes).toString('utf8')) }
  }
  return { kind: 'raw', bytes, ...(contentType ? { contentType } : {}) }
}
