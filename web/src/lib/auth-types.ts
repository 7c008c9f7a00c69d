/**
 * The auth types the server offers (`GET /api/v1/auth-types`), loaded once per page load and
 * shared, and what the UI derives from them. Nothing here names a type: labels, initial
 * settings and the type a new connector starts with all come from each scheme's presentation.
 */
import { useCallback, useEffect, useState } from 'react'
import { api } from '../api.js'
import type { AuthSettings, AuthTypeInfo, Obj } from '../types.js'

let loaded: AuthTypeInfo[] | undefined
let pending: Promise<AuthTypeInfo[]> | undefined

export function loadAuthTypes(): Promise<AuthTypeInfo[]> {
  pending ??= api.authTypes().then(
    (types) => (loaded = types),
    (err: unknown) => {
      pending = undefined // the next caller tries again
      throw err
    },
  )
  return pending
}

export interface AuthTypes {
  types: AuthTypeInfo[] | undefined
  error: unknown
  retry: () => void
}

export function useAuthTypes(): AuthTypes {
  const [types, setTypes] = useState(loaded)
  const [error, setError] = useState<unknown>()
  const load = useCallback(() => {
    setError(undefined)
    loadAuthTypes().then(setTypes, setError)
  }, [])
  useEffect(() => {
    if (!types) load()
  }, [types, load])
  return { types, error, retry: load }
}

export function findType(types: readonly AuthTypeInfo[], type: string): AuthTypeInfo | undefined {
  return types.find((t) => t.type === type)
}

/** What the type picker calls a type; a type the server does not offer goes by its name. */
export function typeLabel(info: AuthTypeInfo | undefined, type: string): string {
  return info?.presentation.label ?? info?.label ?? type
}

/** The settings a type starts with when picked. */
export function initialAuth(info: AuthTypeInfo): AuthSettings {
  return { ...structuredClone(info.presentation.initial ?? {}), type: info.type }
}

/** The type a new connector starts with. */
export function preferredType(types: readonly AuthTypeInfo[]): AuthTypeInfo | undefined {
  return types.find((t) => t.presentation.preferred) ?? types[0]
}

const COMMON_AUTH_KEYS = ['type', 'refreshOn', 'detectOn', 'extra']

/** Whether the auth holds settings of its own type (which a type change would discard). */
export function hasTypeSettings(auth: Obj, info: AuthTypeInfo | undefined): boolean {
  const own = Object.keys(auth).filter((k) => !COMMON_AUTH_KEYS.includes(k))
  const fresh: Obj = info ? initialAuth(info) : {}
  return own.some((k) => JSON.stringify(auth[k]) !== JSON.stringify(fresh[k]))
}

/** The auth after a type change: the new type's initial settings and the common keys kept. */
export function changeAuthType(auth: Obj, info: AuthTypeInfo): AuthSettings {
  const kept: Obj = {}
  for (const k of COMMON_AUTH_KEYS.slice(1)) if (auth[k] !== undefined) kept[k] = auth[k]
  return { ...initialAuth(info), ...kept }
}

/** The top-level setting a type edits in the Scopes tab (the `scopes` widget), if any. */
export function scopesSetting(info: AuthTypeInfo | undefined): string | undefined {
  return Object.entries(info?.presentation.settings ?? {}).find(
    ([, hint]) => hint.widget === 'scopes',
  )?.[0]
}
