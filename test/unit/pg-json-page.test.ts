import { describe, expect, it } from 'vitest'
import { JsonPageReader } from '../../src/adapters/postgres/user-scan-page.ts'
import { AppError } from '../../src/errors.ts'

/** `COPY (SELECT ord, rev::text, doc::text …) TO STDOUT (FORMAT binary)` of `rows`, as PostgreSQL sends it. */
function binaryCopy(rows: { ord: number; rev: number; doc: string }[]): Buffer {
  const parts = [Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1'), Buffer.alloc(8)]
  for (const { ord, rev, doc } of rows) {
    const revText = Buffer.from(String(rev))
    const docText = Buffer.from(doc)
    const frame = Buffer.alloc(2 + 4 + 8 + 4)
    frame.writeInt16BE(3, 0)
    frame.writeInt32BE(8, 2)
    frame.writeBigInt64BE(BigInt(ord), 6)
    frame.writeInt32BE(revText.length, 14)
    const docFrame = Buffer.alloc(4)
    docFrame.writeInt32BE(docText.length, 0)
    parts.push(frame, revText, docFrame, docText)
  }
  const trailer = Buffer.alloc(2)
  trailer.writeInt16BE(-1, 0)
  parts.push(trailer)
  return Buffer.concat(parts)
}

const rows = [
  { ord: 3, rev: 7, doc: '{"user_id":"auth0|1","name":"Zoë"}' },
  // jsonb's text (rows written before migration 005): compacted, strings untouched.
  { ord: 9, rev: 12, doc: '{"user_id": "auth0|2", "app_metadata": {"a": "x y"}}' },
  { ord: 2 ** 40, rev: 123456789, doc: '{}' },
]
const expected = [
  '{"user_id":"auth0|1","name":"Zoë","rev":7}',
  '{"user_id":"auth0|2","app_metadata":{"a":"x y"},"rev":12}',
  '{"rev":123456789}',
]

/** The page `bytes` make when they arrive in chunks of `size` bytes, each item's JSON as text. */
function read(bytes: Buffer, size: number, pageRows = 2, into?: Buffer): { json: string[]; lastOrd: string } {
  const reader = new JsonPageReader(pageRows, into)
  for (let at = 0; at < bytes.length; at += size) reader.push(bytes.subarray(at, at + size))
  const page = reader.finish()
  const json: string[] = []
  // Each item is valid until the next is asked for (the page reuses it).
  for (const item of page) json.push(Buffer.from(item.bytes.subarray(item.start, item.end)).toString())
  return { json, lastOrd: page.lastOrd }
}

describe('JsonPageReader (PostgreSQL scan pages)', () => {
  it('makes the same page whatever the chunks the COPY arrives in, rows cut anywhere', () => {
    const bytes = binaryCopy(rows)
    for (const size of [1, 2, 5, 17, 64, bytes.length]) {
      expect(read(bytes, size)).toEqual({ json: expected, lastOrd: String(2 ** 40) })
    }
  })

  it('reuses a buffer it is given when the page fits, and grows past it when not', () => {
    const bytes = binaryCopy(rows)
    const roomy = Buffer.alloc(bytes.length + 64)
    expect(read(bytes, 7, 3, roomy).json).toEqual(expected)
    expect(read(bytes, 7, 3, Buffer.alloc(8)).json).toEqual(expected)
  })

  it('reads an empty page', () => {
    expect(read(binaryCopy([]), 3)).toEqual({ json: [], lastOrd: '0' })
  })

  it('refuses a COPY cut short or not binary, as store_invalid', () => {
    const bytes = binaryCopy(rows)
    const cut = new JsonPageReader(2)
    cut.push(bytes.subarray(0, bytes.length - 2))
    expect(() => cut.finish()).toThrow(AppError)
    const text = new JsonPageReader(2)
    expect(() => text.push(Buffer.from('1\t2\t{}\n'.repeat(4)))).toThrow(/cannot read \(not a binary COPY\)/)
  })
})
