/**
 * Loads data for a page: `loading`, `error` and `data`, with `reload`.
 */
import { useCallback, useEffect, useRef, useState } from 'react'

export interface Async<T> {
  data: T | undefined
  error: unknown
  loading: boolean
  reload: () => Promise<void>
  set: (data: T) => void
}

export function useAsync<T>(load: () => Promise<T>, deps: unknown[]): Async<T> {
  const [data, setData] = useState<T | undefined>(undefined)
  const [error, setError] = useState<unknown>(undefined)
  const [loading, setLoading] = useState(true)
  const seq = useRef(0)
  // Callers list the values `load` reads in `deps`.
  const run = useCallback(load, deps)
  const reload = useCallback(async () => {
    const mine = ++seq.current
    setLoading(true)
    try {
      const value = await run()
      if (mine === seq.current) {
        setData(value)
        setError(undefined)
      }
    } catch (err) {
      if (mine === seq.current) setError(err)
    } finally {
      if (mine === seq.current) setLoading(false)
    }
  }, [run])
  useEffect(() => {
    void reload()
  }, [reload])
  return { data, error, loading, reload, set: setData }
}
