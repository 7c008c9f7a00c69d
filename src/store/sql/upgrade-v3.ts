/**
 * The data step of schema version 3, written once for every dialect: connect sessions, end users
 * and UI sessions move from JSON rows in `meta` (where versions 1 and 2 kept them) into their own
 * tables, and existing connectors' saved actions are indexed. A `meta` row that does not parse
 * stays there untouched, so nothing is lost.
 *
 * @module
 */
import type { ConnectSessionRecord } from '../store.js'
import type { Db } from './db.js'
import { connectSessionRow, endUserRow, insertSql, uiSessionRow, type InsertRow } from './rows.js'

type Obj = Record<string, unknown>

function parse(value: string): Obj | undefined {
  try {
    const v = JSON.parse(value) as unknown
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : undefined
  } catch {
    return undefined
  }
}

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null)
const num = (v: unknown): number | null => (typeof v === 'number' ? v : null)

function connectSession(v: Obj, tokenHash: string): ConnectSessionRecord | undefined {
  const endUser = v.endUser as Obj | undefined
  const id = str(v.id)
  const createdAt = num(v.createdAt)
  const expiresAt = num(v.expiresAt)
  if (!id || !endUser || !str(endUser.id) || createdAt === null || expiresAt === null)
    return undefined
  const email = str(endUser.email)
  const displayName = str(endUser.displayName)
  return {
    id,
    tokenHash,
    endUser: {
      id: endUser.id as string,
      ...(email === null ? {} : { email }),
      ...(displayName === null ? {} : { displayName }),
    },
    connectors: Array.isArray(v.connectors) ? (v.connectors as string[]) : null,
    reconnect: str(v.reconnect),
    returnUrl: str(v.returnUrl),
    allowedOrigin: str(v.allowedOrigin),
    createdAt,
    expiresAt,
    endedAt: num(v.endedAt),
    endReason: v.endReason === 'ended' || v.endReason === 'completed' ? v.endReason : null,
    connectionIds: Array.isArray(v.connectionIds) ? (v.connectionIds as string[]) : [],
  }
}

export async function upgradeToV3(tx: Db, now = Date.now()): Promise<void> {
  await indexActions(tx)
  await moveMetaRecords(tx, now)
}

async function indexActions(tx: Db): Promise<void> {
  const connectors = await tx.all<{ id: string; definition: string }>(
    'SELECT id, definition FROM connectors',
  )
  for (const c of connectors) {
    const actions = (parse(c.definition)?.actions ?? []) as { id?: unknown }[]
    for (const a of actions)
      if (typeof a.id === 'string')
        await tx.run(
          'INSERT INTO connector_actions (action_id, connector_id) VALUES (?, ?) ON CONFLICT DO NOTHING',
          [a.id, c.id],
        )
  }
}

async function moveMetaRecords(tx: Db, now: number): Promise<void> {
  const rows = await tx.all<{ key: string; value: string }>('SELECT key, value FROM meta')
  const moved: string[] = []
  const put = async (row: InsertRow, key: string) => {
    await tx.run(`${insertSql(row)} ON CONFLICT DO NOTHING`, row.values)
    moved.push(key)
  }
  for (const { key, value } of rows) {
    const v = parse(value)
    if (key.startsWith('connect_session:')) {
      const s = v && connectSession(v, key.slice('connect_session:'.length))
      if (s) await put(connectSessionRow(s), key)
    } else if (key.startsWith('end_user:')) {
      const id = key.slice('end_user:'.length)
      // `{}` is what forgetting an end user left behind.
      if (v && (str(v.email) !== null || str(v.displayName) !== null))
        await put(
          endUserRow({
            id,
            email: str(v.email),
            displayName: str(v.displayName),
            updatedAt: num(v.updatedAt) ?? now,
          }),
          key,
        )
      else if (v) moved.push(key)
    } else if (key.startsWith('ui_session:')) {
      const expiresAt = num(v?.expiresAt)
      const keyHash = str(v?.keyHash)
      if (expiresAt !== null && keyHash !== null)
        await put(
          uiSessionRow({
            idHash: key.slice('ui_session:'.length),
            keyHash,
            createdAt: now,
            expiresAt,
          }),
          key,
        )
      else if (v) moved.push(key) // a signed-out session (`{ expiresAt: 0 }`)
    } else if (key === 'connect_sessions' || key.startsWith('connect_session_id:')) {
      // The index and the id → token-hash rows: the table's own indexes replace them.
      moved.push(key)
    }
  }
  for (const key of moved) await tx.run('DELETE FROM meta WHERE key = ?', [key])
}
