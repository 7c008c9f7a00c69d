/**
 * Add a connection: the connector's fields and its auth type's, then connected at once or, for
 * browser flows, an "Authorize" step at the provider that comes back to the connection.
 */
import { useEffect, useState, type FormEvent } from 'react'
import {
  api,
  ApiError,
  errorText,
  listAll,
  type ConnectionView,
  type CreatedConnection,
} from '../api.js'
import { EmptyState, ErrorBox, Loading } from '../components/feedback.js'
import {
  cleanValues,
  FieldInputs,
  initialValues,
  issuesByField,
} from '../components/field-inputs.js'
import { Select, TextInput } from '../components/form.js'
import { useToast } from '../components/toast.js'
import { useConnectionForm } from '../lib/connection-fields.js'
import { useAsync } from '../lib/use-async.js'
import { Link, navigate, useLocation } from '../router.js'
import type { Obj } from '../types.js'

export function NewConnectionPage() {
  const { search } = useLocation()
  const reconnectId = search.get('reconnect') ?? undefined
  const [connectorId, setConnectorId] = useState(search.get('connector') ?? '')
  const [name, setName] = useState('')
  const [endUser, setEndUser] = useState('')
  const [values, setValues] = useState<Obj>({})
  const [errors, setErrors] = useState<Record<string, string>>({})
  const [formError, setFormError] = useState<unknown>()
  const [busy, setBusy] = useState(false)
  const [pending, setPending] = useState<CreatedConnection | undefined>()
  const notify = useToast()
  useEffect(() => {
    document.title = `${reconnectId ? 'Reconnect' : 'Add connection'} · Patchbay`
  }, [reconnectId])

  const connectors = useAsync(
    () => listAll((cursor) => api.connectors.list({ limit: 200, cursor })),
    [],
  )
  const previous = useAsync<ConnectionView | undefined>(
    () => (reconnectId ? api.connections.get(reconnectId) : Promise.resolve(undefined)),
    [reconnectId],
  )
  const ready = (connectors.data ?? []).filter((c) => c.stage === 'ready')
  const connector = ready.find((c) => c.id === connectorId || c.linkName === connectorId)

  // Reconnecting: the same connector, name, end user and non-secret values; secrets typed again.
  useEffect(() => {
    const p = previous.data
    if (!p) return
    setConnectorId(p.connector.id)
    setName(p.name)
    setEndUser(p.endUser ?? '')
    setValues(p.values)
  }, [previous.data])
  const { form, error: formLoadError } = useConnectionForm(connector?.id, values)
  // A new connection starts from the fields' defaults, once the first form for it arrives.
  const [seeded, setSeeded] = useState<string>()
  useEffect(() => {
    if (!connector || !form || previous.data || seeded === connector.id) return
    setSeeded(connector.id)
    setValues(initialValues(form.fields))
  }, [connector, form, previous.data, seeded])

  if (connectors.error)
    return <ErrorBox error={connectors.error} onRetry={() => void connectors.reload()} />
  if (!connectors.data || (reconnectId && previous.loading))
    return <Loading what="Loading connectors" />

  const fields = form?.fields ?? []
  const browser = form?.browser ?? false

  const submit = async (e: FormEvent) => {
    e.preventDefault()
    if (!connector) return
    setBusy(true)
    setErrors({})
    setFormError(undefined)
    const returnUrl = new URL('/connections/callback', window.location.origin)
    if (reconnectId) returnUrl.searchParams.set('replaces', reconnectId)
    try {
      const created = await api.connections.create({
        connector: connector.id,
        values: cleanValues(fields, values),
        ...(name.trim() ? { name: name.trim() } : {}),
        ...(endUser.trim() ? { endUser: endUser.trim() } : {}),
        ...(browser ? { returnUrl: returnUrl.href } : {}),
      })
      if (created.authorizeUrl) {
        setPending(created)
        return
      }
      if (reconnectId) await replaceOld(reconnectId, created.id)
      notify(`“${created.name}” is ${created.status}`)
      navigate(`/connections/${encodeURIComponent(created.id)}`)
    } catch (err) {
      if (err instanceof ApiError && err.issues.length) {
        setErrors(issuesByField(err.issues, 'values', fields))
        const other = err.issues.filter((i) => !i.path.startsWith('values.'))
        if (other.length) setFormError(err)
        else setFormError(new Error('Check the highlighted fields.'))
      } else setFormError(err)
    } finally {
      setBusy(false)
    }
  }

  const replaceOld = async (oldId: string, newId: string) => {
    if (oldId === newId) return
    try {
      await api.connections.delete(oldId)
    } catch (err) {
      notify(`The old connection could not be deleted: ${errorText(err)}`, 'error')
    }
  }

  if (pending?.authorizeUrl) {
    return (
      <>
        <h1>Authorize “{pending.name}”</h1>
        <div className="card">
          <p>
            <strong>{pending.connector.name}</strong> signs you in at the provider. Continue there
            to authorize; the provider sends you back to this connection when you are done.
          </p>
          <p className="muted small">The link works once and expires in 10 minutes.</p>
          <a className="button primary" href={pending.authorizeUrl}>
            Authorize
          </a>{' '}
          <Link className="button secondary" to={`/connections/${encodeURIComponent(pending.id)}`}>
            Not now
          </Link>
        </div>
      </>
    )
  }

  return (
    <>
      <p className="crumbs">
        <Link to="/connections">Connections</Link> /
      </p>
      <h1>{reconnectId ? `Reconnect “${previous.data?.name ?? ''}”` : 'Add connection'}</h1>
      {reconnectId ? (
        <p className="notice">
          Reconnecting creates a new authorization with the same settings. Secret values are never
          shown: type them again. Once the new connection works, the old one is deleted.
        </p>
      ) : null}
      {ready.length === 0 ? (
        <EmptyState title="No ready connector">
          <p>
            Connections are made to ready connectors. Build a connector, then press “Mark as ready”.
          </p>
          <Link className="button primary" to="/connectors">
            Go to connectors
          </Link>
        </EmptyState>
      ) : (
        <form className="form card" onSubmit={(e) => void submit(e)} noValidate>
          <Select
            label="Connector"
            value={connector?.id ?? ''}
            disabled={reconnectId !== undefined}
            onChange={(v) => {
              setConnectorId(v)
              setValues({})
              setErrors({})
            }}
            options={[['', 'Choose a connector…'], ...ready.map((c) => [c.id, c.name] as const)]}
          />
          {connector ? (
            <>
              <div className="grid-2">
                <TextInput
                  label="Connection name"
                  value={name}
                  onChange={setName}
                  placeholder={connector.name}
                  hint="Optional; the connector's name when empty."
                />
                <TextInput
                  label="End user ID"
                  value={endUser}
                  onChange={setEndUser}
                  disabled={reconnectId !== undefined}
                  hint="Optional: whose credentials these are, when one connector serves many users."
                />
              </div>
              {formLoadError ? (
                <ErrorBox error={formLoadError} title="The connection form did not load" />
              ) : !form ? (
                <Loading what="Loading the connection form" />
              ) : fields.length ? (
                <fieldset className="plain">
                  <legend className="section-legend">Connection details</legend>
                  <FieldInputs
                    fields={fields}
                    values={values}
                    onChange={setValues}
                    errors={errors}
                  />
                </fieldset>
              ) : (
                <p className="muted">This connector asks for nothing: connect straight away.</p>
              )}
              {formError ? <ErrorBox error={formError} title="Not connected" /> : null}
              <div className="form-actions">
                <button type="submit" className="primary" disabled={busy || !form}>
                  {busy ? 'Connecting…' : browser ? 'Continue to authorize' : 'Create connection'}
                </button>
                <Link className="button secondary" to="/connections">
                  Cancel
                </Link>
              </div>
            </>
          ) : (
            <p className="muted">Choose the connector to connect to.</p>
          )}
        </form>
      )}
    </>
  )
}

/** Where the provider sends the browser back (`returnUrl`): on to the connection. */
export function ConnectionCallbackPage() {
  const { search } = useLocation()
  const id = search.get('connectionId')
  const status = search.get('status')
  const replaces = search.get('replaces')
  const notify = useToast()
  useEffect(() => {
    if (!id) return
    const go = async () => {
      if (status === 'connected') {
        if (replaces && replaces !== id) {
          await api.connections
            .delete(replaces)
            .catch((err: unknown) =>
              notify(`The old connection could not be deleted: ${errorText(err)}`, 'error'),
            )
        }
        notify('Connected')
      } else notify(`Authorization ended: ${status ?? 'unknown'}`, 'error')
      navigate(`/connections/${encodeURIComponent(id)}`, { replace: true })
    }
    void go()
  }, [id, status, replaces, notify])
  if (!id)
    return (
      <ErrorBox
        title="Authorization did not finish"
        error={new Error('The provider sent no connection back. Start the connection again.')}
      />
    )
  return <Loading what="Finishing the authorization" />
}
