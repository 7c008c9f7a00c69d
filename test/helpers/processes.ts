/**
 * Real `patchbay serve` processes for multi-process tests: each is `node dist/cli/main.js serve`
 * on a free loopback port, ready once `GET /readyz` answers 200 (polled with a deadline, never a
 * fixed sleep), and killed by its pid. Every process started here is also SIGKILLed when the test
 * worker exits, so a failed test never leaves servers behind.
 *
 * `serve --port 0` would print `:0` as its URL (it reports the port it was asked for), so a free
 * port is found first by binding a throwaway server to port 0; when another program takes it in
 * between, the start is retried on a new port.
 *
 * ```ts
 * const p = await startServerProcess({ adminKey, env: { PATCHBAY_DATA_DIR: dir } })
 * await p.api('GET', '/api/v1/connectors')
 * await p.kill('SIGKILL')
 * ```
 *
 * @module
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { createServer } from 'node:net'
import { fileURLToPath } from 'node:url'

/** The compiled CLI; `npm test` builds it before running the tests. */
export const DIST_MAIN = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url))

/** Throws a clear error when the build is missing. */
export function requireBuild(): string {
  if (!existsSync(DIST_MAIN))
    throw new Error(
      `${DIST_MAIN} is missing: these tests spawn real "patchbay serve" processes from the build; ` +
        'run `npm run build` first (`npm test` builds before it runs the tests)',
    )
  return DIST_MAIN
}

/** A port nothing listens on right now (a throwaway server bound to port 0, then closed). */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, host, () => {
      const address = server.address()
      const port = typeof address === 'object' && address ? address.port : 0
      server.close(() => resolve(port))
    })
  })
}

/** Polls `check` until it returns something other than undefined/false, or throws at the deadline. */
export async function pollUntil<T>(
  what: string,
  check: () => T | undefined | false | Promise<T | undefined | false>,
  { timeoutMs = 10_000, intervalMs = 10 }: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await check()
    if (value !== undefined && value !== false) return value
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((r) => setTimeout(r, intervalMs))
  }
}

export interface ApiAnswer<T = any> {
  status: number
  body: T
}

export interface ServerProcessOptions {
  /** `PATCHBAY_*` settings (data folder or database, secret key, …); the parent's are not inherited. */
  env?: Record<string, string>
  /** Sent as `PATCHBAY_ADMIN_KEY` and by `api()`. */
  adminKey: string
  /** `PATCHBAY_PUBLIC_URL`; default the process's own URL. */
  publicUrl?: string
  /** How long `/readyz` may take to answer 200. Default 20 s. */
  readyTimeoutMs?: number
  /** A label for error messages. */
  name?: string
  /**
   * `--workers`: default 1, so the pid is the process that serves (tests kill it at chosen
   * points); more runs a primary with that many workers behind the port.
   */
  workers?: number
}

export interface ServerProcess {
  name: string
  url: string
  port: number
  pid: number
  /** True until the process has exited. */
  readonly alive: boolean
  /** Resolves when the process has exited (and been reaped). */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  /** What the process wrote so far (stdout and stderr, the last 64 KiB). */
  output(): string
  /** An admin API call on this process (JSON in and out). */
  api<T = any>(method: string, path: string, body?: unknown): Promise<ApiAnswer<T>>
  /** Sends `signal` (default SIGKILL) and resolves once the process is gone. */
  kill(signal?: NodeJS.Signals): Promise<void>
  /** SIGTERM (graceful shutdown), then SIGKILL if it is still running after `graceMs` (default 5 s). */
  stop(graceMs?: number): Promise<void>
}

const running = new Set<ChildProcess>()
let exitHookInstalled = false

function installExitHook(): void {
  if (exitHookInstalled) return
  exitHookInstalled = true
  process.once('exit', () => {
    for (const child of running) child.kill('SIGKILL')
  })
}

/** Starts `patchbay serve` and resolves once it is ready. */
export async function startServerProcess(options: ServerProcessOptions): Promise<ServerProcess> {
  const main = requireBuild()
  installExitHook()
  let lastError: unknown
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort()
    try {
      return await launch(main, port, options)
    } catch (err) {
      lastError = err
      // Only a port taken between freePort() and listen() is worth another try.
      if (!String(err).includes('EADDRINUSE')) throw err
    }
  }
  throw lastError
}

async function launch(
  main: string,
  port: number,
  options: ServerProcessOptions,
): Promise<ServerProcess> {
  const url = `http://127.0.0.1:${port}`
  const name = options.name ?? `patchbay serve :${port}`
  const env: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('PATCHBAY_')) env[k] = v
  Object.assign(env, {
    PATCHBAY_LOG_LEVEL: 'silent',
    ...options.env,
    PATCHBAY_ADMIN_KEY: options.adminKey,
    PATCHBAY_PUBLIC_URL: options.publicUrl ?? url,
  })
  const child = spawn(
    process.execPath,
    [
      main,
      'serve',
      '--port',
      String(port),
      '--host',
      '127.0.0.1',
      '--workers',
      String(options.workers ?? 1),
    ],
    {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  )
  running.add(child)
  let out = ''
  const collect = (chunk: Buffer) => {
    out = (out + chunk.toString('utf8')).slice(-65_536)
  }
  child.stdout!.on('data', collect)
  child.stderr!.on('data', collect)
  let alive = true
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      alive = false
      running.delete(child)
      resolve({ code, signal })
    })
  })
  child.once('error', (err) => collect(Buffer.from(`spawn error: ${String(err)}\n`)))

  const kill = async (signal: NodeJS.Signals = 'SIGKILL') => {
    if (alive) child.kill(signal)
    await exited
  }

  try {
    const timeoutMs = options.readyTimeoutMs ?? 20_000
    const deadline = Date.now() + timeoutMs
    for (;;) {
      if (!alive) throw new Error(`${name} exited before it was ready:\n${out}`)
      try {
        const res = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(1_000) })
        await res.arrayBuffer()
        if (res.status === 200) break
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline)
        throw new Error(`${name} was not ready within ${timeoutMs} ms:\n${out}`)
      await new Promise((r) => setTimeout(r, 25))
    }
  } catch (err) {
    await kill('SIGKILL')
    throw err
  }

  const adminKey = options.adminKey
  return {
    name,
    url,
    port,
    pid: child.pid!,
    get alive() {
      return alive
    },
    exited,
    output: () => out,
    async api(method, path, body) {
      const res = await fetch(`${url}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${adminKey}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      })
      const text = await res.text()
      let parsed: unknown = text
      try {
        parsed = text ? JSON.parse(text) : null
      } catch {
        // not JSON
      }
      return { status: res.status, body: parsed as any }
    },
    kill,
    async stop(graceMs = 5_000) {
      if (!alive) return
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
      await exited
      clearTimeout(timer)
    },
  }
}

/** Stops every process (gracefully, then by force), whatever happens to the others. */
export async function stopAll(processes: Iterable<ServerProcess | undefined>): Promise<void> {
  await Promise.allSettled([...processes].map((p) => p?.stop()))
}

/**
 * A ready `http_token` connector against a token server's `/token` (`test/peers/token-server.ts`),
 * its base URL the server's `/protected/`, refreshed on 401, and one connection: its id.
 */
export async function tokenConnection(
  p: ServerProcess,
  tokenServerUrl: string,
  name: string,
  over: Record<string, unknown> = {},
): Promise<string> {
  const c = await p.api('POST', '/api/v1/connectors', {
    name,
    baseUrl: `${tokenServerUrl}/protected/`,
    customAction: { enabled: true },
    ...over,
    auth: {
      type: 'http_token',
      request: { method: 'POST', url: `${tokenServerUrl}/token` },
      tokenPath: 'data.token',
      prefix: 'Bearer',
      header: 'Authorization',
      refreshOn: [401],
    },
  })
  const id = (c.body as { id?: string } | null)?.id
  if (c.status !== 201 || !id) throw new Error(`connector: ${c.status} ${JSON.stringify(c.body)}`)
  for (const [path, body] of [
    [`/api/v1/connectors/${id}/test-token`, {}],
    [`/api/v1/connectors/${id}/ready`, undefined],
  ] as const) {
    const res = await p.api('POST', path, body)
    if (res.status !== 200) throw new Error(`${path}: ${res.status} ${JSON.stringify(res.body)}`)
  }
  const co = await p.api('POST', '/api/v1/connections', { connector: id })
  const connectionId = (co.body as { id?: string } | null)?.id
  if (co.status !== 201 || !connectionId)
    throw new Error(`connection: ${co.status} ${JSON.stringify(co.body)}`)
  return connectionId
}
