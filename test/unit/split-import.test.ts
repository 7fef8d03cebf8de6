import { gzipSync } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import {
  decodeUsersFile,
  planImportParts,
  readUsersFile,
  withSplitHint,
} from '../../src/adapters/cli/split-import.ts'
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

describe('planImportParts on the file as written', () => {
  const parse = (text: string) =>
    text
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line))

  it("writes each user's own text as its line, and hands over the users those lines parse to", () => {
    // Pretty-printed (line breaks inside users), odd spacing, a string holding brackets and an escaped quote, a
    // number JSON.stringify would rewrite: each line is the file's text, parsed once by the CLI.
    const text = `\ufeff[ ${JSON.stringify(rows.slice(0, 4), null, 2).slice(1, -1)} ,
      {"email" : "odd@example.com", "user_metadata": {"s": "a,]}\\"b", "n": 1.50}} ]`
    const file = readUsersFile(Buffer.from(text), 'users.json')
    const parts = planImportParts(file.rows, 120, 'users.json', file)
    expect(parts.length).toBeGreaterThan(1)
    for (const part of parts) {
      expect(part.text).toContain('"email"')
      expect(parse(part.text)).toEqual(part.users)
    }
    expect(parts.flatMap((p) => p.users)).toEqual(file.rows)
    expect(parts.at(-1)?.text).toContain('"n": 1.50}')
  })

  it('stringifies the users of a CSV file, and hands over none: the engine parses those lines', () => {
    const csv = `email,given_name\n${rows.map((r) => `${r.email},G`).join('\n')}\n`
    const file = readUsersFile(Buffer.from(csv), 'users.csv')
    const parts = planImportParts(file.rows, 1_000_000, 'users.csv', file)
    expect(parts[0]?.users).toBeUndefined()
    expect(parse(parts[0]?.text ?? '')).toEqual(file.rows)
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
