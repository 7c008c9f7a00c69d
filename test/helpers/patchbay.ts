/**
 * Starts a real Patchbay server on 127.0.0.1 with a fresh data folder, and a small API client.
 */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createPatchbay, type Patchbay, type PatchbayOptions } from '../../src/index.js'
import { startServer, type RunningServer } from '../../src/server/serve.js'

export interface ApiResponse<T = any> {
  status: number
  body: T
  headers: Headers
}

export interface TestPatchbay {
  pb: Patchbay
  server: RunningServer
  url: string
  adminKey: string
  dataDir: string
  api<T = any>(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<ApiResponse<T>>
  close(): Promise<void>
}

export async function startTestPatchbay(options: PatchbayOptions = {}): Promise<TestPatchbay> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'patchbay-test-'))
  const adminKey = 'test-admin-key-0123456789'
  // The public URL is only known once the server listens; OAuth tests pass their own.
  const pb = await createPatchbay({ refreshIntervalMs: 0, ...options, dataDir, env: { PATCHBAY_ADMIN_KEY: adminKey, ...options.env } })
  const server = await startServer(pb, { port: 0 })
  const api = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(`${server.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${adminKey}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    })
    const text = await res.text()
    let parsed: unknown = text
    try {
      parsed = text ? JSON.parse(text) : null
    } catch {
      // not JSON
    }
    return { status: res.status, body: parsed as any, headers: res.headers }
  }
  return {
    pb,
    server,
    url: server.url,
    adminKey,
    dataDir,
    api,
    async close() {
      await server.close()
      await pb.close()
    },
  }
}
