/**
 * SHA-256 of a secret's text, as the stores keep keys, tokens and session ids. One-shot
 * `crypto.hash`: every API call checks its key, and building a `Hash` object per check cost
 * more than the hashing.
 *
 * @module
 */
import { hash } from 'node:crypto'

export const sha256 = (text: string): Buffer => hash('sha256', text, 'buffer')

export const sha256Hex = (text: string): string => hash('sha256', text, 'hex')
