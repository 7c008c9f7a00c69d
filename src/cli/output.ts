/**
 * Human and `--json` output.
 *
 * @module
 */

export interface Output {
  json: boolean
  print(value: unknown): void
  table(rows: Record<string, unknown>[], columns: string[]): void
  line(text: string): void
}

function cell(v: unknown): string {
  if (v === null || v === undefined) return '-'
  if (typeof v === 'object') return JSON.stringify(v)
  return String(v)
}

export function createOutput(
  json: boolean,
  write: (s: string) => void = (s) => process.stdout.write(s),
): Output {
  return {
    json,
    print(value) {
      if (json) return write(JSON.stringify(value, null, 2) + '\n')
      if (value && typeof value === 'object' && !Array.isArray(value)) {
        const entries = Object.entries(value as Record<string, unknown>).filter(
          ([k]) => k !== 'logo',
        )
        const width = Math.max(...entries.map(([k]) => k.length))
        for (const [k, v] of entries)
          write(
            `${k.padEnd(width)}  ${typeof v === 'object' && v !== null ? JSON.stringify(v) : cell(v)}\n`,
          )
      } else write(cell(value) + '\n')
    },
    table(rows, columns) {
      if (json) return write(JSON.stringify(rows, null, 2) + '\n')
      if (rows.length === 0) return write('(none)\n')
      const data = rows.map((r) => columns.map((c) => cell(r[c])))
      const widths = columns.map((c, i) => Math.max(c.length, ...data.map((d) => d[i]!.length)))
      write(columns.map((c, i) => c.toUpperCase().padEnd(widths[i]!)).join('  ') + '\n')
      for (const d of data) write(d.map((v, i) => v.padEnd(widths[i]!)).join('  ') + '\n')
    },
    line(text) {
      if (!json) write(text + '\n')
    },
  }
}
