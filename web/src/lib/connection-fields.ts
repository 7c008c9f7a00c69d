/**
 * The fields a connection form asks for, and whether connecting goes through the browser, as the
 * server answers them for the values typed so far (`POST /connectors/:id/connection-form`): the
 * auth types own their fields, so the UI asks rather than knowing any type (a `multi` connector's
 * fields change with the option picked).
 */
import { useEffect, useRef, useState } from 'react'
import { api, type FieldDefinition } from '../api.js'
import type { Obj } from '../types.js'

export interface ConnectionForm {
  fields: FieldDefinition[]
  browser: boolean
}

/** How long typing settles before the form is asked for again, ms. */
const SETTLE_MS = 150

/**
 * The form for `connectorId` given `values`; undefined until the first answer. Secret values are
 * not sent: what the form looks like never depends on them.
 */
export function useConnectionForm(
  connectorId: string | undefined,
  values: Obj,
): { form: ConnectionForm | undefined; error: unknown } {
  const [state, setState] = useState<{ id?: string; form?: ConnectionForm; error?: unknown }>({})
  const secret = useRef(new Set<string>())
  const shown = state.id === connectorId ? state.form : undefined
  const sent = Object.fromEntries(
    Object.entries(values).filter(([k, v]) => v !== undefined && !secret.current.has(k)),
  )
  const key = JSON.stringify(sent)

  useEffect(() => {
    if (!connectorId) return
    let live = true
    const timer = setTimeout(
      () => {
        api.connectors.connectionForm(connectorId, JSON.parse(key) as Obj).then(
          (form) => {
            if (!live) return
            secret.current = new Set(
              form.fields.filter((f) => f.type === 'password').map((f) => f.name),
            )
            setState({ id: connectorId, form })
          },
          (error: unknown) => live && setState({ id: connectorId, error }),
        )
      },
      // The first form is asked for at once; later ones once typing settles.
      shown ? SETTLE_MS : 0,
    )
    return () => {
      live = false
      clearTimeout(timer)
    }
    // `shown` only picks the delay; asking again is keyed on the connector and the values.
  }, [connectorId, key])

  return { form: shown, error: state.id === connectorId ? state.error : undefined }
}
