/**
 * One custom action's run through the pipeline: the URL resolved against the connection's base
 * URL, the caller's headers checked, the connection's auth bound, its breaker and the log writer
 * handed over, and the pipeline run (docs/pipeline.md).
 *
 * @module
 */
import { HEADER_VALUE_RE, HEADER_VALUE_RULE } from '../connector/schema.js'
import { PatchbayError, invalidInput, type FieldIssue } from '../errors.js'
import type { OutgoingRequest, RequestBody } from '../lib/request.js'
import { MissingTemplateValue, renderTemplate } from '../lib/template.js'
import type { Handler, PipelineContext, PipelineResult } from '../pipeline/index.js'
import type { ConnectionRecord } from '../store/store.js'
import type { BindAuth } from './auth-binding.js'
import {
  actionBreakerKey,
  breakerSettings,
  connectionBreakerKey,
  type Breakers,
} from './breakers.js'
import type { ConnectionSecretBox, ConnectionSecrets } from './connection-secrets.js'
import { connectionFieldsOf, type LoadedConnector } from './connector-repository.js'
import type { EngineContext } from './context.js'
import { needsReauth } from './refresher.js'
import { templateScope } from './values.js'

type Obj = Record<string, unknown>

export interface RawRequest {
  method: string
  path?: string | undefined
  url?: string | undefined
  query?: Record<string, string | number | boolean | string[]> | undefined
  headers?: Record<string, string> | undefined
  body?: RequestBody | undefined
}

/** Who asked for a call, when it was an agent's MCP tool call (docs/mcp.md): it goes to the log. */
export interface CallerInfo {
  mcpKeyId: string
  tool: string
}

export interface ExecuteOptions {
  actionId: string | null
  stream: boolean
  caller?: CallerInfo | undefined
}

export type ExecuteResult = PipelineResult & { refreshed: boolean }

export interface Executor {
  execute(
    loaded: LoadedConnector,
    record: ConnectionRecord,
    raw: RawRequest,
    options: ExecuteOptions,
  ): Promise<ExecuteResult>
  /** The connection's values as `{{templates}}` read them. */
  scope(loaded: LoadedConnector, record: ConnectionRecord, secrets?: ConnectionSecrets): Obj
}

function baseUrlOf(loaded: LoadedConnector, scope: Obj): URL {
  let base: URL
  try {
    base = new URL(renderTemplate(loaded.definition.baseUrl, scope, { encode: encodeURIComponent }))
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
            : { path: 'baseUrl', rule: "must render to a valid URL with the connection's values" },
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

function checkedHeaders(raw: Record<string, string> | undefined): Record<string, string> {
  const headers: Record<string, string> = {}
  const issues: FieldIssue[] = []
  for (const [k, v] of Object.entries(raw ?? {})) {
    // Checked before sending: undici refuses these, and the caller's mistake must not read as an
    // unreachable upstream (502) nor count against the breaker.
    if (k.toLowerCase() === 'expect')
      issues.push({ path: `headers.${k}`, rule: 'is not supported (no 100-continue)' })
    else if (!HEADER_VALUE_RE.test(v))
      issues.push({ path: `headers.${k}`, rule: HEADER_VALUE_RULE })
    headers[k.toLowerCase()] = v
  }
  if (issues.length) throw invalidInput(issues)
  return headers
}

export function createExecutor(
  ctx: EngineContext,
  pipeline: Handler,
  secretBox: ConnectionSecretBox,
  bindAuth: BindAuth,
  breakers: Breakers,
): Executor {
  const observer: PipelineContext['observer'] = {
    call: (outcome, durationMs) => {
      ctx.metrics.requests.inc({ outcome })
      ctx.metrics.upstreamLatency.observe(durationMs / 1000)
    },
    breakerOpened: () => ctx.metrics.breakerOpens.inc(),
    logFailed: (err) => ctx.logger.error({ err }, 'could not make a log entry'),
  }

  function scope(
    loaded: LoadedConnector,
    record: ConnectionRecord,
    opened?: ConnectionSecrets,
  ): Obj {
    const secrets = opened ?? secretBox.open(record)
    const values = { ...record.values, ...secrets.values }
    return templateScope(connectionFieldsOf(loaded, values), values)
  }

  return {
    scope,
    async execute(loaded, record, raw, options) {
      if (record.status === 'needs_reauth') throw needsReauth(record.statusMessage)
      if (record.status !== 'connected') {
        throw new PatchbayError(
          'connection.not_connected',
          `the connection is ${record.status}${record.statusMessage ? `: ${record.statusMessage}` : ''}`,
        )
      }
      const secrets = secretBox.open(record)
      const base = baseUrlOf(loaded, scope(loaded, record, secrets))
      const url = resolveUrl(base, raw)
      for (const [k, v] of Object.entries(raw.query ?? {})) {
        if (Array.isArray(v)) for (const item of v) url.searchParams.append(k, item)
        else url.searchParams.set(k, String(v))
      }
      const request: OutgoingRequest = {
        method: raw.method.toUpperCase(),
        url,
        headers: checkedHeaders(raw.headers),
        body: raw.body ?? { kind: 'none' },
      }
      const { auth, allowedOrigins } = loaded.definition
      const pctx: PipelineContext = {
        request,
        allowedOrigins: new Set([
          base.origin,
          ...(allowedOrigins ?? []).map((o) => new URL(o).origin),
        ]),
        auth: bindAuth(loaded, record, secrets),
        refreshOn: auth.refreshOn,
        detectOn: auth.detectOn,
        breaker: breakers.port(
          options.actionId
            ? actionBreakerKey(loaded.record.id, options.actionId)
            : connectionBreakerKey(record.id),
          breakerSettings(loaded.definition),
        ),
        stream: options.stream,
        timeoutMs: ctx.timeoutMs,
        observer,
        log: {
          sink: ctx.log,
          connectorId: loaded.record.id,
          connectionId: record.id,
          actionId: options.actionId,
          mcpKeyId: options.caller?.mcpKeyId ?? null,
          tool: options.caller?.tool ?? null,
        },
        meta: {
          refreshed: false,
          refreshOutcome: null,
          breakerState: null,
          credentialsWithheld: false,
          redirects: 0,
        },
      }
      const result = await pipeline(pctx)
      return { ...result, refreshed: pctx.meta.refreshed }
    },
  }
}
