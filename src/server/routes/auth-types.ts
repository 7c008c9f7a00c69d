/**
 * What `GET /api/v1/auth-types` answers: the auth types connectors made through the API may use, each with
 * the JSON Schema of its settings and the hints the connector builder draws its form from
 * (`src/auth/presentation.ts`). Read from the registry, so a type added there shows up here and
 * in the builder with nothing else to change.
 *
 * @module
 */
import { z } from 'zod'
import type { AuthTypeDescription, JsonSchema } from '../../auth/presentation.js'
import type { AuthRegistry } from '../../auth/scheme.js'

/** Every type of the registry but those of code connectors (`ownedBy`), in registry order. */
export function describeAuthTypes(registry: AuthRegistry): AuthTypeDescription[] {
  return registry.types().flatMap((type) => {
    const scheme = registry.get(type)
    if (!scheme || scheme.ownedBy !== undefined) return []
    return [
      {
        type,
        label: scheme.label,
        settings: z.toJSONSchema(scheme.settings, {
          io: 'input',
          unrepresentable: 'any',
        }) as JsonSchema,
        presentation: scheme.presentation ?? {},
        secretSettings: [...(scheme.secretSettings ?? [])],
        testBeforeReady: scheme.testBeforeReady === true,
        hasTest: typeof scheme.test === 'function',
      },
    ]
  })
}
