import { generateKeyPairSync } from 'node:crypto'
import { decodeProtectedHeader, jwtVerify } from 'jose'
import { describe, expect, it } from 'vitest'
import { clientAssertion, jwtBearerAssertion } from './assertion.js'
import type { SigningKey } from './keys.js'

const NOW = 1_700_000_000_000
const IAT = NOW / 1000
const TOKEN_URL = 'https://auth.example.com/oauth/token'

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 })
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' })
const rsaKey: SigningKey = { key: rsa.privateKey, alg: 'RS256', kid: 'key-1' }
const ecKey: SigningKey = { key: ec.privateKey, alg: 'ES256' }

/** Verifies as a server would, at the time the JWT was made. */
async function verified(jwt: string, key: Parameters<typeof jwtVerify>[1]) {
  const { payload, protectedHeader } = await jwtVerify(jwt, key, {
    currentDate: new Date(NOW + 1000),
  })
  return { payload, header: protectedHeader }
}

describe('client assertions', () => {
  it('signs RS256 with the kid: iss = sub = client_id, aud, random jti, iat and exp 60 s later', async () => {
    const jwt = await clientAssertion('client-1', TOKEN_URL, { privateKey: rsaKey }, { now: NOW })
    const { payload, header } = await verified(jwt, rsa.publicKey)
    expect(header).toEqual({ alg: 'RS256', kid: 'key-1' })
    expect(payload).toEqual({
      iss: 'client-1',
      sub: 'client-1',
      aud: TOKEN_URL,
      jti: expect.stringMatching(/^[\w-]{22}$/) as string,
      iat: IAT,
      exp: IAT + 60,
    })
    const again = await clientAssertion('client-1', TOKEN_URL, { privateKey: rsaKey }, { now: NOW })
    expect((await verified(again, rsa.publicKey)).payload.jti).not.toBe(payload.jti)
  })

  it('signs ES256 with a P-256 key, without a kid when none is set', async () => {
    const jwt = await clientAssertion('client-1', TOKEN_URL, { privateKey: ecKey }, { now: NOW })
    const { header } = await verified(jwt, ec.publicKey)
    expect(header).toEqual({ alg: 'ES256' })
  })

  it('signs HS256 over the client secret for client_secret_jwt', async () => {
    const secret = 'a-client-secret-of-32-characters!'
    const jwt = await clientAssertion(
      'client-1',
      TOKEN_URL,
      { clientSecret: secret },
      { now: NOW, lifetime: 30 },
    )
    const { payload, header } = await verified(jwt, new TextEncoder().encode(secret))
    expect(header).toEqual({ alg: 'HS256' })
    expect(payload).toMatchObject({ iss: 'client-1', sub: 'client-1', exp: IAT + 30 })
    await expect(jwtVerify(jwt, new TextEncoder().encode('another secret'))).rejects.toThrow(
      /signature verification failed/,
    )
  })

  it('checks its inputs', async () => {
    const signer = { privateKey: rsaKey }
    expect(() => clientAssertion('', TOKEN_URL, signer)).toThrow(
      '"clientId" must be a non-empty string',
    )
    expect(() => clientAssertion('c', '', signer)).toThrow('"audience" must be a non-empty string')
    expect(() => clientAssertion('c', TOKEN_URL, signer, { lifetime: 3601 })).toThrow(
      '"lifetime" must be an integer from 1 to 3600',
    )
    expect(() => clientAssertion('c', TOKEN_URL, { clientSecret: '' })).toThrow(
      '"clientSecret" must be a non-empty string',
    )
  })
})

describe('JWT bearer grant assertions', () => {
  it('carries iss, sub, aud, scope, jti, iat and exp', async () => {
    const jwt = await jwtBearerAssertion(
      {
        issuer: 'svc@project.iam.gserviceaccount.com',
        subject: 'alice@example.com',
        audience: 'https://oauth2.googleapis.com/token',
        scope: 'https://www.googleapis.com/auth/drive.readonly',
      },
      rsaKey,
      { now: NOW, lifetime: 3600 },
    )
    const { payload, header } = await verified(jwt, rsa.publicKey)
    expect(header).toEqual({ alg: 'RS256', kid: 'key-1' })
    expect(payload).toEqual({
      iss: 'svc@project.iam.gserviceaccount.com',
      sub: 'alice@example.com',
      aud: 'https://oauth2.googleapis.com/token',
      scope: 'https://www.googleapis.com/auth/drive.readonly',
      jti: expect.any(String) as string,
      iat: IAT,
      exp: IAT + 3600,
    })
  })

  it('leaves out sub and scope when there are none', async () => {
    const jwt = await jwtBearerAssertion(
      { issuer: 'consumer-key', audience: 'https://login.salesforce.com' },
      ecKey,
      { now: NOW },
    )
    const { payload } = await verified(jwt, ec.publicKey)
    expect(Object.keys(payload).sort()).toEqual(['aud', 'exp', 'iat', 'iss', 'jti'])
    expect(decodeProtectedHeader(jwt)).toEqual({ alg: 'ES256' })
  })

  it('refuses a key that does not fit the algorithm as a TypeError, not a transport failure', async () => {
    const wrong: SigningKey = { key: ec.privateKey, alg: 'RS256' }
    const err: unknown = await jwtBearerAssertion({ issuer: 'i', audience: 'a' }, wrong).catch(
      (e: unknown) => e,
    )
    expect(err).toBeInstanceOf(TypeError)
    expect((err as Error).message).toBe('the RS256 key could not sign the JWT')
  })
})
