import { describe, expect, it } from 'vitest'
import {
  calculateCodeChallenge,
  createCodeVerifier,
  createPkcePair,
  createState,
  isCodeVerifier,
} from './pkce.js'

describe('PKCE', () => {
  it('computes the S256 challenge of RFC 7636 Appendix B', () => {
    expect(calculateCodeChallenge('dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk')).toBe(
      'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
    )
  })

  it('makes verifiers of 43 to 128 unreserved characters', () => {
    for (const length of [43, 64, 128]) {
      const verifier = createCodeVerifier(length)
      expect(verifier).toHaveLength(length)
      expect(isCodeVerifier(verifier)).toBe(true)
    }
    expect(createCodeVerifier()).toHaveLength(64)
    expect(() => createCodeVerifier(42)).toThrow(RangeError)
    expect(() => createCodeVerifier(129)).toThrow(RangeError)
  })

  it('refuses to hash a verifier outside RFC 7636 §4.1', () => {
    expect(() => calculateCodeChallenge('short')).toThrow(TypeError)
    expect(() => calculateCodeChallenge(`${'a'.repeat(43)}!`)).toThrow(TypeError)
  })

  it('pairs a fresh verifier with its challenge', () => {
    const a = createPkcePair()
    const b = createPkcePair()
    expect(a.codeVerifier).not.toBe(b.codeVerifier)
    expect(a.codeChallenge).toBe(calculateCodeChallenge(a.codeVerifier))
    expect(a.codeChallengeMethod).toBe('S256')
  })

  it('makes states of 256 random bits, base64url', () => {
    const state = createState()
    expect(state).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(Buffer.from(state, 'base64url')).toHaveLength(32)
    expect(createState()).not.toBe(state)
  })
})
