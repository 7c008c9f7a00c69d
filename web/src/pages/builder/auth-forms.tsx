/**
 * One form per auth type (SPEC §3). Each binds to the settings at `base` (the connector's `auth`,
 * or a `multi` option), so `multi` reuses them for its options.
 */
import { useState } from 'react'
import { getIn, type Path } from '../../lib/paths.js'
import { authLabel } from '../../lib/definition.js'
import type { Obj } from '../../types.js'
import { BBool, BKeyValue, BNumber, BSecret, BSelect, BText, useBuilder } from './context.js'
import { FieldsEditor } from './fields-editor.js'

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'].map((m) => [m, m] as const)

export function AuthForm({ type, base }: { type: string; base: Path }) {
  switch (type) {
    case 'basic':
      return <BasicForm base={base} />
    case 'api_key':
      return <ApiKeyForm base={base} />
    case 'bearer':
      return <BearerForm base={base} />
    case 'oauth1':
      return <OAuth1Form base={base} />
    case 'oauth2':
      return <OAuth2Form base={base} />
    case 'aws_sigv4':
      return <AwsForm base={base} />
    case 'http_token':
      return <HttpTokenForm base={base} />
    case 'custom':
      return <CustomForm base={base} />
    case 'multi':
      return <MultiForm base={base} />
    default:
      return (
        <p className="notice">
          This server offers the “{type}” auth type, which this UI has no form for: edit its
          settings in the JSON tab.
        </p>
      )
  }
}

function BasicForm({ base }: { base: Path }) {
  return (
    <div className="grid-2">
      <BText
        path={[...base, 'usernameLabel']}
        label="Username label"
        placeholder="Username"
        hint="What the connection form calls the username. Default “Username”."
      />
      <BText
        path={[...base, 'passwordLabel']}
        label="Password label"
        placeholder="Password"
        hint="Default “Password”."
      />
    </div>
  )
}

interface ApiKeyParam {
  name?: string
  key?: string
  in?: string
}

function ApiKeyForm({ base }: { base: Path }) {
  const b = useBuilder()
  const path = [...base, 'params']
  const params = (getIn(b.draft, path) as ApiKeyParam[] | undefined) ?? []
  const set = (next: ApiKeyParam[]) => b.set(path, next.length ? next : undefined)
  return (
    <div>
      <p className="hint">
        Each parameter is a value the connection asks for and sends in a header, the query string or
        a form body field under its key.
      </p>
      {params.map((_, i) => (
        <fieldset className="card" key={i}>
          <legend>Parameter {i + 1}</legend>
          <div className="grid-3">
            <BText
              path={[...path, i, 'name']}
              label={`Parameter ${i + 1} label`}
              hint="What the connection form shows, e.g. API key."
            />
            <BText
              path={[...path, i, 'key']}
              label={`Parameter ${i + 1} key`}
              hint="The header name, query key or form field, e.g. X-Api-Key."
            />
            <BSelect
              path={[...path, i, 'in']}
              label={`Parameter ${i + 1} location`}
              options={[
                ['header', 'Header'],
                ['query', 'Query string'],
                ['form', 'Form body'],
              ]}
            />
          </div>
          <button
            type="button"
            className="icon-button danger-text"
            aria-label={`Remove parameter ${i + 1}`}
            disabled={params.length === 1}
            onClick={() => set(params.filter((_, j) => j !== i))}
          >
            Remove parameter
          </button>
        </fieldset>
      ))}
      {b.issue(path) ? <p className="field-error">{`Parameters ${b.issue(path)}`}</p> : null}
      <button
        type="button"
        className="secondary"
        disabled={params.length >= 10}
        onClick={() => set([...params, { name: '', key: '', in: 'header' }])}
      >
        Add parameter
      </button>
    </div>
  )
}

function BearerForm({ base }: { base: Path }) {
  return (
    <div className="grid-3">
      <BText
        path={[...base, 'parameterName']}
        label="Token field label"
        placeholder="Bearer Token"
        hint="What the connection form calls the token. Default “Bearer Token”."
      />
      <BText
        path={[...base, 'prefix']}
        label="Token prefix"
        placeholder="Bearer"
        hint="Sent before the token, e.g. Bearer. Default “Bearer”."
      />
      <BText
        path={[...base, 'header']}
        label="Header"
        placeholder="Authorization"
        hint="Default Authorization."
      />
    </div>
  )
}

function OAuth1Form({ base }: { base: Path }) {
  return (
    <div>
      <div className="grid-2">
        <BText path={[...base, 'consumerKey']} label="Consumer key" required />
        <BSecret path={[...base, 'consumerSecret']} label="Consumer secret" required />
      </div>
      <BText path={[...base, 'requestTokenUrl']} label="Request token URL" type="url" required />
      <BText path={[...base, 'authorizationUrl']} label="Authorization URL" type="url" required />
      <BText path={[...base, 'accessTokenUrl']} label="Access token URL" type="url" required />
      <BText path={[...base, 'revokeUrl']} label="Revoke URL" type="url" hint="Optional." />
      <BSelect
        path={[...base, 'signatureMethod']}
        label="Signature method"
        emptyLabel="HMAC-SHA1 (default)"
        options={[
          ['HMAC-SHA1', 'HMAC-SHA1'],
          ['HMAC-SHA256', 'HMAC-SHA256'],
          ['PLAINTEXT', 'PLAINTEXT'],
        ]}
      />
    </div>
  )
}

function OAuth2Form({ base }: { base: Path }) {
  const b = useBuilder()
  const grant = getIn(b.draft, [...base, 'grantType']) as string | undefined
  const browser = grant !== 'client_credentials'
  const pkce = grant === 'authorization_code_pkce'
  return (
    <div>
      <BSelect
        path={[...base, 'grantType']}
        label="Grant type"
        emptyLabel="Choose a grant type"
        options={[
          ['authorization_code', 'Authorization code'],
          ['authorization_code_pkce', 'Authorization code with PKCE'],
          ['client_credentials', 'Client credentials'],
        ]}
        hint={
          grant === 'client_credentials'
            ? 'Connects without a browser; a new token is fetched when one expires.'
            : 'The user authorizes in the browser at the provider.'
        }
      />
      <div className="grid-2">
        <BText path={[...base, 'clientId']} label="Client ID" required />
        <BSecret
          path={[...base, 'clientSecret']}
          label="Client secret"
          required={!pkce}
          hint={pkce ? 'Optional for a public PKCE client.' : undefined}
        />
      </div>
      <BSelect
        path={[...base, 'clientAuth']}
        label="Client authentication"
        emptyLabel="In the request body (default)"
        options={[
          ['body', 'In the request body'],
          ['basic', 'HTTP Basic'],
        ]}
      />
      {browser ? (
        <BText path={[...base, 'authorizationUrl']} label="Authorization URL" type="url" required />
      ) : null}
      <BText path={[...base, 'tokenUrl']} label="Token URL" type="url" required />
      <div className="grid-2">
        <BText
          path={[...base, 'refreshUrl']}
          label="Refresh URL"
          type="url"
          hint="Optional; the token URL when empty."
        />
        <BText
          path={[...base, 'revokeUrl']}
          label="Revoke URL"
          type="url"
          hint="Optional (RFC 7009); deleting a connection revokes its tokens."
        />
      </div>
      <BText
        path={[...base, 'scopeDelimiter']}
        label="Scope delimiter"
        placeholder=","
        hint="Joins the selected scopes. Default a comma; many providers want a space."
      />
      {browser ? (
        <BKeyValue
          path={[...base, 'authorizationParams']}
          label="Extra authorization parameters"
          hint="Added to the authorization URL, e.g. access_type=offline."
        />
      ) : null}
      <BKeyValue
        path={[...base, 'tokenParams']}
        label="Extra token parameters"
        hint="Added to token requests, e.g. audience."
      />
      <details className="group">
        <summary>Advanced</summary>
        <div className="grid-2">
          <BNumber
            path={[...base, 'expiresIn']}
            label="Token lifetime in seconds"
            placeholder="3600"
            hint="Default 3600; used when the token response has no expires_in (900–86400)."
          />
          <BText
            path={[...base, 'tokenPrefix']}
            label="Token prefix"
            placeholder="Bearer"
            hint="Default Bearer; sent as Authorization: <prefix> <token>."
          />
        </div>
      </details>
      <p className="hint">Scopes are edited in the Scopes tab.</p>
    </div>
  )
}

function AwsForm({ base }: { base: Path }) {
  const b = useBuilder()
  const query = getIn(b.draft, [...base, 'signatureIn']) === 'query'
  return (
    <div>
      <div className="grid-2">
        <BText
          path={[...base, 'service']}
          label="Service"
          required
          placeholder="execute-api"
          hint="The signing name: execute-api, s3, es, lambda…"
        />
        <BText path={[...base, 'region']} label="Region" required placeholder="us-east-1" />
      </div>
      <BSelect
        path={[...base, 'signatureIn']}
        label="Signature location"
        emptyLabel="Authorization header (default)"
        options={[
          ['header', 'Authorization header'],
          ['query', 'Query string (presigned URL)'],
        ]}
      />
      {query ? (
        <BNumber
          path={[...base, 'expiresIn']}
          label="Presigned URL lifetime in seconds"
          placeholder="3600"
        />
      ) : null}
      <details className="group">
        <summary>Advanced</summary>
        <div className="grid-3">
          <BBool tri path={[...base, 'normalizePath']} label="Normalize the path" />
          <BBool tri path={[...base, 'signPayload']} label="Send the payload hash" />
          <BBool tri path={[...base, 'signSessionToken']} label="Sign the session token" />
        </div>
      </details>
      <p className="hint">
        Connections ask for an access key ID, a secret access key and an optional session token.
      </p>
    </div>
  )
}

function AuthRequestForm({ base, title }: { base: Path; title: string }) {
  return (
    <fieldset className="subgroup">
      <legend>{title}</legend>
      <div className="grid-request">
        <BSelect
          path={[...base, 'method']}
          label={`${title} method`}
          emptyLabel="POST (default)"
          options={METHODS}
        />
        <BText
          path={[...base, 'url']}
          label={`${title} URL`}
          type="url"
          required
          hint="May use {{field}} templates."
        />
      </div>
      <BKeyValue path={[...base, 'headers']} label={`${title} headers`} />
      <BKeyValue path={[...base, 'query']} label={`${title} query parameters`} />
      <BKeyValue path={[...base, 'body']} label={`${title} body fields`} />
      <BSelect
        path={[...base, 'bodyType']}
        label={`${title} body type`}
        emptyLabel="JSON (default)"
        options={[
          ['json', 'JSON'],
          ['form', 'Form (x-www-form-urlencoded)'],
        ]}
      />
    </fieldset>
  )
}

function HttpTokenForm({ base }: { base: Path }) {
  return (
    <div>
      <AuthRequestForm base={[...base, 'request']} title="Token request" />
      <div className="grid-2">
        <BText
          path={[...base, 'tokenPath']}
          label="Token path"
          required
          placeholder="data.token"
          hint="Where the token sits in the JSON response."
        />
        <BText
          path={[...base, 'expiresInPath']}
          label="Lifetime path"
          placeholder="data.expires_in"
          hint="Optional: where the token's lifetime in seconds sits."
        />
        <BText path={[...base, 'prefix']} label="Token prefix" placeholder="Bearer" />
        <BText path={[...base, 'header']} label="Header" placeholder="Authorization" />
      </div>
    </div>
  )
}

function CustomForm({ base }: { base: Path }) {
  const b = useBuilder()
  const stepsPath = [...base, 'acquire']
  const steps = (getIn(b.draft, stepsPath) as Obj[] | undefined) ?? []
  const basic = getIn(b.draft, [...base, 'apply', 'basic']) !== undefined
  return (
    <div>
      <h3>Acquire steps</h3>
      <p className="hint">
        Requests run in order when connecting (and again to refresh); each extracts values from its
        JSON response, usable as {'{{name}}'} afterwards.
      </p>
      {steps.map((_, i) => (
        <div className="card" key={i}>
          <AuthRequestForm base={[...stepsPath, i]} title={`Step ${i + 1}`} />
          <BKeyValue
            path={[...stepsPath, i, 'extract']}
            label={`Step ${i + 1} extracted values`}
            keyLabel="Name"
            valueLabel="JSON path"
            hint="e.g. authtoken = data.token"
          />
          <button
            type="button"
            className="icon-button danger-text"
            aria-label={`Remove step ${i + 1}`}
            onClick={() => {
              const next = steps.filter((_, j) => j !== i)
              b.set(stepsPath, next.length ? next : undefined)
            }}
          >
            Remove step
          </button>
        </div>
      ))}
      {b.issue(stepsPath) ? (
        <p className="field-error">{`Acquire steps ${b.issue(stepsPath)}`}</p>
      ) : null}
      <button
        type="button"
        className="secondary"
        disabled={steps.length >= 10}
        onClick={() => b.set(stepsPath, [...steps, { method: 'POST', url: '' }])}
      >
        Add step
      </button>
      <h3>Apply</h3>
      <p className="hint">What goes on every request; values may use {'{{name}}'} templates.</p>
      <BKeyValue path={[...base, 'apply', 'headers']} label="Apply headers" />
      <BKeyValue path={[...base, 'apply', 'query']} label="Apply query parameters" />
      <BKeyValue path={[...base, 'apply', 'body']} label="Apply body fields" />
      <fieldset className="subgroup">
        <legend>HTTP Basic</legend>
        <div className="field field-check">
          <input
            id="custom-basic"
            type="checkbox"
            checked={basic}
            onChange={(e) =>
              b.set(
                [...base, 'apply', 'basic'],
                e.target.checked ? { username: '', password: '' } : undefined,
              )
            }
          />
          <label htmlFor="custom-basic">Send HTTP Basic credentials</label>
        </div>
        {basic ? (
          <div className="grid-2">
            <BText path={[...base, 'apply', 'basic', 'username']} label="Basic username" />
            <BText path={[...base, 'apply', 'basic', 'password']} label="Basic password" />
          </div>
        ) : null}
      </fieldset>
      {b.issue([...base, 'apply']) ? (
        <p className="field-error">{`Apply ${b.issue([...base, 'apply'])}`}</p>
      ) : null}
    </div>
  )
}

function MultiForm({ base }: { base: Path }) {
  const b = useBuilder()
  const optionsPath = [...base, 'options']
  const options = (getIn(b.draft, optionsPath) as Record<string, Obj> | undefined) ?? {}
  const [newKey, setNewKey] = useState('')
  const types = b.authTypes.filter((t) => t !== 'multi')
  const rename = (from: string, to: string) => {
    const next: Record<string, Obj> = {}
    for (const [k, v] of Object.entries(options)) next[k === from ? to : k] = v
    b.set(optionsPath, next)
  }
  return (
    <div>
      <BText
        path={[...base, 'selectedBy']}
        label="Selecting field name"
        placeholder="auth_type"
        hint="The connection field whose value names the option. Default auth_type."
      />
      {Object.entries(options).map(([key, option], i) => {
        const at = [...optionsPath, key]
        const type = String(option.type ?? '')
        return (
          <fieldset className="card" key={i}>
            <legend>
              Option {i + 1}: {key}
            </legend>
            <div className="grid-3">
              <div className="field">
                <label htmlFor={`multi-key-${i}`}>Option {i + 1} key</label>
                <input
                  id={`multi-key-${i}`}
                  value={key}
                  onChange={(e) => {
                    if (e.target.value && !(e.target.value in options)) rename(key, e.target.value)
                  }}
                />
              </div>
              <BText path={[...at, 'label']} label={`Option ${i + 1} label`} />
              <div className="field">
                <label htmlFor={`multi-type-${i}`}>Option {i + 1} auth type</label>
                <select
                  id={`multi-type-${i}`}
                  value={type}
                  onChange={(e) =>
                    b.set(at, { label: option.label, fields: option.fields, type: e.target.value })
                  }
                >
                  <option value="">Choose…</option>
                  {types.map((t) => (
                    <option key={t} value={t}>
                      {authLabel(t)}
                    </option>
                  ))}
                </select>
              </div>
            </div>
            {type ? <AuthForm type={type} base={at} /> : null}
            <h4>Option {i + 1} fields</h4>
            <FieldsEditor
              path={[...at, 'fields']}
              title={`Option ${i + 1} fields`}
              noun={`Option ${i + 1} field`}
              emptyText="No extra fields for this option."
            />
            <button
              type="button"
              className="icon-button danger-text"
              onClick={() => {
                const next = { ...options }
                delete next[key]
                b.set(optionsPath, Object.keys(next).length ? next : undefined)
              }}
            >
              Remove option {i + 1}
            </button>
          </fieldset>
        )
      })}
      {b.issue(optionsPath) ? (
        <p className="field-error">{`Options ${b.issue(optionsPath)}`}</p>
      ) : null}
      <div className="inline-form">
        <div className="field">
          <label htmlFor="multi-new-key">New option key</label>
          <input
            id="multi-new-key"
            value={newKey}
            placeholder="api_key"
            onChange={(e) => setNewKey(e.target.value)}
          />
        </div>
        <button
          type="button"
          className="secondary"
          disabled={!newKey || newKey in options}
          onClick={() => {
            b.set(optionsPath, { ...options, [newKey]: { label: newKey, type: 'api_key' } })
            setNewKey('')
          }}
        >
          Add option
        </button>
      </div>
    </div>
  )
}
