/**
 * Scoped MCP keys (docs/mcp.md): what an AI agent's MCP client authenticates with on `/mcp` and
 * `patchbay mcp`. A key is scoped twice: to whose connections its tools use (an end user's, or
 * named connections) and to which tools it sees (every saved action of some connectors, and/or
 * single saved actions). Like admin keys, a key is 256 random bits shown once and stored only as
 * its SHA-256, so a lookup by hash is safe; it is read from the store on every request, so a
 * revoked key is refused from the next request on, by every process.
 *
 * @module
 */
import { randomBytes, timingSafeEqual } from 'node:crypto'
import { listQuerySchema } from '../connector/schema.js'
import { PatchbayError, invalidInput, type FieldIssue } from '../errors.js'
import { sha256 } from '../lib/digest.js'
import type { McpKeyRecord, Page, Store } from '../store/store.js'
import { newId } from './context.js'
import { toFieldIssues } from './issues.js'

const KEY = /^pbm_[A-Za-z0-9_-]{43}$/

import { mcpKeyInputSchema } from '../connector/inputs.js'

export { mcpKeyInputSchema }
export type { McpKeyInput } from '../connector/inputs.js'

/** A key as the admin API answers it: never the key, nor its hash. */
export interface McpKeyView {
  id: string
  name: string
  endUser: string | null
  /** Connection ids; null for an end user's key. */
  connections: string[] | null
  /** Connector ids. */
  connectors: string[] | null
  /** Saved action ids. */
  actions: string[] | null
  httpRequest: boolean
  createdAt: string
  /** When it was revoked; a revoked key opens nothing. */
  revokedAt: string | null
}

export interface CreatedMcpKey extends McpKeyView {
  /** The key itself: shown once, never stored. */
  key: string
}

export interface McpKeys {
  /** A new key; the answer is the only place the key ever appears. */
  create(input: unknown): Promise<CreatedMcpKey>
  /** Keys, oldest first, revoked ones included; never the keys themselves. */
  list(query?: {
    limit?: number | string | undefined
    cursor?: string | undefined
  }): Promise<Page<McpKeyView>>
  get(id: string): Promise<McpKeyView>
  /** Revokes a key at once, in every process; `mcp_key.not_found` when there is none. */
  revoke(id: string): Promise<void>
  /** The unrevoked key `candidate` is, read from the store now; undefined for anything else. */
  authenticate(candidate: string): Promise<McpKeyView | undefined>
}

const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString())

function view(r: McpKeyRecord): McpKeyView {
  return {
    id: r.id,
    name: r.name,
    endUser: r.endUser,
    connections: r.connectionIds,
    connectors: r.connectorIds,
    actions: r.actionIds,
    httpRequest: r.httpRequest,
    createdAt: new Date(r.createdAt).toISOString(),
    revokedAt: iso(r.revokedAt),
  }
}

function notFound(id: string): PatchbayError {
  return new PatchbayError('mcp_key.not_found', `no MCP key "${id}"`, {
    details: [{ path: 'id', rule: 'must be the id of an MCP key (GET /api/v1/mcp-keys)' }],
  })
}

export function createMcpKeys(store: Store, now: () => number): McpKeys {
  /** Each reference resolved to its connector id, ready; issues name the bad ones. */
  async function readyConnectors(refs: string[], issues: FieldIssue[]): Promise<string[]> {
    const ids: string[] = []
    for (const [i, ref] of refs.entries()) {
      const record = await store.getConnector(ref)
      if (!record) issues.push({ path: `connectors.${i}`, rule: `no connector "${ref}"` })
      else if (record.stage !== 'ready')
        issues.push({
          path: `connectors.${i}`,
          rule: `the connector "${record.name}" is a draft; mark it ready first`,
        })
      else if (!ids.includes(record.id)) ids.push(record.id)
    }
    return ids
  }

  /** Each saved action with its connector's id; issues name the bad ones. */
  async function actionsOf(
    refs: string[],
    issues: FieldIssue[],
  ): Promise<{ id: string; connectorId: string }[]> {
    const found: { id: string; connectorId: string }[] = []
    for (const [i, id] of refs.entries()) {
      const connectorId = await store.findActionConnector(id)
      const record = connectorId ? await store.getConnector(connectorId) : undefined
      if (!record) issues.push({ path: `actions.${i}`, rule: `no saved action "${id}"` })
      else if (record.stage !== 'ready')
        issues.push({
          path: `actions.${i}`,
          rule: `the action's connector "${record.name}" is a draft; mark it ready first`,
        })
      else if (!found.some((a) => a.id === id)) found.push({ id, connectorId: record.id })
    }
    return found
  }

  return {
    async create(input) {
      const parsed = mcpKeyInputSchema.safeParse(input, { reportInput: true })
      if (!parsed.success) throw invalidInput(toFieldIssues(parsed.error))
      const data = parsed.data
      const issues: FieldIssue[] = []
      if ((data.endUser === undefined) === (data.connections === undefined))
        issues.push({
          path: 'endUser',
          rule: "give exactly one of endUser (an end user's connections) or connections (named connections)",
        })
      if (issues.length) throw invalidInput(issues)

      const connectorIds = data.connectors?.length
        ? await readyConnectors(data.connectors, issues)
        : null
      const actions = data.actions?.length ? await actionsOf(data.actions, issues) : null
      let connectionIds: string[] | null = null
      let scopeConnectors = connectorIds
      if (data.connections) {
        connectionIds = []
        const byConnector = new Map<string, string>()
        for (const [i, id] of data.connections.entries()) {
          const record = await store.getConnection(id)
          if (!record) {
            issues.push({ path: `connections.${i}`, rule: `no connection "${id}"` })
            continue
          }
          const other = byConnector.get(record.connectorId)
          if (other !== undefined && other !== record.id)
            issues.push({
              path: `connections.${i}`,
              rule: `is a second connection of the connector ${record.connectorId} (${other} is the first): a key uses one connection per connector`,
            })
          byConnector.set(record.connectorId, record.id)
          if (!connectionIds.includes(record.id)) connectionIds.push(record.id)
        }
        // Every tool needs one of the key's connections: the connectors and actions named must be
        // theirs, and when none are named, the tools are the connections' connectors' actions.
        connectorIds?.forEach((id, i) => {
          if (!byConnector.has(id))
            issues.push({
              path: `connectors.${i}`,
              rule: 'has no connection in connections: the key could not call its tools',
            })
        })
        actions?.forEach((a, i) => {
          if (!byConnector.has(a.connectorId))
            issues.push({
              path: `actions.${i}`,
              rule: 'has no connection of its connector in connections: the key could not call it',
            })
        })
        if (!connectorIds && !actions && issues.length === 0) {
          scopeConnectors = []
          for (const id of byConnector.keys()) {
            const record = await store.getConnector(id)
            if (record?.stage === 'ready') scopeConnectors.push(id)
          }
        }
      } else if (!connectorIds?.length && !actions?.length && issues.length === 0) {
        issues.push({
          path: 'connectors',
          rule: 'give connectors, actions or both: the tools this key may see and call',
        })
      }
      if (data.httpRequest && !scopeConnectors?.length && issues.length === 0)
        issues.push({
          path: 'httpRequest',
          rule: 'needs connectors: the http_request tool is one per connector',
        })
      if (issues.length) throw invalidInput(issues)

      const key = `pbm_${randomBytes(32).toString('base64url')}`
      const record: McpKeyRecord = {
        id: newId('mk'),
        name: data.name,
        keyHash: sha256(key).toString('hex'),
        endUser: data.endUser ?? null,
        connectionIds,
        connectorIds: scopeConnectors,
        actionIds: actions ? actions.map((a) => a.id) : null,
        httpRequest: data.httpRequest ?? false,
        createdAt: now(),
        revokedAt: null,
      }
      await store.insertMcpKey(record)
      return { ...view(record), key }
    },

    async list(query = {}) {
      const parsed = listQuerySchema.safeParse(query)
      if (!parsed.success) throw invalidInput(toFieldIssues(parsed.error))
      const page = await store.listMcpKeys(parsed.data)
      return { ...page, items: page.items.map(view) }
    },

    async get(id) {
      const record = await store.getMcpKey(id)
      if (!record) throw notFound(id)
      return view(record)
    },

    async revoke(id) {
      if (!(await store.revokeMcpKey(id, now()))) throw notFound(id)
    },

    async authenticate(candidate) {
      if (!KEY.test(candidate)) return undefined
      const digest = sha256(candidate)
      const found = await store.findMcpKey(digest.toString('hex'))
      if (!found || found.revokedAt !== null) return undefined
      const stored = Buffer.from(found.keyHash, 'hex')
      return stored.length === digest.length && timingSafeEqual(stored, digest)
        ? view(found)
        : undefined
    },
  }
}
