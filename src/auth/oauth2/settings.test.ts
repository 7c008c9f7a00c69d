import { generateKeyPairSync } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { oauth2Problems, oauth2SettingsSchema } from './settings.js'

const rsaPem = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({
  type: 'pkcs8',
  format: 'pem',
}) as string

const complete = {
  grantType: 'authorization_code',
  clientId: 'id',
  clientSecret: 'secret',
  authorizationUrl: 'https://{{subdomain}}.example.com/oauth/authorize',
  tokenUrl: 'https://{{subdomain}}.example.com/oauth/token',
}

function issues(input: Record<string, unknown>) {
  const result = oauth2SettingsSchema.safeParse(input)
  return result.success ? [] : result.error.issues.map((i) => [i.path.join('.'), i.message])
}

describe('oauth2 settings', () => {
  it('applies the documented defaults', () => {
    expect(oauth2SettingsSchema.parse(complete)).toEqual({
      ...complete,
      clientAuth: 'body',
      scopes: [],
      scopeDelimiter: ',',
      tokenPrefix: 'Bearer',
      expiresIn: 3600,
      authorizationParams: {},
      tokenParams: {},
    })
  })

  it('refuses an expiry out of 900..86400, a non-alphanumeric prefix and more than 50 scopes', () => {
    const scopes = Array.from({ length: 51 }, (_, i) => ({ name: `S${i}`, value: `s${i}` }))
    expect(issues({ ...complete, expiresIn: 899, tokenPrefix: 'Bearer!', scopes })).toEqual([
      ['scopes', 'must have at most 50 scopes'],
      ['tokenPrefix', 'must be alphanumeric, such as Bearer'],
      ['expiresIn', 'must be at least 900 seconds'],
    ])
    expect(issues({ ...complete, expiresIn: 86_401 })).toEqual([
      ['expiresIn', 'must be at most 86400 seconds'],
    ])
  })

  it('refuses a URL without scheme and extra params that replace Patchbay’s own', () => {
    expect(
      issues({
        ...complete,
        tokenUrl: 'example.com/token',
        authorizationParams: { state: 'x', prompt: 'consent' },
        tokenParams: { grant_type: 'password' },
      }),
    ).toEqual([
      ['tokenUrl', 'must be an absolute http:// or https:// URL'],
      ['authorizationParams.state', '"state" is set by Patchbay'],
      ['tokenParams.grant_type', '"grant_type" is set by Patchbay'],
    ])
  })

  it('validates a draft against the partial schema', () => {
    expect(oauth2SettingsSchema.partial().safeParse({ clientId: 'id' }).success).toBe(true)
  })

  it('asks for a secret unless PKCE, and an authorization URL unless client_credentials', () => {
    const settings = oauth2SettingsSchema.parse(complete)
    expect(oauth2Problems(settings)).toEqual([])
    expect(oauth2Problems({ ...settings, clientSecret: undefined })).toEqual([
      {
        path: 'clientSecret',
        rule: 'is required for the authorization_code grant (only a PKCE client may go without)',
      },
    ])
    expect(
      oauth2Problems({
        ...settings,
        grantType: 'authorization_code_pkce',
        clientSecret: undefined,
        authorizationUrl: undefined,
      }),
    ).toEqual([
      { path: 'authorizationUrl', rule: 'is required for the authorization_code_pkce grant' },
    ])
    expect(
      oauth2Problems({ ...settings, grantType: 'client_credentials', authorizationUrl: undefined }),
    ).toEqual([])
  })

  it('refuses HTTP Basic for a public client and duplicate scope values', () => {
    const settings = oauth2SettingsSchema.parse({
      ...complete,
      grantType: 'authorization_code_pkce',
      clientSecret: undefined,
      clientAuth: 'basic',
      scopes: [
        { name: 'A', value: 'read' },
        { name: 'B', value: 'read' },
      ],
    })
    expect(oauth2Problems(settings).map((i) => i.path)).toEqual(['clientAuth', 'scopes'])
  })
})

describe('oauth2 settings for JWTs (RFC 7523)', () => {
  const bearer = {
    grantType: 'jwt_bearer',
    clientId: 'svc@example.iam',
    tokenUrl: 'https://oauth2.example.com/token',
  }

  function problems(input: Record<string, unknown>) {
    return oauth2Problems(oauth2SettingsSchema.parse(input)).map((i) => [i.path, i.rule])
  }

  it('stores no defaults for the new settings, so a ready connector made before them is unchanged', () => {
    expect(Object.keys(oauth2SettingsSchema.parse(complete)).sort()).toEqual(
      [
        ...Object.keys(complete),
        'clientAuth',
        'scopes',
        'scopeDelimiter',
        'tokenPrefix',
        'expiresIn',
        'authorizationParams',
        'tokenParams',
      ].sort(),
    )
  })

  it('refuses a private key that does not parse, naming the rule and never quoting the key', () => {
    const secretish = 'MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7'
    const found = issues({ ...bearer, privateKey: secretish })
    expect(found).toEqual([['privateKey', expect.stringMatching(/^must be a PEM private key/)]])
    expect(JSON.stringify(found)).not.toContain(secretish)
    expect(issues({ ...bearer, privateKey: rsaPem })).toEqual([])
  })

  it('bounds the assertion lifetime to 10..3600 seconds and reserves the assertion parameters', () => {
    expect(
      issues({ ...bearer, assertionLifetime: 9, tokenParams: { client_assertion: 'x' } }),
    ).toEqual([
      ['assertionLifetime', 'must be at least 10 seconds'],
      ['tokenParams.client_assertion', '"client_assertion" is set by Patchbay'],
    ])
    expect(issues({ ...bearer, assertionLifetime: 3601 })).toEqual([
      ['assertionLifetime', 'must be at most 3600 seconds'],
    ])
    expect(issues({ ...bearer, tokenParams: { assertion: 'x' } })).toEqual([
      ['tokenParams.assertion', '"assertion" is set by Patchbay'],
    ])
  })

  it('asks for the key the JWT bearer grant and private_key_jwt sign with', () => {
    expect(problems(bearer)).toEqual([['privateKey', 'is required for the jwt_bearer grant']])
    expect(problems({ ...bearer, privateKey: rsaPem })).toEqual([])
    expect(problems({ ...bearer, privateKeySource: 'connection' })).toEqual([])
    expect(
      problems({ ...complete, clientAuth: 'private_key_jwt', clientSecret: undefined }),
    ).toEqual([['privateKey', 'is required for private_key_jwt client authentication']])
  })

  it('refuses a key where none is used, or where each connection gives its own', () => {
    expect(problems({ ...complete, privateKey: rsaPem })).toEqual([
      [
        'privateKey',
        'is used only by the jwt_bearer grant and private_key_jwt client authentication',
      ],
    ])
    expect(problems({ ...bearer, privateKey: rsaPem, privateKeySource: 'connection' })).toEqual([
      [
        'privateKey',
        'must be left out when privateKeySource is connection (each connection gives its own private_key)',
      ],
    ])
  })

  it('refuses a signing algorithm that does not fit the key', () => {
    expect(problems({ ...bearer, privateKey: rsaPem, signingAlgorithm: 'ES256' })).toEqual([
      [
        'signingAlgorithm',
        'does not fit the key: ES256 needs an EC key on P-256, and the private key is an RSA key of 2048 bits',
      ],
    ])
    expect(problems({ ...bearer, privateKey: rsaPem, signingAlgorithm: 'RS256' })).toEqual([])
  })

  it('asks for a secret for client_secret_jwt, and lets none be only for the JWT bearer grant', () => {
    expect(
      problems({ ...complete, clientAuth: 'client_secret_jwt', clientSecret: undefined }),
    ).toEqual([['clientSecret', 'is required for client_secret_jwt client authentication']])
    expect(problems({ ...complete, clientAuth: 'none' })).toEqual([
      ['clientAuth', 'can be none only for the jwt_bearer grant'],
    ])
    expect(problems({ ...bearer, privateKey: rsaPem, clientAuth: 'none' })).toEqual([])
  })

  it('lets a JWT bearer client go without a secret in the body, but not in HTTP Basic', () => {
    expect(problems({ ...bearer, privateKey: rsaPem, clientAuth: 'body' })).toEqual([])
    expect(problems({ ...bearer, privateKey: rsaPem, clientAuth: 'basic' })).toEqual([
      ['clientAuth', 'cannot be basic without a clientSecret'],
    ])
    expect(
      problems({
        ...complete,
        grantType: 'client_credentials',
        authorizationUrl: undefined,
        clientSecret: undefined,
        clientAuth: 'private_key_jwt',
        privateKey: rsaPem,
      }),
    ).toEqual([])
  })
})
