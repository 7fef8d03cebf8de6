import { describe, expect, it } from 'vitest'
import { redactUrl } from '../../src/adapters/postgres/pool.ts'

describe('redactUrl (how DATABASE_URL appears in messages)', () => {
  it('hides the password and keeps the rest', () => {
    expect(redactUrl('postgres://roster:hunter2@db.example.com:5432/roster')).toBe(
      'postgres://roster:***@db.example.com:5432/roster',
    )
  })

  it('hides a password given as a query parameter', () => {
    const shown = redactUrl('postgresql://roster@db/roster?password=hunter2&sslmode=require')
    expect(shown).not.toContain('hunter2')
    expect(shown).toContain('sslmode=require')
  })

  it('leaves a URL without a password as it is', () => {
    expect(redactUrl('postgres://roster@127.0.0.1:5432/roster')).toBe(
      'postgres://roster@127.0.0.1:5432/roster',
    )
  })

  it('quotes nothing of a value that is not a URL', () => {
    expect(redactUrl('roster:hunter2@db')).toBe('DATABASE_URL (not a URL)')
  })
})
