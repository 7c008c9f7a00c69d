/**
 * Certificates for mutual-TLS tests, made with the `openssl` command in a temporary folder: a
 * certificate authority, a server certificate for 127.0.0.1 and localhost, and client
 * certificates it issued (plus one from another authority). EC P-256 keys, valid for two days.
 */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export interface KeyPair {
  /** PEM certificate. */
  cert: string
  /** PEM private key (PKCS #8, unencrypted). */
  key: string
}

export interface TestCertificates {
  ca: string
  server: KeyPair
  /** `CN=patchbay-client`, issued by `ca`. */
  client: KeyPair
  /** `CN=second-client`, issued by `ca`. */
  second: KeyPair
  /** `CN=stranger`, issued by another authority the servers do not trust. */
  stranger: KeyPair
}

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] })
}

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes']

function authority(dir: string, name: string, cn: string): void {
  openssl(dir, [
    'req',
    '-x509',
    ...EC,
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.crt`,
    '-subj',
    `/CN=${cn}`,
    '-days',
    '2',
  ])
}

function issued(dir: string, ca: string, name: string, cn: string, ext: string): KeyPair {
  openssl(dir, [
    'req',
    '-new',
    ...EC,
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.csr`,
    '-subj',
    `/CN=${cn}`,
  ])
  writeFileSync(join(dir, `${name}.ext`), ext)
  openssl(dir, [
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    `${ca}.crt`,
    '-CAkey',
    `${ca}.key`,
    '-CAcreateserial',
    '-out',
    `${name}.crt`,
    '-days',
    '2',
    '-extfile',
    `${name}.ext`,
  ])
  return {
    cert: readFileSync(join(dir, `${name}.crt`), 'utf8'),
    key: readFileSync(join(dir, `${name}.key`), 'utf8'),
  }
}

const CLIENT_EXT = 'basicConstraints=critical,CA:FALSE\nextendedKeyUsage=clientAuth\n'

export function makeTestCertificates(): TestCertificates {
  const dir = mkdtempSync(join(tmpdir(), 'patchbay-certs-'))
  try {
    authority(dir, 'ca', 'Patchbay Test CA')
    authority(dir, 'other-ca', 'Another CA')
    return {
      ca: readFileSync(join(dir, 'ca.crt'), 'utf8'),
      server: issued(
        dir,
        'ca',
        'server',
        '127.0.0.1',
        'basicConstraints=critical,CA:FALSE\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n',
      ),
      client: issued(dir, 'ca', 'client', 'patchbay-client', CLIENT_EXT),
      second: issued(dir, 'ca', 'second', 'second-client', CLIENT_EXT),
      stranger: issued(dir, 'other-ca', 'stranger', 'stranger', CLIENT_EXT),
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
