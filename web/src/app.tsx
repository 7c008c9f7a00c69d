/**
 * The app shell: sign-in gate, navigation, and the pages.
 */
import { useCallback, useEffect, useState } from 'react'
import { api, UNAUTHORIZED_EVENT } from './api.js'
import { ConfirmProvider } from './components/dialog.js'
import { ErrorBox, Loading } from './components/feedback.js'
import { ToastProvider, useToast } from './components/toast.js'
import { ConnectorBuilderPage } from './pages/builder/index.js'
import { ConnectionDetailPage } from './pages/connection-detail.js'
import { ConnectionCallbackPage, NewConnectionPage } from './pages/connection-new.js'
import { ConnectionsPage } from './pages/connections.js'
import { ConnectorsPage } from './pages/connectors.js'
import { ConsolePage } from './pages/console.js'
import { LogsPage } from './pages/logs.js'
import { McpKeysPage } from './pages/mcp-keys.js'
import { SignInPage } from './pages/sign-in.js'
import { WebhooksPage } from './pages/webhooks.js'
import { Link, match, navigate, RouterProvider, useLocation } from './router.js'

type Session = 'checking' | 'in' | 'out' | { error: unknown }

const NAV: [path: string, label: string][] = [
  ['/connectors', 'Connectors'],
  ['/connections', 'Connections'],
  ['/console', 'Console'],
  ['/logs', 'Logs'],
  ['/mcp-keys', 'MCP keys'],
  ['/webhooks', 'Webhooks'],
]

function Page() {
  const { pathname } = useLocation()
  let m: Record<string, string> | undefined
  if (pathname === '/' || pathname === '/connectors' || pathname === '/connectors/')
    return <ConnectorsPage />
  if (match('/connectors/new', pathname)) return <ConnectorBuilderPage key="new" id={undefined} />
  if ((m = match('/connectors/:id', pathname))) return <ConnectorBuilderPage key={m.id} id={m.id} />
  if (match('/connections', pathname)) return <ConnectionsPage />
  if (match('/connections/new', pathname)) return <NewConnectionPage />
  if (match('/connections/callback', pathname)) return <ConnectionCallbackPage />
  if ((m = match('/connections/:id', pathname)))
    return <ConnectionDetailPage key={m.id} id={m.id!} />
  if (match('/console', pathname)) return <ConsolePage />
  if (match('/logs', pathname)) return <LogsPage />
  if (match('/mcp-keys', pathname)) return <McpKeysPage />
  if (match('/webhooks', pathname)) return <WebhooksPage />
  return (
    <div>
      <h1>Page not found</h1>
      <p>
        There is no page at <code>{pathname}</code>. <Link to="/connectors">Go to connectors</Link>.
      </p>
    </div>
  )
}

function Shell({ onSignOut }: { onSignOut: () => Promise<void> }) {
  const { pathname } = useLocation()
  const [menuOpen, setMenuOpen] = useState(false)
  useEffect(() => setMenuOpen(false), [pathname])
  const active = (path: string) =>
    pathname === path ||
    pathname.startsWith(`${path}/`) ||
    (path === '/connectors' && pathname === '/')
  return (
    <>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <Link to="/connectors" className="brand">
          <span className="brand-mark" aria-hidden="true" /> Patchbay
        </Link>
        <button
          type="button"
          className="menu-button"
          aria-expanded={menuOpen}
          aria-controls="main-nav"
          onClick={() => setMenuOpen(!menuOpen)}
        >
          Menu
        </button>
        <nav id="main-nav" aria-label="Main" className={menuOpen ? 'open' : undefined}>
          <ul>
            {NAV.map(([path, label]) => (
              <li key={path}>
                <Link to={path} aria-current={active(path) ? 'page' : undefined}>
                  {label}
                </Link>
              </li>
            ))}
          </ul>
          <button type="button" className="signout" onClick={() => void onSignOut()}>
            Sign out
          </button>
        </nav>
      </header>
      <main id="main" tabIndex={-1}>
        <Page />
      </main>
    </>
  )
}

function Root() {
  const [session, setSession] = useState<Session>('checking')
  const notify = useToast()
  const check = useCallback(async () => {
    try {
      await api.session.check()
      setSession('in')
    } catch (err) {
      if ((err as { status?: number }).status === 401) setSession('out')
      else setSession({ error: err })
    }
  }, [])
  useEffect(() => {
    void check()
    const out = () => setSession('out')
    window.addEventListener(UNAUTHORIZED_EVENT, out)
    return () => window.removeEventListener(UNAUTHORIZED_EVENT, out)
  }, [check])

  if (session === 'checking')
    return (
      <main id="main">
        <Loading what="Starting Patchbay" />
      </main>
    )
  if (typeof session === 'object')
    return (
      <main id="main">
        <ErrorBox
          error={session.error}
          title="Patchbay did not answer"
          onRetry={() => void check()}
        />
      </main>
    )
  if (session === 'out') return <SignInPage onSignedIn={() => setSession('in')} />
  return (
    <Shell
      onSignOut={async () => {
        try {
          await api.session.signOut()
        } finally {
          setSession('out')
          navigate('/connectors', { replace: true })
          notify('Signed out', 'info')
        }
      }}
    />
  )
}

export function App() {
  return (
    <RouterProvider>
      <ToastProvider>
        <ConfirmProvider>
          <Root />
        </ConfirmProvider>
      </ToastProvider>
    </RouterProvider>
  )
}
