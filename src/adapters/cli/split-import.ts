import { gunzipSync } from 'node:zlib'
import { parseUsersFile } from '../../domain/import/parse-users-file.ts'
import { rowSpans } from '../../domain/import/row-spans.ts'
import { decodeUtf8 } from '../../domain/import/utf8.ts'
import { AppError } from '../../errors.ts'
import type { CliCommand } from './commands.ts'
import { formatSummary, plural } from './format.ts'
import type { Transport } from './transport.ts'
import { exitCodes } from './usage.ts'

/**
 * `roster import <file> --split`: a file larger than IMPORT_MAX_BYTES (a nightly backup of a real tenant) imported
 * as consecutive NDJSON parts, each within the limit, through the ordinary import use case. The CLI decodes the
 * file itself, so the server never receives more than one import's worth at once.
 */

type ImportCommand = Extract<CliCommand, { name: 'import' }>

export interface ImportPart {
  /** 1-based. */
  part: number
  of: number
  fileName: string
  /** 0-based position of the part's first user in the whole file: add it to the indexes of the part's errors. */
  firstRow: number
  rows: number
  text: string
  /** The users `text` parses to, when its lines are the file's own (not for CSV): see `planImportParts`. */
  users?: unknown[]
}

/** What a gzipped file may unpack to here: the CLI's own memory, not a server's, bounds it (a V8 string's limit). */
const maxUnpackedBytes = 512 * 1024 * 1024

/** The file's user objects: gunzipped when it starts with gzip's magic number, then read as any users file. */
export function decodeUsersFile(bytes: Buffer, fileName: string): unknown[] {
  return readUsersFile(bytes, fileName).rows
}

/** A users file read for splitting: its users, and where each one's JSON is in the text (JSON and NDJSON files). */
export interface ReadUsersFile {
  rows: unknown[]
  text: string
  spans?: Int32Array
}

export function readUsersFile(bytes: Buffer, fileName: string): ReadUsersFile {
  const text = decodeUsersText(bytes, fileName)
  const { rows, format } = parseUsersFile(text, fileName)
  const spans = rowSpans(text, format)
  // Used only if they found every user (they always should: checked, not assumed).
  return spans && spans.length === rows.length * 2 ? { rows, text, spans } : { rows, text }
}

function decodeUsersText(bytes: Buffer, fileName: string): string {
  if (bytes[0] !== 0x1f || bytes[1] !== 0x8b) return decodeUtf8(bytes, fileName)
  let unpacked: Buffer
  try {
    unpacked = gunzipSync(bytes, { maxOutputLength: maxUnpackedBytes })
  } catch (error) {
    throw new AppError(
      'invalid_users_file',
      `${fileName} looks gzipped but does not unpack: ${(error as Error).message}.`,
    )
  }
  return decodeUtf8(unpacked, fileName, 'unpacked byte')
}

/**
 * A user's NDJSON line: its own text from the file where it has one (no stringify, and the line parses to the very
 * value the file's parse gave), else JSON.stringify (CSV). Line breaks inside a JSON value are whitespace between
 * tokens (a string cannot hold a raw one), so they become spaces.
 */
function userLine(
  rows: readonly unknown[],
  index: number,
  source?: Pick<ReadUsersFile, 'text' | 'spans'>,
): string {
  const spans = source?.spans
  if (!source || !spans) return `${JSON.stringify(rows[index])}\n`
  const json = source.text.slice(spans[index * 2], spans[index * 2 + 1])
  return `${/[\r\n]/.test(json) ? json.replace(/[\r\n]/g, ' ') : json}\n`
}

/**
 * Cuts the users into NDJSON parts of at most `maxBytes` each, in file order (greedy: every part but the last is
 * as full as it can be). `big.json.gz` gives `big.part-01-of-12.ndjson` … Each part's `text` is written once, and
 * `users` are what its lines parse to: the engine in this process keeps the one and need not parse it again.
 */
export function planImportParts(
  rows: readonly unknown[],
  maxBytes: number,
  fileName: string,
  source?: Pick<ReadUsersFile, 'text' | 'spans'>,
): ImportPart[] {
  const groups: { firstRow: number; lines: string[]; bytes: number }[] = []
  let current: (typeof groups)[number] | undefined
  for (let index = 0; index < rows.length; index++) {
    const line = userLine(rows, index, source)
    const bytes = Buffer.byteLength(line)
    if (bytes > maxBytes) {
      throw new AppError(
        'payload_too_large',
        `${fileName}: the user at index ${index} alone is ${bytes} bytes, more than the ${maxBytes} bytes one ` +
          'import takes (IMPORT_MAX_BYTES). It cannot be imported; shorten its metadata.',
      )
    }
    if (!current || current.bytes + bytes > maxBytes) {
      current = { firstRow: index, lines: [], bytes: 0 }
      groups.push(current)
    }
    current.lines.push(line)
    current.bytes += bytes
  }
  const base = fileName.replace(/\.gz$/i, '').replace(/\.(json|ndjson|jsonl|csv)$/i, '')
  const width = Math.max(2, String(groups.length).length)
  const pad = (n: number) => String(n).padStart(width, '0')
  return groups.map((group, i) => ({
    part: i + 1,
    of: groups.length,
    fileName: `${base}.part-${pad(i + 1)}-of-${pad(groups.length)}.ndjson`,
    firstRow: group.firstRow,
    rows: group.lines.length,
    text: group.lines.join(''),
    // A CSV file's users are JSON.stringify'd: the engine parses those lines, as a server would.
    ...(source?.spans ? { users: rows.slice(group.firstRow, group.firstRow + group.lines.length) } : {}),
  }))
}

/** Adds the way out to Auth0's 413 refusal. */
export function withSplitHint(error: unknown): unknown {
  if (!(error instanceof AppError) || error.code !== 'payload_too_large') return error
  return new AppError(
    error.code,
    `${error.message}\nThe file is too large for one import: add --split to import it in consecutive parts.`,
    error.details,
    { cause: error },
  )
}

/**
 * Refuses a file over the limit of the Roster that will run the import before sending it: a server would
 * otherwise cut the request off at its body limit, with a less useful message than Auth0's (repeated here).
 */
export async function checkImportSize(transport: Transport, command: ImportCommand): Promise<void> {
  const { importMaxBytes } = (await transport.run({ name: 'limits' })) as { importMaxBytes: number }
  if (Buffer.byteLength(command.contentBase64, 'base64') > importMaxBytes) {
    throw withSplitHint(
      new AppError(
        'payload_too_large',
        `Payload content length greater than maximum allowed: ${importMaxBytes}.`,
      ),
    )
  }
}

export interface SplitIo {
  json: boolean
  print(text: string): Promise<void>
  note(text: string): void
  waitForJob(id: string): Promise<Record<string, unknown>>
}

type Summary = { inserted: number; updated: number; failed: number; total: number; unchanged: number }

/**
 * Submits every part (they queue in file order: writing jobs start strictly in the order they were created), then
 * waits for each, printing its summary, and prints the summary of the whole file. Exit code as for one import.
 */
export async function runSplitImport(
  transport: Transport,
  template: ImportCommand,
  bytes: Buffer,
  io: SplitIo,
): Promise<number> {
  const { importMaxBytes } = (await transport.run({ name: 'limits' })) as { importMaxBytes: number }
  const file = readUsersFile(bytes, template.fileName)
  const { rows } = file
  const parts = planImportParts(rows, importMaxBytes, template.fileName, file)
  const externalId = template.externalId ?? template.fileName
  io.note(
    `Importing ${template.fileName}: ${plural(rows.length, 'user')} in ${plural(parts.length, 'part')} of at ` +
      `most ${importMaxBytes.toLocaleString('en-US')} bytes. Duplicates within the file are detected within a ` +
      'part only.',
  )
  const submitted: { part: ImportPart; id: string }[] = []
  let submitError: unknown
  // The worker thread started while the file was read: usually ready by now, and every part after the first then
  // has its users checked there while this thread commits the part before.
  if (parts.length > 1) await transport.importsReady()
  for (const part of parts) {
    try {
      const command = { ...template, fileName: part.fileName, externalId }
      const lines = Buffer.from(part.text)
      const job = (await transport.importPart(command, {
        lines,
        ...(part.users ? { rows: part.users } : {}),
      })) as {
        id: string
      }
      submitted.push({ part, id: job.id })
    } catch (error) {
      // The parts already sent are jobs now: wait for them and report, then say which parts were not sent.
      submitError = error
      break
    }
  }

  const results: { part: ImportPart; job: Record<string, unknown> }[] = []
  for (const { part, id } of submitted) {
    const job = await io.waitForJob(id)
    results.push({ part, job })
    if (!io.json) await io.print(partLine(part, job))
  }
  const summary = aggregate(results.map((r) => r.job))
  const dryRun = template.dryRun
  if (io.json) {
    await io.print(
      JSON.stringify(
        {
          file: template.fileName,
          users: rows.length,
          parts: results.map(({ part, job }) => ({
            part: part.part,
            of: part.of,
            file: part.fileName,
            first_row: part.firstRow,
            rows: part.rows,
            job,
          })),
          summary,
        },
        null,
        2,
      ),
    )
  } else {
    await io.print(`whole file: ${formatSummary({ summary, dry_run: dryRun })}`)
    const withErrors = results.filter(({ job }) => failedUsers(job) > 0)
    if (withErrors.length > 0) {
      await io.print(
        "Some users were not written. Each part's report counts its own rows: add the offset for the file's row:\n" +
          withErrors
            .map(
              ({ part, job }) =>
                `  roster job errors ${job.id}   (part ${part.part}: row N is file row N + ${part.firstRow})`,
            )
            .join('\n'),
      )
    }
  }
  if (submitError !== undefined) {
    const first = (submitted.length + 1).toString()
    const message = submitError instanceof Error ? submitError.message : String(submitError)
    throw new AppError(
      submitError instanceof AppError ? submitError.code : 'unexpected',
      `Part ${first} of ${parts.length} was refused, so parts ${first}–${parts.length} were not imported: ${message}`,
    )
  }
  if (results.some(({ job }) => job.status !== 'completed')) return exitCodes.failed
  return summary.failed > 0 ? exitCodes.someUsersFailed : exitCodes.ok
}

function partLine(part: ImportPart, job: Record<string, unknown>): string {
  const label = `part ${String(part.part).padStart(String(part.of).length)}/${part.of}`
  // Rows as people count them (1-based); --json keeps first_row 0-based like every index.
  const rows = `rows ${part.firstRow + 1}–${part.firstRow + part.rows}`
  const outcome = job.summary ? formatSummary(job) : String(job.status_details ?? '')
  return `${label}  ${job.id}  ${job.status}  ${rows}: ${outcome}`
}

function failedUsers(job: Record<string, unknown>): number {
  return (job.summary as Summary | undefined)?.failed ?? 0
}

function aggregate(jobs: readonly Record<string, unknown>[]): Summary {
  const total: Summary = { inserted: 0, updated: 0, failed: 0, total: 0, unchanged: 0 }
  for (const job of jobs) {
    const s = job.summary as Summary | undefined
    if (!s) continue
    total.inserted += s.inserted
    total.updated += s.updated
    total.failed += s.failed
    total.total += s.total
    total.unchanged += s.unchanged
  }
  return total
}
