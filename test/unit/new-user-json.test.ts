import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { type CommitToEncode, encodeCommit } from '../../src/adapters/store/store-files.ts'
import { type Connection, providerOf } from '../../src/domain/connections/connection.ts'
import type { ImportRow } from '../../src/domain/import/import-row.ts'
import { importRowSchema } from '../../src/domain/import/import-row.ts'
import { encodedNewUser, newUserFrame, newUserJson } from '../../src/domain/import/new-user-json.ts'
import { newUser, type PlanOptions } from '../../src/domain/import/plan-chunk.ts'
import { EncodedUser } from '../../src/domain/users/encoded-user.ts'

/**
 * A new user written from its parts (the import worker's half, then the planner's) is byte for byte the JSON of the
 * user `newUser` makes of the same row: the stored user does not depend on the thread that checked its row.
 */

const connection = {
  id: 'con_"quoted"\u2028',
  name: 'Username-Password-Authentication',
  strategy: 'auth0',
} as Connection
const provider = providerOf(connection)
const now = '2026-12-05T23:59:59.123Z'
const options: PlanOptions = { upsert: false, merge: false, now, newUserId: () => 'unused' }

/** The schema's keys in its order, as a validated row has them (zod and the fast path both build rows so). */
const schemaKeys = Object.keys(importRowSchema.shape)

const text = fc.string({ unit: 'grapheme', maxLength: 12 })
const anyText = fc.oneof(
  text,
  fc.string({ unit: 'binary', maxLength: 12 }),
  fc.constantFrom('"', '\\', '\u2028', '\ud83d', '</script>'),
)
const metadata = fc.dictionary(
  fc.oneof(anyText, fc.constantFrom('__proto__', '0', '12', 'constructor', 'toJSON')),
  fc.jsonValue({ maxDepth: 3 }),
  { maxKeys: 4 },
)
const rowFields = fc.record(
  {
    email: fc.tuple(anyText, anyText).map(([local, domain]) => `${local}@${domain}`),
    email_verified: fc.boolean(),
    phone_number: anyText,
    phone_verified: fc.boolean(),
    user_id: anyText,
    username: anyText,
    given_name: anyText,
    family_name: anyText,
    name: anyText,
    nickname: anyText,
    picture: anyText,
    blocked: fc.boolean(),
    password_hash: anyText,
    custom_password_hash: fc.record({ algorithm: fc.constant('md5'), hash: fc.record({ value: anyText }) }),
    app_metadata: metadata,
    user_metadata: metadata,
    mfa_factors: fc.array(fc.record({ totp: fc.record({ secret: anyText }) }), {
      minLength: 1,
      maxLength: 2,
    }),
  },
  { requiredKeys: ['email'] },
)

/** A row with the generated fields in the schema's order; `undefined` values as zod may leave them. */
function asRow(fields: Record<string, unknown>, undefinedKeys: readonly string[]): ImportRow {
  const row: Record<string, unknown> = {}
  for (const key of schemaKeys) {
    if (key in fields) row[key] = fields[key]
    else if (undefinedKeys.includes(key)) row[key] = undefined
  }
  return row as ImportRow
}

const commitOf = (put: CommitToEncode['puts'][number]): CommitToEncode => ({
  seq: 4,
  jobId: 'job_1',
  chunk: 0,
  puts: [put],
  deletes: [],
  meta: { tally: 1 },
})

function bothWays(row: ImportRow, bareId: string) {
  const userId = row.user_id === undefined ? undefined : `${provider}|${row.user_id}`
  const made = newUser(row, connection, provider, userId, { ...options, newUserId: () => bareId })
  const json = newUserJson(row)
  if (json === undefined) throw new Error('a validated row always has parts')
  // As the import worker sends them: UTF-8.
  const profile = Buffer.from(json.profile)
  const bytes = Buffer.concat([Buffer.from('[junk]'), profile, Buffer.from(json.rest), Buffer.from('~')])
  const parts = { bytes, profileStart: 6, restStart: 6 + profile.length, restEnd: bytes.length - 1 }
  const email = row.email.toLowerCase()
  const encoded = encodedNewUser(newUserFrame(connection, provider, now), parts, row.user_id ?? bareId, {
    email,
    username: row.username?.toLowerCase(),
  })
  return { made, encoded }
}

describe('a new user written from its parts', () => {
  it('is JSON.stringify of the user newUser makes, with the same keys beside it (property, seeded)', () => {
    fc.assert(
      fc.property(rowFields, fc.subarray(schemaKeys), anyText, (fields, undefinedKeys, bareId) => {
        const row = asRow(fields, undefinedKeys)
        const { made, encoded } = bothWays(row, bareId)
        expect(encoded.json).toBe(JSON.stringify(made))
        expect(encoded.user()).toEqual(JSON.parse(JSON.stringify(made)))
        // The store's journal line, with its bytes copied: the line of the object it stands for.
        expect(encodeCommit(commitOf(encoded)).line.toString()).toBe(
          encodeCommit(commitOf(made)).line.toString(),
        )
        expect([encoded.user_id, encoded.connection_id, encoded.email, encoded.username]).toEqual([
          made.user_id,
          made.connection_id,
          made.email,
          made.username,
        ])
      }),
      { seed: 20_261_205, numRuns: 400 },
    )
  })

  it('is left to the object path for a row newUser would lay out otherwise (an array-index key, __proto__)', () => {
    expect(newUserJson({ email: 'a@b.co', 7: 'x' } as unknown as ImportRow)).toBeUndefined()
    const proto = JSON.parse('{"email":"a@b.co","__proto__":{"x":1}}') as ImportRow
    expect(newUserJson(proto)).toBeUndefined()
  })

  it('goes into the journal as its JSON: the same line as the object it stands for', () => {
    const row = asRow(
      { email: 'Zoë@Example.com', username: 'Zoë', given_name: 'Z "1"', user_metadata: { a: [1] } },
      [],
    )
    const { made, encoded } = bothWays(row, 'abc123')
    expect(encoded).toBeInstanceOf(EncodedUser)
    const fromObject = encodeCommit(commitOf(made))
    const fromJson = encodeCommit(commitOf(encoded))
    expect(fromJson.line.equals(fromObject.line)).toBe(true)
    expect(fromJson.keys.equals(fromObject.keys)).toBe(true)
    expect(fromJson.putStarts).toEqual(fromObject.putStarts)
    expect(fromJson.putLengths).toEqual(fromObject.putLengths)
  })
})
