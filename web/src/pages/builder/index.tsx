/**
 * The connector builder (docs/auth/): General, Security, Scopes, Connection fields, Custom
 * actions and JSON, one draft shared by all of them, saved with the API's own validation.
 */
import { useCallback, useEffect, useMemo, useRef, useState } from 'react'
import { api, ApiError, errorText, type ConnectorView, type FieldIssue } from '../../api.js'
import { useConfirm } from '../../components/dialog.js'
import { ErrorBox, Loading, StageBadge } from '../../components/feedback.js'
import { Tabs, type TabSpec } from '../../components/tabs.js'
import { useToast } from '../../components/toast.js'
import {
  findType,
  initialAuth,
  preferredType,
  scopesSetting,
  useAuthTypes,
} from '../../lib/auth-types.js'
import {
  deriveLinkName,
  draftOf,
  exportOf,
  newDraft,
  patchOf,
  validateDraft,
} from '../../lib/definition.js'
import { downloadJson } from '../../lib/download.js'
import { pathKey, setIn, type Path } from '../../lib/paths.js'
import { Link, navigate, useLocation } from '../../router.js'
import type { AuthTypeInfo, ConnectorDraft } from '../../types.js'
import { CustomActionSection } from './actions.js'
import { BuilderContext, type Builder } from './context.js'
import { FieldsEditor } from './fields-editor.js'
import { GeneralSection } from './general.js'
import { JsonSection } from './json-tab.js'
import { ScopesSection } from './scopes.js'
import { SecuritySection } from './security.js'
import { TemplateChooser } from './templates.js'

const TAB_OF: [prefix: string, tab: string][] = [
  ['auth', 'security'],
  ['fields', 'fields'],
  ['customAction', 'actions'],
  ['actions', 'actions'],
]

/** The tab a problem's path is fixed in; `scopes` is the setting the Scopes tab edits. */
function tabOf(path: string, scopes: string | undefined): string {
  const tabs: [string, string][] = scopes ? [[`auth.${scopes}`, 'scopes'], ...TAB_OF] : TAB_OF
  return tabs.find(([p]) => path === p || path.startsWith(`${p}.`))?.[1] ?? 'general'
}

const related = (a: string, b: string) =>
  a === b || a.startsWith(`${b}.`) || b.startsWith(`${a}.`) || a === '' || b === ''

/** The builder needs the server's auth types first: their forms are drawn from them. */
export function ConnectorBuilderPage({ id }: { id: string | undefined }) {
  const { types, error, retry } = useAuthTypes()
  if (error)
    return <ErrorBox error={error} title="The auth types could not be loaded" onRetry={retry} />
  if (!types) return <Loading what="Loading the auth types" />
  return <BuilderPage id={id} authTypes={types} />
}

function BuilderPage({ id, authTypes }: { id: string | undefined; authTypes: AuthTypeInfo[] }) {
  const fresh = useCallback(() => {
    const first = preferredType(authTypes)
    return newDraft(first ? initialAuth(first) : { type: '' })
  }, [authTypes])
  const [view, setView] = useState<ConnectorView | undefined>()
  const [loadError, setLoadError] = useState<unknown>()
  const [draft, setDraft] = useState<ConnectorDraft | undefined>(id ? undefined : fresh)
  const [linkNameEdited, setLinkNameEdited] = useState(false)
  const [touched, setTouched] = useState<Set<string>>(new Set())
  const [showAll, setShowAll] = useState(false)
  const [serverIssues, setServerIssues] = useState<FieldIssue[]>([])
  const [summary, setSummary] = useState<string | undefined>()
  const [saving, setSaving] = useState(false)
  const location = useLocation()
  const [tab, setTab] = useState(location.search.get('tab') ?? 'general')
  const notify = useToast()
  const confirm = useConfirm()
  const summaryRef = useRef<HTMLDivElement>(null)

  const load = useCallback(async () => {
    if (!id) return
    try {
      const v = await api.connectors.get(id)
      setView(v)
      setDraft(draftOf(v))
      setLinkNameEdited(v.linkName !== deriveLinkName(v.name))
      setLoadError(undefined)
    } catch (err) {
      setLoadError(err)
    }
  }, [id])

  useEffect(() => {
    void load()
  }, [load])

  const baseline = useMemo(() => (view ? draftOf(view) : fresh()), [view, fresh])
  const dirty = draft !== undefined && JSON.stringify(draft) !== JSON.stringify(baseline)
  useEffect(() => {
    if (!dirty) return
    const warn = (e: BeforeUnloadEvent) => e.preventDefault()
    window.addEventListener('beforeunload', warn)
    return () => window.removeEventListener('beforeunload', warn)
  }, [dirty])
  useEffect(() => {
    document.title = `${view ? view.name : 'New connector'} · Patchbay`
  }, [view])

  const clientIssues = useMemo(() => (draft ? validateDraft(draft) : []), [draft])
  const visibleIssues = useMemo(
    () => [
      ...clientIssues.filter(
        (i) => showAll || [...touched].some((t) => related(t, i.path) && t !== ''),
      ),
      ...serverIssues.filter((s) => !clientIssues.some((c) => c.path === s.path)),
    ],
    [clientIssues, serverIssues, showAll, touched],
  )

  if (loadError)
    return (
      <ErrorBox
        error={loadError}
        title="The connector could not be loaded"
        onRetry={() => void load()}
      />
    )
  if (!draft) return <Loading what="Loading the connector" />

  const frozen = view?.stage === 'ready'
  const set = (path: Path, value: unknown) => {
    const key = pathKey(path)
    setDraft((d) => {
      let next = setIn(d!, path, value)
      if (key === 'name' && !linkNameEdited && !frozen) {
        next = setIn(next, ['linkName'], value ? deriveLinkName(String(value)) : undefined)
      }
      return next
    })
    if (key === 'linkName') setLinkNameEdited(true)
    setTouched((t) => new Set(t).add(key))
    setServerIssues((issues) => issues.filter((i) => !related(i.path, key) || key === ''))
  }

  const builder: Builder = {
    draft,
    view,
    set,
    issue: (path) => {
      const key = pathKey(path)
      const rules = [...new Set(visibleIssues.filter((i) => i.path === key).map((i) => i.rule))]
      return rules.length ? rules.join('; ') : undefined
    },
    frozen,
    dirty,
    authTypes,
  }

  const showSummary = (text: string) => {
    setSummary(text)
    window.setTimeout(() => summaryRef.current?.focus(), 0)
  }

  const save = async () => {
    const problems = validateDraft(draft)
    if (problems.length) {
      setShowAll(true)
      showSummary(
        `Not saved: ${problems.length} problem${problems.length === 1 ? '' : 's'} to fix first.`,
      )
      return
    }
    setSaving(true)
    try {
      if (view) {
        const updated = await api.connectors.update(view.id, patchOf(draft, view))
        setView(updated)
        setDraft(draftOf(updated))
        notify(`Saved “${updated.name}”`)
      } else {
        const created = await api.connectors.create(draft)
        notify(`Created “${created.name}” as a draft`)
        navigate(`/connectors/${encodeURIComponent(created.id)}?tab=${tab}`, { replace: true })
        return
      }
      setServerIssues([])
      setSummary(undefined)
      setShowAll(false)
    } catch (err) {
      if (err instanceof ApiError && err.issues.length) {
        setServerIssues(err.issues)
        showSummary(`Not saved: ${err.message}`)
      } else {
        showSummary(`Not saved: ${errorText(err)}`)
      }
    } finally {
      setSaving(false)
    }
  }

  const markReady = async () => {
    if (!view) return
    const ok = await confirm({
      title: 'Mark as ready?',
      message:
        'Connections can then be created. A ready connector never goes back to draft, and its auth settings are frozen (scopes can still be added).',
      confirmLabel: 'Mark as ready',
    })
    if (!ok) return
    try {
      const ready = await api.connectors.ready(view.id)
      setView(ready)
      setDraft(draftOf(ready))
      notify(`“${ready.name}” is ready`)
    } catch (err) {
      notify(errorText(err), 'error')
      await load()
    }
  }

  const remove = async () => {
    if (!view) return
    const ok = await confirm({
      title: 'Delete connector?',
      message: `Delete “${view.name}”? This cannot be undone.${
        view.connectionCount
          ? ` It has ${view.connectionCount} connection(s); delete them first.`
          : ''
      }`,
      confirmLabel: 'Delete connector',
      danger: true,
    })
    if (!ok) return
    try {
      await api.connectors.delete(view.id)
      notify(`Deleted “${view.name}”`)
      navigate('/connectors')
    } catch (err) {
      notify(errorText(err), 'error')
    }
  }

  const typeInfo = findType(authTypes, draft.auth.type)
  const scopes = scopesSetting(typeInfo)
  const count = (t: string) => {
    const n = visibleIssues.filter((i) => tabOf(i.path, scopes) === t).length
    return n ? `(${n} problem${n === 1 ? '' : 's'})` : undefined
  }
  const tabs: TabSpec[] = [
    { id: 'general', label: 'General', note: count('general') },
    { id: 'security', label: 'Security', note: count('security') },
    ...(scopes
      ? [
          {
            id: 'scopes',
            label: typeInfo?.presentation.settings?.[scopes]?.label ?? 'Scopes',
            note: count('scopes'),
          },
        ]
      : []),
    { id: 'fields', label: 'Connection fields', note: count('fields') },
    { id: 'actions', label: 'Custom actions', note: count('actions') },
    { id: 'json', label: 'JSON' },
  ]
  const current = tabs.some((t) => t.id === tab) ? tab : 'general'
  const missing = [
    ...(view?.missing ?? []),
    ...(view?.testRequired
      ? [{ path: 'auth', rule: 'needs a successful test request (Security tab, “Test request”)' }]
      : []),
  ]
  const readyBlocked = !view || missing.length > 0 || dirty
  const managedByCode = view?.source === 'code'

  /** A template's connector replaces the draft (after asking, when there are changes). */
  const applyTemplate = async (next: ConnectorDraft, title: string) => {
    if (
      dirty &&
      !(await confirm({
        title: 'Replace the draft?',
        message: `Start from the ${title} template? What you entered so far is replaced.`,
        confirmLabel: 'Use the template',
      }))
    )
      return
    const named = next.linkName !== undefined
    setDraft(named ? next : { ...next, linkName: deriveLinkName(next.name) })
    setLinkNameEdited(named)
    setTouched(new Set())
    setServerIssues([])
    setSummary(undefined)
    setTab('general')
    notify(`Filled in from the ${title} template: review it, then create the connector`)
  }

  return (
    <BuilderContext.Provider value={builder}>
      <div className="page-head">
        <div>
          <p className="crumbs">
            <Link to="/connectors">Connectors</Link> /
          </p>
          <h1>
            {view ? view.name : 'New connector'} {view ? <StageBadge stage={view.stage} /> : null}
          </h1>
          {dirty ? <p className="unsaved">Unsaved changes</p> : null}
        </div>
        <div className="head-actions">
          {managedByCode ? null : (
            <button
              type="button"
              className="primary"
              disabled={saving || (!dirty && view !== undefined)}
              onClick={() => void save()}
            >
              {saving ? 'Saving…' : view ? 'Save' : 'Create connector'}
            </button>
          )}
          {view && view.stage === 'draft' ? (
            <button
              type="button"
              className="secondary"
              disabled={readyBlocked}
              aria-describedby="ready-status"
              onClick={() => void markReady()}
            >
              Mark as ready
            </button>
          ) : null}
          {view?.stage === 'ready' ? (
            <Link
              className="button secondary"
              to={`/connections/new?connector=${encodeURIComponent(view.id)}`}
            >
              Add connection
            </Link>
          ) : null}
          {view ? (
            <button
              type="button"
              className="secondary"
              onClick={() => downloadJson(`${view.linkName}.json`, exportOf(view))}
            >
              Export JSON
            </button>
          ) : null}
          {view && !managedByCode ? (
            <button type="button" className="danger" onClick={() => void remove()}>
              Delete
            </button>
          ) : null}
        </div>
      </div>

      {view?.stage === 'draft' ? (
        <div id="ready-status" className={missing.length ? 'notice' : 'ok-box'}>
          {dirty ? (
            <p>Save your changes before marking the connector as ready.</p>
          ) : missing.length ? (
            <>
              <p>
                <strong>Not ready yet.</strong> Before it can be marked as ready, it needs:
              </p>
              <ul>
                {missing.map((m, i) => (
                  <li key={i}>
                    <code>{m.path}</code> {m.rule}
                  </li>
                ))}
              </ul>
            </>
          ) : (
            <p>Complete: it can be marked as ready.</p>
          )}
        </div>
      ) : null}
      {view?.stage === 'ready' ? (
        <p className="muted">
          Ready · {view.connectionCount} connection{view.connectionCount === 1 ? '' : 's'} ·{' '}
          <Link to={`/connections?connector=${encodeURIComponent(view.id)}`}>see connections</Link>
        </p>
      ) : null}

      {view ? null : <TemplateChooser onUse={(d, title) => void applyTemplate(d, title)} />}

      {managedByCode ? (
        <p className="notice">
          This connector is defined in code (a file in PATCHBAY_CONNECTORS_DIR): it is shown
          read-only here. Change its file and restart the server to change it.
        </p>
      ) : null}

      <div ref={summaryRef} tabIndex={-1} className="summary-anchor">
        {summary ? (
          <div className="error-box" role="alert">
            <strong>{summary}</strong>
            {visibleIssues.length ? (
              <ul>
                {visibleIssues.map((i, k) => (
                  <li key={k}>
                    <button
                      type="button"
                      className="link-button"
                      onClick={() => setTab(tabOf(i.path, scopes))}
                    >
                      {i.path || '(definition)'}
                    </button>{' '}
                    {i.rule}
                  </li>
                ))}
              </ul>
            ) : null}
          </div>
        ) : null}
      </div>

      <Tabs tabs={tabs} selected={current} onSelect={setTab} label="Connector sections">
        <fieldset className="plain" disabled={managedByCode}>
          <legend className="visually-hidden">Connector definition</legend>
          {current === 'general' ? <GeneralSection linkNameEdited={linkNameEdited} /> : null}
          {current === 'security' ? <SecuritySection /> : null}
          {current === 'scopes' && typeInfo && scopes ? (
            <ScopesSection info={typeInfo} setting={scopes} />
          ) : null}
          {current === 'fields' ? (
            <section aria-labelledby="fields-heading" className="section">
              <h2 id="fields-heading">Connection fields</h2>
              <p className="hint">
                What a connection asks its user for, besides what the auth type asks (
                {view?.connectionFields
                  ? view.connectionFields
                      .filter((f) => !draft.fields.some((d) => d.name === f.name))
                      .map((f) => f.label ?? f.name)
                      .join(', ') || 'nothing'
                  : 'see the auth type'}
                ). Use them in templates as {'{{name}}'}.
                {frozen ? ' The connector is ready: only labels and hints can change.' : ''}
              </p>
              <FieldsEditor path={['fields']} title="Connection fields" shapeLocked={frozen} />
            </section>
          ) : null}
          {current === 'actions' ? <CustomActionSection onChanged={() => void load()} /> : null}
          {current === 'json' ? <JsonSection /> : null}
        </fieldset>
      </Tabs>
    </BuilderContext.Provider>
  )
}
