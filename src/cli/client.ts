/**
 * How the CLI reaches Patchbay: a running server (`PATCHBAY_URL` + `PATCHBAY_ADMIN_KEY`), or,
 * offline, the same HTTP app run in-process on the data folder — one code path either way.
 *
 * @module
 */
import { createPatchbay, type Patchbay } from '../index.js'
import { createLogger } from '../lib/logger.js'
import { createApp } from '../server/app.js'
import { requestOf, type CallInput, type ReplyOf, type RouteSpec } from '../server/contract.js'

export interface CliResponse {
  status: number
  body: any
}

export interface Client {
  mode: 'remote' | 'local'
  call(method: string, path: string, body?: unknown): Promise<CliResponse>
  close(): Promise<void>
}

export class CliError extends Error {
  constructor(
    message: string,
    readonly body?: unknown,
  ) {
    super(message)
  }
}

async function toResponse(res: Response): Promise<CliResponse> {
  const text = await res.text()
  let body: unknown = text
  try {
    body = text ? JSON.parse(text) : null
  } catch {
    // text body
  }
  return { status: res.status, body }
}

export async function openClient(env: NodeJS.ProcessEnv = process.env): Promise<Client> {
  if (env.PATCHBAY_URL) {
    const base = env.PATCHBAY_URL.replace(/\/$/, '')
    if (!env.PATCHBAY_ADMIN_KEY)
      throw new CliError(
        'PATCHBAY_URL is set, so PATCHBAY_ADMIN_KEY must be too (the server printed it at first start)',
      )
    return {
      mode: 'remote',
      async call(method, path, body) {
        const res = await fetch(`${base}${path}`, {
          method,
          headers: {
            authorization: `Bearer ${env.PATCHBAY_ADMIN_KEY}`,
            ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          },
          body: body === undefined ? undefined : JSON.stringify(body),
        }).catch((err: unknown) => {
          throw new CliError(`cannot reach ${base}: ${(err as Error).message}`)
        })
        return toResponse(res)
      },
      close: () => Promise.resolve(),
    }
  }
  const pb: Patchbay = await createPatchbay({
    refreshIntervalMs: 0,
    env,
    logger: createLogger({ PATCHBAY_LOG_LEVEL: 'warn', ...env }, { toStderr: true }),
  })
  const app = createApp(pb)
  const key = pb.admin.ensureKey().key
  return {
    mode: 'local',
    async call(method, path, body) {
      const res = await app.request(path, {
        method,
        headers: {
          authorization: `Bearer ${key}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      })
      return toResponse(res)
    },
    close: () => pb.close(),
  }
}

/** The input of a route, optional when it needs none. */
type InputArgs<R extends RouteSpec> =
  object extends CallInput<R> ? [input?: CallInput<R>] : [input: CallInput<R>]

/**
 * Calls a route of the HTTP contract (`server/contract.ts`) and answers its reply; throws a
 * CliError with the API's message on a non-2xx answer.
 */
export async function expectOk<R extends RouteSpec>(
  client: Client,
  route: R,
  ...[input]: InputArgs<R>
): Promise<ReplyOf<R>> {
  const { method, path, body } = requestOf(route, (input ?? {}) as CallInput<R>)
  const res = await client.call(method, path, body)
  if (res.status >= 400) {
    const err = (res.body as { error?: { code: string; message: string; details?: unknown } })
      ?.error
    throw new CliError(err ? `${err.code}: ${err.message}` : `HTTP ${res.status}`, res.body)
  }
  return res.body as ReplyOf<R>
}
