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
})
