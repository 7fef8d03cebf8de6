import { describe, expect, it } from 'vitest'
import type { Job } from '../../src/domain/jobs/job.ts'
import { planRetention } from '../../src/domain/jobs/retention.ts'

const job = (id: string, status: Job['status'], createdAt: string, expiredAt?: string): Job => ({
  id,
  type: 'users_undo',
  status,
  undoOf: 'job_0000000000000000',
  connectionId: 'con_0000000000000000',
  connectionName: 'c',
  createdAt,
  requestedBy: { via: 'cli', id: 't' },
  ...(expiredAt ? { expiredAt } : {}),
})

describe('planRetention', () => {
  const now = new Date('2026-11-28T10:00:00.000Z')

  it('expires finished jobs created retention hours ago or more', () => {
    const plan = planRetention(
      [
        job('old-done', 'completed', '2026-11-27T10:00:00.000Z'),
        job('old-failed', 'failed', '2026-11-27T09:00:00.000Z'),
        job('young', 'completed', '2026-11-27T10:00:00.001Z'),
        job('old-pending', 'pending', '2026-11-20T10:00:00.000Z'),
        job('old-running', 'processing', '2026-11-20T10:00:00.000Z'),
      ],
      now,
      24,
    )
    expect(plan).toEqual({ expire: ['old-done', 'old-failed'], drop: [] })
  })

  it('drops expired records one retention period after they expired', () => {
    const plan = planRetention(
      [
        job('gone', 'expired', '2026-11-26T00:00:00.000Z', '2026-11-27T10:00:00.000Z'),
        job('recent', 'expired', '2026-11-26T00:00:00.000Z', '2026-11-28T09:00:00.000Z'),
      ],
      now,
      24,
    )
    expect(plan.drop).toEqual(['gone'])
  })
})
