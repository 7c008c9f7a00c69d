/**
 * What the builder's type picker calls an auth type (its scheme's presentation), wherever a type
 * is shown; the type's own name until the server's list has loaded, or for a type it does not offer.
 */
import { findType, typeLabel, useAuthTypes } from '../lib/auth-types.js'

export function AuthTypeName({ type }: { type: string }) {
  const { types } = useAuthTypes()
  return <>{typeLabel(types && findType(types, type), type)}</>
}
