import { isSpace } from './scan-users-json.ts'

/**
 * Where each user of a parsed JSON array or NDJSON file sits in its text: `[start, end)` pairs, in UTF-16 units of
 * the text the parse read. `JSON.parse(text.slice(start, end))` gives back the very value the whole file's parse
 * gave for that user (a JSON value parses the same on its own as inside an array), so a thread that did not parse
 * the file can still quote any user in a report without holding every parsed user. Undefined when the text is
 * not one of those forms (CSV): the caller keeps the parsed rows instead.
 */
export function rowSpans(text: string, format: 'json' | 'ndjson' | 'csv'): Int32Array | undefined {
  if (format === 'ndjson') return lineSpans(text)
  if (format === 'json') return arraySpans(text)
  return undefined
}

/** Non-blank lines (as parseUsersFile's NDJSON reading takes them), without their surrounding spaces. */
function lineSpans(text: string): Int32Array {
  const spans: number[] = []
  let start = 0
  while (start <= text.length) {
    let end = text.indexOf('\n', start)
    if (end < 0) end = text.length
    let from = start
    let to = end
    while (from < to && isSpace(text.charCodeAt(from))) from++
    while (to > from && isSpace(text.charCodeAt(to - 1))) to--
    // A BOM before the first line is not part of its value.
    if (from === 0 && text.charCodeAt(0) === 0xfeff) from++
    if (to > from) spans.push(from, to)
    start = end + 1
  }
  return Int32Array.from(spans)
}

/** The elements of the outermost array of text JSON.parse accepted: split at its own commas, outside strings. */
function arraySpans(text: string): Int32Array {
  const spans: number[] = []
  let depth = 0
  let inString = false
  let start = -1
  const close = (end: number) => {
    let to = end
    while (to > start && isSpace(text.charCodeAt(to - 1))) to--
    if (start >= 0 && to > start) spans.push(start, to)
  }
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i)
    if (inString) {
      if (unit === 0x5c) i++
      else if (unit === 0x22) inString = false
      continue
    }
    if (depth === 1 && start < 0 && !isSpace(unit) && unit !== 0x2c && unit !== 0x5d) start = i
    if (unit === 0x22) inString = true
    else if (unit === 0x5b || unit === 0x7b) depth++
    else if (unit === 0x5d || unit === 0x7d) {
      depth--
      if (depth === 0) {
        close(i)
        break
      }
    } else if (unit === 0x2c && depth === 1) {
      close(i)
      start = -1
    }
  }
  return Int32Array.from(spans)
}
