/**
 * `oauth1`: OAuth 1.0a (docs/auth/). A connection is made with the three legs of RFC 5849 §2 —
 * request token, authorize, callback with `oauth_verifier`, access token — and every request is
 * then signed (§3) with the connector's client credentials and the connection's token credentials.
 *
 * The callback (`/oauth1/callback`) carries `oauth_token`, not `state`: `connect` answers the
 * temporary token as the `state` to look the pending connection up by.
 *
 * @see https://www.rfc-editor.org/rfc/rfc5849
 * @module
 */
import { z } from 'zod'
import { templatedUrl } from '../../connector/schema.js'
import { PatchbayError } from '../../errors.js'
import { MissingTemplateValue } from '../../lib/template.js'
import { defineAuthScheme, type AuthContext, type FlowCallback } from '../scheme.js'
import {
  authorizationUrl,
  processAuthorizationCallback,
  processRevocationResponse,
  processTemporaryCredentialsResponse,
  processTokenCredentialsResponse,
  revocationRequest,
  temporaryCredentialsRequest,
  tokenCredentialsRequest,
  type FlowOptions,
} from './flow.js'
import { SIGNATURE_METHODS, signRequest, type ConsumerCredentials } from './signature.js'

export const oauth1Settings = z
  .object({
    consumerKey: z.string().min(1, 'is required').max(1000),
    consumerSecret: z.string().min(1, 'is required').max(1000),
    /** Temporary Credential Request endpoint (RFC 5849 §2.1). */
    requestTokenUrl: templatedUrl,
    /** Resource Owner Authorization endpoint (§2.2). */
    authorizationUrl: templatedUrl,
    /** Token Request endpoint (§2.3). */
    accessTokenUrl: templatedUrl,
    /** Receives a signed `POST` when the connection is deleted. */
    revokeUrl: templatedUrl.optional(),
    signatureMethod: z.enum(SIGNATURE_METHODS).default('HMAC-SHA1'),
  })
  .strict()
export type OAuth1Settings = z.infer<typeof oauth1Settings>

/** The engine's route that finishes the flow. */
export const OAUTH1_CALLBACK_PATH = '/oauth1/callback'

/**
 * The callback carries the temporary token, not a `state`: in `oauth_token`, or in `denied` when
 * the user refused (RFC 5849 §2.2; the `denied` form is Twitter's and others').
 */
export const OAUTH1_CALLBACK: FlowCallback = {
  path: OAUTH1_CALLBACK_PATH,
  stateOf: (params) => params.get('oauth_token') ?? params.get('denied'),
}

type Context = AuthContext<OAuth1Settings>
type UrlSetting = 'requestTokenUrl' | 'authorizationUrl' | 'accessTokenUrl' | 'revokeUrl'

export const oauth1Scheme = defineAuthScheme({
  type: 'oauth1',
  label: 'OAuth 1.0a',
  settings: oauth1Settings,
  secretSettings: ['consumerSecret'],
  needsBrowser: () => true,
  callbacks: [OAUTH1_CALLBACK],
  presentation: {
    settings: {
      consumerKey: { label: 'Consumer key', group: 'consumer' },
      consumerSecret: { label: 'Consumer secret', group: 'consumer' },
      requestTokenUrl: { label: 'Request token URL', widget: 'url' },
      authorizationUrl: { label: 'Authorization URL', widget: 'url' },
      accessTokenUrl: { label: 'Access token URL', widget: 'url' },
      revokeUrl: { label: 'Revoke URL', widget: 'url', hint: 'Optional.' },
      signatureMethod: { label: 'Signature method', emptyLabel: 'HMAC-SHA1 (default)' },
    },
    groups: { consumer: { layout: 'columns-2' } },
  },
  connectionFields: () => [],
  // Token credentials do not expire; a dead grant needs the user to authorize again.
  canRefresh: () => false,

  async connect(ctx) {
    const client = clientCredentials(ctx)
    const authorize = endpoint(ctx, 'authorizationUrl')
    const response = await temporaryCredentialsRequest(
      ctx.http,
      endpoint(ctx, 'requestTokenUrl'),
      client,
      ctx.callbackUrl(OAUTH1_CALLBACK_PATH),
      signOptions(ctx),
    )
    const temporary = processTemporaryCredentialsResponse(response)
    return {
      status: 'pending',
      authorizeUrl: authorizationUrl(authorize, temporary.token).href,
      state: temporary.token,
      flow: { oauth_token: temporary.token, oauth_token_secret: temporary.tokenSecret },
    }
  },

  async complete(ctx, params, flow) {
    const token = flow.oauth_token
    const tokenSecret = flow.oauth_token_secret
    if (!token || tokenSecret === undefined) {
      throw new PatchbayError(
        'connection.flow_failed',
        'the pending OAuth1 flow holds no temporary credentials',
      )
    }
    const verifier = processAuthorizationCallback(params, token)
    const response = await tokenCredentialsRequest(
      ctx.http,
      endpoint(ctx, 'accessTokenUrl'),
      clientCredentials(ctx),
      { token, tokenSecret },
      verifier,
      signOptions(ctx),
    )
    const credentials = processTokenCredentialsResponse(response)
    return {
      values: {
        ...credentials.extra,
        oauth_token: credentials.token,
        oauth_token_secret: credentials.tokenSecret,
      },
      obtainedAt: ctx.now(),
    }
  },

  apply(ctx, request) {
    const { oauth_token: token, oauth_token_secret: tokenSecret } = ctx.credentials.values
    if (!token || tokenSecret === undefined) {
      throw new PatchbayError(
        'connection.not_connected',
        'the OAuth1 connection has no token credentials; authorize it first',
      )
    }
    // Signs the query and a form body as they are now (RFC 5849 §3.4.1.3.1): nothing that is
    // signed may change after this.
    const { header } = signRequest(
      request,
      { ...clientCredentials(ctx), token, tokenSecret },
      signOptions(ctx),
    )
    request.headers['authorization'] = header
  },
  // The signature covers the query and a form body, so `extra` goes on before `apply`.
  signsRequest: true,

  async revoke(ctx) {
    if (ctx.settings.revokeUrl === undefined) return
    const { oauth_token: token, oauth_token_secret: tokenSecret } = ctx.credentials.values
    if (!token || tokenSecret === undefined) return
    const response = await revocationRequest(
      ctx.http,
      endpoint(ctx, 'revokeUrl'),
      clientCredentials(ctx),
      { token, tokenSecret },
      signOptions(ctx),
    )
    processRevocationResponse(response)
  },

  redact: () => ({ headers: ['authorization'] }),
})

function signOptions(ctx: Context): FlowOptions {
  return { signatureMethod: ctx.settings.signatureMethod, now: ctx.now }
}

function clientCredentials(ctx: Context): ConsumerCredentials {
  return {
    consumerKey: render(ctx, 'consumerKey', ctx.settings.consumerKey),
    consumerSecret: render(ctx, 'consumerSecret', ctx.settings.consumerSecret),
  }
}

function endpoint(ctx: Context, name: UrlSetting): URL {
  const template = ctx.settings[name]
  const text = template === undefined ? undefined : render(ctx, name, template)
  let url: URL | undefined
  try {
    url = text === undefined ? undefined : new URL(text)
  } catch {
    url = undefined
  }
  if (!url || !/^https?:$/.test(url.protocol)) {
    // The rendered text is not shown: a template may have put a secret value in it.
    throw new PatchbayError(
      'connection.invalid_values',
      `the OAuth1 setting "${name}" does not render to an http:// or https:// URL`,
      { details: [{ path: `auth.${name}`, rule: 'must render to an absolute http(s) URL' }] },
    )
  }
  return url
}

/** Settings may hold `{{field}}` templates (docs/concepts.md). */
function render(ctx: Context, name: string, template: string): string {
  try {
    return name.endsWith('Url') ? ctx.renderUrl(template) : ctx.render(template)
  } catch (err) {
    if (!(err instanceof MissingTemplateValue)) throw err
    throw new PatchbayError(
      'connection.invalid_values',
      `the OAuth1 setting "${name}" needs the connection value "${err.key}"`,
      { details: [{ path: `values.${err.key}`, rule: 'is required' }], cause: err },
    )
  }
}

export {
  authorizationUrl,
  processAuthorizationCallback,
  processRevocationResponse,
  processTemporaryCredentialsResponse,
  processTokenCredentialsResponse,
  revocationRequest,
  temporaryCredentialsRequest,
  tokenCredentialsRequest,
} from './flow.js'
export type { FlowEndpoint, FlowOptions, TokenCredentials, TokenPair } from './flow.js'
export {
  SIGNATURE_METHODS,
  authorizationHeader,
  baseStringUri,
  collectParameters,
  formBodyParameters,
  normalizeParameters,
  percentEncode,
  sign,
  signRequest,
  signatureBaseString,
  signingKey,
} from './signature.js'
export type {
  ConsumerCredentials,
  ParameterList,
  SignRequestOptions,
  SignableRequest,
  SignatureMethod,
  SignedRequest,
  SigningCredentials,
} from './signature.js'
export { parseAuthorizationHeader, readProtocolParameters, verifyRequest } from './verify.js'
export type {
  OAuthProblem,
  ProtocolParametersResult,
  VerifyRequestOptions,
  VerifyResult,
  VerifySecrets,
} from './verify.js'
