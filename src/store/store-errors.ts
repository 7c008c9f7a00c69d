/**
 * Errors every store dialect throws the same way, so callers never branch on the dialect.
 *
 * @module
 */
import { PatchbayError, invalidInput } from '../errors.js'

export function linkNameTaken(linkName: string): PatchbayError {
  return new PatchbayError(
    'connector.link_name_taken',
    `linkName "${linkName}" is already used by another connector; choose another`,
    {
      details: [{ path: 'linkName', rule: 'must be unique' }],
    },
  )
}

export function badCursor(): PatchbayError {
  return invalidInput([{ path: 'cursor', rule: 'is not a cursor this API gave out' }])
}
