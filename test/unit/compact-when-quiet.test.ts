import { describe, expect, it } from 'vitest'
import {
  compactWhenQuiet,
  defaultCompactAtJournalBytes,
  overdueJournalFactor,
} from '../../src/engine/compact-when-quiet.ts'
import type { EngineContext } from '../../src/engine/context.ts'
import { silentLogger } from '../../src/logger.ts'

interface QueuedJob {
  id: string
  type: 'users_import' | 'users_export'
  status: 'pending' | 'processing' | 'completed'
  options: { dryRun: boolean }
  /** Whether the journal holds commits of it (a pending job a stopped run left with some). */
  commits?: boolean
}

/** An engine context with only what compactWhenQuiet reads: the journal's size, the jobs, the limit. */
function context(journalBytes: number, compactAtJournalBytes?: number, jobs: QueuedJob[] = []) {
  const compactions: number[] = []
  const ctx = {
    maintenance: {
      journalBytes: () => journalBytes,
      hasCommits: (id: string) => jobs.some((job) => job.id === id && job.commits === true),
      compact: async () => {
        compactions.push(journalBytes)
      },
    },
    catalog: { read: () => ({ jobs }) },
    logger: silentLogger,
    limits: compactAtJournalBytes === undefined ? {} : { compactAtJournalBytes },
  } as unknown as EngineContext
  return { ctx, compactions }
}

describe('compactWhenQuiet', () => {
  it("compacts a server's journal from 64 MiB on; a one-shot command's (the CLI) only from its own, higher mark", async () => {
    const server = context(defaultCompactAtJournalBytes)
    await compactWhenQuiet(server.ctx)
    expect(server.compactions).toEqual([defaultCompactAtJournalBytes])

    const command = context(defaultCompactAtJournalBytes, 4 * defaultCompactAtJournalBytes)
    expect(compactWhenQuiet(command.ctx)).toBeUndefined()
    const grown = context(4 * defaultCompactAtJournalBytes, 4 * defaultCompactAtJournalBytes)
    await compactWhenQuiet(grown.ctx)
    expect(grown.compactions).toHaveLength(1)
  })

  const job = (status: QueuedJob['status'], more: Partial<QueuedJob> = {}): QueuedJob => ({
    id: `job_${status}_${more.commits === true ? 'c' : ''}${more.type ?? ''}${more.options?.dryRun === true ? 'd' : ''}`,
    type: 'users_import',
    status,
    options: { dryRun: false },
    ...more,
  })
  const mark = defaultCompactAtJournalBytes
  const overdue = overdueJournalFactor * mark

  it('waits while a writing job runs or waits in the queue: queued imports come before upkeep', () => {
    for (const jobs of [
      [job('processing')],
      [job('pending')],
      [job('completed'), job('pending', { commits: true })],
    ])
      expect(compactWhenQuiet(context(mark, undefined, jobs).ctx)).toBeUndefined()
  })

  it('does not wait for jobs that write nothing, nor for finished ones', async () => {
    const jobs = [
      job('completed'),
      job('pending', { type: 'users_export' }),
      job('processing', { type: 'users_export' }),
      job('pending', { options: { dryRun: true } }),
    ]
    const quiet = context(mark, undefined, jobs)
    await compactWhenQuiet(quiet.ctx)
    expect(quiet.compactions).toHaveLength(1)
  })

  it('once overdue, compacts between jobs even with imports queued, but never under a job that needs its records', async () => {
    const queued = context(overdue, undefined, [job('pending'), job('completed')])
    await compactWhenQuiet(queued.ctx)
    expect(queued.compactions).toEqual([overdue])
    expect(compactWhenQuiet(context(overdue - 1, undefined, [job('pending')]).ctx)).toBeUndefined()
    for (const jobs of [[job('processing')], [job('pending', { commits: true })]])
      expect(compactWhenQuiet(context(overdue, undefined, jobs).ctx)).toBeUndefined()
  })
})
