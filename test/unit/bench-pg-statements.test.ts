import { describe, expect, it } from 'vitest'
import { describeStatements } from '../../bench/support/pg-statements.ts'

/** The bench's summary of pg_stat_statements (bench/support/pg-statements.ts), for the notes of a missed target. */
describe('bench pg statements', () => {
  it('lists the statements that took the most time, with their share, shortened on one line', () => {
    const rows = [
      { query: 'SELECT 1', calls: 10, totalMs: 25 },
      {
        query:
          'INSERT INTO users (user_id)\n   SELECT user_id FROM roster_chunk_users ORDER BY n ON CONFLICT DO UPDATE SET x',
        calls: 1,
        totalMs: 50,
      },
      { query: 'COPY roster_chunk_users FROM STDIN', calls: 2, totalMs: 25 },
    ]
    expect(describeStatements(rows, 2)).toBe(
      'PostgreSQL 100 ms in 13 statements: 50% INSERT INTO users (user_id) SELECT user_id FROM roster_chunk_users ORD… (1 call); 25% SELECT 1 (10 calls)',
    )
  })

  it('says so when nothing was recorded', () => {
    expect(describeStatements([])).toBe('PostgreSQL: no statement time recorded')
  })
})
