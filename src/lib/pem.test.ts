import { generateKeyPairSync } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { makeTestCertificates } from '../../test/helpers/certs.js'
import { keyMatchesCertificate, normalizePem, parseCertificates, pemProblem } from './pem.js'

const certs = makeTestCertificates()

describe('PEM text for mutual TLS', () => {
  it('reads a certificate, a chain and a key as they are', () => {
    expect(pemProblem('certificate', certs.client.cert)).toBeUndefined()
    expect(pemProblem('private key', certs.client.key)).toBeUndefined()
    expect(parseCertificates(certs.client.cert + certs.ca).map((c) => c.subject)).toEqual([
      'CN=patchbay-client',
      'CN=Patchbay Test CA',
    ])
  })

  it('reads PEM that lost its line breaks in a one-line input', () => {
    const flat = certs.client.cert.replace(/\n/g, ' ')
    expect(pemProblem('certificate', flat)).toBeUndefined()
    expect(normalizePem('certificate', flat)).toBe(certs.client.cert)
    const joined = certs.client.key.replace(/\n/g, '')
    expect(normalizePem('private key', joined)).toBe(certs.client.key)
  })

  it('says what is wrong, without quoting the text', () => {
    expect(pemProblem('certificate', 'hello')).toMatch(/PEM certificate/)
    expect(pemProblem('certificate', certs.client.key)).toMatch(/PEM certificate/)
    expect(pemProblem('private key', certs.client.cert)).toMatch(/PEM private key/)
    expect(pemProblem('certificates', '')).toMatch(/one or more PEM certificates/)
    const broken = certs.client.key.replace(/\n.{8}/, '\nAAAAAAAA')
    expect(pemProblem('private key', broken)).not.toContain(broken.split('\n')[1])
  })

  it('refuses an encrypted key', () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
    const encrypted = privateKey.export({
      format: 'pem',
      type: 'pkcs8',
      cipher: 'aes-256-cbc',
      passphrase: 'secret-passphrase',
    }) as string
    expect(pemProblem('private key', encrypted)).toMatch(/unencrypted/)
  })

  it('tells whether a key is the certificate’s', () => {
    expect(keyMatchesCertificate(certs.client.cert, certs.client.key)).toBe(true)
    expect(keyMatchesCertificate(certs.client.cert, certs.second.key)).toBe(false)
    expect(keyMatchesCertificate('nope', certs.client.key)).toBe(false)
  })

  it('reads a traditional RSA key too', () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
    const pkcs1 = privateKey.export({ format: 'pem', type: 'pkcs1' }) as string
    expect(pkcs1).toMatch(/BEGIN RSA PRIVATE KEY/)
    expect(pemProblem('private key', pkcs1)).toBeUndefined()
  })
})
