/**
 * `patchbay secrets rotate`: every sealed value re-encrypted under a new key
 * while servers keep running; the old key stays readable until nothing needs it.
 *
 * - Key-file setups: a new key becomes `<dataDir>/secret.key`, the old one moves to
 *   `secret.key.previous` (both written atomically, mode 0600). Running servers re-read the
 *   files within a second (`createKeyring`), so after a grace period every process seals with
 *   the new key; then every stale value is re-sealed, and the previous key file is removed.
 * - Environment setups (`PATCHBAY_SECRET_KEY`): the operator restarts the servers with the new
 *   key and `PATCHBAY_SECRET_KEY_PREVIOUS=<old>`; rotate then only re-seals, writing no file.
 *
 * Re-sealing compares and sets on the sealed value itself (`Store.replaceSealed`), so a refresh
 * or an update that rewrites a value meanwhile wins, and the next pass looks at it again. Passes
 * repeat until one finds nothing stale; then the secret-key check (`key-check.ts`) is re-sealed
 * too, so processes still on the old key say so on `/readyz`.
 *
 * @module
 */
import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import {
  dropPreviousKeys,
  KEY_FILE,
  KEYRING_CHECK_MS,
  stageNewKey,
  type Keyring,
  type SecretBox,
} from '../store/crypto.js'
import type { SealedValue, Store } from '../store/store.js'
import { resealKeyCheck, sealedAad } from './key-check.js'

export interface RotationResult {
  /** Values re-sealed under the new key. */
  resealed: number
  /** Values that were already under the new key when first seen. */
  alreadyCurrent: number
  /** The id of the key everything is sealed under now. */
  keyId: string
}

export interface RotateOptions {
  /**
   * Key-file setups: how long running servers get to pick the new key file up before re-sealing
   * starts, ms. Default twice the keyring's check interval (2 s).
   */
  graceMs?: number
  /** Values read per page. Default 200. */
  pageSize?: number
  /** Passes over all values before giving up (values still being sealed under an old key). Default 10. */
  maxPasses?: number
}

export interface RotationDeps {
  store: Store
  keyring: Keyring
  box: SecretBox
  dataDir: string
}

export { sealedAad }

export async function rotateSecrets(
  deps: RotationDeps,
  options: RotateOptions = {},
): Promise<RotationResult> {
  if (deps.keyring.source !== 'file') return resealAll(deps, options)
  const release = takeRotationLock(deps.dataDir)
  try {
    stageNewKey(deps.dataDir)
    deps.keyring.reload()
    await new Promise((r) => setTimeout(r, options.graceMs ?? 2 * KEYRING_CHECK_MS))
    const result = await resealAll(deps, options)
    // Only now: until here some value may still be under the old key.
    dropPreviousKeys(deps.dataDir)
    deps.keyring.reload()
    return result
  } finally {
    release()
  }
}

async function resealAll(
  { store, box }: RotationDeps,
  options: RotateOptions,
): Promise<RotationResult> {
  const limit = options.pageSize ?? 200
  const maxPasses = options.maxPasses ?? 10
  let resealed = 0
  let alreadyCurrent = 0
  for (let pass = 1; ; pass++) {
    let stale = 0
    const unreadable: SealedValue[] = []
    let cursor: string | undefined
    do {
      const page = await store.listSealed({ limit, cursor })
      for (const item of page.items) {
        if (!box.isStale(item.sealed)) {
          if (pass === 1) alreadyCurrent++
          continue
        }
        stale++
        const aad = sealedAad(item.kind, item.id)
        let plaintext: string
        try {
          plaintext = box.open(item.sealed, aad)
        } catch {
          unreadable.push(item)
          continue
        }
        if (await store.replaceSealed(item.kind, item.id, item.sealed, box.seal(plaintext, aad)))
          resealed++
        // else: rewritten (or deleted) meanwhile; the next pass looks at it again.
      }
      cursor = page.nextCursor
    } while (cursor)
    if (unreadable.length > 0) {
      const some = unreadable
        .slice(0, 5)
        .map((v) => `${v.kind} ${v.id}`)
        .join(', ')
      throw new Error(
        `${unreadable.length} sealed value(s) cannot be opened with any loaded key (${some}); ` +
          'the previous key is kept. Set PATCHBAY_SECRET_KEY_PREVIOUS to the key they were sealed ' +
          'under (comma-separated for several) and run `patchbay secrets rotate` again',
      )
    }
    if (stale === 0) {
      // Last: from now on a process without the new key fails /readyz (key-check.ts).
      await resealKeyCheck(store, box)
      return { resealed, alreadyCurrent, keyId: box.keyId }
    }
    if (pass >= maxPasses)
      throw new Error(
        `values are still being sealed under an old key after ${maxPasses} passes; the previous ` +
          'key is kept. Check that every server uses the new key (restart servers started with ' +
          'PATCHBAY_SECRET_KEY with the new one), then run `patchbay secrets rotate` again',
      )
  }
}

/**
 * One rotation per data folder at a time: `secret.key.rotating` holds the rotating process's
 * pid; a lock left by a process that is gone is taken over.
 */
function takeRotationLock(dataDir: string): () => void {
  const file = join(dataDir, `${KEY_FILE}.rotating`)
  for (let attempt = 0; ; attempt++) {
    try {
      const fd = openSync(file, 'wx', 0o600)
      writeSync(fd, String(process.pid))
      closeSync(fd)
      return () => {
        try {
          unlinkSync(file)
        } catch {
          // already gone
        }
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
      const pid = Number(readFileText(file))
      if (attempt > 0 || (Number.isInteger(pid) && pid > 0 && isAlive(pid)))
        throw new Error(
          `another secret-key rotation (pid ${pid || '?'}) is running on ${dataDir}; wait for it to finish`,
        )
      try {
        unlinkSync(file)
      } catch {
        // taken over by someone else: the next attempt says so
      }
    }
  }
}

function readFileText(file: string): string {
  try {
    return readFileSync(file, 'utf8').trim()
  } catch {
    return ''
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}
