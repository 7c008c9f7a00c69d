/**
 * Saved custom actions: each belongs to a connector, takes typed inputs (`{{input.x}}` in its
 * path, query, headers and body), runs through the pipeline with its own breaker and logs, and is
 * found by id through the store's index of actions.
 *
 * @module
 */
import { actionRunSchema, type CustomAction } from '../connector/schema.js'
import { PatchbayError, invalidInput } from '../errors.js'
import { MissingTemplateValue, renderDeep, renderTemplate } from '../lib/template.js'
import type { Store } from '../store/store.js'
import { actionBreakerKey, type Breakers, type BreakerView } from './breakers.js'
import type { CallTargets } from './call-targets.js'
import { envelope, toBody, type RequestOutcome } from './envelope.js'
import type { CallerInfo, Executor, RawRequest } from './executor.js'
import { toFieldIssues } from './issues.js'
import { checkValues, templateScope } from './values.js'

export interface ActionService {
  /** Runs a saved action; `caller` names the MCP key and tool in the log entry. */
  run(
    actionId: string,
    input: unknown,
    caller?: CallerInfo,
  ): Promise<RequestOutcome & { action: { id: string; name: string } }>
  get(actionId: string): Promise<CustomAction & { connectorId: string; breaker: BreakerView }>
  /** Closes an action's breaker by hand. */
  resetBreaker(actionId: string): Promise<BreakerView>
}

export function createActionService(
  store: Store,
  targets: CallTargets,
  executor: Executor,
  breakers: Breakers,
): ActionService {
  async function find(actionId: string): Promise<{ connectorId: string; action: CustomAction }> {
    const connectorId = await store.findActionConnector(actionId)
    const record = connectorId ? await store.getConnector(connectorId) : undefined
    const action = record?.definition.actions.find((a) => a.id === actionId)
    if (!record || !action)
      throw new PatchbayError(
        'action.not_found',
        `no saved action "${actionId}"; actions are listed on their connector`,
      )
    return { connectorId: record.id, action }
  }

  return {
    async run(actionId, input, caller) {
      const parsed = actionRunSchema.safeParse(input)
      if (!parsed.success) throw invalidInput(toFieldIssues(parsed.error))
      const found = await find(actionId)
      const { target, breaker } = await targets.get(
        parsed.data.connection,
        actionBreakerKey(found.connectorId, actionId),
      )
      if (target.record.connectorId !== found.connectorId) {
        throw invalidInput([
          {
            path: 'connection',
            rule: `must be a connection of the action's connector (${found.connectorId})`,
          },
        ])
      }
      const action = found.action
      const checked = checkValues(action.inputs, parsed.data.inputs, 'inputs')
      if (checked.issues.length) {
        throw new PatchbayError(
          'action.invalid_inputs',
          checked.issues.map((i) => `${i.path} ${i.rule}`).join('; '),
          { details: checked.issues },
        )
      }
      const scope = {
        ...target.scope,
        input: templateScope(action.inputs, { ...checked.public, ...checked.secret }),
      }
      let raw: RawRequest
      try {
        raw = {
          method: action.method,
          path: renderTemplate(action.path, scope, { encode: encodeURIComponent }),
          query: action.query
            ? (renderDeep(action.query, scope) as Record<string, string>)
            : undefined,
          headers: action.headers
            ? (renderDeep(action.headers, scope) as Record<string, string>)
            : undefined,
          body:
            action.body === undefined
              ? undefined
              : toBody(renderDeep(action.body, scope), action.headers),
        }
      } catch (err) {
        if (err instanceof MissingTemplateValue) {
          throw new PatchbayError(
            'action.invalid_inputs',
            `the action uses {{${err.key}}}, which has no value`,
            {
              details: [
                {
                  path: `inputs.${err.key.replace(/^input\./, '')}`,
                  rule: 'is required by the action',
                },
              ],
            },
          )
        }
        throw err
      }
      if (/^https?:\/\//i.test(raw.path ?? '')) raw = { ...raw, url: raw.path, path: undefined }
      const result = await executor.execute(target, raw, {
        actionId: action.id,
        stream: false,
        breaker: { record: breaker },
        caller,
      })
      return { ...(await envelope(result)), action: { id: action.id, name: action.name } }
    },

    async get(actionId) {
      const { connectorId, action } = await find(actionId)
      return {
        ...action,
        connectorId,
        breaker: await breakers.view(actionBreakerKey(connectorId, action.id)),
      }
    },

    async resetBreaker(actionId) {
      const { connectorId, action } = await find(actionId)
      return breakers.reset(actionBreakerKey(connectorId, action.id))
    },
  }
}
