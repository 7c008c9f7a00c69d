// @ts-check
/**
 * Builds the web UI into `web/dist` (hashed assets under `assets/`), which `patchbay serve`
 * serves. The UI shares the connector schemas and naming rules with the server (`src/connector`).
 *
 * Plain JavaScript: the lint's import resolver cannot load Vite's own packages from TypeScript.
 */
import { existsSync } from 'node:fs'
import { URL, fileURLToPath } from 'node:url'
import react from '@vitejs/plugin-react'
import { defineConfig } from 'vite'

const page = (name) => fileURLToPath(new URL(name, import.meta.url))

/** The admin app, and the hosted connect page (SPEC §8) when it is there: one page each. */
const input = { index: page('index.html') }
if (existsSync(page('connect.html'))) input.connect = page('connect.html')

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/',
  plugins: [react()],
  build: {
    outDir: fileURLToPath(new URL('./dist', import.meta.url)),
    emptyOutDir: true,
    assetsDir: 'assets',
    // No inline scripts or styles: the CSP allows only files from the server's own origin.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    sourcemap: false,
    // Two pages sharing one build: the UI, and the hosted connect page (`/connect`, SPEC §8).
    rolldownOptions: {
      input: {
        main: fileURLToPath(new URL('./index.html', import.meta.url)),
        connect: fileURLToPath(new URL('./connect.html', import.meta.url)),
      },
    },
  },
  server: {
    // `vite` (dev) reads the shared schemas from ../src.
    fs: { allow: [fileURLToPath(new URL('..', import.meta.url))] },
  },
})
