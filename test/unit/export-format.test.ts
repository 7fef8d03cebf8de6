import { describe, expect, it } from 'vitest'
import {
  columnValues,
  defaultFields,
  type ExportField,
  labelsToRecord,
  resolveColumns,
} from '../../src/domain/export/export-fields.ts'
import { getPath, parsePath } from '../../src/domain/export/field-path.ts'
import { csvCell, type ExportFormat, exportWriter } from '../../src/domain/export/format.ts'

describe('csvCell', () => {
  it('prefixes a string with one single quote and wraps it in double quotes', () => {
    expect(csvCell('Smith')).toBe(`"'Smith"`)
  })

  it('writes the empty string as a lone escaped cell, distinct from a missing value', () => {
    expect(csvCell('')).toBe(`"'"`)
  })

  it('leaves ISO 8601 dates untouched', () => {
    expect(csvCell('2026-11-27T10:00:00.000Z')).toBe('2026-11-27T10:00:00.000Z')
    expect(csvCell('2026-11-27T10:00:00Z')).toBe('2026-11-27T10:00:00Z')
  })

  it('escapes a date that is not ISO 8601 like any string', () => {
    expect(csvCell('2026-11-27 10:00')).toBe(`"'2026-11-27 10:00"`)
  })

  it('writes numbers and booleans bare', () => {
    expect([csvCell(42), csvCell(-1.5), csvCell(0), csvCell(true), csvCell(false)]).toEqual([
      '42',
      '-1.5',
      '0',
      'true',
      'false',
    ])
  })

  it('writes null and undefined as an empty cell', () => {
    expect([csvCell(null), csvCell(undefined)]).toEqual(['', ''])
  })

  it('writes objects and arrays as escaped JSON text', () => {
    expect(csvCell({ plan: 'pro', seats: 3 })).toBe(`"'{""plan"":""pro"",""seats"":3}"`)
    expect(csvCell(['admin', 'billing'])).toBe(`"'[""admin"",""billing""]"`)
  })

  it.each([
    ['=1+1', `"'=1+1"`],
    ['+1-2', `"'+1-2"`],
    ['-2+3', `"'-2+3"`],
    ['@SUM(A1:A9)', `"'@SUM(A1:A9)"`],
    ['\t=1+1', `"'\t=1+1"`],
    ['\r=1+1', `"'\r=1+1"`],
    ['=HYPERLINK("http://evil.example","x")', `"'=HYPERLINK(""http://evil.example"",""x"")"`],
    [`O"Neil`, `"'O""Neil"`],
    [`""`, `"'"""""`],
    ['a,b\r\nc', `"'a,b\r\nc"`],
  ])('defuses %j as %s', (value, cell) => {
    expect(csvCell(value)).toBe(cell)
  })

  it('keeps unicode as it is', () => {
    expect(csvCell('Zoë 李 🦊')).toBe(`"'Zoë 李 🦊"`)
  })
})

const fields: ExportField[] = [
  { name: 'user_id', export_as: 'Id' },
  { name: 'email' },
  { name: 'email_verified' },
  { name: 'user_metadata.plan', export_as: 'Plan' },
  { name: 'app_metadata' },
  { name: 'created_at' },
]
const users = [
  {
    user_id: 'auth0|1',
    email: 'zoe@example.com',
    email_verified: true,
    user_metadata: { plan: '=1+1' },
    app_metadata: { roles: ['admin'] },
    created_at: '2026-11-27T10:00:00.000Z',
  },
  {
    user_id: 'auth0|2',
    email: 'o"neil@example.com',
    email_verified: false,
    created_at: '2026-11-27T10:00:00.000Z',
  },
]

function write(format: ExportFormat): string {
  const columns = resolveColumns(fields)
  const writer = exportWriter(format, columns)
  return (
    writer.head + users.map((user, i) => writer.row(columnValues(user, columns), i)).join('') + writer.tail
  )
}

describe('exportWriter', () => {
  it('writes JSON as an array with one user per line, leaving out missing values', () => {
    expect(write('json')).toMatchInlineSnapshot(`
      "[
      {"Id":"auth0|1","email":"zoe@example.com","email_verified":true,"Plan":"=1+1","app_metadata":{"roles":["admin"]},"created_at":"2026-11-27T10:00:00.000Z"},
      {"Id":"auth0|2","email":"o\\"neil@example.com","email_verified":false,"created_at":"2026-11-27T10:00:00.000Z"}
      ]
      "
    `)
    expect(JSON.parse(write('json'))).toHaveLength(2)
  })

  it('writes NDJSON as one object per line', () => {
    expect(write('ndjson')).toMatchInlineSnapshot(`
      "{"Id":"auth0|1","email":"zoe@example.com","email_verified":true,"Plan":"=1+1","app_metadata":{"roles":["admin"]},"created_at":"2026-11-27T10:00:00.000Z"}
      {"Id":"auth0|2","email":"o\\"neil@example.com","email_verified":false,"created_at":"2026-11-27T10:00:00.000Z"}
      "
    `)
  })

  it('writes CSV with a header row, CRLF line ends and escaped cells', () => {
    expect(write('csv')).toBe(
      'Id,email,email_verified,Plan,app_metadata,created_at\r\n' +
        `"'auth0|1","'zoe@example.com",true,"'=1+1","'{""roles"":[""admin""]}",2026-11-27T10:00:00.000Z\r\n` +
        `"'auth0|2","'o""neil@example.com",false,,,2026-11-27T10:00:00.000Z\r\n`,
    )
  })

  it('writes an empty JSON array when there are no users', () => {
    const writer = exportWriter('json', resolveColumns(fields))
    expect(JSON.parse(writer.head + writer.tail)).toEqual([])
  })

  it('quotes and defuses a header label that would start a formula or holds a comma', () => {
    const columns = resolveColumns([
      { name: 'email', export_as: '=Mail' },
      { name: 'nickname', export_as: 'Nick, "the"' },
    ])
    expect(exportWriter('csv', columns).head).toBe(`'=Mail,"Nick, ""the"""\r\n`)
  })
})

describe('resolveColumns', () => {
  it.each(['password_hash', 'custom_password_hash', 'custom_password_hash.hash.value', 'mfa_factors'])(
    'refuses the secret %s',
    (name) => {
      expect(() => resolveColumns([{ name }])).toThrow(/is never exported: password hashes and MFA secrets/)
    },
  )

  it('refuses an unknown root, listing the exportable fields', () => {
    expect(() => resolveColumns([{ name: 'emial' }])).toThrow(
      /Unknown field emial\. Exportable fields: user_id/,
    )
  })

  it.each([
    'a..b',
    'user_metadata..plan',
    '[0]',
    '[0].connection',
    'identities[x]',
    'identities[0]connection',
    'email.',
    '.email',
  ])('refuses the malformed path %j', (name) => {
    expect(() => resolveColumns([{ name }])).toThrow(/is not a field path/)
  })

  it('refuses two columns with one label', () => {
    expect(() =>
      resolveColumns([
        { name: 'given_name', export_as: 'Who' },
        { name: 'family_name', export_as: 'Who' },
      ]),
    ).toThrow('Two fields are exported as "Who": rename one.')
  })

  it('refuses a label that is another importable field', () => {
    expect(() => resolveColumns([{ name: 'user_metadata.email', export_as: 'email' }])).toThrow(
      'user_metadata.email cannot be exported as "email": that is the name of another field',
    )
  })

  it('refuses a label that is the built-in label of another field (Email would re-import as email)', () => {
    expect(() => resolveColumns([{ name: 'user_metadata.contact', export_as: 'Email' }])).toThrow(
      /cannot be exported as "Email"/,
    )
  })

  it('accepts the default fields with their own labels', () => {
    expect(resolveColumns(defaultFields).map((c) => c.label)).toEqual([
      'Id',
      'Given Name',
      'Family Name',
      'Nickname',
      'Name',
      'Email',
      'Email Verified',
      'Picture',
      'Connection',
      'Created At',
      'Updated At',
    ])
  })

  it('refuses an empty field list', () => {
    expect(() => resolveColumns([])).toThrow('Name at least one field to export.')
  })

  it('records only the labels that differ from their path', () => {
    expect(labelsToRecord(resolveColumns(fields))).toEqual({ Id: 'user_id', Plan: 'user_metadata.plan' })
  })
})

describe('parsePath and getPath', () => {
  it('parses dotted paths and array indexes', () => {
    expect(parsePath('email')).toEqual(['email'])
    expect(parsePath('user_metadata.consent.given')).toEqual(['user_metadata', 'consent', 'given'])
    expect(parsePath('identities[0].connection')).toEqual(['identities', 0, 'connection'])
    expect(parsePath('app_metadata.roles[1]')).toEqual(['app_metadata', 'roles', 1])
  })

  it.each(['', 'a..b', '[0]', 'a[0', 'a[]', 'a.[0]', 'a.', '.a', 'a[0]b'])('rejects %j', (path) => {
    expect(parsePath(path)).toBeNull()
  })

  it('reads nested values, array elements included', () => {
    const user = {
      identities: [{ connection: 'Username-Password-Authentication', provider: 'auth0' }],
      user_metadata: { consent: { given: true } },
    }
    expect(getPath(user, parsePath('identities[0].connection') ?? [])).toBe(
      'Username-Password-Authentication',
    )
    expect(getPath(user, parsePath('user_metadata.consent.given') ?? [])).toBe(true)
  })

  it('gives undefined for a path that is not there, however deep', () => {
    const user = { identities: [], user_metadata: { plan: 'pro' } }
    expect(getPath(user, parsePath('identities[0].connection') ?? [])).toBeUndefined()
    expect(getPath(user, parsePath('user_metadata.plan.tier') ?? [])).toBeUndefined()
    expect(getPath(user, parsePath('app_metadata.roles') ?? [])).toBeUndefined()
  })
})
