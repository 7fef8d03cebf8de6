import { isUtf8 } from 'node:buffer'
import type { ParsedUsersFile } from '../../domain/import/parse-users-file.ts'

/**
 * A part `roster import --split` cut (NDJSON, one user a line, its nesting checked with the whole file) read from its
 * bytes a line at a time: each line is decoded on its own, so a line of ASCII alone parses as a one-byte string,
 * where decoding the part whole makes every line two-byte as soon as one user's name is in Cyrillic or CJK (JSON.parse
 * of a one-byte string is ~20% faster). Undefined for bytes it does not read so (gzip, a byte-order mark, bytes
 * that are not UTF-8, a first line that is not an object, a line that is not JSON, fewer than two users):
 * `parseUsersFile` of their text then answers, with its own errors, so a part is refused or read as before.
 */
export function parseNdjsonPart(bytes: Buffer): ParsedUsersFile | undefined {
  if (bytes[0] !== openBrace || !isUtf8(bytes)) return undefined
  const rows: unknown[] = []
  for (let start = 0; start < bytes.length; ) {
    const newline = bytes.indexOf(lineFeed, start)
    const end = newline === -1 ? bytes.length : newline
    const line = bytes.toString('utf8', start, end)
    start = end + 1
    if (line.trim() === '') continue
    try {
      rows.push(JSON.parse(line))
    } catch {
      return undefined
    }
  }
  return rows.length < 2 ? undefined : { format: 'ndjson', rows }
}

const openBrace = 0x7b
const lineFeed = 0x0a
