/**
 * The auth types this server offers.
 *
 * @module
 */
import { apiKeyScheme } from './api-key.js'
import { basicScheme } from './basic.js'
import { bearerScheme } from './bearer.js'
import { oauth1Scheme } from './oauth1/index.js'
import { createAuthRegistry, type AuthRegistry, type AuthScheme } from './scheme.js'

export function builtinSchemes(): AuthScheme<never>[] {
  return [basicScheme, apiKeyScheme, bearerScheme, oauth1Scheme] as AuthScheme<never>[]
}

export function createBuiltinRegistry(extra: AuthScheme<never>[] = []): AuthRegistry {
  return createAuthRegistry([...builtinSchemes(), ...extra])
}
