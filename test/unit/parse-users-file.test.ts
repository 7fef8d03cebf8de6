import { describe, expect, it } from 'vitest'
import { parseUsersFile } from '../../src/domain/import/parse-users-file.ts'

const parse = (text: string) => parseUsersFile(text, 'users.json')

describe('parseUsersFile', () => {
  it('reads a JSON array', () => {
    expect(parse('[{"email":"a@example.com"}, 1]')).toEqual({
      format: 'json',
      rows: [{ email: 'a@example.com' }, 1],
    })
  })

  it('reads NDJSON, skipping blank lines', () => {
    expect(parse('{"email":"a@example.com"}\n\n{"email":"b@example.com"}\n')).toEqual({
      format: 'ndjson',
      rows: [{ email: 'a@example.com' }, { email: 'b@example.com' }],
    })
  })

  it('ignores a UTF-8 byte order mark', () => {
    expect(parse('\uFEFF[{"email":"a@example.com"}]').rows).toHaveLength(1)
  })

  it.each(['', '  \n', '[]', '[ ]'])('refuses %j as empty', (text) => {
    expect(() => parse(text)).toThrow('Users file must not be empty.')
  })

  it('names the line and column of a trailing comma', () => {
    expect(() => parse('[\n {"email":"a@example.com"},\n]')).toThrow(/line 3, column 1/)
  })

  it('names the NDJSON line that does not parse', () => {
    expect(() => parse('{"email":"a@example.com"}\n{"email":\n')).toThrow(/line 2 is not a JSON value/)
  })

  it('checks the nesting unless the caller did (a part of roster import --split, cut from a file checked whole)', () => {
    const deep = `[{"email":"a@example.com","app_metadata":{"x":${'['.repeat(300)}${']'.repeat(300)}}}]`
    expect(() => parse(deep)).toThrow(/nests values deeper than/)
    expect(parseUsersFile(deep, 'users.json', {}, true).rows).toHaveLength(1)
    const lines = `${deep.slice(1, -1)}\n${deep.slice(1, -1)}\n`
    expect(() => parseUsersFile(lines, 'users.ndjson')).toThrow(/nests values deeper than/)
    expect(parseUsersFile(lines, 'users.ndjson', {}, true).rows).toHaveLength(2)
  })

  it('refuses a JSON value that is not an array or objects', () => {
    expect(() => parse('42')).toThrow(/must hold a JSON array of user objects/)
  })
})

describe('a {"users": [...]} wrapper', () => {
  it('is refused as a whole file, naming the key and how to take the list out', () => {
    const text = JSON.stringify({ users: [{ email: 'a@example.com' }, { email: 'b@example.com' }] }, null, 2)
    expect(() => parseUsersFile(text, 'dump.json')).toThrow(
      /dump\.json holds one object with a "users" list, not a list of users.*jq '\.users' dump\.json/,
    )
  })

  it('is refused on one line too, and a file of such lines is NDJSON of users that fail one by one', () => {
    const line = JSON.stringify({ users: [{ email: 'a@example.com' }] })
    expect(() => parseUsersFile(`${line}\n`, 'dump.json')).toThrow(/holds one object with a "users" list/)
    expect(parseUsersFile(`${line}\n${line}\n`, 'dump.json').rows).toHaveLength(2)
  })

  it('leaves one-line NDJSON users alone, arrays and all', () => {
    const text = `${JSON.stringify({ email: 'a@example.com', mfa_factors: [{ phone: { value: '+1555' } }] })}\n`
    expect(parseUsersFile(text, 'users.ndjson').rows).toHaveLength(1)
  })

  // The fault can sit inside a password hash: the snippet around it must not quote the hash.
  const hash = '$2b$10$C5Fo9ITfUYqOFZH3pMNCfeoZ1b3nqLMGIQPQNpLQJ0Cd0c5GvXnNu'

  it('quotes no hash around a JSON fault, and still says where', () => {
    const text = `[\n {"email":"a@example.com","password_hash":"${hash}" "name":"A"}\n]`
    const error = (() => {
      try {
        parse(text)
      } catch (caught) {
        return (caught as Error).message
      }
      return ''
    })()
    expect(error).toMatch(/line 2, column \d+/)
    expect(error).toContain('near')
    expect(error).not.toContain(hash.slice(-16, -2))
  })
})
