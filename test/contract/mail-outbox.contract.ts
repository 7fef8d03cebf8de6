import { beforeEach, expect, it } from 'vitest'
import type { MailOutbox, QueuedMail } from '../../src/adapters/mail/mail-outbox.ts'
import { poll } from '../support/roster-process.ts'

/** An empty mail outbox, and how to open it again (a restart; shared: another replica). */
export interface MailOutboxLocation {
  outbox: MailOutbox
  reopen(): Promise<MailOutbox>
  /** Shared only: another replica whose claims last `claimMs`. */
  replica?(claimMs?: number): Promise<MailOutbox & { close(options?: { release?: boolean }): Promise<void> }>
}

export const mail = (jobId: string): QueuedMail => ({
  jobId,
  to: ['owner@example.com'],
  subject: `Import ${jobId} completed`,
  text: 'text',
  html: '<p>html</p>',
  messageId: `<${jobId}.completion@acme.roster>`,
  attempts: 0,
})

/** What every mail outbox does, in files or shared. */
export function mailOutboxContract(open: () => Promise<MailOutboxLocation>): void {
  let location: MailOutboxLocation
  beforeEach(async () => {
    location = await open()
  })

  it('queues one email per job, whoever asks again', async () => {
    const { outbox } = location
    expect(await outbox.handled('job_a')).toBe(false)
    expect(await outbox.enqueue(mail('job_a'))).toBe(true)
    expect(await outbox.enqueue(mail('job_a'))).toBe(false)
    expect(await outbox.handled('job_a')).toBe(true)
    expect(await outbox.pending()).toBe(1)
  })

  it('hands a due email to one claim, and records it sent for good', async () => {
    const { outbox } = location
    await outbox.enqueue(mail('job_a'))
    const [claimed] = await outbox.claimDue(4)
    expect(claimed).toEqual(mail('job_a'))
    expect(await outbox.claimDue(4)).toEqual([])
    await outbox.sent(mail('job_a'), { via: 'smtp', sentAt: '2026-12-05T04:00:00.000Z' })
    expect(await outbox.pending()).toBe(0)
    expect(await outbox.nextDueAt()).toBeUndefined()
    expect(await outbox.enqueue(mail('job_a'))).toBe(false)
    expect(await (await location.reopen()).claimDue(4)).toEqual([])
  })

  it('keeps a retried email, with its attempts, until it is due again', async () => {
    const { outbox } = location
    await outbox.enqueue(mail('job_a'))
    await outbox.claimDue(1)
    const failed = { ...mail('job_a'), attempts: 1, lastError: 'connection refused' }
    await outbox.retry(failed, 60_000)
    expect(await outbox.claimDue(4)).toEqual([])
    expect(await outbox.pending()).toBe(1)
    expect(await outbox.nextDueAt()).toBeGreaterThan(Date.now() + 30_000)

    await outbox.retry(failed, 0)
    // Already claimed by nobody: a retry lets go of the claim.
    expect(await poll('due again', async () => (await outbox.claimDue(4))[0])).toEqual(failed)
  })

  it('sets aside an email given up on: never sent, still handled', async () => {
    const { outbox } = location
    await outbox.enqueue(mail('job_a'))
    await outbox.claimDue(1)
    await outbox.failed({ ...mail('job_a'), attempts: 4, lastError: 'refused' })
    expect(await outbox.pending()).toBe(0)
    expect(await outbox.claimDue(4)).toEqual([])
    expect(await outbox.handled('job_a')).toBe(true)
  })

  it('keeps queued emails for the next opening, due at once', async () => {
    await location.outbox.enqueue(mail('job_a'))
    await location.outbox.enqueue(mail('job_b'))
    await location.outbox.sent(mail('job_b'), { via: 'smtp', sentAt: '2026-12-05T04:00:00.000Z' })
    const again = await location.reopen()
    expect(await again.handled('job_b')).toBe(true)
    expect((await again.claimDue(4)).map((each) => each.jobId)).toEqual(['job_a'])
  })

  it('sends each email once when two replicas claim at the same time', async (context) => {
    if (!location.replica) return context.skip()
    const other = await location.replica()
    const jobs = Array.from({ length: 30 }, (_, i) => `job_${i}`)
    await Promise.all(jobs.map((job, i) => (i % 2 ? other : location.outbox).enqueue(mail(job))))
    const sent: string[] = []
    const sender = async (outbox: MailOutbox) => {
      for (;;) {
        const due = await outbox.claimDue(3)
        if (due.length === 0) return
        for (const each of due) {
          sent.push(each.jobId)
          await outbox.sent(each, { via: 'smtp', sentAt: '2026-12-05T04:00:00.000Z' })
        }
      }
    }
    await Promise.all([sender(location.outbox), sender(other), sender(location.outbox), sender(other)])
    expect(sent.sort()).toEqual([...jobs].sort())
    await other.close()
  })

  it('lets another replica send what a dead replica claimed, once the claim lapses', async (context) => {
    if (!location.replica) return context.skip()
    const dying = await location.replica(300)
    await dying.enqueue(mail('job_a'))
    expect(await dying.claimDue(1)).toHaveLength(1)
    await dying.close({ release: false })
    expect(await location.outbox.claimDue(1)).toEqual([])
    expect(await location.outbox.nextDueAt()).toBeDefined()
    const [taken] = await poll('the claim lapsed', async () => {
      const due = await location.outbox.claimDue(1)
      return due.length > 0 ? due : undefined
    })
    expect(taken).toEqual(mail('job_a'))
  })
}
