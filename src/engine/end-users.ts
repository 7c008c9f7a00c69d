/**
 * End users (SPEC §6, §8): the distinct `endUser` ids of connections, with their connections and
 * the email and display name last given in a connect session. Deleting an end user deletes (and
 * revokes) all their connections, ends their live connect sessions and forgets what was
 * remembered about them.
 *
 * @module
 */
import { connectionInputSchema } from '../connector/schema.js'
import { invalidInput, isPatchbayError } from '../errors.js'
import {
  decodeCursor,
  encodeCursor,
  type ConnectionRecord,
  type Page,
  type Store,
} from '../store/store.js'
import type { ConnectSessionService } from './connect-sessions.js'
import type { ConnectionService, ConnectionView } from './connections.js'
import { toFieldIssues } from './issues.js'

export interface EndUserView {
  id: string
  email: string | null
  displayName: string | null
  connections: ConnectionView[]
}

const endUserId = connectionInputSchema.shape.endUser.unwrap()

function checkId(id: string): string {
  const parsed = endUserId.safeParse(id)
  if (!parsed.success)
    throw invalidInput(toFieldIssues(parsed.error).map((i) => ({ ...i, path: 'id' })))
  return parsed.data
}

export function createEndUserService(
  store: Store,
  connections: ConnectionService,
  sessions: ConnectSessionService,
) {
  /** Every connection with an end user (or of one end user), walking the store's pages. */
  async function allConnections(endUser?: string): Promise<ConnectionRecord[]> {
    const out: ConnectionRecord[] = []
    let cursor: string | undefined
    do {
      const page = await store.listConnections({ limit: 500, cursor, endUser })
      out.push(...page.items.filter((c) => c.endUser !== null))
      cursor = page.nextCursor
    } while (cursor)
    return out
  }

  return {
    /** End users by id, each with their connections. */
    async list(query: { limit: number; cursor?: string }): Promise<Page<EndUserView>> {
      const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor)?.[0]
      if (query.cursor !== undefined && typeof after !== 'string')
        throw invalidInput([{ path: 'cursor', rule: 'is not a cursor this list handed out' }])
      const byUser = new Map<string, ConnectionRecord[]>()
      for (const c of await allConnections()) {
        const id = c.endUser!
        if (after !== undefined && id <= after) continue
        byUser.set(id, [...(byUser.get(id) ?? []), c])
      }
      const ids = [...byUser.keys()].sort()
      const pageIds = ids.slice(0, query.limit)
      const items = await Promise.all(
        pageIds.map(async (id) => ({
          id,
          ...(await sessions.endUserInfo(id)),
          connections: await Promise.all(byUser.get(id)!.map((c) => connections.view(c))),
        })),
      )
      return ids.length > query.limit
        ? { items, nextCursor: encodeCursor([pageIds[pageIds.length - 1]!]) }
        : { items }
    },

    async get(id: string): Promise<EndUserView> {
      checkId(id)
      const records = await allConnections(id)
      return {
        id,
        ...(await sessions.endUserInfo(id)),
        connections: await Promise.all(records.map((c) => connections.view(c))),
      }
    },

    /** Deletes (and revokes) all the end user's connections and ends their connect sessions. */
    async delete(id: string): Promise<{ deleted: number; revoked: number }> {
      checkId(id)
      await sessions.endForEndUser(id)
      let deleted = 0
      let revoked = 0
      for (const c of await allConnections(id)) {
        try {
          const outcome = await connections.delete(c.id)
          deleted++
          if (outcome.revoked) revoked++
        } catch (err) {
          // Deleted meanwhile by someone else: as good as done.
          if (!isPatchbayError(err, 'connection.not_found')) throw err
        }
      }
      await sessions.forgetEndUser(id)
      return { deleted, revoked }
    },
  }
}

export type EndUserService = ReturnType<typeof createEndUserService>
