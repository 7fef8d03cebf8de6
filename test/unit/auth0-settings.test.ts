import { describe, expect, it } from 'vitest'
import { auth0SettingsSchema } from '../../src/adapters/auth0/settings.ts'

/** AUTH0_* settings: defaults, and refusals that name the variable to change. */
function problems(input: Record<string, unknown>): string[] {
  const parsed = auth0SettingsSchema.safeParse(input)
  return parsed.success ? [] : parsed.error.issues.map((issue) => issue.message)
}

describe('auth0SettingsSchema', () => {
  it('defaults the base URL to https://<domain> and keeps the credential kind', () => {
    expect(
      auth0SettingsSchema.parse({ domain: 'acme.eu.auth0.com', clientId: 'id', clientSecret: 's' }),
    ).toEqual({
      domain: 'acme.eu.auth0.com',
      baseUrl: 'https://acme.eu.auth0.com',
      baseUrlIsDefault: true,
      credentials: { kind: 'client', clientId: 'id', clientSecret: 's' },
    })
    expect(
      auth0SettingsSchema.parse({ domain: '127.0.0.1:8080', baseUrl: 'http://127.0.0.1:8080/', token: 't' }),
    ).toMatchObject({
      baseUrl: 'http://127.0.0.1:8080',
      baseUrlIsDefault: false,
      credentials: { kind: 'token' },
    })
  })

  it('names the setting that is wrong or missing', () => {
    expect(problems({ domain: 'https://acme.auth0.com', token: 't' })).toEqual([
      expect.stringContaining('AUTH0_DOMAIN must be the tenant host'),
    ])
    expect(problems({ domain: 'acme.auth0.com' })).toEqual([expect.stringContaining('AUTH0_CLIENT_ID')])
    expect(problems({ domain: 'acme.auth0.com', clientId: 'id' })).toEqual([
      'AUTH0_CLIENT_ID is set without AUTH0_CLIENT_SECRET',
    ])
    expect(problems({ domain: 'acme.auth0.com', clientId: 'id', clientSecret: 's', token: 't' })).toEqual([
      expect.stringContaining('not both'),
    ])
    expect(problems({ domain: 'acme.auth0.com', token: 't', baseUrl: 'ftp://x' })).toEqual([
      expect.stringContaining('AUTH0_BASE_URL'),
    ])
  })
})
