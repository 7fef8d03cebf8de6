import { describe, expect, it } from 'vitest'
import { createLogger } from '../../src/logger.ts'

describe('logger', () => {
  it('writes one JSON line per entry and hides secret-looking fields at any depth', () => {
    const lines: string[] = []
    const logger = createLogger('info', (line) => lines.push(line))
    logger.info('hello', { user: { email: 'a@example.com', password_hash: '$2b$10$x' }, botToken: 'xoxb-1' })
    logger.debug('not shown')
    expect(lines).toHaveLength(1)
    const entry = JSON.parse(lines[0] as string)
    expect(entry).toMatchObject({
      level: 'info',
      msg: 'hello',
      user: { email: 'a@example.com', password_hash: '*****' },
      botToken: '*****',
    })
    expect(lines[0]).not.toContain('xoxb-1')
  })

  it('hides secrets below any depth and of any shape (the old walk stopped at depth 6)', () => {
    const lines: string[] = []
    const logger = createLogger('info', (line) => lines.push(line))
    let deep: unknown = { passwd: 'deep-secret', mfa_factors: { totp: 'totp-secret' } }
    for (let i = 0; i < 20; i++) deep = { level: [deep] }
    logger.info('deep', { row: deep, error: new Error('boom') })
    expect(lines[0]).not.toMatch(/deep-secret|totp-secret/)
    expect(lines[0]).toContain('"message":"boom"')
  })
})
