import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { backoffMs, isRetryableStatus, retryAfterMs } from '../../src/adapters/slack/http-retry.ts'
import { openOutbox } from '../../src/adapters/slack/notifier/outbox.ts'
import { listenerNotification } from '../../src/adapters/slack/notifier/plan-notifications.ts'
import { tempDir } from '../support/temp-dir.ts'

const at = '2026-11-27T10:00:00.000Z'
const item = (jobId: string, kind: 'parent' | 'preview' | 'post' | 'edit', detail?: string) =>
  listenerNotification({
    jobId,
    kind,
    at,
    message: { text: `${kind} of ${jobId}` },
    ...(kind === 'preview' ? {} : { target: { channel: 'C1', user: 'U1' } }),
    ...(detail ? { detail } : {}),
  })

describe('what listeners keep in the outbox', () => {
  it('puts a kept parent before what its job already planned: replies need the thread it starts', async () => {
    const file = join(await tempDir(), 'slack-outbox.json')
    const outbox = await openOutbox(file)
    await outbox.add([item('job_a', 'preview'), item('job_b', 'post'), item('job_a', 'edit', 'decided')])
    await outbox.add([item('job_a', 'parent')])
    expect(outbox.pending().map((n) => n.id)).toEqual([
      'job_a:parent',
      'job_a:preview',
      'job_b:post',
      'job_a:edit:decided',
    ])
    const reopened = await openOutbox(file)
    expect(reopened.pending()[0]).toMatchObject({ kind: 'parent', target: { channel: 'C1', user: 'U1' } })
  })

  it('keeps a parent with nothing planned yet at the end, and never twice', async () => {
    const outbox = await openOutbox(join(await tempDir(), 'slack-outbox.json'))
    await outbox.add([item('job_a', 'preview')])
    expect(await outbox.add([item('job_b', 'parent'), item('job_b', 'parent')])).toHaveLength(1)
    expect(outbox.pending().map((n) => n.id)).toEqual(['job_a:preview', 'job_b:parent'])
  })
})

describe('retries of response_url posts and downloads', () => {
  const retry = { retries: 3, minTimeoutMs: 500, maxTimeoutMs: 1500 }

  it('backs off exponentially from minTimeoutMs, capped', () => {
    expect([1, 2, 3, 4].map((attempt) => backoffMs(attempt, retry))).toEqual([500, 1000, 1500, 1500])
  })

  it('reads Retry-After in seconds, and nothing else', () => {
    expect(retryAfterMs('2')).toBe(2000)
    expect(retryAfterMs(null)).toBeUndefined()
    expect(retryAfterMs('Wed, 21 Oct 2026 07:28:00 GMT')).toBeUndefined()
  })

  it('retries 429 and 5xx, not other refusals', () => {
    expect([429, 500, 503, 404, 410, 400, 302].map(isRetryableStatus)).toEqual([
      true,
      true,
      true,
      false,
      false,
      false,
      false,
    ])
  })
})
