import { describe, expect, it } from 'vitest'
import { countExportLines, exportedUsers } from '../../src/domain/tenant/export-lines.ts'

const byName = (name: string) => (name === 'Username-Password-Authentication' ? 'con_main' : undefined)

describe("an Auth0 export file's users", () => {
  const file =
    '{"user_id":"auth0|a1","email":"A@Example.com","identities":[{"connection":"Username-Password-Authentication","provider":"auth0","user_id":"a1","isSocial":false}]}\n' +
    '\n' +
    '{"user_id":"google-oauth2|9","email":"g@example.com","identities":[{"connection":"google-oauth2","provider":"google-oauth2","user_id":"9","isSocial":true}]}\n'

  it('reads one user a line, blank lines skipped, in Roster shape', () => {
    expect(countExportLines(file)).toBe(2)
    const users = [...exportedUsers(file, byName)]
    expect(users[0]).toMatchObject({ user_id: 'auth0|a1', email: 'a@example.com', connection_id: 'con_main' })
  })

  it('keeps a user of a connection Roster does not list (a social user), with no connection id', () => {
    const users = [...exportedUsers(file, byName)]
    expect(users[1]).toMatchObject({ user_id: 'google-oauth2|9', connection_id: '' })
  })

  it('takes a null field as an absent one', () => {
    const line =
      '{"user_id":"auth0|n","email":"n@example.com","given_name":null,"identities":[{"connection":"Username-Password-Authentication"}]}'
    const [user] = [...exportedUsers(line, byName)]
    expect(user).toMatchObject({ user_id: 'auth0|n' })
    expect(user).not.toHaveProperty('given_name')
  })

  it('names the line that is not JSON', () => {
    const first = file.split('\n')[0]
    expect(() => [...exportedUsers(`${first}\n{oops\n`, byName)]).toThrow(/Line 2 .* not JSON/)
  })

  it('names the line that is no user', () => {
    expect(() => [...exportedUsers('{"email":"x@example.com"}\n', byName)]).toThrow(/Line 1 .*user_id/)
  })
})
