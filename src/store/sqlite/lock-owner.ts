/**
 * Who holds a SQLite lock row, and whether that holder is gone.
 *
 * Processes share a SQLite database only on one machine (WAL's shared-memory index does not work
 * over a network file system), so a lock row can name its holder's process. A holder killed while
 * it holds a lock (SIGKILL, OOM, power cut of the process) never deletes its row; a waiter that
 * finds the holder's process gone takes the lock at once instead of waiting for the row to expire,
 * so a connection works right after a restart. Holders named differently — another host,
 * another PID namespace (containers sharing a volume), an older owner format — are never judged
 * gone: their rows lapse by expiry, as before.
 *
 * @module
 */
import { randomUUID } from 'node:crypto'
import { readlinkSync } from 'node:fs'
import { hostname } from 'node:os'

const FORMAT = 'pid1'
const SEPARATOR = '|'

let pidNamespace: string | undefined

/** The PID namespace of this process (Linux), or '' where there is none to read. */
function ownPidNamespace(): string {
  if (pidNamespace === undefined) {
    try {
      pidNamespace = readlinkSync('/proc/self/ns/pid')
    } catch {
      pidNamespace = ''
    }
  }
  return pidNamespace
}

/** A lock owner id naming this process: format, host, PID namespace, pid, and a random part. */
export function createLockOwner(): string {
  return [FORMAT, hostname(), ownPidNamespace(), String(process.pid), randomUUID()].join(SEPARATOR)
}

/**
 * True only when `owner` names a process of this host and PID namespace that no longer exists.
 * This process's own owners (another store in it) are never gone.
 */
export function lockOwnerIsGone(owner: string): boolean {
  const parts = owner.split(SEPARATOR)
  if (parts.length !== 5 || parts[0] !== FORMAT) return false
  const [, host, namespace, pidText] = parts
  const pid = Number(pidText)
  if (host !== hostname() || namespace !== ownPidNamespace()) return false
  if (!Number.isSafeInteger(pid) || pid <= 0 || pid === process.pid) return false
  try {
    process.kill(pid, 0) // signal 0: only asks whether the process exists
    return false
  } catch (err) {
    // EPERM: it exists but belongs to another user; only ESRCH means gone.
    return (err as NodeJS.ErrnoException).code === 'ESRCH'
  }
}
