import type { Column } from './export-fields.ts'

export const exportFormats = ['json', 'ndjson', 'csv'] as const
export type ExportFormat = (typeof exportFormats)[number]

/**
 * Export files are written as a stream of pieces: `head`, then `row` per user (with its 0-based position), then
 * `tail`. JSON is an array, one user per line — the shape the Dashboard guide shows, so the file re-imports as-is;
 * NDJSON is Auth0's API format; CSV follows RFC 4180 with Auth0's OWASP escaping.
 */
export interface ExportWriter {
  head: string
  row(values: readonly unknown[], index: number): string
  tail: string
}

export function exportWriter(format: ExportFormat, columns: readonly Column[]): ExportWriter {
  const labels = columns.map((column) => column.label)
  if (format === 'csv') {
    return {
      head: `${labels.map(csvHeader).join(',')}\r\n`,
      row: (values) => `${values.map(csvCell).join(',')}\r\n`,
      tail: '',
    }
  }
  const object = (values: readonly unknown[]) => {
    // No prototype: a label such as `__proto__` is then an ordinary key, not the object's prototype.
    const entries: Record<string, unknown> = Object.create(null)
    values.forEach((value, i) => {
      if (value !== undefined) entries[labels[i] as string] = value
    })
    return JSON.stringify(entries)
  }
  if (format === 'ndjson') return { head: '', row: (values) => `${object(values)}\n`, tail: '' }
  return {
    head: '[\n',
    row: (values, index) => `${index === 0 ? '' : ',\n'}${object(values)}`,
    tail: '\n]\n',
  }
}

/** Auth0's generated dates, which its CSV escaping leaves alone. */
const isoDate = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/

/**
 * Auth0's CSV injection escaping (OWASP): "Double-quote characters are prepended with a double-quote character.
 * Each string is prepended with a single-quote character. Each string is wrapped in double quotes. This does not
 * apply to Auth0-generated dates in ISO 8601 format." Objects (whole metadata) are written as JSON text, a string.
 */
export function csvCell(value: unknown): string {
  if (value === undefined || value === null) return ''
  if (typeof value === 'boolean' || typeof value === 'number') return String(value)
  const text = typeof value === 'string' ? value : JSON.stringify(value)
  if (isoDate.test(text)) return text
  return `"'${text.replaceAll('"', '""')}"`
}

/** Headers are labels we or the admin chose: quoted only when RFC 4180 needs it, and defused like any cell. */
function csvHeader(label: string): string {
  const defused = /^[=+\-@\t\r]/.test(label) ? `'${label}` : label
  return /[",\r\n]/.test(defused) ? `"${defused.replaceAll('"', '""')}"` : defused
}
