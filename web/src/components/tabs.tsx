/**
 * ARIA tabs: arrow keys, Home and End move between tabs; the panel follows the selected tab.
 */
import { useId, useRef, type KeyboardEvent, type ReactNode } from 'react'

export interface TabSpec {
  id: string
  label: string
  /** Shown after the label, e.g. an error count. */
  note?: string | undefined
}

export function Tabs({
  tabs,
  selected,
  onSelect,
  label,
  children,
}: {
  tabs: TabSpec[]
  selected: string
  onSelect: (id: string) => void
  label: string
  children: ReactNode
}) {
  const base = useId()
  const refs = useRef<(HTMLButtonElement | null)[]>([])
  const index = Math.max(
    0,
    tabs.findIndex((t) => t.id === selected),
  )
  const move = (e: KeyboardEvent) => {
    let next = index
    if (e.key === 'ArrowRight') next = (index + 1) % tabs.length
    else if (e.key === 'ArrowLeft') next = (index - 1 + tabs.length) % tabs.length
    else if (e.key === 'Home') next = 0
    else if (e.key === 'End') next = tabs.length - 1
    else return
    e.preventDefault()
    onSelect(tabs[next]!.id)
    refs.current[next]?.focus()
  }
  return (
    <div className="tabs">
      <div role="tablist" aria-label={label} className="tablist" onKeyDown={move}>
        {tabs.map((t, i) => (
          <button
            key={t.id}
            ref={(el) => {
              refs.current[i] = el
            }}
            type="button"
            role="tab"
            id={`${base}-tab-${t.id}`}
            aria-selected={i === index}
            aria-controls={`${base}-panel`}
            tabIndex={i === index ? 0 : -1}
            className="tab"
            onClick={() => onSelect(t.id)}
          >
            {t.label}
            {t.note ? <span className="tab-note"> {t.note}</span> : null}
          </button>
        ))}
      </div>
      <div
        role="tabpanel"
        id={`${base}-panel`}
        aria-labelledby={`${base}-tab-${tabs[index]?.id ?? ''}`}
        className="tabpanel"
      >
        {children}
      </div>
    </div>
  )
}
