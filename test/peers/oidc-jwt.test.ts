/**
 * The test peer's JWT options, checked with jose alone (not Patchbay's code): the JWT clients
 * are refused without a valid assertion, and the JWT bearer grant checks what RFC 7523 §3 asks.
 */
import { generateKeyPairSync, randomUUID, type KeyObject } from 'node:crypto'
import { SignJWT, type JWK, type JWTPayload } from 'jose'
import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { JWT_BEARER_GRANT, startOidcPeer, type OidcPeer } from './oidc.js'

const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'
const SERVICE = 'svc@patchbay.test'

const clientKey = generateKeyPairSync('rsa', { modulusLength: 2048 })
const serviceKey = generateKeyPairSync('ec', { namedCurve: 'P-256' })
const strangerKey = generateKeyPairSync('rsa', { modulusLength: 2048 })

const jwk = (key: KeyObject, kid: string): JWK => ({ ...key.export({ format: 'jwk' }), kid })

let peer: OidcPeer
beforeAll(async () => {
  peer = await startOidcPeer({
    privateKeyJwtKeys: [jwk(clientKey.publicKey, 'client-1')],
    clientSecretJwt: true,
    jwtBearer: { issuers: { [SERVICE]: [jwk(serviceKey.publicKey, 'svc-1')] } },
  })
})
afterAll(() => peer.close())

async function post(form: Record<string, string>) {
  const res = await request(peer.tokenUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(form).toString(),
  })
  return { status: res.statusCode, body: (await res.body.json()) as Record<string, unknown> }
}

function jwt(claims: JWTPayload, key: KeyObject | Uint8Array, alg: string): Promise<string> {
  const now = Math.floor(Date.now() / 1000)
  return new SignJWT({ jti: randomUUID(), iat: now, exp: now + 60, ...claims })
    .setProtectedHeader({ alg })
    .sign(key)
}

function clientAssertion(clientId: string, key: KeyObject | Uint8Array, alg = 'RS256') {
  return jwt({ iss: clientId, sub: clientId, aud: peer.tokenUrl }, key, alg)
}

describe('oidc peer: JWT client authentication', () => {
  it('gives a private_key_jwt client a token for an assertion signed by its key, and only then', async () => {
    const clientId = peer.clients.privateKeyJwt!.clientId
    const form = { grant_type: 'client_credentials', client_assertion_type: ASSERTION_TYPE }
    const good = await post({
      ...form,
      client_assertion: await clientAssertion(clientId, clientKey.privateKey),
    })
    expect(good.status).toBe(200)
    expect(good.body.access_token).toEqual(expect.any(String))

    const stranger = await post({
      ...form,
      client_assertion: await clientAssertion(clientId, strangerKey.privateKey),
    })
    expect(stranger).toMatchObject({ status: 401, body: { error: 'invalid_client' } })
    const secret = await post({ grant_type: 'client_credentials', client_id: clientId })
    expect(secret).toMatchObject({ status: 401, body: { error: 'invalid_client' } })
  })

  it('refuses a replayed client assertion', async () => {
    const clientId = peer.clients.privateKeyJwt!.clientId
    const assertion = await clientAssertion(clientId, clientKey.privateKey)
    const form = {
      grant_type: 'client_credentials',
      client_assertion_type: ASSERTION_TYPE,
      client_assertion: assertion,
    }
    expect((await post(form)).status).toBe(200)
    expect(await post(form)).toMatchObject({ status: 401, body: { error: 'invalid_client' } })
  })

  it('gives a client_secret_jwt client a token for an HS256 assertion over its secret', async () => {
    const { clientId, clientSecret } = peer.clients.clientSecretJwt!
    const form = { grant_type: 'client_credentials', client_assertion_type: ASSERTION_TYPE }
    const good = await post({
      ...form,
      client_assertion: await clientAssertion(
        clientId,
        new TextEncoder().encode(clientSecret),
        'HS256',
      ),
    })
    expect(good.status).toBe(200)
    const wrong = await post({
      ...form,
      client_assertion: await clientAssertion(
        clientId,
        new TextEncoder().encode(`${clientSecret}-not`),
        'HS256',
      ),
    })
    expect(wrong).toMatchObject({ status: 401, body: { error: 'invalid_client' } })
  })
})

describe('oidc peer: the JWT bearer grant', () => {
  const grant = async (claims: JWTPayload, key: KeyObject = serviceKey.privateKey) => ({
    grant_type: JWT_BEARER_GRANT,
    client_id: peer.clients.jwtBearer!.clientId,
    assertion: await jwt({ iss: SERVICE, aud: peer.tokenUrl, ...claims }, key, 'ES256'),
  })

  it('issues a token for the assertion’s subject, with the scopes of the form or of the claim', async () => {
    const fromForm = await post({ ...(await grant({ sub: 'alice' })), scope: 'api:read' })
    expect(fromForm.status, JSON.stringify(fromForm.body)).toBe(200)
    expect(fromForm.body).toMatchObject({ token_type: 'Bearer', scope: 'api:read' })
    const me = await request(peer.resourceUrl, {
      headers: { authorization: `Bearer ${String(fromForm.body.access_token)}` },
    })
    expect(await me.body.json()).toEqual({
      sub: 'alice',
      client_id: peer.clients.jwtBearer!.clientId,
      scope: 'api:read',
    })

    const fromClaim = await post(await grant({ scope: 'api:read api:write' }))
    expect(fromClaim.body).toMatchObject({ scope: 'api:read api:write' })
  })

  it('refuses a wrong signature, audience, lifetime, a replay and an unknown issuer', async () => {
    const refused = async (form: Record<string, string>, description: RegExp) => {
      const res = await post(form)
      expect(res.status).toBe(400)
      expect(res.body.error).toBe('invalid_grant')
      expect(String(res.body.error_description)).toMatch(description)
    }
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey
    await refused(await grant({}, ec), /signature verification failed/)
    await refused(await grant({ aud: 'https://elsewhere.example' }), /"aud" claim/)
    const now = Math.floor(Date.now() / 1000)
    await refused(await grant({ exp: now + 7200 }), /within an hour/)
    await refused(await grant({ iss: 'someone@else' }), /issuer is not known/)
    const once = await grant({})
    expect((await post(once)).status).toBe(200)
    await refused(once, /used before/)
  })
})
