import { gunzipSync } from 'node:zlib'
import { parseUsersFile } from '../domain/import/parse-users-file.ts'
import { rowSpans } from '../domain/import/row-spans.ts'
import { decodeUtf8 } from '../domain/import/utf8.ts'
import { AppError } from '../errors.ts'
import type { SplitPartRef } from './ports.ts'

/**
 * `roster import <file> --split`: a file larger than IMPORT_MAX_BYTES (a nightly backup of a real tenant) cut into
 * consecutive NDJSON parts, each within the limit, each then imported through the ordinary import use case. Used by
 * the CLI's own thread (its server does the imports) and by the import worker thread (the CLI runs them itself:
 * the file is then parsed once, there, and each part's users are checked from that parse).
 */

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

/** A part as it is handed to the import use case: its NDJSON as bytes (the upload the job keeps). */
export interface PartToImport extends Omit<ImportPart, 'text'> {
  bytes: Buffer
  /** Cut by the import worker thread, which holds the part's users parsed: `ImportRequest.part`. */
  ref?: SplitPartRef
}

/** The part's NDJSON in a Buffer of its own (not a slice of Node's shared pool): it can be transferred whole. */
export function partBytes(text: string): Buffer {
  const bytes = Buffer.from(new ArrayBuffer(Buffer.byteLength(text)))
  bytes.write(text)
  return bytes
}

/** What a gzipped file may unpack to here: the CLI's own memory, not a server's, bounds it (a V8 string's limit). */
const maxUnpackedBytes = 512 * 1024 * 1024

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
 * `users` are what its lines parse to: the engine keeps the one and need not parse it again.
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

/** The file read and cut into parts of at most `maxBytes`: the whole of `roster import --split`'s reading. */
export function splitUsersFile(bytes: Buffer, fileName: string, maxBytes: number): ImportPart[] {
  const file = readUsersFile(bytes, fileName)
  return planImportParts(file.rows, maxBytes, fileName, file)
}
