/**
 * The outgoing request as the pipeline and auth schemes see it: mutable, with a structured body
 * so that schemes can add form or JSON fields and signers can read form parameters.
 *
 * @module
 */

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

/** Sets one field of a form or JSON body; an empty body becomes a form (RFC 6749 style). */
export function setBodyField(req: OutgoingRequest, key: string, value: string): void {
  const body = req.body
  if (body.kind === 'none') {
    req.body = { kind: 'form', fields: [[key, value]] }
  } else if (body.kind === 'form') {
    body.fields = body.fields.filter(([k]) => k !== key)
    body.fields.push([key, value])
  } else if (body.kind === 'json' && body.value !== null && typeof body.value === 'object') {
    ;(body.value as Record<string, unknown>)[key] = value
  } else {
    throw new TypeError(`cannot set body field "${key}" on a ${body.kind} body`)
  }
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
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase()
  if (type === 'application/x-www-form-urlencoded') {
    return { kind: 'form', fields: [...new URLSearchParams(Buffer.from(bytes).toString('utf8'))] }
  }
  return { kind: 'raw', bytes, ...(contentType ? { contentType } : {}) }
}
