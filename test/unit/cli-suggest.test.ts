import { describe, expect, it } from 'vitest'
import { closest } from '../../src/adapters/cli/suggest.ts'
import { commandNames, usage, usageFor } from '../../src/adapters/cli/usage.ts'

describe('closest', () => {
  it('finds a typo, a swap and a case-only difference', () => {
    expect(closest('improt', commandNames)).toBe('import')
    expect(closest('conection', ['connection', 'wait'])).toBe('connection')
    expect(closest('username-password-authentication', ['Username-Password-Authentication'])).toBe(
      'Username-Password-Authentication',
    )
  })

  it('suggests nothing for a word that is not close to any', () => {
    expect(closest('frobnicate', commandNames)).toBeUndefined()
  })
})

describe('usageFor', () => {
  it('gives one command’s lines, continuations included, prefixed with roster', () => {
    const lines = usageFor('export').split('\n')
    expect(lines[0]).toBe('Usage:')
    expect(lines[1]).toMatch(/^ {2}roster export --connection/)
    expect(lines[2]).toMatch(/^ {16}\[--field path/)
    expect(lines).toHaveLength(3)
  })

  it('covers every command the help lists', () => {
    for (const command of commandNames) expect(usageFor(command)).not.toBe(usage)
  })
})
