import { describe, expect, it } from 'vitest'
import {
  etaText,
  exportRequestedMessage,
  mentionsOf,
  milestoneMessage,
  parentMessage,
  progressBar,
  progressFigures,
  resultMessage,
} from '../../src/adapters/slack/blocks/progress-blocks.ts'
import type { ExportJob, ImportJob, UndoJob } from '../../src/domain/jobs/job.ts'

const base = {
  connectionId: 'con_0000000000000001',
  connectionName: 'Username-Password-Authentication',
  createdAt: '2026-11-27T10:00:00.000Z',
  requestedBy: { via: 'slack' as const, id: 'U0ALICE' },
}

const importJob = (over: Partial<ImportJob> = {}): ImportJob => ({
  ...base,
  id: 'job_0000000000000002',
  type: 'users_import',
  status: 'processing',
  options: { upsert: true, merge: false, dryRun: false, sendCompletionEmail: false },
  upload: { fileName: 'users.json', format: 'json', bytes: 1000, rows: 100_000, chunkRows: 2000 },
  ...over,
})

const exportJob = (over: Partial<ExportJob> = {}): ExportJob => ({
  ...base,
  id: 'job_0000000000000003',
  type: 'users_export',
  status: 'completed',
  format: 'csv',
  fields: [{ name: 'email' }],
  limit: 10,
  gzip: false,
  result: { fileName: 'roster.csv', users: 10, bytes: 2048 },
  ...over,
})

/** The text of every block, for compact snapshots. */
const texts = (blocks: unknown[]) =>
  blocks.map((block) => {
    const b = block as { type: string; text?: { text: string }; elements?: { text?: unknown }[] }
    if (b.type === 'actions')
      return `[${(b.elements ?? []).map((e) => (e.text as { text: string }).text).join('] [')}]`
    return b.text?.text ?? (b.elements ?? []).map((e) => e.text).join(' ')
  })

describe('progress figures', () => {
  it('extrapolates the time left from the rate so far', () => {
    expect(progressFigures({ processed: 25, total: 100, startedAtMs: 0, nowMs: 30_000 })).toEqual({
      fraction: 0.25,
      secondsLeft: 90,
    })
  })

  it('says nothing about the time left before anything was measured', () => {
    expect(progressFigures({ processed: 0, total: 100, startedAtMs: 0, nowMs: 5000 }).secondsLeft).toBe(0)
    expect(etaText(0)).toBe('estimating time left')
  })

  it('words the time left as a person would', () => {
    expect([etaText(20), etaText(150), etaText(3 * 3600 + 300)]).toEqual([
      'less than a minute left',
      'about 3 min left',
      'about 3 h 5 min left',
    ])
  })

  it('fills the bar by tenths, floored, so it is full only when done', () => {
    expect([progressBar(0), progressBar(0.49), progressBar(0.999), progressBar(1)]).toEqual([
      '▱▱▱▱▱▱▱▱▱▱',
      '▰▰▰▰▱▱▱▱▱▱',
      '▰▰▰▰▰▰▰▰▰▱',
      '▰▰▰▰▰▰▰▰▰▰',
    ])
  })
})

describe('parentMessage', () => {
  it('shows a running job with its bar, counts and time left', () => {
    const message = parentMessage(importJob(), {
      processed: 40_000,
      total: 100_000,
      startedAtMs: 0,
      nowMs: 60_000,
    })
    expect(message.text).toMatchInlineSnapshot(
      `"Import job_0000000000000002: 40% (40,000 of 100,000 users), about 2 min left"`,
    )
    expect(texts(message.blocks)).toMatchInlineSnapshot(`
      [
        ":gear: *Import* \`job_0000000000000002\` · users.json → Username-Password-Authentication
      \`▰▰▰▰▱▱▱▱▱▱\` *40%* · 40,000 of 100,000 users · about 2 min left",
        "Requested by <@U0ALICE> · updates and files in the thread",
      ]
    `)
  })

  it('shows a queued job as queued', () => {
    expect(parentMessage(importJob({ status: 'pending' })).text).toBe('Import job_0000000000000002: queued')
  })

  it('shows the outcome once the job is done', () => {
    const done = exportJob()
    expect(texts(parentMessage(done).blocks)[0]).toMatchInlineSnapshot(`
      ":white_check_mark: *Export* \`job_0000000000000003\` · Username-Password-Authentication · CSV · first 10 users
      *Done* · 10 users → roster.csv"
    `)
  })

  it('names why a job failed', () => {
    const failed = importJob({ status: 'failed', statusDetails: 'The connection does not exist.' })
    expect(parentMessage(failed).text).toBe(
      'Import job_0000000000000002 failed: The connection does not exist.',
    )
  })

  it('names a requester from outside Slack by name and interface', () => {
    const cli = exportJob({
      requestedBy: { via: 'cli', id: 'ops' },
      connectionName: undefined,
      limit: undefined,
    })
    expect(texts(parentMessage(cli).blocks)).toEqual([
      expect.stringContaining('all connections · CSV'),
      'Requested by ops (cli) · updates and files in the thread',
    ])
  })
})

describe('thread replies', () => {
  it('mention the requester in the result of an export', () => {
    const message = resultMessage(exportJob(), 'viewer-users')
    expect(message.text).toMatchInlineSnapshot(
      `"<@U0ALICE> Export job_0000000000000003 is done: 10 users in roster.csv (2.0 KB), attached below."`,
    )
    expect(texts(message.blocks)[1]).toBe('[More info] [Download export]')
  })

  it('say how many users failed and that the error report follows', () => {
    const job = importJob({
      status: 'completed',
      summary: { inserted: 90, updated: 5, unchanged: 2, failed: 5, total: 100 },
    })
    expect(resultMessage(job, 'admin').text).toMatchInlineSnapshot(
      `"<@U0ALICE> Import job_0000000000000002 is done: 90 inserted, 3 updated, 2 unchanged, 5 failed. 5 users failed: the error report and the failed users (to fix and import again) follow in this thread."`,
    )
    expect(texts(resultMessage(job, 'admin').blocks)[1]).toBe('[More info] [Error report] [Undo]')
    expect(texts(resultMessage(job, 'viewer-users').blocks)[1]).toBe('[More info] [Error report]')
  })

  it('report undo conflicts as users left alone', () => {
    const undo: UndoJob = {
      ...base,
      id: 'job_0000000000000004',
      type: 'users_undo',
      status: 'completed',
      undoOf: 'job_0000000000000002',
      summary: { deleted: 3, restored: 1, conflicts: 2, total: 6 },
    }
    expect(resultMessage(undo, 'admin').text).toContain(
      '2 users were left alone: the conflicts follow in this thread.',
    )
  })

  it('mention whoever started the thread too when someone else pressed the button', () => {
    const job = importJob({
      status: 'completed',
      summary: { inserted: 1, updated: 0, unchanged: 0, failed: 0, total: 1 },
    })
    expect(mentionsOf(job, 'U0BOB')).toEqual(['U0ALICE', 'U0BOB'])
    expect(mentionsOf(job, 'U0ALICE')).toEqual(['U0ALICE'])
    expect(resultMessage(job, 'admin', mentionsOf(job, 'U0BOB')).text).toMatch(/^<@U0ALICE> <@U0BOB> Import/)
  })

  it('announce the half-way milestone with a mention', () => {
    expect(milestoneMessage(importJob(), { processed: 50_000, total: 100_000 }).text).toBe(
      '<@U0ALICE> Import `job_0000000000000002` is halfway: 50,000 of 100,000 users done.',
    )
  })

  it('say what an /export is about before its job exists', () => {
    const message = exportRequestedMessage({ user: 'U0ALICE', format: 'csv', sample: true, gzip: true })
    expect(message.text).toBe(
      'Export requested by <@U0ALICE>: all connections · CSV (gzip) · sample of 10 users',
    )
  })
})
