/**
 * Zoho's naming rules for connectors (docs/concepts.md), shared by the API schemas and the UI.
 *
 * @module
 */

export const NAME_MAX = 50
export const DESCRIPTION_MAX = 255
export const LOGO_MAX_BYTES = 1024 * 1024

export const NAME_RE = /^[\p{L}\p{N}_][\p{L}\p{N}_*\-@/!:|&~\\+ ]*$/u
export const NAME_RULE =
  'must start with a letter, digit or _ and use only letters, digits, space and * _ - @ / ! : | & ~ \\ +'
export const LINK_NAME_RE = /^[A-Za-z][A-Za-z0-9_]*$/
export const LINK_NAME_RULE = 'must start with a letter and use only letters, digits and _'
export const DESCRIPTION_RE = /^[\p{L}\p{N},.()\-_*@/\\!:|~& \n]*$/u
export const DESCRIPTION_RULE =
  'may use only letters, digits, space and , . ( ) - _ * @ / \\ ! : | ~ &'

/** `Acme CRM!` → `acme_crm`; a name that starts with a digit or _ gets a `c_` prefix. */
export function deriveLinkName(name: string): string {
  let link = name
    .normalize('NFKD')
    .replace(/[^A-Za-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .toLowerCase()
  if (!/^[a-z]/.test(link)) link = `c_${link}`
  return link.slice(0, NAME_MAX).replace(/_+$/, '') || 'connector'
}

const LOGO_RE = /^data:image\/(png|jpeg|jpg);base64,([A-Za-z0-9+/]+={0,2})$/

/** Checks a logo data URL; returns the rule it breaks, or undefined when it is fine. */
export function logoProblem(logo: string): string | undefined {
  const m = LOGO_RE.exec(logo)
  if (!m) return 'must be a data:image/png or data:image/jpeg base64 URL (PNG/JPG/JPEG only)'
  const bytes = Buffer.from(m[2]!, 'base64')
  if (bytes.byteLength >= LOGO_MAX_BYTES) return 'must be smaller than 1 MiB'
  const isPng = bytes
    .subarray(0, 8)
    .equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))
  const isJpeg = bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff
  if (m[1] === 'png' ? !isPng : !isJpeg) return `content is not a ${m[1]!.toUpperCase()} image`
  return undefined
}
