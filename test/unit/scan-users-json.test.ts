import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { inputLimits } from '../../src/domain/import/input-limits.ts'
import { parseUsersFile } from '../../src/domain/import/parse-users-file.ts'
import { scanUsersJson } from '../../src/domain/import/scan-users-json.ts'

/**
 * The scan stands for JSON.parse in `roster import --split`: a file it takes must be one that reading it whole
 * (parseUsersFile: JSON.parse, the depth check) takes too, with the same users where it says they are. A file it
 * does not take is read whole, so declining is always safe; taking a file the whole read refuses would import
 * parts of a broken file.
 */

const depth = inputLimits.fileMaxDepth

/** parseUsersFile's verdict on the bytes: the users, or undefined when it refuses the file. */
function wholeRead(bytes: Buffer): unknown[] | undefined {
  const text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes)
  try {
    return parseUsersFile(text, 'users.json').rows
  } catch {
    return undefined
  }
}

/** Checks the scan against the whole read; says whether the scan took the file. */
function agrees(bytes: Buffer): boolean {
  const scanned = scanUsersJson(bytes, depth)
  if (!scanned) return false
  const rows = wholeRead(bytes)
  expect(
    rows,
    `the scan took a file the whole read refuses: ${JSON.stringify(bytes.toString())}`,
  ).toBeDefined()
  expect(scanned.spans.length).toBe((rows?.length ?? 0) * 2)
  for (let i = 0; i < (rows?.length ?? 0); i++) {
    const json = bytes.subarray(scanned.spans[i * 2], scanned.spans[i * 2 + 1]).toString()
    expect(JSON.parse(json)).toEqual(rows?.[i])
    expect(scanned.multiline[i] === 1).toBe(/[\r\n]/.test(json))
  }
  return true
}

const user = fc.record(
  {
    email: fc.oneof(fc.emailAddress(), fc.string({ unit: 'binary', maxLength: 8 })),
    user_metadata: fc.jsonValue({ maxDepth: 4 }),
    name: fc.string({ unit: 'binary', maxLength: 10 }),
  },
  { requiredKeys: ['email'] },
)
const element = fc.oneof({ weight: 6, arbitrary: user }, fc.jsonValue({ maxDepth: 2 }))
const spacing = fc.constantFrom('', ' ', '\n', '\r\n', '\t', '  \n  ')

/** A JSON array file written in one of several styles, spaced out at random between its users. */
const arrayFile = fc
  .tuple(
    fc.array(element, { minLength: 1, maxLength: 6 }),
    fc.constantFrom(0, 1, 2, '\t'),
    spacing,
    fc.boolean(),
  )
  .map(([users, indent, space, bom]) => {
    const inner = users.map((u) => JSON.stringify(u, null, indent)).join(`${space},${space}`)
    return `${bom ? '\ufeff' : ''}${space}[${space}${inner}${space}]${space}`
  })

/** NDJSON: one user a line, blank lines and CRLF among them. */
const ndjsonFile = fc
  .tuple(fc.array(user, { minLength: 2, maxLength: 6 }), fc.constantFrom('\n', '\r\n', '\n\n', ' \n\t'))
  .map(([users, eol]) => users.map((u) => JSON.stringify(u)).join(eol) + eol)

/** One edit of the kind a hand-edited file gets: a character deleted, inserted or replaced. */
const edited = (file: fc.Arbitrary<string>) =>
  fc
    .tuple(
      file,
      fc.nat(),
      fc.constantFrom('delete', 'insert', 'replace'),
      fc.constantFrom(
        ...',:[]{}"\\\n\r\t 0-.eE+tfnu/é\u0001\u001f\u007f\u2028x'.split(''),
        '\\u12',
        '\\uZZZZ',
        '01',
        '1.',
      ),
    )
    .map(([text, at, how, piece]) => {
      const i = at % (text.length + 1)
      if (how === 'delete') return text.slice(0, i) + text.slice(i + 1)
      if (how === 'insert') return text.slice(0, i) + piece + text.slice(i)
      return text.slice(0, i) + piece + text.slice(i + piece.length)
    })

describe('scanUsersJson', () => {
  it('takes every well-formed JSON array and NDJSON file, finding each user where the whole read does', () => {
    fc.assert(
      fc.property(fc.oneof(arrayFile, ndjsonFile), (text) => {
        expect(agrees(Buffer.from(text))).toBe(true)
      }),
      { seed: 20261206, numRuns: 400 },
    )
  })

  it('never takes a file the whole read refuses: one edit anywhere', () => {
    let declined = 0
    fc.assert(
      fc.property(edited(fc.oneof(arrayFile, ndjsonFile)), (text) => {
        if (!agrees(Buffer.from(text))) declined++
      }),
      { seed: 20261207, numRuns: 3000 },
    )
    // The edits break most files: the property is not met by declining nothing.
    expect(declined).toBeGreaterThan(500)
  })

  it('never takes a file cut short anywhere (a download or copy that stopped part-way)', () => {
    fc.assert(
      fc.property(fc.oneof(arrayFile, ndjsonFile), fc.nat(), (text, at) => {
        const bytes = Buffer.from(text)
        const cut = bytes.subarray(0, at % bytes.length)
        // A cut between whole lines of NDJSON is a shorter file, which both reads take alike.
        agrees(cut)
      }),
      { seed: 20261208, numRuns: 2000 },
    )
  })

  it('refuses what JSON.parse refuses, at the edge of each rule', () => {
    const refused = [
      '[{"email":"a"},]',
      '[{"email":"a",}]',
      '[{"email":"a"} {"email":"b"}]',
      '[{"email":"a"}]]',
      '[{"email":"a"}] x',
      '[{"email":"a\u0001"}]',
      '[{"email":"a\u001f"}]',
      '[{"email":"a\\x"}]',
      '[{"email":"\\u12g4"}]',
      '[{"n":01}]',
      '[{"n":1.}]',
      '[{"n":-}]',
      '[{"n":1e}]',
      '[{"n":+1}]',
      '[{"n":.5}]',
      '[{"t":tru}]',
      '[{"t":True}]',
      "[{'email':'a'}]",
      '[{"email":"a"}',
      '[{"email" "a"}]',
      '[{email:"a"}]',
      '[\u00a0{"email":"a"}]',
      '[]',
      '{"email":"a"}\n{"email":"b"} {"email":"c"}',
      '{"email":\n"a"}\n{"email":"b"}',
      '{"users":[{"email":"a"}]}',
      '{"email":"a"}\n{"email":"b"}\n{"email":',
      '{"email":"a"}\n{"email":"b"}\n[1,',
    ]
    for (const text of refused) expect(scanUsersJson(Buffer.from(text), depth), text).toBeUndefined()
    const taken = [
      '[{"n":-0.5e+10,"m":0,"k":1E-2,"s":"\\u00e9\\n\\"\\\\\\/","t":true,"f":false,"z":null,"a":[[],{}]}]',
      '\ufeff[1, "x", null]',
      '{"email":"a"}\r\n\r\n{"email":"b"}',
    ]
    for (const text of taken) expect(agrees(Buffer.from(text)), text).toBe(true)
  })

  it('declines a file nested deeper than the whole read allows, and takes one at the limit', () => {
    const nested = (levels: number) => `${'['.repeat(levels)}${']'.repeat(levels)}`
    const at = `[{"email":"a","app_metadata":{"x":${nested(depth - 1)}}}]`
    const over = `[{"email":"a","app_metadata":{"x":${nested(depth)}}}]`
    expect(agrees(Buffer.from(at))).toBe(true)
    expect(scanUsersJson(Buffer.from(over), depth)).toBeUndefined()
    expect(wholeRead(Buffer.from(over))).toBeUndefined()
    // A line's own braces are the only ones around its user.
    const lines = `{"email":"a","m":${nested(depth)}}\n{"email":"b","m":${nested(depth + 1)}}\n`
    expect(agrees(Buffer.from(lines.split('\n')[0]?.repeat(2).replace('}{', '}\n{') ?? ''))).toBe(true)
    expect(scanUsersJson(Buffer.from(lines), depth)).toBeUndefined()
    expect(wholeRead(Buffer.from(lines))).toBeUndefined()
  })

  it('declines CSV and a lone line of NDJSON (read whole: a wrapper object is refused there by name)', () => {
    expect(scanUsersJson(Buffer.from('email,name\na@b.co,A\n'), depth)).toBeUndefined()
    expect(scanUsersJson(Buffer.from('{"email":"a@b.co"}\n'), depth)).toBeUndefined()
  })
})
