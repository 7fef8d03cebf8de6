import { describe, expect, it } from 'vitest'
import { parseUsersCsv } from '../../src/domain/import/parse-csv.ts'
import { parseUsersFile } from '../../src/domain/import/parse-users-file.ts'
import { AppError } from '../../src/errors.ts'

const parse = (text: string, labels: Record<string, string> = {}) => parseUsersCsv(text, 'users.csv', labels)
const csv = (...lines: string[]) => `${lines.join('\r\n')}\r\n`

function refusal(text: string): AppError {
  try {
    parse(text)
  } catch (error) {
    if (error instanceof AppError) return error
    throw error
  }
  throw new Error('expected the file to be refused')
}

describe('parseUsersCsv: escaping', () => {
  it("removes the export's one leading single quote from each cell", () => {
    expect(parse(csv('email,given_name', `"'a@example.com","'Ada"`))).toEqual([
      { email: 'a@example.com', given_name: 'Ada' },
    ])
  })

  it('removes exactly one quote: a value that began with a quote keeps it', () => {
    expect(parse(csv('nickname', `"''quoted"`))).toEqual([{ nickname: "'quoted" }])
  })

  it.each(['=1+1', '+1', '-1', '@SUM(A1)', '\t=1', '\r=1', 'O"Neil'])(
    'restores the defused value %j',
    (value) => {
      const cell = `"'${value.replaceAll('"', '""')}"`
      expect(parse(csv('given_name', cell))).toEqual([{ given_name: value }])
    },
  )

  it('keeps cells a person typed without the quote as they are', () => {
    expect(parse(csv('email,family_name', 'a@example.com,Smith'))).toEqual([
      { email: 'a@example.com', family_name: 'Smith' },
    ])
  })

  it("undoes the defusing of a header label (=Plan was written '=Plan)", () => {
    expect(parse(csv(`email,'=Plan`, 'a@example.com,pro'))).toEqual([
      { email: 'a@example.com', '=Plan': 'pro' },
    ])
  })

  it('leaves a header that merely starts with a quote alone', () => {
    expect(parse(csv(`email,'note`, 'a@example.com,x'))).toEqual([{ email: 'a@example.com', "'note": 'x' }])
  })
})

describe('parseUsersCsv: empty cells', () => {
  it('leaves the key out for an empty cell, so an upsert leaves that field alone', () => {
    expect(parse(csv('email,given_name,family_name', 'a@example.com,,Smith'))).toEqual([
      { email: 'a@example.com', family_name: 'Smith' },
    ])
  })

  it('keeps an escaped empty string (a lone quote) as the empty string', () => {
    expect(parse(csv('email,nickname', `a@example.com,"'"`))).toEqual([
      { email: 'a@example.com', nickname: '' },
    ])
  })

  it('skips blank rows and rows of empty cells', () => {
    expect(parse('email,name\n\na@example.com,A\n,\n  ,  \nb@example.com,B\n\n')).toEqual([
      { email: 'a@example.com', name: 'A' },
      { email: 'b@example.com', name: 'B' },
    ])
  })

  it('returns no users for a header alone', () => {
    expect(parse('email,name\r\n')).toEqual([])
  })
})

describe('parseUsersCsv: types', () => {
  it.each([
    ['true', true],
    ['false', false],
    ['TRUE', true],
    ['False', false],
  ])('reads %j in a boolean field as %j', (cell, value) => {
    expect(parse(csv('email_verified,phone_verified,blocked', `${cell},${cell},${cell}`))).toEqual([
      { email_verified: value, phone_verified: value, blocked: value },
    ])
  })

  it('reads booleans under the Email Verified label', () => {
    expect(parse(csv('Email,Email Verified', 'a@example.com,true'))).toEqual([
      { Email: 'a@example.com', 'Email Verified': true },
    ])
  })

  it('leaves a boolean field that is not true or false as text, for validation to report', () => {
    expect(parse(csv('email_verified', 'yes'))).toEqual([{ email_verified: 'yes' }])
  })

  it('keeps number-looking and JSON-looking values of string fields as strings', () => {
    expect(parse(csv('given_name,nickname,phone_number,Name', '1984,"{""a"":1}",+12125550001,true'))).toEqual(
      [{ given_name: '1984', nickname: '{"a":1}', phone_number: '+12125550001', Name: 'true' }],
    )
  })

  it('parses whole metadata columns written as JSON text', () => {
    const row = csv(
      'email,app_metadata,user_metadata',
      `a@example.com,"'{""roles"":[""admin""],""plan"":{""tier"":2}}","'{""theme"":""dark""}"`,
    )
    expect(parse(row)).toEqual([
      {
        email: 'a@example.com',
        app_metadata: { roles: ['admin'], plan: { tier: 2 } },
        user_metadata: { theme: 'dark' },
      },
    ])
  })

  it('leaves a whole metadata column that is not JSON as text, for validation to report', () => {
    expect(parse(csv('user_metadata', `"'{theme: dark}"`))).toEqual([{ user_metadata: '{theme: dark}' }])
  })

  it('parses a whole metadata column reached through a recorded label', () => {
    expect(parse(csv('Prefs', `"'{""theme"":""dark""}"`), { Prefs: 'user_metadata' })).toEqual([
      { Prefs: { theme: 'dark' } },
    ])
  })

  it('parses JSON objects and arrays inside metadata paths', () => {
    expect(
      parse(csv('app_metadata.roles,user_metadata.address', `"'[""admin""]","'{""city"":""Oslo""}"`)),
    ).toEqual([{ 'app_metadata.roles': ['admin'], 'user_metadata.address': { city: 'Oslo' } }])
  })

  it('types metadata values as the export wrote them: unquoted numbers and booleans, quoted strings', () => {
    expect(
      parse(
        csv(
          'user_metadata.seats,user_metadata.trial,user_metadata.zip,user_metadata.plan',
          `3,true,"'02139","'pro"`,
        ),
      ),
    ).toEqual([
      {
        'user_metadata.seats': 3,
        'user_metadata.trial': true,
        'user_metadata.zip': '02139',
        'user_metadata.plan': 'pro',
      },
    ])
  })

  it('types metadata values under a recorded label like their path', () => {
    expect(
      parse(csv('Seats,Plan', `3,"'pro"`), { Seats: 'user_metadata.seats', Plan: 'user_metadata.plan' }),
    ).toEqual([{ Seats: 3, Plan: 'pro' }])
  })

  it('keeps a metadata value a person typed as text, and an ISO date, as strings', () => {
    expect(parse(csv('user_metadata.plan,user_metadata.since', 'pro plus,2026-01-02T03:04:05.000Z'))).toEqual(
      [{ 'user_metadata.plan': 'pro plus', 'user_metadata.since': '2026-01-02T03:04:05.000Z' }],
    )
  })

  it('parses JSON objects in other columns, leaving the rest as text', () => {
    expect(
      parse(csv('email,custom_password_hash,foo', `a@example.com,"'{""algorithm"":""md5""}","'[1"`)),
    ).toEqual([{ email: 'a@example.com', custom_password_hash: { algorithm: 'md5' }, foo: '[1' }])
  })

  it('keeps read-only columns as text (normalizeRow drops them)', () => {
    expect(
      parse(csv('Created At,Connection', `2026-11-27T10:00:00.000Z,"'Username-Password-Authentication"`)),
    ).toEqual([{ 'Created At': '2026-11-27T10:00:00.000Z', Connection: 'Username-Password-Authentication' }])
  })
})

describe('parseUsersCsv: the dialect', () => {
  it('reads commas, quotes and line breaks inside quoted cells', () => {
    expect(parse(csv('email,name', `a@example.com,"'Smith, ""Ada""\r\nLovelace\nthe first"`))).toEqual([
      { email: 'a@example.com', name: 'Smith, "Ada"\r\nLovelace\nthe first' },
    ])
  })

  it.each([
    ['CRLF', '\r\n'],
    ['LF', '\n'],
  ])('reads %s line ends', (_name, eol) => {
    expect(parse(['email,name', 'a@example.com,A', 'b@example.com,B', ''].join(eol))).toEqual([
      { email: 'a@example.com', name: 'A' },
      { email: 'b@example.com', name: 'B' },
    ])
  })

  it('reads a file without a final line end', () => {
    expect(parse('email\na@example.com')).toEqual([{ email: 'a@example.com' }])
  })

  it('ignores a UTF-8 byte order mark', () => {
    expect(parse('\uFEFFemail,name\r\na@example.com,Zoë 李\r\n')).toEqual([
      { email: 'a@example.com', name: 'Zoë 李' },
    ])
  })

  it('keeps a __proto__ column as a plain key, for validation to refuse', () => {
    const [row] = parse(csv('email,__proto__', 'a@example.com,x')) as Record<string, unknown>[]
    expect(Object.keys(row ?? {})).toEqual(['email', '__proto__'])
    expect(Object.getPrototypeOf(row)).toBe(Object.prototype)
  })
})

describe('parseUsersCsv: whole-file faults', () => {
  it('refuses a row with more cells than the header, naming the spreadsheet row', () => {
    const error = refusal(csv('email,name', 'a@example.com,A', 'b@example.com,Smith, Ada'))
    expect(error.code).toBe('invalid_users_file')
    expect(error.message).toBe(
      'users.csv: row 3 has 3 cells but the header has 2. A value that holds a comma must be in double quotes.',
    )
  })

  it('refuses a row with fewer cells than the header', () => {
    expect(refusal(csv('email,name,nickname', 'a@example.com,A')).message).toMatch(
      /^users\.csv: row 2 has 2 cells but the header has 3\. Every row needs a cell for each column/,
    )
  })

  it('counts blank lines and multi-line cells as a spreadsheet does', () => {
    // Row 2 is blank, row 3 spans two lines, row 4 is the bad one.
    expect(refusal('email,name\n\na@example.com,"A\nB"\nb@example.com\n').message).toMatch(
      /^users\.csv: row 4 has 1/,
    )
  })

  it('refuses an unclosed quote, naming the row where it opens', () => {
    const error = refusal(csv('email,name', 'a@example.com,A', 'b@example.com,"B', 'c@example.com,C'))
    expect(error.code).toBe('invalid_users_file')
    expect(error.message).toBe(
      'users.csv: row 3 opens a quoted cell that is never closed. Inside a quoted cell, write a double quote as two ("").',
    )
  })

  it('refuses text after a closing quote', () => {
    expect(refusal(csv('email,name', 'a@example.com,"A"x')).message).toMatch(
      /^users\.csv: row 2 has text after the closing quote of a cell/,
    )
  })

  it('reports the earliest fault', () => {
    expect(refusal(csv('email,name', 'a@example.com', 'b@example.com,"B')).message).toMatch(
      /row 2 has 1 cells/,
    )
  })

  it('refuses a header that names a column twice', () => {
    expect(refusal(csv('email,name,email', 'a,b,c')).message).toBe(
      'users.csv: row 1 (the header) names two columns "email" (columns 1 and 3). Keep one of them.',
    )
  })

  it('refuses a header with an unnamed column', () => {
    expect(refusal(csv('email,,name', 'a,b,c')).message).toMatch(
      /^users\.csv: row 1 \(the header\) gives column 2 no name\./,
    )
  })

  it('refuses a semicolon-separated file with a pointer to the fix', () => {
    expect(refusal(csv('email;name', 'a@example.com;A')).message).toBe(
      'users.csv: row 1 (the header) separates its columns with ";". Save the file as comma-separated CSV.',
    )
  })

  it('names the header row after leading blank lines', () => {
    expect(refusal('\n\nemail,email\na,b\n').message).toMatch(
      /^users\.csv: row 3 \(the header\) names two columns/,
    )
  })
})

describe('parseUsersFile: choosing CSV', () => {
  it('reads a .csv file as CSV', () => {
    expect(parseUsersFile(csv('email', 'a@example.com'), 'people.csv')).toEqual({
      format: 'csv',
      rows: [{ email: 'a@example.com' }],
    })
  })

  it('reads a .csv.gz name as CSV (the gzip is undone before parsing)', () => {
    expect(parseUsersFile(csv('Email', `"'a@example.com"`), 'acme.CSV.gz').format).toBe('csv')
  })

  it('reads CSV under any name when its first line names fields', () => {
    expect(
      parseUsersFile(csv('Id,Email,user_metadata.plan', `"'auth0|1",a@example.com,pro`), 'upload'),
    ).toEqual({
      format: 'csv',
      rows: [{ Id: 'auth0|1', Email: 'a@example.com', 'user_metadata.plan': 'pro' }],
    })
  })

  it('finds the header after leading blank lines', () => {
    expect(parseUsersFile('\n\nemail\na@example.com\n', 'upload').rows).toEqual([{ email: 'a@example.com' }])
  })

  it('reads JSON under a .csv name: no CSV header starts with [', () => {
    expect(parseUsersFile('[{"email":"a@example.com"}]', 'users.csv').format).toBe('json')
  })

  it('refuses text that is neither JSON nor a CSV naming fields, mentioning all three formats', () => {
    expect(() => parseUsersFile('hello, world\n', 'notes.txt')).toThrow(
      'notes.txt must hold a JSON array of user objects, NDJSON (one user object per line) or CSV (a header row naming the fields, such as email, then one user per row).',
    )
  })

  it('refuses a CSV header without users as empty', () => {
    expect(() => parseUsersFile('email,name\r\n', 'users.csv')).toThrow('Users file must not be empty.')
  })

  it("passes a CSV fault through with the file's name", () => {
    expect(() => parseUsersFile(csv('email', 'a,b'), 'users.csv')).toThrow(/^users\.csv: row 2 has 2 cells/)
  })
})
