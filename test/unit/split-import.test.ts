import { gzipSync } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import { decodeUsersFile, planImportParts, withSplitHint } from '../../src/adapters/cli/split-import.ts'
import { AppError } from '../../src/errors.ts'

const rows = Array.from({ length: 10 }, (_, n) => ({ email: `user${n}@example.com`, user_metadata: { n } }))
const lineBytes = (row: unknown) => Buffer.byteLength(`${JSON.stringify(row)}\n`)

describe('planImportParts', () => {
  it('packs the users in file order into NDJSON parts within the limit', () => {
    const max = lineBytes(rows[0]) * 3 + 5
    const parts = planImportParts(rows, max, 'big.json')
    expect(parts.map((p) => [p.firstRow, p.rows])).toEqual([
      [0, 3],
      [3, 3],
      [6, 3],
      [9, 1],
    ])
    for (const part of parts) expect(Buffer.byteLength(part.text)).toBeLessThanOrEqual(max)
    const back = parts.flatMap((p) =>
      p.text
        .trimEnd()
        .split('\n')
        .map((line) => JSON.parse(line)),
    )
    expect(back).toEqual(rows)
  })

  it('names the parts after the file, numbered with the count', () => {
    const parts = planImportParts(rows, lineBytes(rows[0]) * 3, 'nightly.json.gz')
    expect(parts.map((p) => p.fileName)).toEqual([
      'nightly.part-01-of-04.ndjson',
      'nightly.part-02-of-04.ndjson',
      'nightly.part-03-of-04.ndjson',
      'nightly.part-04-of-04.ndjson',
    ])
  })

  it('makes one part of a file within the limit', () => {
    expect(planImportParts(rows, 1_000_000, 'users.ndjson').map((p) => p.fileName)).toEqual([
      'users.part-01-of-01.ndjson',
    ])
  })

  it('refuses a user that alone is over the limit, naming its index', () => {
    const big = [...rows.slice(0, 2), { email: 'big@example.com', user_metadata: { blob: 'x'.repeat(500) } }]
    expect(() => planImportParts(big, 200, 'users.json')).toThrow(/user at index 2 alone is \d+ bytes/)
  })
})

describe('decodeUsersFile', () => {
  it('reads a gzipped JSON array', () => {
    const bytes = gzipSync(Buffer.from(JSON.stringify(rows)))
    expect(decodeUsersFile(bytes, 'backup.json.gz')).toEqual(rows)
  })

  it('reads plain NDJSON', () => {
    const text = rows.map((row) => JSON.stringify(row)).join('\n')
    expect(decodeUsersFile(Buffer.from(text), 'users.ndjson')).toHaveLength(10)
  })

  it('refuses a file that looks gzipped but is not', () => {
    expect(() => decodeUsersFile(Buffer.from([0x1f, 0x8b, 1, 2, 3]), 'x.gz')).toThrow(/does not unpack/)
  })
})

describe('withSplitHint', () => {
  it("adds --split to Auth0's 413 message and leaves other errors alone", () => {
    const hinted = withSplitHint(
      new AppError('payload_too_large', 'Payload content length greater than maximum allowed: 512000.'),
    )
    expect((hinted as AppError).message).toMatch(
      /^Payload content length greater than maximum allowed: 512000\.\n.*--split/,
    )
    const other = new AppError('not_found', 'x')
    expect(withSplitHint(other)).toBe(other)
  })
})
