import { randomBytes } from 'node:crypto'
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import {
  createKeyring,
  createSecretBox,
  dropPreviousKeys,
  keyIdOf,
  loadSecretKeys,
  parseKey,
  sealedKeyId,
  stageNewKey,
  writeFileAtomic,
} from './crypto.js'

const folder = () => mkdtempSync(join(tmpdir(), 'pb-crypto-'))
const mode = (file: string) => statSync(file).mode & 0o777

describe('the secret box', () => {
  it('seals under the first key, opens under any, and binds each value to its record', () => {
    const [a, b] = [randomBytes(32), randomBytes(32)]
    const old = createSecretBox([b])
    const both = createSecretBox([a, b])
    const sealed = old.seal('s3cret', 'connection:1')
    expect(both.open(sealed, 'connection:1')).toBe('s3cret')
    expect(both.isStale(sealed)).toBe(true)
    expect(both.isStale(both.seal('x', 'y'))).toBe(false)
    expect(sealedKeyId(both.seal('x', 'y'))).toBe(keyIdOf(a))
    expect(() => both.open(sealed, 'connection:2')).toThrow()
    expect(() => createSecretBox([a]).open(sealed, 'connection:1')).toThrow(/unknown key/)
  })
})

describe('the key-file keyring', () => {
  it('creates secret.key with mode 0600 once, even when several processes start at once', () => {
    const dir = folder()
    const keys = [loadSecretKeys(dir, {}), loadSecretKeys(dir, {})]
    expect(keys[0]).toEqual(keys[1])
    expect(mode(join(dir, 'secret.key'))).toBe(0o600)
    expect(readdirSync(dir)).toEqual(['secret.key'])
  })

  it('follows a rotation: new primary after the check interval, at once for an unknown key id', () => {
    const dir = folder()
    let now = 0
    const keyring = createKeyring(dir, {}, { checkIntervalMs: 1000, now: () => now })
    const box = createSecretBox(keyring)
    const oldId = box.keyId
    const sealedOld = box.seal('old', 'connector:1')

    const next = stageNewKey(dir)
    expect(mode(join(dir, 'secret.key'))).toBe(0o600)
    expect(mode(join(dir, 'secret.key.previous'))).toBe(0o600)
    // Another process (the rotating one) seals under the new key right away.
    const other = createSecretBox(createKeyring(dir, {}))
    expect(other.keyId).toBe(keyIdOf(next))
    const sealedNew = other.seal('new', 'connector:1')

    now = 500
    expect(box.keyId).toBe(oldId) // not looked at yet: still sealing with the old key
    expect(box.open(sealedNew, 'connector:1')).toBe('new') // unknown id: re-read at once
    expect(box.keyId).toBe(keyIdOf(next))
    expect(box.open(sealedOld, 'connector:1')).toBe('old') // the old key stays readable

    dropPreviousKeys(dir)
    now = 1200
    expect(box.isStale(sealedOld)).toBe(true)
    now = 2400
    expect(() => box.open(sealedOld, 'connector:1')).toThrow(/unknown key/)
    expect(box.open(sealedNew, 'connector:1')).toBe('new')
  })

  it('keeps every earlier key when a rotation starts before the last one finished', () => {
    const dir = folder()
    const first = loadSecretKeys(dir, {})[0]!
    const second = stageNewKey(dir)
    const third = stageNewKey(dir)
    expect(loadSecretKeys(dir, {}).map(keyIdOf)).toEqual([third, second, first].map(keyIdOf))
  })

  it('uses the environment keys and writes no file when PATCHBAY_SECRET_KEY is set', () => {
    const dir = folder()
    const [key, previous] = [randomBytes(32), randomBytes(32)]
    const keyring = createKeyring(dir, {
      PATCHBAY_SECRET_KEY: key.toString('base64'),
      PATCHBAY_SECRET_KEY_PREVIOUS: previous.toString('hex'),
    })
    expect(keyring.source).toBe('env')
    expect(keyring.keys()).toEqual([key, previous])
    expect(existsSync(join(dir, 'secret.key'))).toBe(false)
  })

  it('keeps the keys it has when a key file is broken', () => {
    const dir = folder()
    let now = 0
    const keyring = createKeyring(dir, {}, { now: () => now })
    const before = keyring.keys()
    writeFileAtomic(join(dir, 'secret.key'), 'not a key\n')
    now = 5000
    expect(keyring.keys()).toEqual(before)
  })

  it('replaces files atomically, leaving no temporary file behind', () => {
    const dir = folder()
    const file = join(dir, 'f')
    writeFileAtomic(file, 'one\n')
    writeFileAtomic(file, 'two\n')
    expect(() => writeFileAtomic(file, 'three\n', true)).toThrow(/EEXIST/)
    expect(readFileSync(file, 'utf8')).toBe('two\n')
    expect(readdirSync(dir)).toEqual(['f'])
    expect(mode(file)).toBe(0o600)
  })

  it('parses keys in base64 or hex and says how to make one otherwise', () => {
    const key = randomBytes(32)
    expect(parseKey(key.toString('hex'), 'K')).toEqual(key)
    expect(parseKey(key.toString('base64'), 'K')).toEqual(key)
    expect(() => parseKey('short', 'K')).toThrow(/openssl rand -base64 32/)
  })
})
