/**
 * Sign-in: the admin key once, exchanged for an HttpOnly session cookie.
 */
import { useEffect, useState, type FormEvent } from 'react'
import { api, errorText } from '../api.js'
import { TextInput } from '../components/form.js'

export function SignInPage({ onSignedIn }: { onSignedIn: () => void }) {
  const [key, setKey] = useState('')
  const [error, setError] = useState<string | undefined>()
  const [busy, setBusy] = useState(false)
  useEffect(() => {
    document.title = 'Sign in · Patchbay'
  }, [])
  const submit = async (e: FormEvent) => {
    e.preventDefault()
    if (!key.trim()) {
      setError('Admin key is required')
      return
    }
    setBusy(true)
    setError(undefined)
    try {
      await api.session.signIn(key)
      setKey('')
      onSignedIn()
    } catch (err) {
      setError(errorText(err))
    } finally {
      setBusy(false)
    }
  }
  return (
    <main className="signin" id="main">
      <form className="card" onSubmit={(e) => void submit(e)} noValidate>
        <h1>
          <span className="brand-mark" aria-hidden="true" /> Sign in to Patchbay
        </h1>
        <p>
          Enter the admin key. It was printed when the server first started, and saved as{' '}
          <code>admin.key</code> in the data folder (or set as <code>PATCHBAY_ADMIN_KEY</code>).
        </p>
        <TextInput
          label="Admin key"
          type="password"
          value={key}
          onChange={setKey}
          autoComplete="current-password"
          error={error}
        />
        <button type="submit" className="primary" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
        <p className="muted small">
          The browser keeps only a session cookie, never the key; it lasts 12 hours.
        </p>
      </form>
    </main>
  )
}
