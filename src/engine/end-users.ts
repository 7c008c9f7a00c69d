/**
 * End users (docs/connect.md): the distinct `endUser` ids of connections, with their connections
 * and the email and display name last given in a connect session. Deleting an end user deletes
 * (and revokes) all their connections, ends their live connect sessions and forgets what was
 * remembered about them.
 *
 * @module
 */
import { connectionInputSchema } from '../connector/schema.js'
import { invalidInput, isPatchbayError } from '../errors.js'
import type { ConnectionRecord, Page, PageQuery, Store } from '../store/store.js'
import type { ConnectSessions } from './connect-sessions.js'
import type { ConnectionService, ConnectionView } from './connections.js'
import { toFieldIssues } from './issues.js'

export interface EndUserView {
  id: string
  email: string | null
  displayName: string | null
  connections: ConnectionView[]
}

export interface EndUserService {
  /** End users by id, each with their connections. */
  list(query: PageQuery): Promise<Page<EndUserView>>
  get(id: string): Promise<EndUserView>
  /** Deletes (and revokes) all the end user's connections and ends their connect sessions. */
  delete(id: string): Promise<{ deleted: number; revoked: number }>
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
  sessions: ConnectSessions,
): EndUserService {
  /** Every connection of one end user (an indexed query per page). */
  async function connectionsOf(endUser: string): Promise<ConnectionRecord[]> {
    const out: ConnectionRecord[] = []
    let cursor: string | undefined
    do {
      const page = await store.listConnections({ limit: 500, cursor, endUser })
      out.push(...page.items)
      cursor = page.nextCursor
    } while (cursor)
    return out
  }

  async function view(id: string): Promise<EndUserView> {
    const [info, records] = await Promise.all([store.getEndUser(id), connectionsOf(id)])
    return {
      id,
      email: info?.email ?? null,
      displayName: info?.displayName ?? null,
      connections: await connections.views(records),
    }
  }

  return {
    async list(query) {
      const ids = await store.listEndUserIds(query)
      return { ...ids, items: await Promise.all(ids.items.map(view)) }
    },

    get: (id) => view(checkId(id)),

    async delete(id) {
      checkId(id)
      await sessions.endForEndUser(id)
      let deleted = 0
      let revoked = 0
      for (const c of await connectionsOf(id)) {
        try {
          const outcome = await connections.delete(c.id)
          deleted++
          if (outcome.revoked) revoked++
        } catch (err) {
          // Deleted meanwhile by someone else: as good as done.
          if (!isPatchbayError(err, 'connection.not_found')) throw err
        }
      }
      await store.deleteEndUser(id)
      return { deleted, revoked }
    },
  }
}
