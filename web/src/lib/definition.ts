/**
 * The connector definition as the builder edits it, validated with the same schemas and naming
 * rules the API uses (`src/connector`), and the same wording for each rule (`toFieldIssues`).
 */
import { connectorBaseShape, connectorInputSchema } from '../../../src/connector/schema.js'
import { deriveLinkName, NAME_MAX } from '../../../src/connector/rules.js'
import { toFieldIssues } from '../../../src/engine/issues.js'
import type { AuthSettings, ConnectorDraft, Obj } from '../types.js'
import type { ConnectorView, FieldIssue } from '../api.js'

export { deriveLinkName, NAME_MAX }

/** What the API answers in place of a secret setting; sending it back keeps the stored secret. */
export const MASK = '********'

/** A new connector, with `auth` the settings of the type it starts with. */
export function newDraft(auth: AuthSettings): ConnectorDraft {
  return {
    name: '',
    baseUrl: '',
    fields: [],
    auth,
    customAction: { enabled: true },
    actions: [],
  }
}

/** The editable definition of a connector the API answered. */
export function draftOf(view: ConnectorView): ConnectorDraft {
  const draft: ConnectorDraft = {
    name: view.name,
    linkName: view.linkName,
    baseUrl: view.baseUrl,
    fields: view.fields ?? [],
    auth: view.auth,
    customAction: view.customAction ?? { enabled: false },
    actions: (view.actions ?? []).map(({ breaker: _b, ...a }) => a),
  }
  if (view.description !== undefined) draft.description = view.description
  if (view.logo !== undefined) draft.logo = view.logo
  if (view.allowedOrigins !== undefined) draft.allowedOrigins = view.allowedOrigins
  if (view.breaker !== undefined) draft.breaker = view.breaker
  if (view.identity !== undefined) draft.identity = view.identity
  return draft
}

/** The auth settings without the masks the API put in place of secret settings. */
function withoutMasks(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutMasks)
  if (value && typeof value === 'object') {
    const out: Obj = {}
    for (const [k, v] of Object.entries(value as Obj)) if (v !== MASK) out[k] = withoutMasks(v)
    return out
  }
  return value
}

/**
 * A definition to import elsewhere: no ids, no (masked) secrets. A mask is meaningless away from
 * the stored secret it stands for, so every one is left out.
 */
export function exportOf(view: ConnectorView): Obj {
  const draft = draftOf(view)
  return {
    ...draft,
    auth: withoutMasks(draft.auth),
    actions: draft.actions.map(({ id: _id, ...a }) => a),
  }
}

/** Problems the shared schema finds, worded as the API words them. */
export function validateDraft(draft: unknown): FieldIssue[] {
  const parsed = connectorInputSchema.safeParse(draft)
  return parsed.success ? [] : toFieldIssues(parsed.error)
}

/** One General field checked alone, as the user types. */
export function checkGeneral(
  key: 'name' | 'linkName' | 'description' | 'logo' | 'baseUrl',
  value: string,
): string | undefined {
  const schema = connectorBaseShape[key]
  const r = schema.safeParse(value)
  return r.success ? undefined : toFieldIssues(r.error)[0]?.rule
}

/** The body of a PATCH: the whole editable definition, `null` for what was removed. */
export function patchOf(draft: ConnectorDraft, before: ConnectorView): Obj {
  const patch: Obj = { ...draft }
  if (before.logo !== undefined && draft.logo === undefined) patch.logo = null
  if (before.identity !== undefined && draft.identity === undefined) patch.identity = null
  return patch
}

/**
 * Parses a signal the way the pipeline reads it (docs/pipeline.md): a 3-digit number is a status.
 */
export function parseSignal(text: string): string | number {
  return /^[1-5]\d\d$/.test(text.trim()) ? Number(text.trim()) : text
}
