import { describe, expect, it } from 'vitest'
import {
  columnValues,
  defaultFields,
  type ExportField,
  fullProfileFields,
  resolveColumns,
} from '../../src/domain/export/export-fields.ts'
import { type ExportFormat, exportFormats, exportWriter } from '../../src/domain/export/format.ts'
import { ByteSink, jsonRows } from '../../src/domain/export/json-rows.ts'
import { Kind, UserJsonReader } from '../../src/domain/export/user-json.ts'
import { toAuth0User } from '../../src/domain/users/auth0-user-view.ts'
import type { StoredUser } from '../../src/domain/users/user.ts'

const base = {
  user_id: 'auth0|1',
  connection_id: 'con_1',
  email: 'zoe@example.com',
  email_verified: true,
  identities: [{ connection: 'Username-Password-Authentication', provider: 'auth0', user_id: '1' }],
  created_at: '2026-11-27T10:00:00.000Z',
  updated_at: '2026-11-27T10:00:00.5Z',
  rev: 3,
}

/** Users whose values exercise every kind of cell: escapes, unicode, numbers, nesting, odd dates, secrets. */
const users: Record<string, unknown>[] = [
  base,
  {
    ...base,
    user_id: 'auth0|2',
    email: 'o"neil@example.com',
    username: 'o\\neil\t\n\r\b\f',
    given_name: 'Amélie 😀 日本 \u2028',
    family_name: '=1+1',
    name: '',
    nickname: "'quoted'",
    picture: 'https://example.com/a.png?x="1"',
    phone_number: '+15551234567',
    phone_verified: false,
    blocked: false,
    app_metadata: { roles: ['admin', 'member'], plan: 'pro', n: 1.5, big: 1e21, neg: -42, tiny: 5e-7, z: 0 },
    user_metadata: { nested: { deep: [null, true, { a: '"' }] }, empty: {}, list: [], __proto__x: 1, s: 'x' },
    created_at: '2026-11-27 10:00:00',
    updated_at: '2026-11-27T10:00:00.1234567891Z',
    password_hash: '$2b$10$secret',
    custom_password_hash: { algorithm: 'md5', hash: { value: 'x' } },
    mfa_factors: [{ totp: { secret: 'S' } }],
    last_login: '2026-01-01T00:00:00Z',
    logins_count: 7,
    last_ip: null,
  },
  { ...base, user_id: 'auth0|3', user_metadata: JSON.parse('{"__proto__":{"x":1},"plan":"basic"}') },
  { ...base, user_id: 'auth0|4', app_metadata: { plan: null }, identities: [] },
]

const fieldSets: Record<string, ExportField[]> = {
  full: [...fullProfileFields],
  defaults: [...defaultFields],
  paths: [
    { name: 'email' },
    { name: 'user_metadata.nested.deep[2].a', export_as: 'deep' },
    { name: 'user_metadata.nested.deep[9]', export_as: 'missing' },
    { name: 'app_metadata.roles[1]', export_as: 'second_role' },
    { name: 'app_metadata.roles.0', export_as: 'first_role' },
    { name: 'app_metadata.plan' },
    { name: 'user_metadata.__proto__x', export_as: 'proto_x' },
    { name: 'identities[0]', export_as: 'identity' },
    { name: 'identities[0].user_id', export_as: 'identity_id' },
    { name: 'email.x', export_as: 'below_a_string' },
    { name: 'user_metadata[0]', export_as: 'index_of_object' },
    { name: 'identities.connection', export_as: 'key_of_array' },
    { name: 'logins_count' },
    { name: 'last_ip' },
    { name: 'last_login' },
  ],
  indexLabels: [
    { name: 'email', export_as: 'b' },
    { name: 'user_id', export_as: '1' },
    { name: 'name', export_as: '0' },
  ],
}

/** What today's writer writes for parsed users, and what `jsonRows` writes from their JSON. */
function both(
  format: ExportFormat,
  fields: ExportField[],
  texts: string[],
): { parsed: string; bytes: string } {
  const columns = resolveColumns(fields)
  const writer = exportWriter(format, columns)
  const rows = jsonRows(format, columns)
  if (!rows) throw new Error('no rows')
  const out = new ByteSink(16)
  out.text(writer.head)
  let parsed = writer.head
  texts.forEach((text, i) => {
    // Each user inside a larger buffer, as the store holds them: keys before, a newline after.
    const buffer = Buffer.from(`"k"\t${text}\nrest`)
    expect(rows.write(buffer, 4, 4 + Buffer.byteLength(text), out, i)).toBe(true)
    parsed += writer.row(columnValues(toAuth0User(JSON.parse(text) as StoredUser), columns), i)
  })
  out.text(writer.tail)
  return { parsed: parsed + writer.tail, bytes: Buffer.from(out.take()).toString('utf8') }
}

describe('jsonRows', () => {
  const texts = users.map((user) => JSON.stringify(user))
  for (const format of exportFormats) {
    for (const [set, fields] of Object.entries(fieldSets)) {
      it(`writes ${format} with ${set} fields byte for byte as the parsed user's row`, () => {
        const { parsed, bytes } = both(format, fields, texts)
        expect(bytes).toBe(parsed)
      })
    }
  }

  it('never writes a secret, even when a path is not a column', () => {
    const { bytes } = both('ndjson', [...fullProfileFields], texts)
    expect(bytes).not.toMatch(/secret|password|mfa|"rev"|connection_id/)
  })

  it('leaves columns that could read inherited values to the parsed users', () => {
    for (const name of ['user_metadata.constructor', 'identities.length', 'app_metadata.__proto__']) {
      expect(jsonRows('csv', resolveColumns([{ name }]))).toBeUndefined()
    }
  })

  it('matches on random users (what JSON.stringify writes is always read)', () => {
    let seed = 7
    const random = () => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0
      return seed / 2 ** 32
    }
    const alphabet = ['a', 'Z', '"', '\\', '\n', 'é', '😀', ' ', ',', '=', '\t', '0', '-', ':', '\u007f']
    const text = () =>
      Array.from(
        { length: Math.floor(random() * 8) },
        () => alphabet[Math.floor(random() * alphabet.length)],
      ).join('')
    const value = (depth: number): unknown => {
      const pick = Math.floor(random() * (depth > 2 ? 5 : 7))
      if (pick === 0) return text()
      if (pick === 1) return Math.floor(random() * 2e6) - 1e6
      if (pick === 2) return (random() - 0.5) * 10 ** Math.floor(random() * 40 - 20)
      if (pick === 3) return random() < 0.5
      if (pick === 4) return null
      if (pick === 5) return Array.from({ length: Math.floor(random() * 3) }, () => value(depth + 1))
      return Object.fromEntries(
        Array.from({ length: Math.floor(random() * 3) }, (_, i) => [`k${i}${text()}`, value(depth + 1)]),
      )
    }
    const randomUsers = Array.from({ length: 300 }, (_, i) => ({
      ...base,
      user_id: `auth0|${i}${text()}`,
      email: `${text()}@x`,
      given_name: text(),
      app_metadata: value(1),
      user_metadata: { plan: value(2), more: value(1) },
      ...(random() < 0.5 ? { username: text() } : {}),
    }))
    const randomTexts = randomUsers.map((user) => JSON.stringify(user))
    for (const format of exportFormats) {
      for (const fields of [fieldSets.full, fieldSets.paths, [{ name: 'user_metadata.plan' }]]) {
        const { parsed, bytes } = both(format, fields as ExportField[], randomTexts)
        expect(bytes).toBe(parsed)
      }
    }
  })
})

describe('ByteSink', () => {
  it('hands out pieces that later writes, in the same chunk or a new one, leave as they were', () => {
    const sink = new ByteSink(8)
    const text = (bytes: Uint8Array) => Buffer.from(bytes).toString('utf8')
    sink.text('abc')
    const first = sink.take()
    sink.text('defg')
    const second = sink.take()
    sink.text('hi')
    sink.text('jklmnopqrstuvwxyz')
    const third = sink.take()
    expect([text(first), text(second), text(third)]).toEqual(['abc', 'defg', 'hijklmnopqrstuvwxyz'])
  })
})

describe('UserJsonReader', () => {
  const read = (text: string) => {
    const reader = new UserJsonReader(['email', 'rev'])
    const bytes = Buffer.from(`${text}\n`)
    return reader.read(bytes, 0, bytes.length - 1) ? reader : undefined
  }

  it('reads canonical JSON and finds the named keys', () => {
    const reader = read('{"a":[1,{"b":"\\"é"}],"email":"x@y","rev":12}')
    expect(reader?.kinds[0]).toBe(Kind.string)
    expect(reader?.kinds[1]).toBe(Kind.number)
  })

  it.each([
    ['whitespace', '{"email": "x"}'],
    ['a \\u escape', '{"email":"\\u0041"}'],
    ['an escaped slash', '{"email":"a\\/b"}'],
    ['a raw control character', '{"email":"a\u0001b"}'],
    ['a key twice', '{"email":"a","email":"b"}'],
    ['a nested key twice', '{"m":{"a":1,"a":2}}'],
    ['an index-like key', '{"m":{"1":1}}'],
    ['a number JavaScript prints otherwise', '{"n":1.50}'],
    ['-0', '{"n":-0}'],
    ['an exponent JavaScript does not use', '{"n":1e3}'],
    ['a leading zero', '{"n":01}'],
    ['truncated text', '{"email":"x"'],
    ['trailing text', '{"email":"x"}x'],
    ['not an object', '["email"]'],
    ['a bad literal', '{"b":tru}'],
    ['an unterminated string', '{"email":"x}'],
  ])('refuses %s', (_, text) => {
    expect(read(text)).toBeUndefined()
  })

  it('sees a quote, backslash, control or non-ASCII byte at every position of a four-byte word', () => {
    for (let before = 0; before < 8; before++) {
      for (const char of ['"', '\\', '\n', '\t', 'é', '😀', '\u007f', ' ', '!', '#', '[', '~']) {
        const email = `${'a'.repeat(before)}${char}${'b'.repeat(9)}`
        const reader = read(JSON.stringify({ email, rev: 1 }))
        expect(reader?.kinds[0], email).toBe(Kind.string)
        const length = (reader?.ends[0] ?? 0) - (reader?.starts[0] ?? 0)
        expect(length, email).toBe(Buffer.byteLength(JSON.stringify(email)))
      }
      for (const raw of [0x00, 0x01, 0x1f, 0x80, 0xff]) {
        const text = Buffer.concat([
          Buffer.from(`{"email":"${'a'.repeat(before)}`),
          Buffer.from([raw]),
          Buffer.from('bbbbbbbbb","rev":1}\n'),
        ])
        expect(new UserJsonReader(['email']).read(text, 0, text.length - 1), `${before} ${raw}`).toBe(false)
      }
    }
  })

  it('copies cells whose quotes and escapes fall at every position of a four-byte word', () => {
    const texts = Array.from({ length: 8 }, (_, before) =>
      JSON.stringify({
        ...base,
        email: `${'e'.repeat(before)}"q"${'x'.repeat(before)}`,
        given_name: 'n'.repeat(before),
        user_metadata: {
          ['k'.repeat(before)]: `${'v'.repeat(before)}"`,
          n: before,
          list: ['a'.repeat(before)],
        },
      }),
    )
    const fields = [
      { name: 'email' },
      { name: 'given_name' },
      { name: 'user_metadata' },
      { name: 'created_at' },
    ]
    for (const format of exportFormats) {
      const { parsed, bytes } = both(format, fields, texts)
      expect(bytes).toBe(parsed)
    }
  })

  it('refuses bytes that are not UTF-8', () => {
    const reader = new UserJsonReader(['email'])
    for (const bad of [[0xff], [0xc3], [0xed, 0xa0, 0x80], [0xe2, 0x28, 0xa1], [0xf5, 0x80, 0x80, 0x80]]) {
      const bytes = Buffer.concat([Buffer.from('{"email":"'), Buffer.from(bad), Buffer.from('"}\n')])
      expect(reader.read(bytes, 0, bytes.length - 1)).toBe(false)
    }
  })

  it('refuses nesting deeper than JSON.parse is asked to go', () => {
    expect(read(`{"a":${'['.repeat(70)}${']'.repeat(70)}}`)).toBeUndefined()
  })
})

describe('jsonRows on users the store would refuse', () => {
  const rows = jsonRows('ndjson', resolveColumns([{ name: 'email' }]))
  it.each([
    ['no user_id', { ...base, user_id: undefined }],
    ['a numeric email', { ...base, email: 5 }],
    ['a username that is not a string', { ...base, username: 5 }],
    ['email_verified as a string', { ...base, email_verified: 'true' }],
    ['identities as an object', { ...base, identities: {} }],
    ['a negative rev', { ...base, rev: -1 }],
    ['a fractional rev', { ...base, rev: 1.5 }],
  ])('leaves %s to the parse, which reports it', (_, user) => {
    const bytes = Buffer.from(`${JSON.stringify(user)}\n`)
    expect(rows?.write(bytes, 0, bytes.length - 1, new ByteSink(16), 0)).toBe(false)
  })
})
