/**
 * Ad-hoc custom actions: `POST /connections/:id/request` (the JSON envelope), the streaming proxy
 * `ANY /proxy/:id/*` (the upstream's answer as it is), and a connection's test — each run through
 * the pipeline with the connection's auth.
 *
 * @module
 */
import type { Readable } from 'node:stream'
import { requestInputSchema, type RequestInput } from '../connector/schema.js'
import { PatchbayError, invalidInput } from '../errors.js'
import { isFormType, parseForm, type RequestBody } from '../lib/request.js'
import type { Store } from '../store/store.js'
import { connectionBreakerKey } from './breakers.js'
import type { CallTargets } from './call-targets.js'
import type { LoadedConnector } from './connector-repository.js'
import { base64Body, envelope, toBody, type RequestOutcome } from './envelope.js'
import type { CallerInfo, Executor, RawRequest } from './executor.js'
import { identityFrom } from './identity.js'
import { toFieldIssues } from './issues.js'

export interface ProxyRequest {
  method: string
  path: string
  search: string
  headers: Record<string, string>
  body: Uint8Array | undefined
}

export interface ProxyResponse {
  status: number
  headers: Record<string, string | string[]>
  body: Uint8Array | Readable
}

export interface TestOutcome {
  ok: boolean
  status: number | null
  identity: string | null
  message: string
}

export interface RequestService {
  /** An ad-hoc request; `caller` names the MCP key and tool in the log entry. */
  request(connectionId: string, input: unknown, caller?: CallerInfo): Promise<RequestOutcome>
  proxy(connectionId: string, raw: ProxyRequest): Promise<ProxyResponse>
  /** The identity request, or a GET of the base URL. */
  test(connectionId: string): Promise<TestOutcome>
}

export function requireCustomActions(loaded: LoadedConnector): void {
  if (!loaded.definition.customAction.enabled) {
    throw new PatchbayError(
      'connector.custom_action_disabled',
      `custom actions are off for "${loaded.definition.name}"; set customAction.enabled to true on the connector`,
    )
  }
}

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

export function createRequestService(
  store: Store,
  targets: CallTargets,
  executor: Executor,
): RequestService {
  /** The connection ready for an ad-hoc call, with its ad-hoc breaker. */
  async function adHoc(connectionId: string) {
    const { target, breaker } = await targets.get(connectionId, connectionBreakerKey(connectionId))
    return { target, options: { actionId: null, breaker: { record: breaker } } }
  }

  return {
    async request(connectionId, input, caller) {
      const parsed = requestInputSchema.safeParse(input)
      if (!parsed.success) throw invalidInput(toFieldIssues(parsed.error))
      const { target, options } = await adHoc(connectionId)
      requireCustomActions(target.loaded)
      return envelope(
        await executor.execute(target, toRaw(parsed.data), { ...options, stream: false, caller }),
      )
    },

    async proxy(connectionId, raw) {
      const { target, options } = await adHoc(connectionId)
      requireCustomActions(target.loaded)
      const contentType = raw.headers['content-type']
      const body: RequestBody =
        raw.body && raw.body.byteLength
          ? isFormType(contentType)
            ? { kind: 'form', fields: parseForm(Buffer.from(raw.body).toString('utf8')) }
            : { kind: 'raw', bytes: raw.body }
          : { kind: 'none' }
      // No prototype: a parameter named `valueOf` or `__proto__` is just a name.
      const query = Object.create(null) as Record<string, string[]>
      if (raw.search)
        for (const [k, v] of new URLSearchParams(raw.search)) (query[k] ??= []).push(v)
      // The executor copies the headers it sends.
      const result = await executor.execute(
        target,
        { method: raw.method, path: raw.path, query, headers: raw.headers, body },
        { ...options, stream: true },
      )
      return { status: result.status, headers: result.headers, body: result.body }
    },

    async test(connectionId) {
      const { target, options } = await adHoc(connectionId)
      const { record } = target
      const identity = target.loaded.definition.identity
      try {
        const out = await envelope(
          await executor.execute(
            target,
            { method: identity?.method ?? 'GET', path: identity?.path ?? '' },
            { ...options, stream: false },
          ),
        )
        const ok = out.status < 400 && !out.error
        const who = ok && identity ? identityFrom(out.body, identity.valuePath) : null
        if (who !== null && who !== record.identity)
          await store.updateConnection(record.id, { identity: who })
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
  }
}
