/**
 * PEM text (RFC 7468) for client certificates, their keys and trusted certificate authorities:
 * normalised (a value pasted into a one-line input loses its line breaks) and checked, with
 * rules that never quote the text.
 *
 * @module
 */
import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto'

export type PemKind = 'certificate' | 'private key' | 'certificates'

const BLOCK_RE = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g

/** The PEM blocks in `text`, each re-wrapped at 64 columns (RFC 7468 §2). */
export function pemBlocks(text: string): { label: string; pem: string }[] {
  const out: { label: string; pem: string }[] = []
  for (const m of text.matchAll(BLOCK_RE)) {
    const label = m[1]!
    const body = m[2]!.replace(/\s+/g, '')
    const lines = body.match(/.{1,64}/g) ?? []
    out.push({
      label,
      pem: `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`,
    })
  }
  return out
}

/** The certificates in `text`, parsed; throws a plain Error when one does not parse. */
export function parseCertificates(text: string): X509Certificate[] {
  const blocks = pemBlocks(text).filter((b) => b.label === 'CERTIFICATE')
  if (blocks.length === 0) throw new Error('no CERTIFICATE block')
  return blocks.map((b) => new X509Certificate(b.pem))
}

/** The private key in `text`, parsed; throws a plain Error when it does not parse. */
export function parsePrivateKey(text: string): KeyObject {
  const block = pemBlocks(text).find((b) => /PRIVATE KEY$/.test(b.label))
  if (!block) throw new Error('no PRIVATE KEY block')
  if (block.label === 'ENCRYPTED PRIVATE KEY' || /Proc-Type:\s*4,ENCRYPTED/.test(text))
    throw new Error('encrypted')
  return createPrivateKey(block.pem)
}

/** Normalised PEM text of `kind` (the certificates as a chain, the key alone). */
export function normalizePem(kind: PemKind, text: string): string {
  if (kind === 'private key') {
    const block = pemBlocks(text).find((b) => /PRIVATE KEY$/.test(b.label))
    return block?.pem ?? text
  }
  return pemBlocks(text)
    .filter((b) => b.label === 'CERTIFICATE')
    .map((b) => b.pem)
    .join('')
}

/** Why `text` is not a usable PEM of `kind`, or undefined when it is. */
export function pemProblem(kind: PemKind, text: string): string | undefined {
  try {
    if (kind === 'private key') parsePrivateKey(text)
    else parseCertificates(text)
    return undefined
  } catch (err) {
    if (kind === 'private key') {
      return (err as Error).message === 'encrypted'
        ? 'must be an unencrypted PEM private key (an encrypted key cannot be used)'
        : 'must be a PEM private key (-----BEGIN PRIVATE KEY-----) that parses'
    }
    return kind === 'certificate'
      ? 'must be a PEM certificate (-----BEGIN CERTIFICATE-----) that parses'
      : 'must be one or more PEM certificates (-----BEGIN CERTIFICATE-----) that parse'
  }
}

/** Whether `key` is the private key of the first certificate in `cert`. */
export function keyMatchesCertificate(cert: string, key: string): boolean {
  try {
    return parseCertificates(cert)[0]!.checkPrivateKey(parsePrivateKey(key))
  } catch {
    return false
  }
}
