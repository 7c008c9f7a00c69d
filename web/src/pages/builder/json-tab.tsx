/**
 * The whole definition as JSON, editable: syntax errors and schema problems point at their line,
 * and a valid edit becomes the builder's state (so the other tabs show it).
 */
import { useId, useMemo, useState } from 'react'
import { lineOf, parseLocated, JsonSyntaxError } from '../../lib/json-lines.js'
import { validateDraft } from '../../lib/definition.js'
import { useBuilder } from './context.js'

/** Whether a parsed value is shaped enough for the form tabs to show it. */
function shapeProblem(v: unknown): string | undefined {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return 'the definition must be a JSON object'
  const o = v as Record<string, unknown>
  const auth = o.auth as Record<string, unknown> | undefined
  if (!auth || typeof auth !== 'object' || typeof auth.type !== 'string')
    return '"auth" must be an object with a "type"'
  for (const k of ['fields', 'actions'])
    if (o[k] !== undefined && !Array.isArray(o[k])) return `"${k}" must be a list`
  return undefined
}

export function JsonSection() {
  const b = useBuilder()
  const id = useId()
  const [text, setText] = useState(() => JSON.stringify(b.draft, null, 2))
  const state = useMemo(() => {
    try {
      const { value, lines } = parseLocated(text)
      const shape = shapeProblem(value)
      if (shape)
        return { syntax: undefined, shape, issues: [] as { line?: number; text: string }[] }
      const issues = validateDraft(value).map((i) => ({
        line: lineOf(lines, i.path),
        text: `${i.path || '(definition)'} ${i.rule}`,
      }))
      return { syntax: undefined, shape: undefined, issues, value }
    } catch (err) {
      return {
        syntax: err instanceof JsonSyntaxError ? err : new JsonSyntaxError(String(err), 1, 1),
        shape: undefined,
        issues: [],
      }
    }
  }, [text])

  return (
    <section aria-labelledby="json-heading" className="section">
      <h2 id="json-heading">JSON</h2>
      <p className="hint">
        The whole definition. Edits here show in the other tabs, and theirs here. Secret settings
        show as ******** and keep their stored value unless you type a new one.
      </p>
      <div className="field">
        <label htmlFor={`${id}-json`}>Connector definition (JSON)</label>
        <textarea
          id={`${id}-json`}
          className="mono json-editor"
          rows={Math.min(40, Math.max(12, text.split('\n').length + 1))}
          value={text}
          spellCheck={false}
          aria-invalid={state.syntax || state.shape || state.issues.length ? true : undefined}
          aria-describedby={`${id}-status`}
          onChange={(e) => {
            const next = e.target.value
            setText(next)
            try {
              const { value } = parseLocated(next)
              if (!shapeProblem(value)) b.set([], value)
            } catch {
              // shown below; the builder keeps its last valid state
            }
          }}
        />
      </div>
      <div id={`${id}-status`} aria-live="polite">
        {state.syntax ? (
          <p className="field-error">
            Line {state.syntax.line}: {state.syntax.message}. The other tabs keep the last valid
            JSON.
          </p>
        ) : state.shape ? (
          <p className="field-error">Not applied: {state.shape}.</p>
        ) : state.issues.length ? (
          <ul className="issues">
            {state.issues.map((i, k) => (
              <li key={k} className="field-error">
                {i.line ? `Line ${i.line}: ` : ''}
                {i.text}
              </li>
            ))}
          </ul>
        ) : (
          <p className="ok-text">Valid JSON; the auth settings are checked when you save.</p>
        )}
      </div>
    </section>
  )
}
