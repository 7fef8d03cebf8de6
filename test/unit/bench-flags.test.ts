import { describe, expect, it } from 'vitest'
import { parseFlags } from '../../bench/support/flags.ts'

const ids = ['P1', 'P4', 'P7']

/** `npm run bench` flags (bench/support/flags.ts): argv and npm's config env reach the same flags. */
describe('bench flags', () => {
  it('defaults to the embedded store, a full run', () => {
    expect(parseFlags([], {}, ids)).toEqual({
      quick: false,
      json: false,
      only: undefined,
      write: undefined,
      store: 'embedded',
    })
  })

  it('takes --store postgres, --store=postgres and npm_config_store alike', () => {
    expect(parseFlags(['--store', 'postgres'], {}, ids).store).toBe('postgres')
    expect(parseFlags(['--store=postgres', '--quick'], {}, ids)).toMatchObject({
      store: 'postgres',
      quick: true,
    })
    expect(parseFlags([], { npm_config_store: 'postgres' }, ids).store).toBe('postgres')
    expect(parseFlags([], { npm_config_store: '' }, ids).store).toBe('embedded')
  })

  it('refuses a store it does not know, naming the ones it does', () => {
    expect(() => parseFlags(['--store', 'mysql'], {}, ids)).toThrow(/--store: mysql .*--store postgres/)
  })

  it('reads --only from either form and checks each scenario exists', () => {
    expect(parseFlags(['--only', 'p1,P7'], {}, ids).only).toEqual(['P1', 'P7'])
    expect(parseFlags(['--only=p4'], {}, ids).only).toEqual(['P4'])
    expect(() => parseFlags(['--only', 'P9'], {}, ids)).toThrow('--only: no scenario P9 (P1, P4, P7)')
  })

  it('refuses an unknown argument with the ones it takes', () => {
    expect(() => parseFlags(['--fast'], {}, ids)).toThrow(/unknown argument --fast: .*--store postgres/)
    expect(() => parseFlags(['--store', 'postgres', 'extra'], {}, ids)).toThrow('unknown argument extra')
  })

  it('writes only when asked or on a full run (main decides), --no-write wins', () => {
    expect(parseFlags(['--write'], {}, ids).write).toBe(true)
    expect(parseFlags(['--write', '--no-write'], {}, ids).write).toBe(false)
    expect(parseFlags([], { npm_config_quick: 'true', npm_config_json: 'false' }, ids)).toMatchObject({
      quick: true,
      json: false,
    })
  })
})
