/**
 * The hosted connect page (docs/connect.md): an end user, holding only a connect-session token,
 * picks one of the offered connectors, fills in its fields (the admin UI's renderer), goes through
 * the provider's consent when the connector uses a browser flow, and ends on a clear result, which
 * is also reported to the embedding app (finish.ts).
 */
import { useEffect, useMemo, useRef, useState, type FormEvent, type ReactNode } from 'react'
import {
  cleanValues,
  FieldInputs,
  initialValues,
  issuesByField,
} from '../components/field-inputs.js'
import type { FieldDefinition } from '../../../src/connector/schema.js'
import type { Obj } from '../types.js'
import {
  ConnectError,
  createConnectApi,
  takeToken,
  type Brand,
  type ConnectApi,
  type PageConnection,
  type PageConnector,
  type PageSession,
} from './api.js'
import { finish, type FinishOutcome, type FinishStatus, type FinishTarget } from './finish.js'

const DONE_PATH = '/connect/done'

export function ConnectApp() {
  const token = useMemo(() => takeToken(), [])
  const [brand, setBrand] = useState<Brand>({ name: null, logoUrl: null })
  const api = useMemo(() => (token ? createConnectApi(token) : undefined), [token])
  const done = window.location.pathname.replace(/\/+$/, '') === DONE_PATH

  useEffect(() => {
    document.title = brand.name ? `Connect your account · ${brand.name}` : 'Connect your account'
  }, [brand.name])

  return (
    <div className="cx-page">
      <header className="cx-brand">
        {brand.logoUrl ? <img className="cx-brand-logo" src={brand.logoUrl} alt="" /> : null}
        {brand.name ? <span className="cx-brand-name">{brand.name}</span> : null}
      </header>
      <main className="cx-main" id="main">
        {!api ? (
          <Ended
            title="This connect link is not valid"
            message="This page needs the link you were given: open it again, or ask the app that sent you here for a new one."
          />
        ) : done ? (
          <AfterProvider api={api} onBrand={setBrand} />
        ) : (
          <Start api={api} onBrand={setBrand} />
        )}
      </main>
    </div>
  )
}

function Ended({ title, message }: { title: string; message: string }) {
  return (
    <section className="cx-card" aria-labelledby="cx-ended">
      <h1 id="cx-ended" className="cx-error-title">
        {title}
      </h1>
      <p>{message}</p>
      <p className="muted">You can close this window.</p>
    </section>
  )
}

function Problem({ error, onRetry }: { error: unknown; onRetry?: () => void }) {
  if (error instanceof ConnectError && error.sessionEnded)
    return (
      <Ended
        title={
          error.code === 'connect_session.expired'
            ? 'This connect link has ended'
            : 'This connect link is not valid'
        }
        message={error.message}
      />
    )
  return (
    <div className="help-box error-box" role="alert">
      <strong>Something went wrong</strong>
      <p>{error instanceof Error ? error.message : String(error)}</p>
      {onRetry ? (
        <button type="button" className="secondary" onClick={onRetry}>
          Try again
        </button>
      ) : null}
    </div>
  )
}

function Loading({ what }: { what: string }) {
  return (
    <p className="loading" role="status">
      {what}…
    </p>
  )
}

function Logo({ src, name }: { src: string | null; name: string }) {
  return src ? (
    <img className="logo logo-large" src={src} alt="" />
  ) : (
    <span className="logo logo-large logo-empty" aria-hidden="true">
      {name.slice(0, 1).toUpperCase()}
    </span>
  )
}

type Step =
  | { kind: 'choose' }
  | { kind: 'form'; connector: PageConnector }
  | { kind: 'redirecting'; connection: PageConnection }
  | { kind: 'done'; connection: PageConnection | null; status: FinishStatus }

/** The page as first opened: load the session, choose, fill in, connect. */
function Start({ api, onBrand }: { api: ConnectApi; onBrand: (b: Brand) => void }) {
  const [session, setSession] = useState<PageSession | undefined>()
  const [error, setError] = useState<unknown>()
  const [step, setStep] = useState<Step>({ kind: 'choose' })
  const [attempt, setAttempt] = useState(0)

  useEffect(() => {
    let live = true
    setError(undefined)
    api.session().then(
      (s) => {
        if (!live) return
        setSession(s)
        onBrand(s.brand)
        if (s.reconnect) {
          const r = s.reconnect
          setStep({
            kind: 'form',
            connector: {
              id: r.connector.id,
              linkName: '',
              name: r.connector.name,
              description: null,
              logo: null,
              fields: r.fields,
              browser: r.browser,
            },
          })
        } else if (s.connectors.length === 1) setStep({ kind: 'form', connector: s.connectors[0]! })
      },
      (err: unknown) => live && setError(err),
    )
    return () => {
      live = false
    }
  }, [api, onBrand, attempt])

  if (error) return <Problem error={error} onRetry={() => setAttempt((n) => n + 1)} />
  if (!session) return <Loading what="Loading" />

  const target: FinishTarget = {
    allowedOrigin: session.allowedOrigin,
    returnUrl: session.returnUrl,
  }
  const who = session.endUser.displayName ?? session.endUser.id

  switch (step.kind) {
    case 'choose':
      return (
        <section aria-labelledby="cx-title">
          <h1 id="cx-title">Connect your account</h1>
          <p className="cx-lead">
            Choose the service to connect for <strong>{who}</strong>.
          </p>
          {session.connectors.length === 0 ? (
            <div className="empty">
              <p className="empty-title">Nothing to connect</p>
              <p>This link offers no service that is ready. Ask the app for a new link.</p>
            </div>
          ) : (
            <ul className="cx-connectors">
              {session.connectors.map((c) => (
                <li key={c.id}>
                  <button
                    type="button"
                    className="cx-connector"
                    onClick={() => setStep({ kind: 'form', connector: c })}
                  >
                    <Logo src={c.logo} name={c.name} />
                    <span className="cx-connector-text">
                      <span className="cx-connector-name">{c.name}</span>
                      {c.description ? (
                        <span className="cx-connector-description">{c.description}</span>
                      ) : null}
                    </span>
                  </button>
                </li>
              ))}
            </ul>
          )}
          <CancelButton onDone={(s) => setStep(s)} />
        </section>
      )
    case 'form':
      return (
        <ConnectForm
          api={api}
          connector={step.connector}
          reconnect={session.reconnect}
          who={who}
          onBack={
            session.reconnect || session.connectors.length === 1
              ? undefined
              : () => setStep({ kind: 'choose' })
          }
          onStep={setStep}
        />
      )
    case 'redirecting':
      return (
        <section className="cx-card" aria-live="polite">
          <h1>Continue at {step.connection.connector.name}</h1>
          <p>Taking you to {step.connection.connector.name} to sign in and allow access…</p>
          <p>
            <a className="button primary" href={step.connection.authorizeUrl}>
              Continue
            </a>
          </p>
        </section>
      )
    case 'done':
      return (
        <Result
          connection={step.connection}
          status={step.status}
          target={target}
          onRetry={
            step.status === 'error'
              ? () =>
                  setStep(
                    session.reconnect || session.connectors.length === 1
                      ? { kind: 'form', connector: formConnector(session, step.connection) }
                      : { kind: 'choose' },
                  )
              : undefined
          }
        />
      )
  }
}

function formConnector(session: PageSession, connection: PageConnection | null): PageConnector {
  const r = session.reconnect
  if (r)
    return {
      id: r.connector.id,
      linkName: '',
      name: r.connector.name,
      description: null,
      logo: null,
      fields: r.fields,
      browser: r.browser,
    }
  return session.connectors.find((c) => c.id === connection?.connector.id) ?? session.connectors[0]!
}

function CancelButton({ onDone }: { onDone: (step: Step) => void }) {
  return (
    <p className="cx-cancel">
      <button
        type="button"
        className="link-button"
        onClick={() => onDone({ kind: 'done', connection: null, status: 'cancelled' })}
      >
        Cancel
      </button>
    </p>
  )
}

function hasSelect(fields: FieldDefinition[]): boolean {
  return fields.some((f) => f.type === 'select')
}

function ConnectForm({
  api,
  connector: initial,
  reconnect,
  who,
  onBack,
  onStep,
}: {
  api: ConnectApi
  connector: PageConnector
  reconnect: PageSession['reconnect']
  who: string
  onBack: (() => void) | undefined
  onStep: (step: Step) => void
}) {
  const [connector, setConnector] = useState(initial)
  const [values, setValues] = useState<Obj>(() => initialValues(initial.fields))
  const [errors, setErrors] = useState<Record<string, string>>({})
  const [formError, setFormError] = useState<unknown>()
  const [busy, setBusy] = useState(false)
  const selects = useRef('')

  // A `multi` connector's fields depend on the chosen option: ask again when a choice changes.
  useEffect(() => {
    if (reconnect || !hasSelect(connector.fields)) return
    const chosen = JSON.stringify(
      connector.fields.filter((f) => f.type === 'select').map((f) => values[f.name] ?? null),
    )
    if (chosen === selects.current) return
    selects.current = chosen
    let live = true
    api.fields(connector.id, cleanValues(connector.fields, values)).then(
      (next) => live && setConnector(next),
      () => undefined,
    )
    return () => {
      live = false
    }
  }, [api, connector, values, reconnect])

  const required = connector.fields.filter((f) => !f.optional)
  const optional = connector.fields.filter((f) => f.optional)

  const submit = async (e: FormEvent) => {
    e.preventDefault()
    setBusy(true)
    setErrors({})
    setFormError(undefined)
    try {
      const created = await api.connect(
        reconnect ? undefined : connector.id,
        cleanValues(connector.fields, values),
      )
      if (created.authorizeUrl) {
        onStep({ kind: 'redirecting', connection: created })
        window.location.assign(created.authorizeUrl)
        return
      }
      onStep({
        kind: 'done',
        connection: created,
        status: created.status === 'connected' ? 'connected' : 'error',
      })
    } catch (err) {
      if (err instanceof ConnectError && err.issues.length) {
        setErrors(issuesByField(err.issues, 'values', connector.fields))
        setFormError(new Error('Check the highlighted fields.'))
      } else setFormError(err)
      setBusy(false)
    }
  }

  const title = reconnect ? `Reconnect ${reconnect.connector.name}` : `Connect ${connector.name}`
  return (
    <section aria-labelledby="cx-title">
      {onBack ? (
        <p className="crumbs">
          <button type="button" className="link-button" onClick={onBack}>
            ← All services
          </button>
        </p>
      ) : null}
      <div className="cx-heading">
        <Logo src={connector.logo} name={connector.name} />
        <div>
          <h1 id="cx-title">{title}</h1>
          <p className="cx-lead">
            {reconnect
              ? `Authorize “${reconnect.name}” again for ${who}.`
              : (connector.description ?? `Connect your ${connector.name} account for ${who}.`)}
          </p>
        </div>
      </div>
      <form className="form cx-card" onSubmit={(e) => void submit(e)} noValidate>
        {required.length ? (
          <FieldInputs fields={required} values={values} onChange={setValues} errors={errors} />
        ) : null}
        {optional.length ? (
          <details className="group" open={!required.length && reconnect !== null}>
            <summary>{reconnect ? 'Secret values' : 'More options'}</summary>
            <FieldInputs fields={optional} values={values} onChange={setValues} errors={errors} />
          </details>
        ) : null}
        {!connector.fields.length ? (
          <p className="muted">
            {connector.browser
              ? `You will sign in at ${connector.name} and allow access.`
              : 'Nothing to fill in: connect straight away.'}
          </p>
        ) : null}
        {formError ? <Problem error={formError} /> : null}
        <div className="form-actions">
          <button type="submit" className="primary" disabled={busy}>
            {busy ? 'Connecting…' : connector.browser ? `Continue to ${connector.name}` : 'Connect'}
          </button>
        </div>
      </form>
      <CancelButton onDone={onStep} />
    </section>
  )
}

/** The result screen; reports the outcome once (finish.ts). */
function Result({
  connection,
  status,
  target,
  onRetry,
}: {
  connection: PageConnection | null
  status: FinishStatus
  target: FinishTarget
  onRetry?: (() => void) | undefined
}) {
  const [outcome, setOutcome] = useState<FinishOutcome | undefined>()
  const reported = useRef(false)
  useEffect(() => {
    if (reported.current) return
    reported.current = true
    setOutcome(finish(target, status, connection?.id ?? null))
  }, [target, status, connection])

  if (outcome === 'redirecting') return <Loading what="Taking you back" />
  const closeHint: ReactNode =
    outcome === 'shown' ? (
      <p className="muted">You can close this window.</p>
    ) : outcome === 'posted' ? (
      <p>
        You can close this window.{' '}
        <button type="button" className="secondary" onClick={() => window.close()}>
          Close
        </button>
      </p>
    ) : null
  if (status === 'connected')
    return (
      <section className="cx-card cx-result" aria-labelledby="cx-result" data-status="connected">
        <h1 id="cx-result" className="cx-ok-title">
          Connected
        </h1>
        <p role="status">
          Your {connection?.connector.name ?? ''} account is connected
          {connection && connection.name !== connection.connector.name
            ? ` as “${connection.name}”`
            : ''}
          .
        </p>
        {closeHint}
      </section>
    )
  if (status === 'cancelled')
    return (
      <section className="cx-card cx-result" aria-labelledby="cx-result" data-status="cancelled">
        <h1 id="cx-result">Cancelled</h1>
        <p role="status">Nothing was connected.</p>
        {closeHint}
      </section>
    )
  return (
    <section className="cx-card cx-result" aria-labelledby="cx-result" data-status="error">
      <h1 id="cx-result" className="cx-error-title">
        Not connected
      </h1>
      <p role="alert">
        {connection?.statusMessage ??
          (connection?.status === 'pending'
            ? 'The authorization did not finish.'
            : 'The connection could not be made.')}
      </p>
      {onRetry ? (
        <button type="button" className="primary" onClick={onRetry}>
          Try again
        </button>
      ) : null}
      {closeHint}
    </section>
  )
}

/** Where the provider sends the browser back (`/connect/done?connectionId=…&status=…`). */
function AfterProvider({ api, onBrand }: { api: ConnectApi; onBrand: (b: Brand) => void }) {
  const params = useMemo(() => new URLSearchParams(window.location.search), [])
  const connectionId = params.get('connectionId')
  const [state, setState] = useState<
    | { kind: 'loading' }
    | { kind: 'error'; error: unknown }
    | {
        kind: 'done'
        connection: PageConnection
        target: FinishTarget
      }
  >({ kind: 'loading' })

  useEffect(() => {
    if (!connectionId) return
    let live = true
    // The query says what happened; the server, asked with the token, is what is believed.
    api.result(connectionId).then(
      (r) => {
        if (!live) return
        onBrand(r.brand)
        setState({
          kind: 'done',
          connection: r.connection,
          target: { allowedOrigin: r.allowedOrigin, returnUrl: r.returnUrl },
        })
      },
      (error: unknown) => live && setState({ kind: 'error', error }),
    )
    return () => {
      live = false
    }
  }, [api, connectionId, onBrand])

  if (!connectionId)
    return (
      <Ended
        title="The authorization did not finish"
        message="The provider sent nothing back. Open the link you were given again to start over."
      />
    )
  if (state.kind === 'loading') return <Loading what="Finishing" />
  if (state.kind === 'error') return <Problem error={state.error} />
  return (
    <Result
      connection={state.connection}
      status={state.connection.status === 'connected' ? 'connected' : 'error'}
      target={state.target}
    />
  )
}
