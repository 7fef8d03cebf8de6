import { describe, expect, it } from 'vitest'
import { jobDetailBlocks, jobLine } from '../../src/adapters/slack/blocks/job-blocks.ts'
import { jobListMessage } from '../../src/adapters/slack/blocks/job-list.ts'
import { parentMessage, resultMessage } from '../../src/adapters/slack/blocks/progress-blocks.ts'
import type { ImportJob } from '../../src/domain/jobs/job.ts'
import { pageJobs } from '../../src/domain/jobs/job-page.ts'

/** A failed import from an API client, every string of it hostile and long. */
const hostile: ImportJob = {
  id: 'job_0000000000000002',
  type: 'users_import',
  status: 'failed',
  connectionId: 'con_0000000000000001',
  connectionName: `<!channel> ${'c'.repeat(120)}`,
  createdAt: '2026-11-27T10:00:00.000Z',
  requestedBy: { via: 'api', id: 'tok_1', name: '<@U0BOSS> `client`' },
  statusDetails: `<!here> ${'why '.repeat(1500)}🙂`,
  options: {
    upsert: true,
    merge: false,
    dryRun: false,
    sendCompletionEmail: false,
    externalId: `<https://evil.example|id> & ${'x'.repeat(5000)}`,
  },
  upload: {
    fileName: `<!everyone>${'😀'.repeat(1500)}.json`,
    format: 'json',
    bytes: 1,
    rows: 1,
    chunkRows: 1,
  },
}

const live = /<(?!@U0ALLOWED|!date\^)[^<>]*>/
const lone = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/

describe('job blocks with data from an API client', () => {
  it("`/jobs JOB_ID`: every field within Slack's 2,000 characters, escaped, whole emoji", () => {
    const blocks = jobDetailBlocks(hostile)
    const fields = blocks.flatMap((b) => ('fields' in b ? (b.fields ?? []) : []))
    expect(fields.length).toBeGreaterThan(5)
    for (const field of fields) {
      expect(field.text.length).toBeLessThanOrEqual(2000)
      expect(field.text).not.toMatch(live)
      expect(field.text).not.toMatch(lone)
    }
    const external = fields.find((f) => f.text.startsWith('*external_id*'))
    expect(external?.text).toMatch(/^\*external_id\*\n&lt;https:\/\/evil\.example\|id&gt; &amp; x+…$/)
    expect(JSON.stringify(blocks)).toContain('tok_1 (api)')
  })

  it('the job line, the list, the parent and the result stay within section limits without live markup', () => {
    const texts = [
      jobLine(hostile),
      JSON.stringify(jobListMessage(pageJobs([hostile], { f: [] }, 'U1'), [], 'admin')),
      JSON.stringify(parentMessage(hostile)),
      JSON.stringify(resultMessage(hostile, 'admin')),
    ]
    for (const text of texts) {
      expect(text).not.toMatch(live)
      expect(text).not.toMatch(lone)
    }
    expect(texts[2]).toContain('Requested by &lt;@U0BOSS&gt; ˋclientˋ (api)')
    expect(jobLine(hostile).length).toBeLessThanOrEqual(3000)
    for (const block of parentMessage(hostile).blocks)
      if (block.type === 'section') expect(block.text?.text.length).toBeLessThanOrEqual(3000)
  })
})
