/**
 * Custom action (enable, help, learn-more link) and saved actions (docs/concepts.md): method, path,
 * query, headers and a body with {{input.x}} templates, and typed inputs.
 */
import { useEffect, useState } from 'react'
import { HTTP_METHODS } from '../../../../src/connector/literals.js'
import { api, errorText } from '../../api.js'
import { TextArea } from '../../components/form.js'
import { BreakerState } from '../../components/feedback.js'
import { useToast } from '../../components/toast.js'
import type { SavedAction } from '../../types.js'
import { BBool, BKeyValue, BSelect, BText, BTextArea, useBuilder } from './context.js'
import { FieldsEditor } from './fields-editor.js'

const METHODS = HTTP_METHODS.map((m) => [m, m] as const)

export function CustomActionSection({ onChanged }: { onChanged: () => void }) {
  const b = useBuilder()
  const actions = b.draft.actions
  return (
    <section aria-labelledby="actions-heading" className="section">
      <h2 id="actions-heading">Custom actions</h2>
      <BBool
        path={['customAction', 'enabled']}
        label="Enable custom actions"
        hint="Lets anyone with access send any request through a connection (the console, /proxy)."
      />
      <details className="group">
        <summary>Help shown with custom actions</summary>
        <BTextArea path={['customAction', 'help', 'body']} label="Help text" rows={3} />
        <div className="grid-2">
          <BText
            path={['customAction', 'help', 'learnMoreUrl']}
            label="Learn-more link"
            type="url"
            placeholder="https://developers.example.com/api"
          />
          <BText
            path={['customAction', 'help', 'learnMoreText']}
            label="Learn-more link text"
            placeholder="API reference"
          />
        </div>
      </details>

      <h3>Saved actions</h3>
      {actions.length === 0 ? (
        <p className="muted">
          No saved actions. Add one here, or send a request in the console and choose “Save as
          action”.
        </p>
      ) : null}
      {actions.map((a, i) => (
        <SavedActionEditor key={a.id ?? `new-${i}`} index={i} action={a} onChanged={onChanged} />
      ))}
      <button
        type="button"
        className="secondary"
        onClick={() =>
          b.set(
            ['actions'],
            [
              ...actions,
              { name: `Action ${actions.length + 1}`, method: 'GET', path: '', inputs: [] },
            ],
          )
        }
      >
        Add saved action
      </button>
    </section>
  )
}

function SavedActionEditor({
  index,
  action,
  onChanged,
}: {
  index: number
  action: SavedAction
  onChanged: () => void
}) {
  const b = useBuilder()
  const notify = useToast()
  const at = ['actions', index] as const
  const name = `Action ${index + 1}`
  const viewAction = b.view?.actions.find((x) => x.id !== undefined && x.id === action.id)
  const bodyText = (v: unknown) => (v === undefined ? '' : JSON.stringify(v, null, 2))
  const [body, setBody] = useState(() => bodyText(action.body))
  const [bodyError, setBodyError] = useState<string | undefined>()
  useEffect(() => {
    // The JSON tab may change the body: follow it unless the text here already says the same.
    setBody((current) => {
      try {
        if (
          current.trim() !== '' &&
          JSON.stringify(JSON.parse(current)) === JSON.stringify(action.body)
        )
          return current
      } catch {
        // keep what the user is typing
        return current
      }
      return bodyText(action.body)
    })
  }, [action.body])
  return (
    <fieldset className="card">
      <legend>
        {name}: {action.name}
      </legend>
      <div className="grid-2">
        <BText path={[...at, 'name']} label={`${name} name`} />
        <BText path={[...at, 'description']} label={`${name} description`} />
      </div>
      <div className="grid-request">
        <BSelect path={[...at, 'method']} label={`${name} method`} options={METHODS} />
        <BText
          path={[...at, 'path']}
          label={`${name} path`}
          placeholder="contacts/{{input.id}}"
          hint="Joins the base URL; {{input.x}} reads an input."
        />
      </div>
      <BKeyValue path={[...at, 'query']} label={`${name} query parameters`} />
      <BKeyValue path={[...at, 'headers']} label={`${name} headers`} />
      <TextArea
        label={`${name} body (JSON)`}
        mono
        rows={4}
        value={body}
        hint="Optional. Strings may hold {{input.x}} templates."
        error={bodyError}
        onChange={(text) => {
          setBody(text)
          if (text.trim() === '') {
            setBodyError(undefined)
            b.set([...at, 'body'], undefined)
            return
          }
          try {
            b.set([...at, 'body'], JSON.parse(text) as unknown)
            setBodyError(undefined)
          } catch (err) {
            setBodyError(`${name} body is not valid JSON: ${(err as Error).message}`)
          }
        }}
      />
      <h4>{name} inputs</h4>
      <FieldsEditor
        path={[...at, 'inputs']}
        title={`${name} inputs`}
        noun={`${name} input`}
        emptyText="No inputs: the action runs as it is."
      />
      {viewAction?.breaker ? (
        <p>
          Breaker: <BreakerState breaker={viewAction.breaker} />{' '}
          {viewAction.breaker.state !== 'closed' || viewAction.breaker.failures > 0 ? (
            <button
              type="button"
              className="secondary small"
              onClick={() =>
                void api.actions
                  .resetBreaker(viewAction.id!)
                  .then(() => {
                    notify(`Breaker of ${action.name} reset`)
                    onChanged()
                  })
                  .catch((err: unknown) => notify(errorText(err), 'error'))
              }
            >
              Reset breaker of {action.name}
            </button>
          ) : null}
        </p>
      ) : null}
      <button
        type="button"
        className="icon-button danger-text"
        onClick={() =>
          b.set(
            ['actions'],
            b.draft.actions.filter((_, j) => j !== index),
          )
        }
      >
        Remove {name.toLowerCase()}
      </button>
    </fieldset>
  )
}
