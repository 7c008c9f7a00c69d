/**
 * The secret-key check: a known text sealed with the secret key, kept in the store (`meta`),
 * never the key itself. Every process on a database must hold the key its secrets are sealed
 * under; one that does not would start and then fail every call that opens a secret. So a process
 * opens the check when it starts — and refuses to start when it cannot, naming where its key came
 * from — and again on `GET /readyz`, which turns 503 when another process has since rotated the
 * key and this one still runs with the old one (the README's "Rotating the secret key").
 *
 * `patchbay secrets rotate` re-seals the check, last, once every value is under the new key.
 *
 * @module
 */
import { join } from 'node:path'
import { PatchbayError } from '../errors.js'
import { KEY_FILE, keyIdOf, sealedKeyId, type Keyring, type SecretBox } from '../store/crypto.js'
import type { SealedKind, Store } from '../store/store.js'

/** The `meta` key holding the sealed check. */
export const KEY_CHECK_META = 'secret_key_check'
const KEY_CHECK_AAD = 'meta:secret_key_check'
const KEY_CHECK_TEXT = 'patchbay secret-key check 1'

/**
 * The additional authenticated data each kind is sealed with (connector-repository.ts,
 * connection-secrets.ts, connection-flows.ts).
 */
export function sealedAad(kind: SealedKind, id: string): string {
  switch (kind) {
    case 'connector':
      return `connector:${id}`
    case 'connection':
      return `connection:${id}`
    case 'oauth_state':
      return `flow:${id}`
  }
}

export interface KeyCheckDeps {
  store: Store
  box: SecretBox
  keyring: Keyring
  dataDir: string
}

function opens(box: SecretBox, sealed: string, aad: string, text?: string): boolean {
  try {
    const plain = box.open(sealed, aad)
    return text === undefined || plain === text
  } catch {
    return false
  }
}

/** Where this process's keys come from, as an operator would set them. */
function keySource({ keyring, dataDir }: Pick<KeyCheckDeps, 'keyring' | 'dataDir'>): string {
  switch (keyring.source) {
    case 'env':
      return 'PATCHBAY_SECRET_KEY (with PATCHBAY_SECRET_KEY_PREVIOUS, if set)'
    case 'file':
      return `the key file ${join(dataDir, KEY_FILE)} (PATCHBAY_SECRET_KEY is not set)`
    case 'static':
      return 'the secret keys given to createPatchbay (secretKeys)'
  }
}

function held(keyring: Keyring): string {
  return keyring
    .keys()
    .map((k) => keyIdOf(k))
    .join(', ')
}

/** Why this process's keys cannot open what the database holds, or undefined when they can. */
export async function keyCheckProblem(deps: KeyCheckDeps): Promise<string | undefined> {
  const sealed = await deps.store.getMeta(KEY_CHECK_META)
  if (sealed === undefined || opens(deps.box, sealed, KEY_CHECK_AAD, KEY_CHECK_TEXT))
    return undefined
  return (
    `the secrets in the database are sealed under key ${sealedKeyId(sealed) ?? '?'}, which this ` +
    `process does not hold (it has ${held(deps.keyring)}, from ${keySource(deps)}): another ` +
    'process probably rotated the secret key. Restart this process with the current ' +
    'PATCHBAY_SECRET_KEY (or key file); every process on one database must share one key'
  )
}

function mismatch(deps: KeyCheckDeps, sealedUnder: string | undefined): PatchbayError {
  return new PatchbayError(
    'secret_key.mismatch',
    `this process's secret key cannot open the secrets already in the database (sealed under key ` +
      `${sealedUnder ?? '?'}; this process has ${held(deps.keyring)}, from ${keySource(deps)}). ` +
      'Every process on one database must use the same key: set PATCHBAY_SECRET_KEY to the key ' +
      'the other processes use (or give this one their key file), and during a rotation the old ' +
      'key in PATCHBAY_SECRET_KEY_PREVIOUS',
  )
}

/**
 * At start: throws `secret_key.mismatch` when the keys cannot open the check. A database without
 * a check yet (a new one, or one from before the check existed) gets one, sealed with the current
 * key — once a value already there (if any) has been seen to open, so a wrong key never writes it.
 */
export async function verifySecretKey(deps: KeyCheckDeps): Promise<void> {
  const { store, box } = deps
  let sealed = await store.getMeta(KEY_CHECK_META)
  if (sealed === undefined) {
    const [sample] = (await store.listSealed({ limit: 1 })).items
    if (sample && !opens(box, sample.sealed, sealedAad(sample.kind, sample.id)))
      throw mismatch(deps, sealedKeyId(sample.sealed))
    await store.setMetaIfAbsent(KEY_CHECK_META, box.seal(KEY_CHECK_TEXT, KEY_CHECK_AAD))
    // Another process starting at the same moment may have written its own first.
    sealed = (await store.getMeta(KEY_CHECK_META))!
  }
  if (!opens(box, sealed, KEY_CHECK_AAD, KEY_CHECK_TEXT)) throw mismatch(deps, sealedKeyId(sealed))
}

/**
 * Rotation's last step: the check sealed under the current sealing key, so processes without that
 * key fail `/readyz` from now on. Nothing to do when it is current already.
 */
export async function resealKeyCheck(store: Store, box: SecretBox): Promise<void> {
  const sealed = await store.getMeta(KEY_CHECK_META)
  if (sealed !== undefined && !box.isStale(sealed)) return
  await store.setMeta(KEY_CHECK_META, box.seal(KEY_CHECK_TEXT, KEY_CHECK_AAD))
}
