/**
 * The shared naming rules (`src/connector/rules.ts`) check logos with Node's `Buffer`; in the
 * browser this gives them the little of it they use: `Buffer.from(base64 | bytes)`, indexing,
 * `byteLength`, `subarray` and `equals`.
 */
class Bytes extends Uint8Array {
  equals(other: Uint8Array): boolean {
    return this.length === other.length && this.every((b, i) => b === other[i])
  }
}

function from(input: string | ArrayLike<number>, encoding?: string): Bytes {
  if (typeof input !== 'string') return new Bytes(input)
  if (encoding !== 'base64') return new Bytes(new TextEncoder().encode(input))
  let binary: string
  try {
    binary = atob(input)
  } catch {
    binary = ''
  }
  const out = new Bytes(binary.length)
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i)
  return out
}

const scope = globalThis as { Buffer?: unknown }
if (scope.Buffer === undefined) scope.Buffer = { from }
