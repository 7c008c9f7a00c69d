/**
 * Browser-test helpers: the web UI built once (guarded against parallel test files), Debian's
 * Chromium through playwright-core, sign-in, and an axe-core scan.
 */
import { execFile } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { chromium, type Browser, type Page } from 'playwright-core'

const root = fileURLToPath(new URL('../../', import.meta.url))
const distDir = join(root, 'web/dist')
const distIndex = join(distDir, 'index.html')
const lockDir = join(root, 'node_modules/.cache/patchbay-web-build.lock')

export const CHROMIUM = '/usr/bin/chromium'
export const hasChromium = existsSync(CHROMIUM)
/** Under CI a missing browser fails the suite; elsewhere the UI tests skip with a note. */
export const skipBrowser = !hasChromium && !process.env.CI
if (skipBrowser) {
  console.warn(
    `test/ui: ${CHROMIUM} not found; skipping the browser tests (apt-get install chromium)`,
  )
}

function newestMtime(path: string): number {
  const s = statSync(path)
  if (!s.isDirectory()) return s.mtimeMs
  let newest = 0
  for (const entry of readdirSync(path)) {
    if (entry === 'dist' || entry === 'node_modules') continue
    newest = Math.max(newest, newestMtime(join(path, entry)))
  }
  return newest
}

/** The UI's sources: `web/`, and the `src/` modules it shares (schemas, the HTTP contract, templates). */
function sourcesMtime(): number {
  return Math.max(newestMtime(join(root, 'web')), newestMtime(join(root, 'src')))
}

function fresh(): boolean {
  return existsSync(distIndex) && statSync(distIndex).mtimeMs >= sourcesMtime()
}

/** Builds `web/dist` unless it is newer than its sources; one test file builds, the others wait. */
export async function ensureWebBuilt(): Promise<void> {
  if (fresh()) return
  mkdirSync(join(root, 'node_modules/.cache'), { recursive: true })
  const deadline = Date.now() + 180_000
  for (;;) {
    try {
      mkdirSync(lockDir)
      break
    } catch {
      // Another file builds; a lock older than 3 minutes is left from a killed run.
      if (existsSync(lockDir) && Date.now() - statSync(lockDir).mtimeMs > 180_000)
        rmSync(lockDir, { recursive: true, force: true })
      if (Date.now() > deadline) throw new Error('timed out waiting for the web UI build')
      await new Promise((r) => setTimeout(r, 250))
    }
  }
  // Under node_modules, which lint and format ignore, should a killed run leave it behind.
  const staging = join(root, `node_modules/.cache/patchbay-web-dist-${process.pid}`)
  try {
    if (fresh()) return
    // Built aside, then swapped in: servers of other test files keep serving the old build.
    await promisify(execFile)(
      process.execPath,
      [
        join(root, 'node_modules/vite/bin/vite.js'),
        'build',
        '--config',
        'web/vite.config.mjs',
        '--outDir',
        staging,
        '--emptyOutDir',
        '--logLevel',
        'warn',
      ],
      { cwd: root, env: { ...process.env, NODE_ENV: 'production' } },
    )
    const old = join(root, `node_modules/.cache/patchbay-web-dist-old-${process.pid}`)
    if (existsSync(distDir)) renameSync(distDir, old)
    renameSync(staging, distDir)
    rmSync(old, { recursive: true, force: true })
  } finally {
    rmSync(staging, { recursive: true, force: true })
    rmSync(lockDir, { recursive: true, force: true })
  }
}

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-quic',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  })
}

/** Signs in through the form and waits for the connectors page. */
export async function signIn(page: Page, url: string, adminKey: string): Promise<void> {
  await page.goto(url)
  await page.getByLabel('Admin key').fill(adminKey)
  await page.getByRole('button', { name: 'Sign in' }).click()
  await page.getByRole('heading', { level: 1, name: 'Connectors' }).waitFor()
}

const axePath = createRequire(import.meta.url).resolve('axe-core/axe.min.js')

export interface AxeViolation {
  id: string
  impact: string | null
  help: string
  nodes: { target: unknown[]; failureSummary?: string }[]
}

/** Serious and critical axe-core violations on the page as it is now. */
export async function seriousViolations(page: Page): Promise<AxeViolation[]> {
  const loaded = await page.evaluate(() => typeof (window as { axe?: unknown }).axe === 'object')
  if (!loaded) await page.addScriptTag({ path: axePath })
  const violations = await page.evaluate(async () => {
    const axe = (
      window as unknown as {
        axe: { run: (ctx: unknown, opts: unknown) => Promise<{ violations: AxeViolation[] }> }
      }
    ).axe
    const result = await axe.run(document, { resultTypes: ['violations'] })
    return result.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.map((n) => ({ target: n.target, failureSummary: n.failureSummary })),
    }))
  })
  return violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
}

export function screenshotPath(name: string): string {
  const dir = join(root, 'docs/screenshots')
  mkdirSync(dir, { recursive: true })
  return join(dir, name)
}

/** Closes the toasts, so screenshots show the page. */
export async function dismissToasts(page: Page): Promise<void> {
  const buttons = page.getByRole('button', { name: /^Dismiss notification/ })
  while ((await buttons.count()) > 0) await buttons.first().click()
}
