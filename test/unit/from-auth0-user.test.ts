import { describe, expect, it } from 'vitest'
import { fromAuth0User } from '../../src/domain/users/from-auth0-user.ts'

const connections = new Map([['Username-Password-Authentication', 'con_AAAAAAAAAAAAAAAA']])
const context = { connectionIdOf: (name: string) => connections.get(name) }

describe('fromAuth0User', () => {
  it("maps a Management API user to Roster's record, dropping what Roster does not keep", () => {
    const outcome = fromAuth0User(
      {
        user_id: 'auth0|abc123',
        email: 'Ada@Example.COM',
        email_verified: true,
        name: 'Ada',
        app_metadata: { plan: 'gold' },
        identities: [
          {
            connection: 'Username-Password-Authentication',
            provider: 'auth0',
            user_id: 'abc123',
            isSocial: false,
          },
        ],
        created_at: '2026-01-01T00:00:00.000Z',
        updated_at: '2026-01-02T00:00:00.000Z',
        last_login: '2026-01-03T00:00:00.000Z',
        logins_count: 4,
      },
      context,
    )
    expect(outcome).toEqual({
      ok: true,
      user: {
        user_id: 'auth0|abc123',
        connection_id: 'con_AAAAAAAAAAAAAAAA',
        email: 'ada@example.com',
        email_verified: true,
        name: 'Ada',
        app_metadata: { plan: 'gold' },
        identities: [
          {
            connection: 'Username-Password-Authentication',
            provider: 'auth0',
            user_id: 'abc123',
            isSocial: false,
          },
        ],
        created_at: '2026-01-01T00:00:00.000Z',
        updated_at: '2026-01-02T00:00:00.000Z',
      },
    })
  })

  it('gives an export line without identities its connection, prefix and identity from the fallback', () => {
    const outcome = fromAuth0User(
      { user_id: 'xyz', email: 'b@example.com', updated_at: '2026-01-02T00:00:00.000Z' },
      { ...context, fallbackConnection: { id: 'con_BBBBBBBBBBBBBBBB', name: 'legacy' } },
    )
    expect(outcome).toMatchObject({
      ok: true,
      user: {
        user_id: 'auth0|xyz',
        connection_id: 'con_BBBBBBBBBBBBBBBB',
        identities: [{ connection: 'legacy', provider: 'auth0', user_id: 'xyz', isSocial: false }],
        created_at: '2026-01-02T00:00:00.000Z',
        email_verified: false,
      },
    })
  })

  it('says why a line is not a user of a known connection', () => {
    expect(fromAuth0User({ email: 'a@example.com' }, context)).toEqual({
      ok: false,
      reason: 'user_id is missing',
    })
    const social = fromAuth0User(
      {
        user_id: 'google-oauth2|1',
        identities: [{ connection: 'google-oauth2', provider: 'google-oauth2' }],
      },
      context,
    )
    expect(social).toMatchObject({ ok: false, reason: expect.stringContaining('google-oauth2') })
    expect(fromAuth0User({ user_id: 'auth0|1', email: 7 }, context)).toMatchObject({
      ok: false,
      reason: expect.stringContaining('email'),
    })
  })
})
