/**
 * "Start from a template" on the new-connector page (docs/templates.md): a searchable list of the
 * templates the server ships; choosing one asks for its placeholders (the client id and secret the
 * team registered with the provider) and fills the builder with the template's connector, to be
 * reviewed and created as any other draft.
 */
import { useEffect, useId, useMemo, useState } from 'react'
import { api, errorText } from '../../api.js'
import { ErrorBox, Loading } from '../../components/feedback.js'
import { TextInput } from '../../components/form.js'
import { newDraft } from '../../lib/definition.js'
import type { ConnectorDraft, Obj } from '../../types.js'
import {
  fillTemplate,
  type ConnectorTemplate,
  type TemplateSummary,
} from '../../../../src/connector/templates.js'

/** The builder's draft of a template's filled-in connector (what the JSON leaves out, defaulted). */
export function draftOfTemplate(connector: Obj): ConnectorDraft {
  const auth = (connector.auth ?? { type: '' }) as ConnectorDraft['auth']
  return { ...newDraft(auth), ...(connector as Partial<ConnectorDraft>) }
}

const authLabel = (t: TemplateSummary) =>
  t.grantType ? `${t.authType}, ${t.grantType}` : t.authType

function matches(t: TemplateSummary, query: string): boolean {
  const q = query.trim().toLowerCase()
  return q === '' || [t.name, t.title, t.description].some((s) => s.toLowerCase().includes(q))
}

export function TemplateChooser({
  onUse,
}: {
  onUse: (draft: ConnectorDraft, title: string) => void
}) {
  const [open, setOpen] = useState(false)
  const [items, setItems] = useState<TemplateSummary[] | undefined>()
  const [loadError, setLoadError] = useState<unknown>()
  const [query, setQuery] = useState('')
  const [chosen, setChosen] = useState<ConnectorTemplate | undefined>()
  const [values, setValues] = useState<Record<string, string>>({})
  const [problem, setProblem] = useState<string | undefined>()
  const panelId = useId()

  useEffect(() => {
    if (!open || items) return
    api.connectorTemplates.list().then(setItems, setLoadError)
  }, [open, items])

  const shown = useMemo(() => (items ?? []).filter((t) => matches(t, query)), [items, query])

  const choose = async (name: string) => {
    setProblem(undefined)
    try {
      const template = await api.connectorTemplates.get(name)
      setChosen(template)
      setValues({})
    } catch (err) {
      setProblem(errorText(err))
    }
  }

  const use = () => {
    if (!chosen) return
    const filled = fillTemplate(chosen, values)
    if (filled.missing.length) {
      setProblem(filled.missing.map((m) => `${m.path} ${m.rule}`).join('; '))
      return
    }
    onUse(draftOfTemplate(filled.connector), chosen.title)
    setOpen(false)
    setChosen(undefined)
    setValues({})
  }

  return (
    <section className="section template-chooser" aria-label="Templates">
      <button
        type="button"
        className="secondary"
        aria-expanded={open}
        aria-controls={panelId}
        onClick={() => setOpen((o) => !o)}
      >
        Start from a template
      </button>
      {open ? (
        <div id={panelId} className="template-panel">
          {loadError ? (
            <ErrorBox error={loadError} title="The templates could not be loaded" />
          ) : !items ? (
            <Loading what="Loading the templates" />
          ) : chosen ? (
            <form
              aria-label={`Fill in the ${chosen.title} template`}
              onSubmit={(e) => {
                e.preventDefault()
                use()
              }}
            >
              <h3>{chosen.title}</h3>
              <p className="hint">{chosen.description}</p>
              <p className="hint">
                Register the redirect URI <code>{`${window.location.origin}/oauth/callback`}</code>{' '}
                (or your public URL’s) with the provider. Docs:{' '}
                {chosen.docs.map((d, i) => (
                  <span key={d}>
                    {i ? ', ' : ''}
                    <a href={d} target="_blank" rel="noreferrer noopener">
                      {new URL(d).hostname}
                    </a>
                  </span>
                ))}
              </p>
              <div className="grid-2">
                {chosen.placeholders.map((p) => (
                  <TextInput
                    key={p.name}
                    label={p.label}
                    hint={p.hint}
                    required={!p.optional}
                    type={p.secret ? 'password' : 'text'}
                    autoComplete={p.secret ? 'new-password' : 'off'}
                    value={values[p.name] ?? ''}
                    onChange={(v) => setValues((old) => ({ ...old, [p.name]: v }))}
                  />
                ))}
              </div>
              {problem ? (
                <p className="field-error" role="alert">
                  {problem}
                </p>
              ) : null}
              <div className="head-actions">
                <button type="submit" className="primary">
                  Use this template
                </button>
                <button type="button" className="secondary" onClick={() => setChosen(undefined)}>
                  Back to the list
                </button>
              </div>
            </form>
          ) : (
            <>
              <TextInput
                label="Search templates"
                type="search"
                value={query}
                onChange={setQuery}
                hint={`${items.length} templates: GitHub, Salesforce, Slack…`}
              />
              {problem ? (
                <p className="field-error" role="alert">
                  {problem}
                </p>
              ) : null}
              {shown.length === 0 ? <p className="muted">No template matches.</p> : null}
              <ul className="template-list" aria-label="Connector templates">
                {shown.map((t) => (
                  <li key={t.name}>
                    <button
                      type="button"
                      className="link-button"
                      aria-label={`Use the ${t.title} template`}
                      onClick={() => void choose(t.name)}
                    >
                      {t.title}
                    </button>{' '}
                    <span className="muted small">{authLabel(t)}</span>
                  </li>
                ))}
              </ul>
            </>
          )}
        </div>
      ) : null}
    </section>
  )
}
