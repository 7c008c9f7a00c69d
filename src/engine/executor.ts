/**
 * One custom action's run through the pipeline: the URL resolved against the connection's base
 * URL, the caller's headers checked, the connection's auth bound, its breaker and the log writer
 * handed over, and the pipeline run (docs/pipeline.md). What the connection brings is a
 * `CallTarget` (`call-targets.ts`).
 *
 * @module
 */
import type { ConnectorDefinition } from '../connector/model.js'
import {
  HEADER_VALUE_RE,
  HEADER_VALUE_RULE,
  IDEMPOTENT_METHODS,
  retrySettingsSchema,
} from '../connector/schema.js'
import { PatchbayError, invalidInput, type FieldIssue } from '../errors.js'
import type { OutgoingRequest, RequestBody } from '../lib/request.js'
import type {
  Handler,
  PipelineContext,
  PipelineResult,
  RateLimitPort,
  RetryPolicy,
} from '../pipeline/index.js'
import type { BreakerRecord, Store } from '../store/store.js'
import type { BindAuth } from './auth-binding.js'
import {
  actionBreakerKey,
  breakerSettings,
  connectionBreakerKey,
  type Breakers,
} from './breakers.js'
import type { CallTarget } from './call-targets.js'
import type { EngineContext } from './context.js'
import { needsReauth } from './refresher.js'

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
  /** The saved action being run: its breaker and its log entries; null for ad-hoc calls. */
  actionId: string | null
  stream: boolean
  /** The breaker as the call's first read found it (`undefined` inside: no record yet). */
  breaker?: { record: BreakerRecord | undefined }
  /** Who made the call (an MCP key and tool), for its log entry. */
  caller?: CallerInfo | undefined
}

export type ExecuteResult = PipelineResult & { refreshed: boolean }

export interface Executor {
  execute(target: CallTarget, raw: RawRequest, options: ExecuteOptions): Promise<ExecuteResult>
}

/** The breaker a call runs under: its saved action's, or its connection's ad-hoc one. */
export function breakerKeyOf(connectorId: string, connectionId: string, actionId: string | null) {
  return actionId ? actionBreakerKey(connectorId, actionId) : connectionBreakerKey(connectionId)
}

const EVERY_METHOD = ['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'POST', 'PATCH']

/** The connector's `retry`, its defaults filled in (`retrySettingsSchema`). */
export function retryPolicy(def: Pick<ConnectorDefinition, 'retry'>): RetryPolicy {
  const r = retrySettingsSchema.parse(def.retry ?? {})
  const methods = r.methods ?? (r.unsafe ? EVERY_METHOD : IDEMPOTENT_METHODS)
  return { maxRetries: r.maxRetries, maxWaitMs: r.maxWaitSeconds * 1000, methods: new Set(methods) }
}

/** The connection's share of the connector's `rateLimit`, counted in the store. */
export function rateLimitPort(
  store: Store,
  def: Pick<ConnectorDefinition, 'rateLimit'>,
  connectionId: string,
): RateLimitPort | undefined {
  const limit = def.rateLimit
  if (!limit) return undefined
  const periodMs = limit.perSeconds * 1000
  const key = `connection:${connectionId}`
  return {
    requests: limit.requests,
    periodMs,
    maxWaitMs: limit.maxWaitSeconds * 1000,
    take: (windowStart) =>
      store.takeRateLimitSlot(key, windowStart, limit.requests, windowStart + periodMs),
  }
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
  for (const k in raw) {
    const v = raw[k]!
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

  return {
    async execute(target, raw, options) {
      const { loaded, record } = target
      if (record.status === 'needs_reauth') throw needsReauth(record.statusMessage)
      if (record.status !== 'connected') {
        throw new PatchbayError(
          'connection.not_connected',
          `the connection is ${record.status}${record.statusMessage ? `: ${record.statusMessage}` : ''}`,
        )
      }
      if (target.base instanceof PatchbayError) throw target.base
      if (target.transport instanceof PatchbayError) throw target.transport
      const url = resolveUrl(target.base, raw)
      for (const k in raw.query) {
        const v = raw.query[k]!
        if (Array.isArray(v)) for (const item of v) url.searchParams.append(k, item)
        else url.searchParams.set(k, String(v))
      }
      const request: OutgoingRequest = {
        method: raw.method.toUpperCase(),
        url,
        headers: checkedHeaders(raw.headers),
        body: raw.body ?? { kind: 'none' },
      }
      const { auth } = loaded.definition
      const pctx: PipelineContext = {
        request,
        allowedOrigins: target.allowedOrigins,
        auth: bindAuth(target),
        refreshOn: auth.refreshOn,
        detectOn: auth.detectOn,
        breaker: breakers.port(
          breakerKeyOf(loaded.record.id, record.id, options.actionId),
          breakerSettings(loaded.definition),
          options.breaker,
        ),
        retry: target.retry,
        rateLimit: rateLimitPort(ctx.store, loaded.definition, record.id),
        transport: target.transport,
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
          retries: [],
          rateLimitWaitMs: 0,
        },
      }
      const result = await pipeline(pctx)
      return { ...result, refreshed: pctx.meta.refreshed }
    },
  }
}
