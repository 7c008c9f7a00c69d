/**
 * The fields a connection form asks for. The API answers them as `connectionFields`; for a
 * `multi` connector the form narrows them to the selected option, computing the option type's
 * own fields the way its scheme does (SPEC §3, "connection values").
 */
import type { Obj } from '../types.js'
import type { ConnectorView, FieldDefinition } from '../api.js'

/** A type's connection fields from its settings, as `src/auth/*` answers them. */
export function schemeFields(type: string, s: Obj): FieldDefinition[] | undefined {
  switch (type) {
    case 'basic':
      return [
        { name: 'username', label: String(s.usernameLabel ?? 'Username'), type: 'text' },
        { name: 'password', label: String(s.passwordLabel ?? 'Password'), type: 'password' },
      ]
    case 'api_key':
      return ((s.params as { name: string; key: string }[] | undefined) ?? []).map((p) => ({
        name: p.key,
        label: p.name,
        type: 'password' as const,
      }))
    case 'bearer':
      return [{ name: 'token', label: String(s.parameterName ?? 'Bearer Token'), type: 'password' }]
    case 'aws_sigv4':
      return [
        { name: 'accessKeyId', label: 'Access key ID', type: 'text' },
        { name: 'secretAccessKey', label: 'Secret access key', type: 'password' },
        { name: 'sessionToken', label: 'Session token', type: 'password', optional: true },
      ]
    case 'oauth2': {
      const scopes = (s.scopes as { name: string; value: string }[] | undefined) ?? []
      if (!scopes.length) return []
      return [
        {
          name: 'scopes',
          label: 'Scopes',
          type: 'multiselect',
          optional: true,
          delimiter: String(s.scopeDelimiter ?? ','),
          options: scopes.map((x) => [x.name, x.value] as [string, string]),
          default: scopes.map((x) => x.value),
          hint: 'Leave empty to ask for every scope.',
        },
      ]
    }
    case 'oauth1':
    case 'http_token':
    case 'custom':
      return []
    default:
      return undefined
  }
}

const PRESENTATION = ['label', 'hint', 'default', 'options'] as const

/**
 * The connector's fields merged with its auth type's, as the API merges them
 * (`src/engine/connection-fields.ts`): a connector field that re-declares an auth type's field
 * gives it its label, hint, default and options, and the field is asked for once.
 */
function mergeFields(own: FieldDefinition[], scheme: FieldDefinition[]): FieldDefinition[] {
  const byName = new Map(scheme.map((f) => [f.name, f]))
  const merged = own.map((f) => {
    const base = byName.get(f.name)
    if (!base) return f
    const out: FieldDefinition = { ...base }
    for (const key of PRESENTATION) if (f[key] !== undefined) Object.assign(out, { [key]: f[key] })
    return out
  })
  const declared = new Set(own.map((f) => f.name))
  return [...merged, ...scheme.filter((f) => !declared.has(f.name))]
}

export function formFields(connector: ConnectorView, values: Obj): FieldDefinition[] {
  const auth = connector.auth
  if (auth.type === 'multi') {
    const selectedBy = String(auth.selectedBy ?? 'auth_type')
    const options =
      (auth.options as
        | Record<string, Obj & { label?: string; type?: string; fields?: FieldDefinition[] }>
        | undefined) ?? {}
    const picker: FieldDefinition = {
      name: selectedBy,
      label: 'Authentication type',
      type: 'select',
      options: Object.entries(options).map(([k, o]) => [String(o.label ?? k), k]),
    }
    const key = values[selectedBy]
    const chosen = typeof key === 'string' ? options[key] : undefined
    if (!chosen) return mergeFields(connector.fields, [picker])
    const own = schemeFields(String(chosen.type), chosen)
    if (own === undefined)
      return connector.connectionFields ?? mergeFields(connector.fields, [picker])
    return mergeFields(connector.fields, [picker, ...(chosen.fields ?? []), ...own])
  }
  if (connector.connectionFields) return connector.connectionFields
  return [...connector.fields, ...(schemeFields(auth.type, auth) ?? [])]
}

/** Whether connecting sends the user's browser to the provider. */
export function usesBrowser(connector: ConnectorView, values: Obj): boolean {
  const auth = connector.auth
  const of = (type: string, s: Obj) =>
    type === 'oauth1' || (type === 'oauth2' && s.grantType !== 'client_credentials')
  if (auth.type === 'multi') {
    const options = (auth.options as Record<string, Obj> | undefined) ?? {}
    const key = values[String(auth.selectedBy ?? 'auth_type')]
    const chosen = typeof key === 'string' ? options[key] : undefined
    return chosen ? of(String(chosen.type), chosen) : false
  }
  return of(auth.type, auth)
}
