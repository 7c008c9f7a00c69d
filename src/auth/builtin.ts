/**
 * The auth types this server offers.
 *
 * @module
 */
import { apiKeyScheme } from './api-key.js'
import { awsSigV4Scheme } from './aws-sigv4.js'
import { basicScheme } from './basic.js'
import { bearerScheme } from './bearer.js'
import { customScheme } from './custom.js'
import { httpTokenScheme } from './http-token.js'
import { createMultiScheme } from './multi.js'
import { oauth1Scheme } from './oauth1/index.js'
import { oauth2Scheme } from './oauth2/index.js'
import { createAuthRegistry, type AuthRegistry, type AuthScheme } from './scheme.js'

export function builtinSchemes(): AuthScheme<never>[] {
  return [
    basicScheme,
    apiKeyScheme,
    bearerScheme,
    oauth1Scheme,
    oauth2Scheme,
    awsSigV4Scheme,
    httpTokenScheme,
    customScheme,
  ] as AuthScheme<never>[]
}

export function createBuiltinRegistry(extra: AuthScheme<never>[] = []): AuthRegistry {
  // multi composes the others, so it resolves them through the registry it belongs to.
  const registry: AuthRegistry = createAuthRegistry([
    ...builtinSchemes(),
    createMultiScheme(() => registry) as AuthScheme<never>,
    ...extra,
  ])
  return registry
}
