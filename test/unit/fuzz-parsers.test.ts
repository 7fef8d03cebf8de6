import { gzipSync } from 'node:zlib'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { defaultUsernameLimits } from '../../src/domain/connections/connection.ts'
import { labelTable } from '../../src/domain/import/export-labels.ts'
import { normalizeRow } from '../../src/domain/import/normalize-row.ts'
import { parseUsersFile } from '../../src/domain/import/parse-users-file.ts'
import { redactRow, validateImportRow } from '../../src/domain/import/validate-row.ts'
import { decodeUpload } from '../../src/engine/request-import.ts'
import { AppError } from '../../src/errors.ts'

/**
 * The file parsers (JSON, NDJSON, CSV, gzip) against random and mutated uploads: whatever the bytes, the outcome is
 * a whole-file refusal with a message for a person, or rows that each validate or carry errors, and everything a
 * job writes about them (the valid rows, the error report) serialises as JSON. Seeded and bounded, so a failure
 * reproduces and the run takes a few seconds.
 */

const seed = 20_261_204
const maxBytes = 512_000
const labels = labelTable({})
/** Whole-file refusals a person can act on; anything else (a RangeError, a TypeError) is a crash. */
const fileErrors = new Set(['invalid_users_file', 'users_file_empty', 'payload_too_large'])

type Outcome = { refused: string } | { valid: number; failed: number }

/** What an import does with the bytes, up to the commit: decode, parse, normalise, validate, serialise. */
function importBytes(bytes: Uint8Array, fileName: string): Outcome {
  let rows: unknown[]
  try {
    rows = parseUsersFile(decodeUpload(bytes, fileName, maxBytes), fileName).rows
  } catch (error) {
    if (!(error instanceof AppError) || !fileErrors.has(error.code)) throw error
    expect(error.message.length).toBeGreaterThan(10)
    expect(error.message).not.toMatch(/\n\s+at /) // no stack trace
    return { refused: error.message }
  }
  let valid = 0
  let failed = 0
  for (const raw of rows) {
    const normal = normalizeRow(raw, labels, 'auth0')
    const result = validateImportRow(normal.row, { usernameLimits: defaultUsernameLimits })
    const errors = [...normal.errors, ...(result.ok ? [] : result.errors)]
    if (result.ok && errors.length === 0) {
      valid++
      // Stored as JSON: a valid row must survive the round trip exactly (no Infinity turned null, no prototype).
      const json = JSON.stringify(result.row)
      expect(JSON.parse(json)).toEqual(result.row)
      expect(Object.getPrototypeOf(result.row)).toBe(Object.prototype)
    } else {
      failed++
      expect(errors.length).toBeGreaterThan(0)
      for (const error of errors) expect(error.message).not.toBe('')
      // The report entry is journaled and written as errors.json.
      expect(typeof JSON.stringify({ user: redactRow(raw), errors })).toBe('string')
    }
  }
  return { valid, failed }
}

const text = (value: string) => new TextEncoder().encode(value)

const sampleJson = JSON.stringify([
  { email: 'ada@example.com', given_name: 'Ada', user_metadata: { plan: 'pro', tags: ['a', 'b'] } },
  { email: 'grace@example.com', email_verified: true, app_metadata: { roles: ['member'] } },
  { email: 'linus@example.com', user_id: 'auth0|abc', picture: 'https://example.com/l.png' },
])
const sampleNdjson = `${JSON.parse(sampleJson)
  .map((row: unknown) => JSON.stringify(row))
  .join('\n')}\n`
const sampleCsv =
  'Email,Given Name,user_metadata.plan,app_metadata,Email Verified\n' +
  `ada@example.com,'Ada,pro,"{""roles"":[""admin""]}",true\n` +
  'grace@example.com,Grace,,,\n'
const samples: [string, Uint8Array][] = [
  ['users.json', text(sampleJson)],
  ['users.ndjson', text(sampleNdjson)],
  ['users.csv', text(sampleCsv)],
  ['users.json.gz', gzipSync(text(sampleJson))],
  ['users.csv.gz', gzipSync(text(sampleCsv))],
]

/** One edit of a file's bytes: what a bad disk, a bad editor or an attacker does to it. */
const mutation = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 16 }) }),
  fc.record({
    kind: fc.constant('insert' as const),
    at: fc.nat(),
    piece: fc.constantFrom(
      '[',
      '{',
      ']',
      '}',
      '"',
      ',',
      '\\',
      '\n',
      '\r\n',
      '\u0000',
      '"__proto__":{"email":"x@y.z"},',
      '"constructor":1,',
      '1e400',
      '-0',
      '"user_metadata.__proto__.x"',
      '[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[',
      '\uFEFF',
      '\uD800',
      'é',
    ),
  }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
)

function mutate(bytes: Uint8Array, edits: readonly Mutation[]): Uint8Array {
  let out = Buffer.from(bytes)
  for (const edit of edits) {
    const at = out.length === 0 ? 0 : edit.at % (out.length + 1)
    if (edit.kind === 'flip' && out.length > 0) out[at % out.length] = edit.byte
    else if (edit.kind === 'delete')
      out = Buffer.concat([out.subarray(0, at), out.subarray(at + edit.length)])
    else if (edit.kind === 'insert')
      out = Buffer.concat([out.subarray(0, at), Buffer.from(edit.piece), out.subarray(at)])
    else if (edit.kind === 'truncate') out = out.subarray(0, at)
  }
  return out
}
type Mutation =
  | { kind: 'flip'; at: number; byte: number }
  | { kind: 'delete'; at: number; length: number }
  | { kind: 'insert'; at: number; piece: string }
  | { kind: 'truncate'; at: number }

const settings = { seed, numRuns: 300, endOnFailure: true }

describe('fuzzing the users file parsers', () => {
  it('survives mutated JSON, NDJSON, CSV and gzipped files', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...samples),
        fc.array(mutation, { minLength: 1, maxLength: 6 }),
        ([name, bytes], edits) => {
          importBytes(mutate(bytes, edits), name)
        },
      ),
      settings,
    )
  })

  it('survives random JSON values as users, in an array and as NDJSON', () => {
    const user = fc.oneof(
      fc.jsonValue({ maxDepth: 6 }),
      fc.dictionary(
        fc.constantFrom(
          'email',
          'user_id',
          'picture',
          'user_metadata',
          'app_metadata',
          '__proto__',
          'constructor',
          'x',
        ),
        fc.jsonValue({ maxDepth: 4 }),
      ),
    )
    fc.assert(
      fc.property(fc.array(user, { maxLength: 8 }), fc.boolean(), (users, ndjson) => {
        const body = ndjson ? users.map((u) => JSON.stringify(u)).join('\n') : JSON.stringify(users)
        const outcome = importBytes(text(body), ndjson ? 'users.ndjson' : 'users.json')
        // A JSON array of n users is read as n users (an NDJSON line that is not an object may make it a refusal).
        if (!ndjson && users.length > 0)
          expect(outcome).toEqual({ valid: expect.any(Number), failed: expect.any(Number) })
        if ('valid' in outcome && !ndjson) expect(outcome.valid + outcome.failed).toBe(users.length)
      }),
      { ...settings, numRuns: 150 },
    )
  })

  it('survives random CSV: odd headers, quotes, separators and cells', () => {
    const header = fc.constantFrom(
      'email',
      'Email',
      'user_metadata.plan',
      'user_metadata.__proto__.x',
      'app_metadata.constructor',
      'user_metadata.a.b.c',
      'Created At',
      '__proto__',
      '"quoted, header"',
      '',
    )
    const cell = fc.oneof(
      fc.string({ maxLength: 12 }),
      fc.constantFrom(
        'a@example.com',
        "'x",
        '"a,b"',
        '{"a":1}',
        '[1,2]',
        '1e400',
        'TRUE',
        '"unterminated',
        `"${'['.repeat(300)}"`,
      ),
    )
    fc.assert(
      fc.property(
        fc.array(header, { minLength: 1, maxLength: 5 }),
        fc.array(fc.array(cell, { maxLength: 6 }), { maxLength: 6 }),
        fc.constantFrom('\n', '\r\n'),
        (names, records, newline) => {
          const body = [names.join(','), ...records.map((r) => r.join(','))].join(newline)
          importBytes(text(body), 'users.csv')
        },
      ),
      settings,
    )
  })

  it('survives random bytes, gzipped or not, and nesting of any depth', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 256 }),
        fc.boolean(),
        fc.integer({ min: 0, max: 20_000 }),
        (bytes, gzip, depth) => {
          importBytes(gzip ? gzipSync(bytes) : bytes, gzip ? 'users.json.gz' : 'users.json')
          const nested = `[${'['.repeat(depth)}{"email":"a@example.com"}${']'.repeat(depth)}]`
          const outcome = importBytes(text(nested), 'users.json')
          // Deeper than the file limit (256 below the user) is refused whole; shallower is one failed user.
          if (depth > 256) expect(outcome).toHaveProperty('refused')
          else if (depth > 0) expect(outcome).toEqual({ valid: 0, failed: 1 })
        },
      ),
      { ...settings, numRuns: 150 },
    )
  })
})
