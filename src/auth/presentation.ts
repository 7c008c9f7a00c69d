/**
 * How the connector builder shows an auth type's settings. The web UI draws a type's form from
 * two things `GET /api/v1/auth-types` answers: the JSON Schema of the scheme's `settings` (what
 * each setting is: type, required, enum, default, limits) and the scheme's `presentation`, the
 * hints below (what to call it, in which order and layout, when to show it, which editor). The UI
 * implements the widgets of `WIDGETS` and never names an auth type, so a new type describes its
 * form in its own module (docs/auth/README.md, "Adding an auth type").
 *
 * A presentation is plain JSON: it is sent to the browser as it is.
 *
 * Without hints a setting still gets an input: a humanised name as its label, and the editor its
 * JSON Schema suggests (see `Widget`).
 *
 * @module
 */

/** The part of JSON Schema (draft 2020-12, as `z.toJSONSchema` writes it) the builder reads. */
export interface JsonSchema {
  type?: string | string[]
  properties?: Record<string, JsonSchema>
  required?: string[]
  additionalProperties?: boolean | JsonSchema
  items?: JsonSchema | false
  enum?: unknown[]
  anyOf?: JsonSchema[]
  default?: unknown
  minItems?: number
  maxItems?: number
  minLength?: number
  maxLength?: number
  minimum?: number
  maximum?: number
  pattern?: string
  [keyword: string]: unknown
}

/**
 * The editors the UI implements. When a hint names none, the JSON Schema decides:
 *
 * | schema | editor |
 * | --- | --- |
 * | string | `text` (`select` with an `enum` or with `options`; `password` for a secret setting) |
 * | integer, number | `number` |
 * | boolean | `checkbox` when required; else a select of Default / Yes / No |
 * | object with `properties` | its settings, nested (see `SettingHint.prefix`) |
 * | object with only `additionalProperties` | `key-value` |
 * | array of objects | `list` |
 * | array of anything else | `strings` |
 *
 * - `text`, `url`, `textarea`, `number`, `select`, `checkbox`: one input.
 * - `password`: a masked input. A setting in the scheme's `secretSettings` always gets it: the
 *   API answers such a setting as `********`, so the input is never prefilled, and leaving it
 *   empty keeps the stored value.
 * - `key-value`: rows of name and value (a string map: headers, query, extra parameters).
 * - `list`: cards of objects, each item's settings drawn from `settings` and `groups`, added with
 *   `newItem` and removed one by one, within `minItems` / `maxItems`.
 * - `strings`: rows of one short string each; `signals`: the same, where a three-digit number is
 *   a status (`refreshOn`, `detectOn`: docs/auth/README.md, "Signals").
 * - `scopes`: an array of `{ name, value }` edited in its own "Scopes" tab (search, bulk delete,
 *   rows locked once a connection exists, each row checked against the item schema, values
 *   unique); the form shows the setting's `hint` in its place.
 * - `auth-options`: a map of nested auth settings, `{ <key>: { label, type, fields?, ...settings
 *   of that type } }`: each entry picks a type (any type without an `auth-options` setting of its
 *   own) and is drawn with that type's form, then its connection fields.
 */
export const WIDGETS = [
  'text',
  'url',
  'password',
  'textarea',
  'number',
  'select',
  'checkbox',
  'key-value',
  'list',
  'strings',
  'signals',
  'scopes',
  'auth-options',
] as const
export type Widget = (typeof WIDGETS)[number]

export type HintValue = string | number | boolean

/**
 * A condition on another setting of the same object, by its current value in the draft (an absent
 * setting has the value `undefined`, which is in no list).
 */
export interface HintCondition {
  setting: string
  /** Holds when the value is one of these. */
  is?: readonly HintValue[]
  /** Holds when the value is none of these. */
  not?: readonly HintValue[]
}

/** Hints for the settings of one object: the scheme's settings, a nested object's, a list item's. */
export interface HintSet {
  /** By setting name; each must be a property of the object's schema. */
  settings?: Record<string, SettingHint>
  /** Groups the settings' `group` names. */
  groups?: Record<string, GroupHint>
}

export interface SettingHint extends HintSet {
  /**
   * What the input is called (default: the name, humanised). Inside a nested object or a list
   * item, the object's `prefix` is put before it: `Parameter 1` + `key` → "Parameter 1 key".
   */
  label?: string
  /** Help under the input. */
  hint?: string
  /** Help that replaces `hint` while its condition holds; the first that holds wins. */
  hintWhen?: readonly { when: HintCondition; hint: string }[]
  placeholder?: string
  /** Settings show in ascending `order` (default 0), ties in schema order. */
  order?: number
  /** The `groups` entry this setting is drawn in. */
  group?: string
  /** Shown only while the condition holds (a hidden setting keeps its value). */
  visibleWhen?: HintCondition
  /** Marks the input required, or required while a condition holds (default: the schema's `required`). */
  required?: boolean | HintCondition
  /** The editor, when the schema's own (see `Widget`) is not the right one. */
  widget?: Widget
  /**
   * `[value, label]` in the order to offer them: labels for an enum's values (covering all of
   * them), or the choices of a string setting the schema does not enumerate.
   */
  options?: readonly (readonly [value: string, label: string])[]
  /** Offers an empty choice with this label, which leaves the setting out (its default applies). */
  emptyLabel?: string
  /** `key-value`: the column names (default Name, Value). */
  keyLabel?: string
  valueLabel?: string
  /** `list`, `auth-options`, `strings`, `signals`: what one item is called ("Parameter", "Step"). */
  itemLabel?: string
  /**
   * `list`: the item "Add" appends (default `{}`). An object with `toggle`: the value switching it
   * on sets.
   */
  newItem?: unknown
  /** `auth-options`: the placeholder of the new key's input. */
  keyPlaceholder?: string
  /** A nested object: what its settings' labels start with (default its `label`). */
  prefix?: string
  /** A nested object: drawn in a framed box with its `label` as the legend. */
  frame?: boolean
  /**
   * An optional nested object: a checkbox with this label switches it on (setting `newItem`) and
   * off (leaving it out); framed like `frame`.
   */
  toggle?: string
  /** The rule a value breaking the schema's `pattern` is refused with, as the API words it. */
  patternRule?: string
}

export interface GroupHint {
  /** A heading over the group, or the summary line of a collapsed one. */
  title?: string
  hint?: string
  /** Side by side: two or three equal columns, or a narrow one then a wide one. */
  layout?: 'columns-2' | 'columns-3' | 'narrow-wide'
  /** Folded away under `title` until opened ("Advanced"). */
  collapsed?: boolean
}

/** The builder's "test request" panel, for a scheme with a `test` hook. */
export interface TestHint {
  /** What the test does, shown above its button. */
  hint: string
  /**
   * The test report's body holds the value a setting points at: each value in it can be picked
   * to fill `setting` (the report repeats the setting's current value under the same key), and
   * the report's `ok` says whether the `noun` was found.
   */
  pick?: { setting: string; noun: string }
}

export interface AuthPresentation extends HintSet {
  /** What the type picker calls the type, when it should not be the scheme's `label`. */
  label?: string
  /** The type a new connector starts with (the first type that says so). */
  preferred?: boolean
  /** The settings a type starts with when it is picked (each a setting of the schema). */
  initial?: Record<string, unknown>
  /** Shown under the form. */
  note?: string
  test?: TestHint
}

/** One item of `GET /api/v1/auth-types`. */
export interface AuthTypeDescription {
  type: string
  label: string
  /** `z.toJSONSchema(scheme.settings, { io: 'input', unrepresentable: 'any' })`. */
  settings: JsonSchema
  presentation: AuthPresentation
  secretSettings: string[]
  testBeforeReady: boolean
  hasTest: boolean
}

const typesOf = (schema: JsonSchema): string[] =>
  schema.type === undefined ? [] : Array.isArray(schema.type) ? schema.type : [schema.type]

const isObject = (s: JsonSchema) => typesOf(s).includes('object')
const isArray = (s: JsonSchema) => typesOf(s).includes('array')
const itemsOf = (s: JsonSchema): JsonSchema | undefined =>
  typeof s.items === 'object' ? s.items : undefined
const recordOf = (s: JsonSchema): JsonSchema | undefined =>
  typeof s.additionalProperties === 'object' ? s.additionalProperties : undefined

/** Which schemas each widget can edit. */
const FITS: Record<Widget, (s: JsonSchema) => boolean> = {
  text: (s) => typesOf(s).includes('string'),
  url: (s) => typesOf(s).includes('string'),
  password: (s) => typesOf(s).includes('string'),
  textarea: (s) => typesOf(s).includes('string'),
  number: (s) => typesOf(s).some((t) => t === 'integer' || t === 'number'),
  select: (s) => typesOf(s).includes('string') || s.enum !== undefined,
  checkbox: (s) => typesOf(s).includes('boolean'),
  'key-value': (s) => isObject(s) && recordOf(s) !== undefined && s.properties === undefined,
  list: (s) => isArray(s) && itemsOf(s) !== undefined && isObject(itemsOf(s)!),
  strings: isArray,
  signals: isArray,
  scopes: (s) => {
    const item = itemsOf(s)
    return isArray(s) && item?.properties?.name !== undefined && item.properties.value !== undefined
  },
  'auth-options': (s) => isObject(s) && recordOf(s) !== undefined && isObject(recordOf(s)!),
}

/** The schema of the object whose settings a hint's `settings` describe, if it has one. */
function innerObject(schema: JsonSchema, hint: SettingHint): JsonSchema | undefined {
  if (hint.widget === 'auth-options') return recordOf(schema)
  if (isArray(schema)) return itemsOf(schema)
  return schema.properties ? schema : undefined
}

function conditionProblems(
  where: string,
  condition: HintCondition,
  object: JsonSchema,
  out: string[],
): void {
  const target = object.properties?.[condition.setting]
  if (!target) {
    out.push(`${where} names "${condition.setting}", which is not a setting beside it`)
    return
  }
  if (target.enum) {
    for (const v of [...(condition.is ?? []), ...(condition.not ?? [])]) {
      if (!target.enum.includes(v))
        out.push(
          `${where} compares "${condition.setting}" with ${JSON.stringify(v)}, not one of its values`,
        )
    }
  }
}

function hintSetProblems(path: string, object: JsonSchema, hints: HintSet, out: string[]): void {
  const used = new Set<string>()
  for (const [name, hint] of Object.entries(hints.settings ?? {})) {
    const at = path ? `${path}.${name}` : name
    const schema = object.properties?.[name]
    if (!schema) {
      out.push(`${at} is not a setting of the schema`)
      continue
    }
    if (hint.group !== undefined) {
      used.add(hint.group)
      if (!hints.groups?.[hint.group])
        out.push(`${at} names the group "${hint.group}", which is not in groups`)
    }
    if (hint.widget !== undefined && !FITS[hint.widget](schema))
      out.push(`${at}: the ${hint.widget} widget cannot edit this schema`)
    if (hint.options) {
      const values = hint.options.map(([v]) => v)
      if (schema.enum) {
        const missing = schema.enum.filter((v) => !values.includes(v as string))
        const extra = values.filter((v) => !schema.enum!.includes(v))
        if (missing.length)
          out.push(`${at}: options leave out ${missing.map((v) => JSON.stringify(v)).join(', ')}`)
        if (extra.length)
          out.push(
            `${at}: options offer ${extra.map((v) => JSON.stringify(v)).join(', ')}, not in the enum`,
          )
      } else if (!typesOf(schema).includes('string')) {
        out.push(`${at}: options need a string or an enum`)
      }
    }
    if (hint.visibleWhen) conditionProblems(`${at}.visibleWhen`, hint.visibleWhen, object, out)
    if (typeof hint.required === 'object')
      conditionProblems(`${at}.required`, hint.required, object, out)
    for (const [i, h] of (hint.hintWhen ?? []).entries())
      conditionProblems(`${at}.hintWhen.${i}`, h.when, object, out)
    if (hint.patternRule !== undefined && schema.pattern === undefined)
      out.push(`${at}: patternRule, but the schema has no pattern`)
    if (hint.settings || hint.groups) {
      const inner = innerObject(schema, hint)
      if (inner) hintSetProblems(at, inner, hint, out)
      else out.push(`${at}: settings or groups, but the schema holds no object`)
    }
  }
  for (const group of Object.keys(hints.groups ?? {})) {
    if (!used.has(group))
      out.push(`${path ? `${path}: ` : ''}the group "${group}" holds no setting`)
  }
}

/**
 * What is wrong with a presentation for the settings it describes (empty when nothing is):
 * hints for settings the schema does not have, options that do not cover an enum, conditions on
 * settings that are not there, widgets that cannot edit their setting, unknown groups.
 */
export function presentationProblems(
  settings: JsonSchema,
  presentation: AuthPresentation,
  secretSettings: readonly string[] = [],
): string[] {
  const out: string[] = []
  hintSetProblems('', settings, presentation, out)
  for (const key of Object.keys(presentation.initial ?? {})) {
    if (!settings.properties?.[key]) out.push(`initial.${key} is not a setting of the schema`)
  }
  const pick = presentation.test?.pick?.setting
  if (pick !== undefined && !settings.properties?.[pick])
    out.push(`test.pick.setting "${pick}" is not a setting of the schema`)
  for (const secret of secretSettings) {
    const top = secret.split('.')[0]!
    if (!settings.properties?.[top]) out.push(`the secret setting ${secret} is not in the schema`)
  }
  return out
}
