import { isUtf8 } from 'node:buffer'
import { gunzipSync } from 'node:zlib'
import { inputLimits } from '../domain/import/input-limits.ts'
import { parseUsersFile } from '../domain/import/parse-users-file.ts'
import { rowSpans } from '../domain/import/row-spans.ts'
import { type ScannedUsers, scanUsersJson } from '../domain/import/scan-users-json.ts'
import { decodeUtf8 } from '../domain/import/utf8.ts'
import { AppError } from '../errors.ts'

/**
 * `roster import <file> --split`: a file larger than IMPORT_MAX_BYTES (a nightly backup of a real tenant) cut into
 * consecutive NDJSON parts, each within the limit, each then imported through the ordinary import use case, which
 * parses it (the file is parsed once, part by part). A JSON array or NDJSON file is checked whole in one pass over
 * its bytes first (scan-users-json.ts: what JSON.parse would say, without building the users) and cut by copying
 * each user's bytes; any other file (CSV) is read whole and its users written as lines.
 */

/** Where a part sits in its file. */
export interface PartOfFile {
  /** 1-based. */
  part: number
  of: number
  fileName: string
  /** 0-based position of the part's first user in the whole file: add it to the indexes of the part's errors. */
  firstRow: number
  rows: number
}

/** A part of parsed users (planImportParts), its NDJSON as text. */
export interface ImportPart extends PartOfFile {
  text: string
}

/** A part as it is handed to the import use case: its NDJSON as bytes (the upload the job keeps). */
export interface PartToImport extends PartOfFile {
  bytes: Buffer
}

/** `roster import --split`'s file cut into parts: how many users it holds, and its parts in file order. */
export interface SplitFile {
  users: number
  parts: PartOfFile[]
  /**
   * The part's NDJSON, cut from the file when asked (each time: the caller holds it only while it hands the part
   * over, so a large file's parts are not all in memory at once).
   */
  bytesOf(part: PartOfFile): Buffer
}

/** What a gzipped file may unpack to here: the CLI's own memory, not a server's, bounds it (a V8 string's limit). */
const maxUnpackedBytes = 512 * 1024 * 1024

/** A users file read whole: its users, and where each one's JSON is in the text (JSON and NDJSON files). */
export interface ReadUsersFile {
  rows: unknown[]
  text: string
  spans?: Int32Array
}

export function readUsersFile(bytes: Buffer, fileName: string): ReadUsersFile {
  return readUnpacked(unpackedFile(bytes, fileName), fileName, isGzip(bytes))
}

/** readUsersFile of the file's bytes once gunzipped (`gzipped` says which, for an error's wording). */
function readUnpacked(unpacked: Buffer, fileName: string, gzipped: boolean): ReadUsersFile {
  const text = decodeUtf8(unpacked, fileName, gzipped ? 'unpacked byte' : 'byte')
  const { rows, format } = parseUsersFile(text, fileName)
  const spans = rowSpans(text, format)
  // Used only if they found every user (they always should: checked, not assumed).
  return spans && spans.length === rows.length * 2 ? { rows, text, spans } : { rows, text }
}

const isGzip = (bytes: Uint8Array) => bytes[0] === 0x1f && bytes[1] === 0x8b

/** The file's bytes, gunzipped when it starts with gzip's magic number. */
function unpackedFile(bytes: Buffer, fileName: string): Buffer {
  if (!isGzip(bytes)) return bytes
  try {
    return gunzipSync(bytes, { maxOutputLength: maxUnpackedBytes })
  } catch (error) {
    throw new AppError(
      'invalid_users_file',
      `${fileName} looks gzipped but does not unpack: ${(error as Error).message}.`,
    )
  }
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
 * Cuts parsed users into NDJSON parts of at most `maxBytes` each, in file order (greedy: every part but the last is
 * as full as it can be). `big.json.gz` gives `big.part-01-of-12.ndjson` … Each part's `text` is written once.
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
    if (bytes > maxBytes) throw tooLarge(fileName, index, bytes, maxBytes)
    if (!current || current.bytes + bytes > maxBytes) {
      current = { firstRow: index, lines: [], bytes: 0 }
      groups.push(current)
    }
    current.lines.push(line)
    current.bytes += bytes
  }
  const name = partNames(fileName, groups.length)
  return groups.map((group, i) => ({
    part: i + 1,
    of: groups.length,
    fileName: name(i),
    firstRow: group.firstRow,
    rows: group.lines.length,
    text: group.lines.join(''),
  }))
}

/** `big.json.gz` in 12 parts: `big.part-01-of-12.ndjson` … (0-based `i`). */
function partNames(fileName: string, count: number): (i: number) => string {
  const base = fileName.replace(/\.gz$/i, '').replace(/\.(json|ndjson|jsonl|csv)$/i, '')
  const width = Math.max(2, String(count).length)
  const pad = (n: number) => String(n).padStart(width, '0')
  return (i) => `${base}.part-${pad(i + 1)}-of-${pad(count)}.ndjson`
}

function tooLarge(fileName: string, index: number, bytes: number, maxBytes: number): AppError {
  return new AppError(
    'payload_too_large',
    `${fileName}: the user at index ${index} alone is ${bytes} bytes, more than the ${maxBytes} bytes one ` +
      'import takes (IMPORT_MAX_BYTES). It cannot be imported; shorten its metadata.',
  )
}

/**
 * The whole of `roster import --split`'s reading: the file (gzipped or not) cut into NDJSON parts of at most
 * `maxBytes`. A file that is not JSON, nests too deep or holds a user over the limit is refused whole, as one import
 * would refuse it (the same AppError), before any part exists.
 */
export function splitUsersFile(bytes: Buffer, fileName: string, maxBytes: number): SplitFile {
  const unpacked = unpackedFile(bytes, fileName)
  const scanned = isUtf8(unpacked) ? scanUsersJson(unpacked, inputLimits.fileMaxDepth) : undefined
  if (scanned) return cutScanned(unpacked, scanned, fileName, maxBytes)
  // CSV, or a fault to name (line and column): read whole, as one import would read it.
  const file = readWhole(unpacked, fileName, isGzip(bytes))
  const parts = planImportParts(file.rows, maxBytes, fileName, file)
  return {
    users: file.rows.length,
    parts: parts.map(({ text: _, ...part }) => part),
    bytesOf: (part) => Buffer.from((parts[part.part - 1] as ImportPart).text),
  }
}

/** readUnpacked, saying what a file too large to read whole as text can still be. */
function readWhole(unpacked: Buffer, fileName: string, gzipped: boolean): ReadUsersFile {
  try {
    return readUnpacked(unpacked, fileName, gzipped)
  } catch (error) {
    if (!(error instanceof AppError) || error.code !== 'payload_too_large') throw error
    throw new AppError(
      'invalid_users_file',
      `${error.message} roster import --split reads a JSON array or NDJSON file of any size in one pass over its ` +
        'bytes, but only one that is valid JSON from start to end; this one is not (or it is CSV, which is read ' +
        `whole). Find the fault with a JSON tool (jq empty ${fileName}), or cut the file into smaller ones.`,
      undefined,
      { cause: error },
    )
  }
}

/**
 * Parts of the users the scan found, greedy in file order: each user's bytes copied as its line (line breaks
 * between its tokens made spaces: a string holds none raw), into one Buffer a part.
 */
function cutScanned(bytes: Buffer, scanned: ScannedUsers, fileName: string, maxBytes: number): SplitFile {
  const { spans, multiline } = scanned
  const users = spans.length / 2
  const groups: { firstRow: number; rows: number; bytes: number }[] = []
  let current: (typeof groups)[number] | undefined
  for (let index = 0; index < users; index++) {
    const size = (spans[index * 2 + 1] as number) - (spans[index * 2] as number) + 1
    if (size > maxBytes) throw tooLarge(fileName, index, size, maxBytes)
    if (!current || current.bytes + size > maxBytes) {
      current = { firstRow: index, rows: 0, bytes: 0 }
      groups.push(current)
    }
    current.rows++
    current.bytes += size
  }
  const name = partNames(fileName, groups.length)
  const bytesOf = (plan: PartOfFile): Buffer => {
    const group = groups[plan.part - 1] as (typeof groups)[number]
    // Every byte is written below.
    const part = Buffer.allocUnsafe(group.bytes)
    const last = group.firstRow + group.rows - 1
    const from = spans[group.firstRow * 2] as number
    // One byte between each user and the next (a compact file: `,` or a newline): one copy, those bytes made `\n`.
    const adjacent = (spans[last * 2 + 1] as number) - from + 1 === group.bytes
    if (adjacent) bytes.copy(part, 0, from, from + group.bytes - 1)
    let at = 0
    for (let index = group.firstRow; index <= last; index++) {
      const start = spans[index * 2] as number
      const end = spans[index * 2 + 1] as number
      if (!adjacent) bytes.copy(part, at, start, end)
      if (multiline[index] === 1) {
        for (let k = at; k < at + end - start; k++) if (part[k] === 0x0a || part[k] === 0x0d) part[k] = 0x20
      }
      at += end - start
      part[at++] = 0x0a
    }
    return part
  }
  const parts = groups.map(
    (group, i): PartOfFile => ({
      part: i + 1,
      of: groups.length,
      fileName: name(i),
      firstRow: group.firstRow,
      rows: group.rows,
    }),
  )
  return { users, parts, bytesOf }
}
