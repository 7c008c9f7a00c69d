import { generateKeyPairSync, type KeyObject } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { algorithmMismatch, checkPrivateKey, type PrivateKeyCheck } from './keys.js'

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 })
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' })

/** PEM text (`export` is typed `string | Buffer`; PEM is always a string). */
function pem(key: KeyObject, type: 'pkcs8' | 'pkcs1' | 'sec1' | 'spki'): string {
  return key.export({ type, format: 'pem' } as const) as string
}

const pkcs8 = pem(rsa.privateKey, 'pkcs8')
const pkcs1 = pem(rsa.privateKey, 'pkcs1')

function ok(check: PrivateKeyCheck) {
  if (!check.ok) throw new Error(`expected a key, got: ${check.rule}`)
  return check
}

function rule(check: PrivateKeyCheck): string {
  if (check.ok) throw new Error('expected the key to be refused')
  return check.rule
}

describe('private keys', () => {
  it('reads an RSA key as PKCS#8 and as PKCS#1, and signs RS256 with it', () => {
    for (const pem of [pkcs8, pkcs1]) {
      const check = ok(checkPrivateKey(pem))
      expect(check.alg).toBe('RS256')
      expect(check.key.asymmetricKeyType).toBe('rsa')
    }
    expect(pkcs1).toMatch(/^-----BEGIN RSA PRIVATE KEY-----\n/)
  })

  it('reads a P-256 key as PKCS#8 and as SEC 1, and signs ES256 with it', () => {
    for (const type of ['pkcs8', 'sec1'] as const) {
      const check = ok(checkPrivateKey(pem(ec.privateKey, type)))
      expect(check.alg).toBe('ES256')
    }
  })

  it('reads a key whose line breaks were lost, or written as \\n the way a JSON file holds them', () => {
    const oneLine = pkcs8.replace(/\n/g, '')
    const escaped = JSON.stringify(pkcs8).slice(1, -1)
    expect(escaped).toContain('\\n')
    const spaced = `  \r\n${pkcs1.replace(/\n/g, ' \r\n')}\n`
    for (const pem of [oneLine, escaped, spaced]) expect(ok(checkPrivateKey(pem)).alg).toBe('RS256')
  })

  it('takes the private key out of a file that also holds a certificate', () => {
    const cert = '-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\n-----END CERTIFICATE-----\n'
    expect(ok(checkPrivateKey(`${cert}${pkcs8}`)).alg).toBe('RS256')
  })

  it('refuses what is not an unencrypted private key, without quoting it', () => {
    const encrypted = (type: 'pkcs8' | 'pkcs1') =>
      rsa.privateKey.export({ type, format: 'pem', cipher: 'aes-256-cbc', passphrase: 'pass' })
    const cases: [string, RegExp][] = [
      ['not a key at all', /^must be a PEM private key: "-----BEGIN PRIVATE KEY-----"/],
      [pem(rsa.publicKey, 'spki'), /this is a public key or a certificate$/],
      [encrypted('pkcs8') as string, /^must not be encrypted with a passphrase/],
      [encrypted('pkcs1') as string, /^must not be encrypted with a passphrase/],
      [pkcs8.replace(/\n[A-Za-z0-9+/]{64}\n/, '\n!!!!\n'), /its body is not base64$/],
      [pkcs8.replace(/\n[A-Za-z0-9+/]{64}\n/, '\nAAAA\n'), /it does not parse as one$/],
    ]
    for (const [pem, expected] of cases) {
      const text = rule(checkPrivateKey(pem))
      expect(text).toMatch(expected)
      expect(text).not.toContain('MII')
    }
  })

  it('refuses keys RS256 and ES256 cannot sign with', () => {
    const small = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey
    const ed = generateKeyPairSync('ed25519').privateKey
    expect(rule(checkPrivateKey(pem(small, 'pkcs8')))).toBe(
      'must be an RSA key of at least 2048 bits for RS256 (RFC 7518 §3.3)',
    )
    expect(rule(checkPrivateKey(pem(p384, 'pkcs8')))).toBe(
      'must be an EC key on the P-256 curve for ES256 (RFC 7518 §3.4)',
    )
    expect(rule(checkPrivateKey(pem(ed, 'pkcs8')))).toBe(
      'must be an RSA key (RS256) or an EC key on P-256 (ES256), not a key of type ed25519',
    )
  })

  it('says when an algorithm does not fit the key', () => {
    expect(algorithmMismatch(rsa.privateKey, 'RS256')).toBeUndefined()
    expect(algorithmMismatch(ec.privateKey, 'ES256')).toBeUndefined()
    expect(algorithmMismatch(rsa.privateKey, 'ES256')).toBe(
      'ES256 needs an EC key on P-256, and the private key is an RSA key of 2048 bits',
    )
    expect(algorithmMismatch(ec.privateKey, 'RS256')).toBe(
      'RS256 needs an RSA key, and the private key is an EC key on P-256',
    )
  })
})
