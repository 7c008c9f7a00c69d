/**
 * A JSON value as a collapsible tree. Every key and value is text (never HTML).
 */
import type { ReactNode } from 'react'

function Scalar({ value }: { value: unknown }) {
  if (value === null) return <span className="json-null">null</span>
  if (typeof value === 'string') return <span className="json-string">{JSON.stringify(value)}</span>
  if (typeof value === 'number') return <span className="json-number">{String(value)}</span>
  if (typeof value === 'boolean') return <span className="json-bool">{String(value)}</span>
  return <span>{String(value)}</span>
}

function Node({ name, value, depth }: { name: ReactNode; value: unknown; depth: number }) {
  if (value === null || typeof value !== 'object') {
    return (
      <li>
        {name}
        <Scalar value={value} />
      </li>
    )
  }
  const entries = Array.isArray(value)
    ? value.map((v, i) => [String(i), v] as const)
    : Object.entries(value as Record<string, unknown>)
  const open = Array.isArray(value) ? '[' : '{'
  const close = Array.isArray(value) ? ']' : '}'
  if (entries.length === 0)
    return (
      <li>
        {name}
        {open}
        {close}
      </li>
    )
  return (
    <li>
      <details open={depth < 3}>
        <summary>
          {name}
          {open}
          <span className="muted small">
            {' '}
            {entries.length} {Array.isArray(value) ? 'items' : 'keys'}
          </span>
        </summary>
        <ul className="json-tree">
          {entries.map(([k, v]) => (
            <Node
              key={k}
              name={
                <span className="json-key">
                  {Array.isArray(value) ? k : JSON.stringify(k)}
                  {': '}
                </span>
              }
              value={v}
              depth={depth + 1}
            />
          ))}
        </ul>
        {close}
      </details>
    </li>
  )
}

export function JsonView({ value, label }: { value: unknown; label: string }) {
  return (
    <div className="json-view" role="group" aria-label={label}>
      <ul className="json-tree root">
        <Node name={null} value={value} depth={0} />
      </ul>
    </div>
  )
}
