import { constants } from 'node:buffer'
import { gzipSync } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import { partsAhead, runSplitImport, withSplitHint } from '../../src/adapters/cli/split-import.ts'
import type { Transport } from '../../src/adapters/cli/transport.ts'
import { planImportParts, readUsersFile, splitUsersFile } from '../../src/engine/split-file.ts'
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

  it("writes each user's own text as its line", () => {
    // Pretty-printed (line breaks inside users), odd spacing, a string holding brackets and an escaped quote, a
    // number JSON.stringify would rewrite: each line is the file's text.
    const text = `\ufeff[ ${JSON.stringify(rows.slice(0, 4), null, 2).slice(1, -1)} ,
      {"email" : "odd@example.com", "user_metadata": {"s": "a,]}\\"b", "n": 1.50}} ]`
    const file = readUsersFile(Buffer.from(text), 'users.json')
    const parts = planImportParts(file.rows, 120, 'users.json', file)
    expect(parts.length).toBeGreaterThan(1)
    for (const part of parts) expect(part.text).toContain('"email"')
    expect(parts.flatMap((p) => parse(p.text))).toEqual(file.rows)
    expect(parts.at(-1)?.text).toContain('"n": 1.50}')
  })

  it('stringifies the users of a CSV file', () => {
    const csv = `email,given_name\n${rows.map((r) => `${r.email},G`).join('\n')}\n`
    const file = readUsersFile(Buffer.from(csv), 'users.csv')
    const parts = planImportParts(file.rows, 1_000_000, 'users.csv', file)
    expect(parse(parts[0]?.text ?? '')).toEqual(file.rows)
  })
})

/** The parts of a file read whole (parsed, then cut): what splitUsersFile must give, whichever way it reads. */
function cutWhole(bytes: Buffer, fileName: string, maxBytes: number) {
  try {
    const file = readUsersFile(bytes, fileName)
    const parts = planImportParts(file.rows, maxBytes, fileName, file)
    return { users: file.rows.length, parts }
  } catch (error) {
    return { error: `${(error as AppError).code}: ${(error as Error).message}` }
  }
}

function cut(bytes: Buffer, fileName: string, maxBytes: number) {
  try {
    const { users, parts, bytesOf } = splitUsersFile(bytes, fileName, maxBytes)
    return { users, parts: parts.map((part) => ({ ...part, text: bytesOf(part).toString() })) }
  } catch (error) {
    return { error: `${(error as AppError).code}: ${(error as Error).message}` }
  }
}

describe('splitUsersFile', () => {
  const user = (n: number, extra: object = {}) => ({
    email: `u${n}@example.com`,
    name: `Ü ${n} "q"`,
    ...extra,
  })
  const users = Array.from({ length: 9 }, (_, n) => user(n))

  it('cuts a file in one pass over its bytes into the parts reading it whole gives, and refuses what that refuses', () => {
    const files: [string, string, string | Uint8Array, number][] = [
      ['a pretty-printed JSON array with a BOM', 'big.json', `\ufeff${JSON.stringify(users, null, 2)}`, 120],
      [
        'CRLF and tabs between tokens',
        'big.json',
        JSON.stringify(users, null, '\t').replace(/\n/g, '\r\n'),
        150,
      ],
      [
        'NDJSON with CRLF and blank lines',
        'big.ndjson',
        users.map((u) => JSON.stringify(u)).join('\r\n\n'),
        100,
      ],
      ['gzipped JSON', 'big.json.gz', gzipSync(Buffer.from(JSON.stringify(users))), 150],
      ['CSV (read whole)', 'big.csv', `email,given_name\n${users.map((u) => `${u.email},G`).join('\n')}`, 90],
      [
        'users of any JSON type',
        'mixed.json',
        `[${JSON.stringify(user(1))},{"email":"bad"},"x",7,null,[]]`,
        60,
      ],
      [
        'a user alone over the limit',
        'big.json',
        JSON.stringify([user(1), user(2, { note: 'x'.repeat(300) })]),
        200,
      ],
      ['not JSON', 'broken.json', '[{"email": "a@b.co",}]', 200],
      ['nested too deep', 'deep.json', `[{"email":"a","m":${'['.repeat(40)}${']'.repeat(40)}}]`, 2000],
      ['not UTF-8', 'latin1.json', Buffer.from([0x5b, 0x22, 0xe9, 0x22, 0x5d]), 200],
      ['an empty array', 'empty.json', ' [ ] ', 200],
      ['one line of NDJSON wrapping users', 'wrapped.json', '{"users":[{"email":"a@b.co"}]}', 200],
    ]
    for (const [what, fileName, content, maxBytes] of files) {
      const bytes = Buffer.from(content)
      expect(cut(bytes, fileName, maxBytes), what).toEqual(cutWhole(bytes, fileName, maxBytes))
    }
  })

  it('says what to do with a file too large to read whole as text that the one pass cannot take', () => {
    // Past V8's longest string (~512 MB), and not JSON: the one pass declines it, and it cannot be read as text.
    const bytes = Buffer.alloc(constants.MAX_STRING_LENGTH + 1, 0x61)
    expect(() => splitUsersFile(bytes, 'huge.json', 500_000)).toThrow(
      /huge\.json is too large to read as text: \d+ bytes.*valid JSON from start to end.*jq empty huge\.json/s,
    )
  })

  it('cuts a valid file larger than a string can be, which reading it whole cannot', () => {
    const note = Buffer.alloc(9_000_000, 0x78)
    const pieces = Array.from({ length: 61 }, (_, n) => [
      Buffer.from(`${n === 0 ? '[' : ','}{"email":"u${n}@example.com","note":"`),
      note,
      Buffer.from('"}'),
    ])
    const bytes = Buffer.concat([...pieces.flat(), Buffer.from(']')])
    expect(bytes.length).toBeGreaterThan(constants.MAX_STRING_LENGTH)
    const { users, parts, bytesOf } = splitUsersFile(bytes, 'huge.json', 10_000_000)
    expect(users).toBe(61)
    expect(parts).toHaveLength(61)
    const last = JSON.parse(bytesOf(parts[60] as (typeof parts)[number]).toString())
    expect(last.email).toBe('u60@example.com')
  })

  it('cuts a large file at the same users, whichever way it reads it', () => {
    const many = Array.from({ length: 2_000 }, (_, n) =>
      user(n, { user_metadata: { n, s: 'é'.repeat(n % 7) } }),
    )
    const bytes = Buffer.from(JSON.stringify(many, null, 1))
    const fast = cut(bytes, 'many.json', 20_000)
    expect(fast).toEqual(cutWhole(bytes, 'many.json', 20_000))
    expect((fast as { parts: unknown[] }).parts.length).toBeGreaterThan(10)
  })
})

describe('readUsersFile', () => {
  it('reads a gzipped JSON array', () => {
    const bytes = gzipSync(Buffer.from(JSON.stringify(rows)))
    expect(readUsersFile(bytes, 'backup.json.gz').rows).toEqual(rows)
  })

  it('reads plain NDJSON', () => {
    const text = rows.map((row) => JSON.stringify(row)).join('\n')
    expect(readUsersFile(Buffer.from(text), 'users.ndjson').rows).toHaveLength(10)
  })

  it('refuses a file that looks gzipped but is not', () => {
    expect(() => readUsersFile(Buffer.from([0x1f, 0x8b, 1, 2, 3]), 'x.gz')).toThrow(/does not unpack/)
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

describe('runSplitImport', () => {
  it('keeps at most partsAhead parts waiting, submits in file order and sums every part', async () => {
    const users = Array.from({ length: 200 }, (_, n) => ({ email: `u${n}@example.com` }))
    const lineSize = Buffer.byteLength(`${JSON.stringify(users[0])}\n`)
    const sent: string[] = []
    const settled = new Set<string>()
    let mostWaiting = 0
    const transport = {
      mode: 'local',
      run: async () => ({ importMaxBytes: lineSize * 4 }),
      async importPart(_command: unknown, part: { fileName: string; bytes: Buffer; rows: number }) {
        expect(part.bytes.toString().trimEnd().split('\n')).toHaveLength(part.rows)
        sent.push(part.fileName)
        mostWaiting = Math.max(mostWaiting, sent.length - settled.size)
        return { id: part.fileName }
      },
      close: async () => {},
    } as unknown as Transport
    const io = {
      json: true,
      print: async () => {},
      note: () => {},
      async waitForJob(id: string) {
        settled.add(id)
        return {
          id,
          status: 'completed',
          summary: { inserted: 4, updated: 0, failed: 0, total: 4, unchanged: 0 },
        }
      },
    }
    const template = { name: 'import', fileName: 'big.json', connection: 'c', dryRun: false } as never
    const code = await runSplitImport(transport, template, Buffer.from(JSON.stringify(users)), io)
    expect(code).toBe(0)
    expect(sent.length).toBeGreaterThan(2 * partsAhead)
    expect(sent).toEqual([...sent].sort())
    expect(mostWaiting).toBe(partsAhead)
  })
})
