/**
 * A small history router: the app's pages are few, and the server answers every page path with
 * the app shell.
 */
import {
  createContext,
  useContext,
  useEffect,
  useState,
  type AnchorHTMLAttributes,
  type MouseEvent,
  type ReactNode,
} from 'react'

export interface Location {
  pathname: string
  search: URLSearchParams
}

const NAVIGATE_EVENT = 'patchbay:navigate'

function current(): Location {
  return { pathname: window.location.pathname, search: new URLSearchParams(window.location.search) }
}

export function navigate(to: string, options: { replace?: boolean } = {}): void {
  if (options.replace) window.history.replaceState(null, '', to)
  else window.history.pushState(null, '', to)
  window.dispatchEvent(new Event(NAVIGATE_EVENT))
  window.scrollTo(0, 0)
}

const LocationContext = createContext<Location>(current())

export function RouterProvider({ children }: { children: ReactNode }) {
  const [location, setLocation] = useState(current)
  useEffect(() => {
    const update = () => setLocation(current())
    window.addEventListener('popstate', update)
    window.addEventListener(NAVIGATE_EVENT, update)
    return () => {
      window.removeEventListener('popstate', update)
      window.removeEventListener(NAVIGATE_EVENT, update)
    }
  }, [])
  return <LocationContext.Provider value={location}>{children}</LocationContext.Provider>
}

export function useLocation(): Location {
  return useContext(LocationContext)
}

/** Matches `/connectors/:id` style patterns; answers the params or undefined. */
export function match(pattern: string, pathname: string): Record<string, string> | undefined {
  const names: string[] = []
  const re = new RegExp(
    `^${pattern.replace(/:([A-Za-z]+)/g, (_, n: string) => {
      names.push(n)
      return '([^/]+)'
    })}/?$`,
  )
  const m = re.exec(pathname)
  if (!m) return undefined
  return Object.fromEntries(names.map((n, i) => [n, decodeURIComponent(m[i + 1]!)]))
}

export function Link({
  to,
  children,
  ...rest
}: { to: string; children: ReactNode } & Omit<AnchorHTMLAttributes<HTMLAnchorElement>, 'href'>) {
  const onClick = (e: MouseEvent<HTMLAnchorElement>) => {
    rest.onClick?.(e)
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey)
      return
    e.preventDefault()
    navigate(to)
  }
  return (
    <a {...rest} href={to} onClick={onClick}>
      {children}
    </a>
  )
}
