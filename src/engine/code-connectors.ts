/**
 * Loads code connectors (docs/concepts.md): each `.js` / `.mjs` file in the operator's
 * `PATCHBAY_CONNECTORS_DIR` default-exports `defineConnector(…)`. Each becomes an auth scheme
 * `code:<linkName>` wrapping its lambdas, and a `ready` connector (upserted by link name, marked
 * `source: 'code'`) that the API cannot change or delete. Code is only ever read from this folder,
 * never from the API.
 *
 * @module
 */
import { readdirSync, statSync } from 'node:fs'
import { isDeepStrictEqual } from 'node:util'
import { join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { codeSchemeType, createCodeScheme, splitCodeAuth } from '../auth/code.js'
import type { AuthRegistry, AuthScheme } from '../auth/scheme.js'
import { isCodeConnector, type CodeConnector } from '../connector/define.js'
import { deriveLinkName } from '../connector/rules.js'
import { PatchbayError } from '../errors.js'
import type { ConnectorRecord } from '../store/store.js'
import type { ConnectorRepository } from './connector-repository.js'
import { completeAuth, incompleteSettings, validateDefinition } from './connector-validation.js'
import { newId, type EngineContext } from './context.js'

export interface LoadedCodeConnector {
  file: string
  linkName: string
  scheme: AuthScheme
  /** The connector as JSON (no lambdas), its auth type the scheme's. */
  definition: Record<string, unknown>
}

const CODE_FILE_RE = /\.m?js$/

/**
 * Imports every code connector in `dir` (sorted by file name). A file that is not a connector, or
 * two connectors with one link name, stop the start with an error naming the file.
 */
export async function loadCodeConnectors(
  dir: string,
  registry: () => AuthRegistry,
): Promise<LoadedCodeConnector[]> {
  const folder = resolve(dir)
  let files: string[]
  try {
    files = readdirSync(folder)
      .filter((f) => CODE_FILE_RE.test(f))
      .sort()
  } catch (err) {
    throw new PatchbayError(
      'connector.invalid',
      `cannot read the connectors folder ${folder} (PATCHBAY_CONNECTORS_DIR): ${(err as Error).message}`,
    )
  }
  const loaded: LoadedCodeConnector[] = []
  for (const name of files) {
    const file = join(folder, name)
    const fail = (why: string): never => {
      throw new PatchbayError('connector.invalid', `code connector ${file}: ${why}`)
    }
    let exported: unknown
    try {
      // The modification time in the URL: a changed file is read again by a new createPatchbay.
      const url = `${pathToFileURL(file).href}?mtime=${statSync(file).mtimeMs}`
      exported = ((await import(url)) as { default?: unknown }).default
    } catch (err) {
      fail(`cannot be loaded: ${(err as Error).message}`)
    }
    if (!isCodeConnector(exported) && !looksLikeConnector(exported)) {
      fail('must default-export defineConnector({ name, baseUrl, auth, … })')
    }
    const connector = exported as CodeConnector
    const linkName = connector.linkName ?? deriveLinkName(String(connector.name))
    if (loaded.some((c) => c.linkName === linkName)) {
      fail(`another file already defines the link name "${linkName}"`)
    }
    let json: Record<string, unknown>
    let scheme: AuthScheme
    try {
      json = splitCodeAuth(connector.auth).json
      scheme = createCodeScheme(connector, { linkName, registry })
    } catch (err) {
      return fail((err as Error).message)
    }
    const { lambdaTimeoutMs: _timeout, auth: _auth, ...rest } = connector
    loaded.push({
      file,
      linkName,
      scheme,
      definition: { ...rest, linkName, auth: { ...json, type: codeSchemeType(linkName) } },
    })
  }
  return loaded
}

function looksLikeConnector(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false
  const v = value as Record<string, unknown>
  return typeof v.name === 'string' && typeof v.auth === 'object' && v.auth !== null
}

/**
 * Creates or replaces the connector a code file defines (by link name), `ready` at once and marked
 * `source: 'code'`. The file is the source of truth, so the ready freeze does not apply.
 */
export async function upsertCodeConnector(
  ctx: EngineContext,
  repository: ConnectorRepository,
  input: Record<string, unknown>,
): Promise<void> {
  const existing = await ctx.store.getConnector(String(input.linkName))
  if (existing && existing.definition.source !== 'code') {
    throw new PatchbayError(
      'connector.link_name_taken',
      `a connector made through the API already has the link name "${existing.linkName}"; give the code connector another linkName`,
    )
  }
  const { definition, secrets, missing } = validateDefinition(
    ctx.registry,
    input,
    existing
      ? { definition: existing.definition, secrets: repository.openSecrets(existing) }
      : undefined,
    { code: true },
  )
  if (missing.length) throw incompleteSettings(missing)
  const complete = completeAuth(ctx.registry.get(definition.auth.type)!, definition.auth, secrets)
  const now = ctx.now()
  const id = existing?.id ?? newId('cn')
  const record: ConnectorRecord = {
    id,
    linkName: definition.linkName,
    name: definition.name,
    stage: 'ready',
    definition: { ...definition, auth: complete.auth, source: 'code' },
    secrets: repository.sealSecrets(id, complete.secrets),
    createdAt: existing?.createdAt ?? now,
    updatedAt: now,
    version: (existing?.version ?? 0) + 1,
  }
  if (!existing) return ctx.store.insertConnector(record)
  const unchanged =
    isDeepStrictEqual(existing.definition, record.definition) &&
    isDeepStrictEqual(repository.openSecrets(existing), complete.secrets)
  if (!unchanged && !(await ctx.store.updateConnector(record, existing.version))) {
    throw new PatchbayError(
      'connector.frozen',
      `the code connector "${definition.name}" changed while it was loaded; start again`,
    )
  }
}
