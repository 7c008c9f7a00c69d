/**
 * Modal dialogs on the native `<dialog>` element (focus trapped, Escape closes), and a
 * `useConfirm` hook for confirmations before anything destructive.
 */
import {
  createContext,
  useCallback,
  useContext,
  useEffect,
  useRef,
  useState,
  type ReactNode,
} from 'react'

export function Modal({
  open,
  title,
  onClose,
  children,
  wide,
}: {
  open: boolean
  title: string
  onClose: () => void
  children: ReactNode
  wide?: boolean
}) {
  const ref = useRef<HTMLDialogElement>(null)
  useEffect(() => {
    const d = ref.current
    if (!d) return
    if (open && !d.open) d.showModal()
    if (!open && d.open) d.close()
  }, [open])
  return (
    <dialog
      ref={ref}
      className={wide ? 'modal modal-wide' : 'modal'}
      aria-label={title}
      onClose={onClose}
      onCancel={(e) => {
        e.preventDefault()
        onClose()
      }}
    >
      {open ? (
        <>
          <div className="modal-head">
            <h2>{title}</h2>
            <button type="button" className="link-button" aria-label="Close" onClick={onClose}>
              ×
            </button>
          </div>
          {children}
        </>
      ) : null}
    </dialog>
  )
}

interface ConfirmOptions {
  title: string
  message: ReactNode
  confirmLabel: string
  danger?: boolean
}

type Confirm = (options: ConfirmOptions) => Promise<boolean>
const ConfirmContext = createContext<Confirm>(() => Promise.resolve(false))

export function ConfirmProvider({ children }: { children: ReactNode }) {
  const [pending, setPending] = useState<
    (ConfirmOptions & { resolve: (ok: boolean) => void }) | undefined
  >()
  const confirm = useCallback<Confirm>(
    (options) => new Promise<boolean>((resolve) => setPending({ ...options, resolve })),
    [],
  )
  const finish = (ok: boolean) => {
    pending?.resolve(ok)
    setPending(undefined)
  }
  return (
    <ConfirmContext.Provider value={confirm}>
      {children}
      <Modal
        open={pending !== undefined}
        title={pending?.title ?? ''}
        onClose={() => finish(false)}
      >
        <div className="modal-body">{pending?.message}</div>
        <div className="modal-actions">
          <button type="button" className="secondary" onClick={() => finish(false)}>
            Cancel
          </button>
          <button
            type="button"
            className={pending?.danger ? 'danger' : 'primary'}
            onClick={() => finish(true)}
          >
            {pending?.confirmLabel}
          </button>
        </div>
      </Modal>
    </ConfirmContext.Provider>
  )
}

export function useConfirm(): Confirm {
  return useContext(ConfirmContext)
}
