import { describe, expect, it } from 'vitest'
import { labelTable } from '../../src/domain/import/export-labels.ts'
import { normalizeRow } from '../../src/domain/import/normalize-row.ts'

const labels = labelTable({ Plan: 'user_metadata.plan', email: 'user_metadata.email' })
const normalize = (raw: unknown) => normalizeRow(raw, labels, 'auth0')

describe('normalizeRow', () => {
  it("maps the extension's default labels back to fields", () => {
    expect(
      normalize({
        Id: 'auth0|abc',
        'Given Name': 'Ada',
        'Family Name': 'L',
        Nickname: 'ada',
        Name: 'Ada L',
        Email: 'a@example.com',
        'Email Verified': true,
        Picture: 'https://example.com/a.png',
      }).row,
    ).toEqual({
      user_id: 'abc',
      given_name: 'Ada',
      family_name: 'L',
      nickname: 'ada',
      name: 'Ada L',
      email: 'a@example.com',
      email_verified: true,
      picture: 'https://example.com/a.png',
    })
  })

  it('ignores read-only columns and lists them', () => {
    const result = normalize({
      email: 'a@example.com',
      Connection: 'Username-Password-Authentication',
      'Created At': 'x',
      logins_count: 3,
      'identities[0].provider': 'auth0',
    })
    expect(result.row).toEqual({ email: 'a@example.com' })
    expect(result.ignored).toEqual(['Connection', 'Created At', 'logins_count', 'identities[0].provider'])
  })

  it('never lets a recorded label shadow an import field', () => {
    expect(normalize({ email: 'a@example.com' }).row).toEqual({ email: 'a@example.com' })
  })

  it('places recorded labels and dotted metadata paths into metadata without touching the given object', () => {
    const given = {
      email: 'a@example.com',
      user_metadata: { theme: 'dark' },
      Plan: 'pro',
      'app_metadata.tier.level': 2,
    }
    expect(normalize(given).row).toEqual({
      email: 'a@example.com',
      user_metadata: { theme: 'dark', plan: 'pro' },
      app_metadata: { tier: { level: 2 } },
    })
    expect(given.user_metadata).toEqual({ theme: 'dark' })
  })

  it('strips only the connection prefix of user_id', () => {
    expect(normalize({ email: 'a@example.com', user_id: 'auth0|x' }).row).toMatchObject({ user_id: 'x' })
    expect(normalize({ email: 'a@example.com', user_id: 'google-oauth2|x' }).row).toMatchObject({
      user_id: 'google-oauth2|x',
    })
  })

  it('accepts a field given twice with the same value', () => {
    expect(normalize({ email: 'a@example.com', Email: 'a@example.com' }).errors).toEqual([])
  })

  it('marks metadata given only as dotted columns as partial, so an upsert merges it', () => {
    expect(normalize({ email: 'a@example.com', 'user_metadata.plan': 'pro' }).partialMetadata).toEqual([
      'user_metadata',
    ])
    expect(
      normalize({ email: 'a@example.com', 'user_metadata.plan': 'pro', user_metadata: { theme: 'dark' } }),
    ).toMatchObject({ row: { user_metadata: { theme: 'dark', plan: 'pro' } }, partialMetadata: [] })
  })

  it('leaves non-objects for validation to report', () => {
    expect(normalize('x')).toEqual({ row: 'x', ignored: [], errors: [], partialMetadata: [] })
  })
})
