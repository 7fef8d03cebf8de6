import type { KnownBlock } from '@slack/types'
import Papa from 'papaparse'
import type { ExportFormat } from '../../../domain/export/format.ts'
import type { MessageContent } from './progress-blocks.ts'
import { escapeMrkdwn, plainText, slackLimits } from './slack-text.ts'

/**
 * A sample export shown inline in its thread. Slack has no table block, so the rows are an aligned monospace
 * table in a code block: the first rows, long cells cut with "…", columns that do not fit left for the file.
 */

export interface SampleTable {
  columns: string[]
  /** One string per column, as a person reads the value (no CSV escaping, objects as JSON). */
  rows: string[][]
}

export interface TableLimits {
  /** Rows shown. Default 10 (a sample's size). */
  maxRows: number
  /** Characters per cell before it is cut. Default 24. */
  maxCellChars: number
  /** Characters per line: further columns are left out. Default 110. */
  maxLineChars: number
  /**
   * Characters of the whole table as sent (escaped): further rows are left out. Default: a section's 3,000 less
   * the code fence.
   */
  maxTableChars: number
}

const fence = '```\n'
export const defaultTableLimits: TableLimits = {
  maxRows: 10,
  maxCellChars: 24,
  maxLineChars: 110,
  maxTableChars: slackLimits.sectionText - 2 * fence.length,
}

/** Reads an export file's text (already gunzipped) back into columns and rows. */
export function sampleTableFromText(format: ExportFormat, text: string): SampleTable {
  if (format === 'csv') {
    const records = Papa.parse<string[]>(text.replace(/\r\n$/, ''), { header: false, delimiter: ',' }).data
    const [header = [], ...rest] = records
    // Auth0's CSV escaping starts every string cell with one "'": a reader of the table wants the value.
    return {
      columns: header,
      rows: rest.map((record) => header.map((_, i) => unescapeCell(record[i] ?? ''))),
    }
  }
  const objects: unknown[] =
    format === 'json'
      ? (JSON.parse(text) as unknown[])
      : text
          .split('\n')
          .filter((line) => line.trim() !== '')
          .map((line) => JSON.parse(line) as unknown)
  const columns: string[] = []
  for (const object of objects) {
    for (const key of Object.keys(asRecord(object))) if (!columns.includes(key)) columns.push(key)
  }
  return {
    columns,
    rows: objects.map((object) => columns.map((column) => cellText(asRecord(object)[column]))),
  }
}

function unescapeCell(cell: string): string {
  return cell.startsWith("'") ? cell.slice(1) : cell
}

function asRecord(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {}
}

function cellText(value: unknown): string {
  if (value === undefined || value === null) return ''
  return typeof value === 'string' ? value : JSON.stringify(value)
}

/** A cell on one line, clipped by grapheme (never half an emoji); escaped only once the table is laid out. */
function clip(text: string, max: number): string {
  return plainText(text.replace(/\s+/g, ' '), Math.max(1, max))
}

/**
 * The table as monospace text (without the code fence): header, rule, rows. Returns how many columns and rows
 * were left out, for the caption.
 */
export function renderSampleTable(
  table: SampleTable,
  limits: TableLimits = defaultTableLimits,
): { text: string; hiddenColumns: number; emptyColumns: number; hiddenRows: number } {
  const shownRows = table.rows.slice(0, limits.maxRows)
  // A column no shown user has a value in says nothing in a table: it gives its width to the others.
  const kept = table.columns
    .map((_, column) => column)
    .filter((column) => shownRows.length === 0 || shownRows.some((row) => (row[column] ?? '') !== ''))
  const pick = (row: string[]) => kept.map((column) => row[column] ?? '')
  const columns = pick(table.columns)
  const rows = shownRows.map(pick)
  const cells = [columns, ...rows].map((row) => row.map((cell) => clip(cell, limits.maxCellChars)))
  const widths: number[] = []
  let line = 0
  for (let column = 0; column < columns.length; column++) {
    const width = Math.max(...cells.map((row) => [...(row[column] ?? '')].length))
    const next = line + (column === 0 ? 0 : 2) + width
    if (column > 0 && next > limits.maxLineChars) break
    widths.push(width)
    line = next
  }
  const pad = (text: string, width: number) => text + ' '.repeat(Math.max(0, width - [...text].length))
  const format = (row: string[]) =>
    widths
      .map((width, column) => pad(row[column] ?? '', width))
      .join('  ')
      .trimEnd()
  const [header = [], ...body] = cells
  // Slack's mrkdwn needs &, < and > escaped even in code blocks (a backtick would end the block): escaped line by
  // line, whole rows kept while the table fits, so it is never cut inside a row or an entity (`&am`).
  const escaped = [format(header), widths.map((width) => '─'.repeat(width)).join('  ')].map(escapeMrkdwn)
  let length = escaped.join('\n').length
  let shown = 0
  for (const row of body) {
    const line = escapeMrkdwn(format(row))
    if (length + 1 + line.length > limits.maxTableChars) break
    escaped.push(line)
    length += 1 + line.length
    shown++
  }
  return {
    text: escaped.join('\n'),
    hiddenColumns: columns.length - widths.length,
    emptyColumns: table.columns.length - columns.length,
    hiddenRows: table.rows.length - shown,
  }
}

/** The thread reply that shows a sample export inline, above the file itself. */
export function sampleTableMessage(jobId: string, table: SampleTable, limits?: TableLimits): MessageContent {
  if (table.rows.length === 0) {
    const text = `The sample of ${jobId} has no users.`
    return { text, blocks: [{ type: 'section', text: { type: 'mrkdwn', text } }] }
  }
  const rendered = renderSampleTable(table, limits)
  const count = (n: number, what: string) => (n > 0 ? `${n} ${what}${n === 1 ? '' : 's'}` : '')
  const left = [
    count(rendered.hiddenColumns, 'more column'),
    count(rendered.hiddenRows, 'more row'),
    count(rendered.emptyColumns, 'empty column'),
  ].filter(Boolean)
  const users = `${table.rows.length} user${table.rows.length === 1 ? '' : 's'}`
  const caption = `Sample of \`${jobId}\`: ${users}${left.length > 0 ? ` (${left.join(', ')} only in the file)` : ''}.`
  const blocks: KnownBlock[] = [
    { type: 'section', text: { type: 'mrkdwn', text: caption } },
    // Within a section's 3,000 characters: `maxTableChars` leaves room for the fence.
    { type: 'section', text: { type: 'mrkdwn', text: `${fence}${rendered.text}\n\`\`\`` } },
  ]
  return { text: caption.replaceAll('`', ''), blocks }
}
