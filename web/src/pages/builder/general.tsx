/**
 * General: name, link name (derived live from the name until edited), description, logo, base
 * URL, allowed origins, identity and breaker settings.
 */
import { useRef, useState } from 'react'
import { HTTP_METHODS } from '../../../../src/connector/literals.js'
import { useToast } from '../../components/toast.js'
import { checkGeneral } from '../../lib/definition.js'
import { BList, BNumber, BSelect, BText, useBuilder } from './context.js'

const METHODS = HTTP_METHODS.map((m) => [m, m] as const)

export function GeneralSection({ linkNameEdited }: { linkNameEdited: boolean }) {
  const b = useBuilder()
  const notify = useToast()
  const fileRef = useRef<HTMLInputElement>(null)
  const [logoError, setLogoError] = useState<string | undefined>()
  const frozenHint = b.frozen ? 'Frozen once the connector is ready.' : undefined

  const onLogo = (file: File | undefined) => {
    if (!file) return
    const reader = new FileReader()
    reader.onload = () => {
      const url = String(reader.result)
      // The browser names JPEG files image/jpeg; the rule accepts data:image/jpeg too.
      const problem = checkGeneral('logo', url)
      if (problem) {
        setLogoError(`Logo ${problem}`)
        return
      }
      setLogoError(undefined)
      b.set(['logo'], url)
      notify('Logo added; save to keep it', 'info')
    }
    reader.onerror = () => setLogoError('Logo could not be read')
    reader.readAsDataURL(file)
  }

  return (
    <section aria-labelledby="general-heading" className="section">
      <h2 id="general-heading">General</h2>
      <div className="grid-2">
        <BText path={['name']} label="Name" required hint="At most 50 characters." />
        <BText
          path={['linkName']}
          label="Link name"
          disabled={b.frozen}
          hint={
            frozenHint ??
            (linkNameEdited
              ? 'Used in URLs and the CLI. Letters, digits and _.'
              : 'Derived from the name as you type, until you edit it.')
          }
        />
      </div>
      <BText path={['description']} label="Description" hint="Optional, at most 255 characters." />
      <div className="field">
        <span className="label-text" id="logo-label">
          Logo
        </span>
        <div className="logo-row">
          {b.draft.logo ? (
            <img className="logo logo-large" src={b.draft.logo} alt="Logo preview" />
          ) : (
            <span className="logo logo-large logo-empty" aria-hidden="true" />
          )}
          <input
            ref={fileRef}
            type="file"
            accept="image/png,image/jpeg"
            className="visually-hidden"
            aria-label="Upload logo (PNG or JPEG, under 1 MiB)"
            onChange={(e) => {
              onLogo(e.target.files?.[0])
              e.target.value = ''
            }}
          />
          <button type="button" className="secondary" onClick={() => fileRef.current?.click()}>
            {b.draft.logo ? 'Replace logo' : 'Upload logo'}
          </button>
          {b.draft.logo ? (
            <button type="button" className="secondary" onClick={() => b.set(['logo'], undefined)}>
              Remove logo
            </button>
          ) : null}
        </div>
        <span className="hint">PNG or JPEG, under 1 MiB.</span>
        {logoError || b.issue(['logo']) ? (
          <span className="field-error" role="alert">
            {logoError ?? `Logo ${b.issue(['logo'])}`}
          </span>
        ) : null}
      </div>
      <BText
        path={['baseUrl']}
        label="Base URL"
        required
        disabled={b.frozen}
        placeholder="https://api.example.com/v1/"
        hint={
          frozenHint ??
          'Relative paths of requests join it. {{field}} reads a connection field, e.g. https://{{subdomain}}.example.com/.'
        }
      />
      <details className="group">
        <summary>Advanced: allowed origins, identity, circuit breaker</summary>
        <BList
          path={['allowedOrigins']}
          label="Allowed origins"
          itemLabel="Allowed origin"
          disabled={b.frozen}
          hint="Other origins absolute URLs may call with the credentials, e.g. https://uploads.example.com."
        />
        <fieldset className="subgroup">
          <legend>Identity</legend>
          <p className="hint">
            A request that tells whom a connection is for; shown on the connection and used by
            “Test”.
          </p>
          <div className="grid-3">
            <BSelect
              path={['identity', 'method']}
              label="Identity method"
              options={METHODS}
              emptyLabel="GET (default)"
            />
            <BText path={['identity', 'path']} label="Identity path" placeholder="me" />
            <BText
              path={['identity', 'valuePath']}
              label="Identity value path"
              placeholder="data.email"
            />
          </div>
        </fieldset>
        <fieldset className="subgroup">
          <legend>Circuit breaker</legend>
          <div className="grid-2">
            <BNumber
              path={['breaker', 'threshold']}
              label="Failures before the breaker opens"
              placeholder="5"
              hint="Default 5."
            />
            <BNumber
              path={['breaker', 'cooldownSeconds']}
              label="Cool-down in seconds"
              placeholder="30"
              hint="Default 30."
            />
          </div>
        </fieldset>
      </details>
    </section>
  )
}
