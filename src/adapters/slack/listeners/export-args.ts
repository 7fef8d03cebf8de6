import { type Connection, findConnection } from '../../../domain/connections/connection.ts'
import { defaultFields, type ExportField, resolveColumns } from '../../../domain/export/export-fields.ts'
import { type ExportFormat, exportFormats } from '../../../domain/export/format.ts'
import { AppError } from '../../../errors.ts'
import { codeText, userText } from '../blocks/slack-text.ts'

/** What /export is asked for, from its arguments or its dialog: everything `requestExport` needs but the person. */
export interface ExportChoice {
  /** Undefined: every connection. */
  connection: Connection | undefined
  format: ExportFormat
  sample: boolean
  gzip: boolean
  /** Undefined: every profile field (the engine's default). */
  fields?: ExportField[]
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; problem: string }

export const exportUsage =
  'Usage: `/export [connection|all] [json|ndjson|csv] [sample] [gzip]` — in any order; the connection by name or id, ' +
  'all connections when left out, JSON by default. `/export` alone opens a dialog that also picks fields.'

/**
 * `/export Username-Password-Authentication csv sample`: order-free words. A word that is neither a keyword nor
 * a connection is refused with the usage, rather than guessed at.
 */
export function parseExportArgs(text: string, connections: readonly Connection[]): Parsed<ExportChoice> {
  const words = text.trim().split(/\s+/).filter(Boolean)
  let format: ExportFormat | undefined
  let connection: Connection | 'all' | undefined
  let sample = false
  let gzip = false
  for (const word of words) {
    const keyword = word.toLowerCase()
    const asFormat = exportFormats.find((f) => f === keyword)
    if (asFormat) {
      if (format && format !== asFormat) return refuse(`Pick one format, not ${format} and ${asFormat}.`)
      format = asFormat
    } else if (keyword === 'sample') sample = true
    else if (keyword === 'gzip') gzip = true
    else {
      const found = keyword === 'all' ? 'all' : findConnection(connections, word)
      if (!found) {
        return refuse(
          `${codeText(word, 100)} is neither an option nor a connection (connections: ${connectionList(connections)}).`,
        )
      }
      if (connection && connection !== found) return refuse('Name one connection, or `all`.')
      connection = found
    }
  }
  return {
    ok: true,
    value: {
      connection: connection === 'all' ? undefined : connection,
      format: format ?? 'json',
      sample,
      gzip,
    },
  }
}

/** Names a few connections (escaped: names are data), and how many more there are. */
function connectionList(connections: readonly Connection[], shown = 20): string {
  if (connections.length === 0) return 'none'
  const names = connections.slice(0, shown).map((c) => userText(c.name, 80))
  const more = connections.length - shown
  return more > 0 ? `${names.join(', ')} and ${more} more` : names.join(', ')
}

function refuse(problem: string): { ok: false; problem: string } {
  return { ok: false, problem: `:warning: ${problem}\n${exportUsage}` }
}

/**
 * The dialog's field box: one field per line, `path` or `path=Label` (the label is the CSV header or JSON key).
 * "Add default fields" puts the extension's eleven first. Checked with the engine's own rules, so the dialog can
 * point at the problem before it closes. No fields at all: undefined (every profile field).
 */
export function parseFieldLines(lines: string, withDefaults: boolean): Parsed<ExportField[] | undefined> {
  const fields: ExportField[] = withDefaults ? defaultFields.map((field) => ({ ...field })) : []
  for (const [index, raw] of lines.split(/\r?\n/).entries()) {
    const line = raw.trim()
    if (line === '') continue
    const at = line.indexOf('=')
    const name = (at < 0 ? line : line.slice(0, at)).trim()
    const label = at < 0 ? undefined : line.slice(at + 1).trim()
    if (name === '') return { ok: false, problem: `Line ${index + 1}: name the field before "=".` }
    if (label === '')
      return {
        ok: false,
        problem: `Line ${index + 1}: write the name to export ${name} as after "=", or drop the "=".`,
      }
    if (name.length > 100 || (label?.length ?? 0) > 100) {
      return { ok: false, problem: `Line ${index + 1}: field paths and names have at most 100 characters.` }
    }
    fields.push(label === undefined ? { name } : { name, export_as: label })
  }
  if (fields.length === 0) return { ok: true, value: undefined }
  try {
    resolveColumns(fields)
  } catch (error) {
    if (error instanceof AppError) return { ok: false, problem: error.message }
    throw error
  }
  return { ok: true, value: fields }
}
