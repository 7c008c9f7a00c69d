/**
 * Custom actions (SPEC §5): ad-hoc requests, the streaming proxy and saved actions, each run
 * through the pipeline with the connection's auth.
 *
 * @module
 */
import type { Readable } from 'node:stream'
import {
  actionRunSchema,
  HEADER_VALUE_RE,
  HEADER_VALUE_RULE,
  requestInputSchema,
  type CustomAction,
  type RequestInput,
} from '../connector/schema.js'
import { PatchbayError, invalidInput, type FieldIssue } from '../errors.js'
import { parseBody } from '../lib/http-client.js'
import { isFormType, parseForm, type OutgoingRequest, type RequestBody } from '../lib/request.js'
import { MissingTemplateValue, renderDeep, renderTemplate } from '../lib/template.js'
import { bufferBody, type PipelineContext, type PipelineResult } from '../pipeline/index.js'
import type { ConnectionRecord } from '../store/store.js'
import {
  actionBreakerKey,
  connectionBreakerKey,
  type ConnectorService,
  type LoadedConnector,
} from './connectors.js'
import { identityFrom, type ConnectionService } from './connections.js'
import type { EngineContext } from './context.js'
import type { CredentialService } from './credentials.js'
import { needsReauth } from './credentials.js'
import { toFieldIssues } from './issues.js'
import { checkValues, templateScope } from './values.js'

type Obj = Record<string, unknown>

/** The ad-hoc envelope: the upstream's answer, its status inside (SPEC §5). */
export interface RequestOutcome {
  status: number
  headers: Record<string, string | string[]>
  body: unknown
  bodyEncoding?: 'base64'
  refreshed: boolean
  /** Set when a `detectOn` signal matched. */
  error?: { code: string; message: string }
}

export interface RawRequest {
  method: string
  path?: string | undefined
  url?: string | undefined
  query?: Record<string, string | number | boolean | string[]> | undefined
  headers?: Record<string, string> | undefined
  body?: RequestBody | undefined
}

export function createRequestService(
  ctx: EngineContext,
  connectors: ConnectorService,
  connections: ConnectionService,
  credentials: CredentialService,
) {
  function scopeOf(loaded: LoadedConnector, record: ConnectionRecord): Obj {
    const values = { ...record.values, ...credentials.open(record).values }
    const fields = [
      ...loaded.definition.fields,
      ...loaded.scheme.connectionFields(loaded.settings, values),
    ]
    return templateScope(fields, values)
  }

  function baseUrlOf(loaded: LoadedConnector, scope: Obj): URL {
    let base: URL
    try {
      base = new URL(
        renderTemplate(loaded.definition.baseUrl, scope, { encode: encodeURIComponent }),
      )
    } catch (err) {
      // The connection's values fill the template, so a base URL they break is their fault; the
      // rendered text is not shown, as a template may have put a secret in it.
      const missing = err instanceof MissingTemplateValue ? err.key : undefined
      throw new PatchbayError(
        'connection.invalid_values',
        missing
          ? `the base URL needs the connection value "${missing}"`
          : "the connection's values do not render the base URL to a valid URL",
        {
          details: [
            missing
              ? { path: `values.${missing}`, rule: 'is required by the base URL' }
              : {
                  path: 'baseUrl',
                  rule: "must render to a valid URL with the connection's values",
                },
          ],
          cause: err,
        },
      )
    }
    if (!base.pathname.endsWith('/')) base.pathname += '/'
    return base
  }

  function resolveUrl(base: URL, raw: RawRequest): URL {
    if (raw.url !== undefined) {
      let url: URL
      try {
        url = new URL(raw.url)
      } catch {
        throw invalidInput([
          { path: 'url', rule: 'must be an absolute URL with a scheme (or give a path instead)' },
        ])
      }
      if (!/^https?:$/.test(url.protocol))
        throw invalidInput([{ path: 'url', rule: 'must use http or https' }])
      return url
    }
    const path = (raw.path ?? '').replace(/^\/+/, '')
    if (/^[a-z][a-z0-9+.-]*:/i.test(path))
      throw invalidInput([{ path: 'path', rule: 'must be a path; give an absolute URL as url' }])
    try {
      return new URL(path, base)
    } catch {
      // e.g. `\\[`: a backslash reads as a slash, leaving an authority that is no host.
      throw invalidInput([{ path: 'path', rule: 'must be a valid URL path' }])
    }
  }

  async function execute(
    loaded: LoadedConnector,
    record: ConnectionRecord,
    raw: RawRequest,
    options: { actionId: string | null; stream: boolean },
  ): Promise<PipelineResult & { refreshed: boolean }> {
    if (record.status === 'needs_reauth') throw needsReauth(record.statusMessage)
    if (record.status !== 'connected') {
      throw new PatchbayError(
        'connection.not_connected',
        `the connection is ${record.status}${record.statusMessage ? `: ${record.statusMessage}` : ''}`,
      )
    }
    const scope = scopeOf(loaded, record)
    const base = baseUrlOf(loaded, scope)
    const url = resolveUrl(base, raw)
    for (const [k, v] of Object.entries(raw.query ?? {})) {
      if (Array.isArray(v)) for (const item of v) url.searchParams.append(k, item)
      else url.searchParams.set(k, String(v))
    }
    const headers: Record<string, string> = {}
    const headerIssues: FieldIssue[] = []
    for (const [k, v] of Object.entries(raw.headers ?? {})) {
      // Checked before sending: undici refuses these, and the caller's mistake must not read as
      // an unreachable upstream (502) nor count against the breaker.
      if (k.toLowerCase() === 'expect')
        headerIssues.push({ path: `headers.${k}`, rule: 'is not supported (no 100-continue)' })
      else if (!HEADER_VALUE_RE.test(v))
        headerIssues.push({ path: `headers.${k}`, rule: HEADER_VALUE_RULE })
      headers[k.toLowerCase()] = v
    }
    if (headerIssues.length) throw invalidInput(headerIssues)
    const request: OutgoingRequest = {
      method: raw.method.toUpperCase(),
      url,
      headers,
      body: raw.body ?? { kind: 'none' },
    }
    const auth = loaded.definition.auth as {
      refreshOn?: PipelineContext['refreshOn']
      detectOn?: PipelineContext['detectOn']
    }
    const pctx: PipelineContext = {
      request,
      allowedOrigins: new Set([
        base.origin,
        ...(loaded.definition.allowedOrigins ?? []).map((o) => new URL(o).origin),
      ]),
      auth: credentials.bind(loaded, record),
      refreshOn: auth.refreshOn,
      detectOn: auth.detectOn,
      breakerKey: options.actionId
        ? actionBreakerKey(loaded.record.id, options.actionId)
        : connectionBreakerKey(record.id),
      breaker: connectors.breakerOf(loaded.definition),
      stream: options.stream,
      timeoutMs: ctx.timeoutMs,
      store: ctx.store,
      observer: {
        call: (outcome, durationMs) => {
          ctx.metrics.requests.inc({ outcome })
          ctx.metrics.upstreamLatency.observe(durationMs / 1000)
        },
        breakerOpened: () => ctx.metrics.breakerOpens.inc(),
        logFailed: (err) => ctx.logger.error({ err }, 'could not write a log entry'),
      },
      log: { connectorId: loaded.record.id, connectionId: record.id, actionId: options.actionId },
      meta: {
        refreshed: false,
        refreshOutcome: null,
        breakerState: null,
        credentialsWithheld: false,
        redirects: 0,
      },
    }
    const result = await ctx.pipeline(pctx)
    return { ...result, refreshed: pctx.meta.refreshed }
  }

  async function envelope(
    result: PipelineResult & { refreshed: boolean },
  ): Promise<RequestOutcome> {
    const bytes = Buffer.from(await bufferBody(result))
    const type = String(result.headers['content-type'] ?? '')
    const textual =
      bytes.byteLength === 0 ||
      /json|text|xml|x-www-form-urlencoded|javascript/i.test(type) ||
      (!type && isUtf8(bytes))
    const out: RequestOutcome = {
      status: result.status,
      headers: result.headers,
      body: null,
      refreshed: result.refreshed,
    }
    if (!textual) {
      out.body = bytes.toString('base64')
      out.bodyEncoding = 'base64'
    } else {
      const text = bytes.toString('utf8')
      out.body = /json/i.test(type) ? parseBody(text, 'application/json') : text
    }
    if (result.detected)
      out.error = { code: result.detected.code, message: result.detected.message }
    return out
  }

  async function loadFor(
    connectionId: string,
  ): Promise<{ loaded: LoadedConnector; record: ConnectionRecord }> {
    const record = await connections.find(connectionId)
    const loaded = await connectors.load(record.connectorId)
    return { loaded, record }
  }

  function requireCustomActions(loaded: LoadedConnector): void {
    if (!loaded.definition.customAction.enabled) {
      throw new PatchbayError(
        'connector.custom_action_disabled',
        `custom actions are off for "${loaded.definition.name}"; set customAction.enabled to true on the connector`,
      )
    }
  }

  const service = {
    /** `POST /connections/:id/request`. */
    async request(connectionId: string, input: unknown): Promise<RequestOutcome> {
      const parsed = requestInputSchema.safeParse(input)
      if (!parsed.success) throw invalidInput(toFieldIssues(parsed.error))
      const { loaded, record } = await loadFor(connectionId)
      requireCustomActions(loaded)
      const result = await execute(loaded, record, toRaw(parsed.data), {
        actionId: null,
        stream: false,
      })
      return envelope(result)
    },

    /** `ANY /proxy/:id/*`: the upstream's answer as it is, streamed. */
    async proxy(
      connectionId: string,
      raw: {
        method: string
        path: string
        search: string
        headers: Record<string, string>
        body: Uint8Array | undefined
      },
    ): Promise<{
      status: number
      headers: Record<string, string | string[]>
      body: Uint8Array | Readable
    }> {
      const { loaded, record } = await loadFor(connectionId)
      requireCustomActions(loaded)
      const headers = { ...raw.headers }
      const contentType = headers['content-type']
      const body: RequestBody =
        raw.body && raw.body.byteLength
          ? isFormType(contentType)
            ? { kind: 'form', fields: parseForm(Buffer.from(raw.body).toString('utf8')) }
            : { kind: 'raw', bytes: raw.body }
          : { kind: 'none' }
      // No prototype: a parameter named `valueOf` or `__proto__` is just a name.
      const query = Object.create(null) as Record<string, string[]>
      for (const [k, v] of new URLSearchParams(raw.search)) (query[k] ??= []).push(v)
      const result = await execute(
        loaded,
        record,
        { method: raw.method, path: raw.path, query, headers, body },
        { actionId: null, stream: true },
      )
      return { status: result.status, headers: result.headers, body: result.body }
    },

    /** `POST /actions/:id/run`. */
    async runAction(
      actionId: string,
      input: unknown,
    ): Promise<RequestOutcome & { action: { id: string; name: string } }> {
      const parsed = actionRunSchema.safeParse(input)
      if (!parsed.success) throw invalidInput(toFieldIssues(parsed.error))
      const found = await findAction(actionId)
      const { loaded, record } = await loadFor(parsed.data.connection)
      if (record.connectorId !== found.connectorId) {
        throw invalidInput([
          {
            path: 'connection',
            rule: `must be a connection of the action's connector (${found.connectorId})`,
          },
        ])
      }
      const action = found.action
      const checked = checkValues(action.inputs, parsed.data.inputs, 'inputs')
      if (checked.issues.length) {
        throw new PatchbayError(
          'action.invalid_inputs',
          checked.issues.map((i) => `${i.path} ${i.rule}`).join('; '),
          { details: checked.issues },
        )
      }
      const scope = {
        ...scopeOf(loaded, record),
        input: templateScope(action.inputs, { ...checked.public, ...checked.secret }),
      }
      let raw: RawRequest
      try {
        raw = {
          method: action.method,
          path: renderTemplate(action.path, scope, { encode: encodeURIComponent }),
          query: action.query
            ? (renderDeep(action.query, scope) as Record<string, string>)
            : undefined,
          headers: action.headers
            ? (renderDeep(action.headers, scope) as Record<string, string>)
            : undefined,
          body:
            action.body === undefined
              ? undefined
              : toBody(renderDeep(action.body, scope), action.headers),
        }
      } catch (err) {
        if (err instanceof MissingTemplateValue) {
          throw new PatchbayError(
            'action.invalid_inputs',
            `the action uses {{${err.key}}}, which has no value`,
            {
              details: [
                {
                  path: `inputs.${err.key.replace(/^input\./, '')}`,
                  rule: 'is required by the action',
                },
              ],
            },
          )
        }
        throw err
      }
      if (/^https?:\/\//i.test(raw.path ?? '')) raw = { ...raw, url: raw.path, path: undefined }
      const result = await execute(loaded, record, raw, { actionId: action.id, stream: false })
      return { ...(await envelope(result)), action: { id: action.id, name: action.name } }
    },

    /** `POST /connections/:id/test`: the identity request, or a GET of the base URL. */
    async test(
      connectionId: string,
    ): Promise<{ ok: boolean; status: number | null; identity: string | null; message: string }> {
      const { loaded, record } = await loadFor(connectionId)
      const identity = loaded.definition.identity
      try {
        const result = await execute(
          loaded,
          record,
          { method: identity?.method ?? 'GET', path: identity?.path ?? '' },
          { actionId: null, stream: false },
        )
        const out = await envelope(result)
        const ok = out.status < 400 && !out.error
        const who = ok && identity ? identityFrom(out.body, identity.valuePath) : null
        if (who !== null && who !== record.identity)
          await ctx.store.updateConnection(record.id, { identity: who })
        return {
          ok,
          status: out.status,
          identity: who ?? record.identity,
          message: ok
            ? 'the connection works'
            : (out.error?.message ?? `the API answered ${out.status}`),
        }
      } catch (err) {
        if (err instanceof PatchbayError)
          return {
            ok: false,
            status: null,
            identity: record.identity,
            message: `${err.code}: ${err.message}`,
          }
        throw err
      }
    },

    /** The identity probe connections use after connecting. */
    async identityOf(loaded: LoadedConnector, record: ConnectionRecord): Promise<string | null> {
      const identity = loaded.definition.identity
      if (!identity) return null
      const result = await execute(
        loaded,
        record,
        { method: identity.method, path: identity.path },
        { actionId: null, stream: false },
      )
      const out = await envelope(result)
      return out.status < 400 ? identityFrom(out.body, identity.valuePath) : null
    },

    findAction,
  }

  async function findAction(
    actionId: string,
  ): Promise<{ connectorId: string; action: CustomAction }> {
    let cursor: string | undefined
    do {
      const page = await ctx.store.listConnectors({ limit: 200, cursor })
      for (const c of page.items) {
        const action = ((c.definition.actions ?? []) as CustomAction[]).find(
          (a) => a.id === actionId,
        )
        if (action) return { connectorId: c.id, action }
      }
      cursor = page.nextCursor
    } while (cursor)
    throw new PatchbayError(
      'action.not_found',
      `no saved action "${actionId}"; actions are listed on their connector`,
    )
  }

  return service
}

export type RequestService = ReturnType<typeof createRequestService>

function toRaw(input: RequestInput): RawRequest {
  return {
    method: input.method,
    path: input.path,
    url: input.url,
    query: input.query,
    headers: input.headers,
    body:
      input.body === undefined
        ? undefined
        : input.bodyEncoding === 'base64'
          ? base64Body(input.body)
          : toBody(input.body, input.headers),
  }
}

function base64Body(body: unknown): RequestBody {
  if (typeof body !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(body)) {
    throw invalidInput([{ path: 'body', rule: 'must be base64 when bodyEncoding is base64' }])
  }
  return { kind: 'raw', bytes: Buffer.from(body, 'base64') }
}

function toBody(body: unknown, headers: Record<string, string> | undefined): RequestBody {
  const type =
    Object.entries(headers ?? {}).find(([k]) => k.toLowerCase() === 'content-type')?.[1] ?? ''
  // A urlencoded string is a form too, as on /proxy: auth can add fields and OAuth1 signs them.
  if (typeof body === 'string' && isFormType(type)) return { kind: 'form', fields: parseForm(body) }
  if (isFormType(type) && body && typeof body === 'object') {
    return {
      kind: 'form',
      fields: Object.entries(body as Obj).map(([k, v]) => [
        k,
        typeof v === 'string' ? v : JSON.stringify(v),
      ]),
    }
  }
  if (typeof body === 'string' && !/json/i.test(type))
    return {
      kind: 'raw',
      bytes: Buffer.from(body),
      contentType: type || 'text/plain; charset=utf-8',
    }
  return { kind: 'json', value: body }
}

function isUtf8(bytes: Buffer): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes)
    return true
  } catch {
    return false
  }
}
