import { beforeEach, describe, expect, it } from 'vitest'
import type { Notification, Outbox } from '../../src/adapters/slack/notifier/outbox.ts'
import { listenerNotification } from '../../src/adapters/slack/notifier/plan-notifications.ts'
import { poll } from '../support/roster-process.ts'

/** A new, empty outbox, and how to open the same outbox again (a restart; shared: another replica). */
export interface OutboxLocation {
  outbox: Outbox
  /** The same outbox opened again: after a restart (a file), or by another replica at the same time (shared). */
  reopen(): Promise<Outbox>
}

/** What a shared outbox (PostgreSQL) adds: replicas, claims that lapse. */
export interface SharedOutboxLocation extends OutboxLocation {
  /** Another replica's outbox, claims lasting `claimMs`. */
  replica(claimMs?: number): Promise<Outbox & { close(options?: { release?: boolean }): Promise<void> }>
}

const at = '2026-12-05T04:00:00.000Z'
export const note = (jobId: string, kind: Notification['kind'], detail?: string): Notification => ({
  id: detail === undefined ? `${jobId}:${kind}` : `${jobId}:${kind}:${detail}`,
  jobId,
  kind,
  createdAt: at,
  message: { text: `${kind} of ${jobId}` },
})
const parent = (jobId: string) =>
  listenerNotification({
    jobId,
    kind: 'parent',
    at,
    message: { text: 'parent' },
    target: { channel: 'C1', user: 'U1' },
  })

/**
 * Sends what `outbox` hands out as the courier does (one notification per job at a time, settled once sent) until
 * `count` were sent by all senders together; `sent` records them.
 */
export async function drain(outbox: Outbox, sent: string[], count: number, who = ''): Promise<void> {
  await poll(
    `${count} notifications sent`,
    async () => {
      await outbox.claim()
      const seen = new Set<string>()
      for (const item of [...outbox.pending()]) {
        if (seen.has(item.jobId)) continue
        seen.add(item.jobId)
        sent.push(`${who}${item.id}`)
        // Another sender's turn can come between the send and its record, as on a real network.
        await new Promise((resolve) => setImmediate(resolve))
        await outbox.settle(item.id)
      }
      return sent.length >= count ? true : undefined
    },
    { timeoutMs: 20_000, intervalMs: 5 },
  )
}

/** What every Slack outbox does, in a file or shared. */
export function slackOutboxContract(open: () => Promise<OutboxLocation>): void {
  let location: OutboxLocation
  beforeEach(async () => {
    location = await open()
  })

  it('is fresh when new, and not once what ended before it was recorded', async () => {
    expect(location.outbox.fresh).toBe(true)
    await location.outbox.settleUnsent(['job_a:result'])
    const again = await location.reopen()
    expect(again.fresh).toBe(false)
    expect(await again.knows('job_a:result')).toBe(true)
  })

  it('never plans a notification twice, pending or settled', async () => {
    const { outbox } = location
    expect((await outbox.add([note('job_a', 'final')])).map((n) => n.id)).toEqual(['job_a:final'])
    const sent: string[] = []
    await drain(outbox, sent, 1)
    const added = await outbox.add([note('job_a', 'final'), note('job_a', 'result'), note('job_a', 'result')])
    expect(added.map((n) => n.id)).toEqual(['job_a:result'])
    expect(await outbox.knows('job_a:final')).toBe(true)
    expect(await outbox.knows('job_a:result')).toBe(true)
    expect(await outbox.knows('job_a:sample')).toBe(false)
  })

  it('hands out each job’s notifications in order, a kept parent first', async () => {
    const { outbox } = location
    await outbox.add([note('job_a', 'preview'), note('job_b', 'post'), note('job_a', 'edit', 'decided')])
    await outbox.add([note('job_b', 'final'), parent('job_a')])
    expect(await outbox.parentPending('job_a')).toBe(true)
    expect(await outbox.parentPending('job_b')).toBe(false)
    const sent: string[] = []
    await drain(outbox, sent, 5)
    expect(sent.filter((id) => id.startsWith('job_a'))).toEqual([
      'job_a:parent',
      'job_a:preview',
      'job_a:edit:decided',
    ])
    expect(sent.filter((id) => id.startsWith('job_b'))).toEqual(['job_b:post', 'job_b:final'])
    expect(await outbox.parentPending('job_a')).toBe(false)
  })

  it('keeps what is pending, and what was settled, for the next opening', async () => {
    await location.outbox.add([note('job_a', 'final'), note('job_a', 'result')])
    await drain(location.outbox, [], 1)
    const again = await location.reopen()
    const sent: string[] = []
    await drain(again, sent, 1)
    expect(sent).toEqual(['job_a:result'])
    expect(await again.knows('job_a:final')).toBe(true)
  })

  it('records ids settled unsent, and forgets settled ids of jobs that are gone, never pending ones', async () => {
    const { outbox } = location
    await outbox.settleUnsent(['job_a:result', 'job_b:result'])
    await outbox.add([note('job_c', 'final')])
    expect(await outbox.knows('job_a:result')).toBe(true)
    await outbox.prune(new Set(['job_b']))
    expect(await outbox.knows('job_a:result')).toBe(false)
    expect(await outbox.knows('job_b:result')).toBe(true)
    expect(await outbox.knows('job_c:final')).toBe(true)
  })
}

/** What a shared outbox adds: several replicas send, each notification once; a dead replica's claims lapse. */
export function sharedSlackOutboxContract(open: () => Promise<SharedOutboxLocation>): void {
  let location: SharedOutboxLocation
  beforeEach(async () => {
    location = await open()
  })

  it('sends each notification exactly once when two replicas deliver at the same time, in order per job', async () => {
    const jobs = Array.from({ length: 20 }, (_, i) => `job_${String(i).padStart(2, '0')}`)
    const plan = (job: string) => [note(job, 'final'), note(job, 'result'), note(job, 'error-files')]
    const planned = jobs.flatMap(plan)
    // Each job planned by the replica that ran it: half on each.
    const other = await location.replica()
    await Promise.all([
      location.outbox.add(jobs.filter((_, i) => i % 2 === 0).flatMap(plan)),
      other.add(jobs.filter((_, i) => i % 2 === 1).flatMap(plan)),
    ])
    const sent: string[] = []
    await Promise.all([
      drain(location.outbox, sent, planned.length, 'A '),
      drain(other, sent, planned.length, 'B '),
    ])

    const ids = sent.map((entry) => entry.slice(2))
    expect(ids).toHaveLength(planned.length)
    expect(new Set(ids).size).toBe(planned.length)
    for (const job of jobs) {
      expect(ids.filter((id) => id.startsWith(`${job}:`))).toEqual([
        `${job}:final`,
        `${job}:result`,
        `${job}:error-files`,
      ])
    }
    // Both took part (not a proof of anything by itself: the once-each above is).
    expect(new Set(sent.map((entry) => entry[0])).size).toBe(2)
    await other.close()
  })

  it('lets another replica send what a dead replica claimed, once the claim lapses', async () => {
    const dying = await location.replica(300)
    await dying.add([note('job_a', 'final'), note('job_a', 'result')])
    await dying.claim()
    expect(dying.pending().map((n) => n.id)).toEqual(['job_a:final'])
    // The replica dies mid-send: nothing is settled, nothing let go of.
    await dying.close({ release: false })

    await location.outbox.claim()
    expect(location.outbox.pending()).toEqual([])
    const sent: string[] = []
    await drain(location.outbox, sent, 2)
    expect(sent).toEqual(['job_a:final', 'job_a:result'])
  })

  it('records what ended before once when two replicas start on a new database together', async () => {
    const other = await location.replica()
    expect([location.outbox.fresh, other.fresh]).toEqual([true, true])
    await Promise.all([location.outbox.settleUnsent(['job_a:result']), other.settleUnsent(['job_b:result'])])
    const known = [await other.knows('job_a:result'), await other.knows('job_b:result')]
    expect(known.filter(Boolean)).toHaveLength(1)
    expect((await location.reopen()).fresh).toBe(false)
    await other.close()
  })

  it('hands a replica’s claims to the others at once when it stops cleanly', async () => {
    const stopping = await location.replica(60_000)
    await stopping.add([note('job_a', 'final')])
    await stopping.claim()
    expect(stopping.pending()).toHaveLength(1)
    await stopping.close()
    await location.outbox.claim()
    expect(location.outbox.pending().map((n) => n.id)).toEqual(['job_a:final'])
  })

  it('holds a job’s next notification back while another replica sends the one before', async () => {
    const other = await location.replica(60_000)
    await location.outbox.add([note('job_a', 'final'), note('job_a', 'result'), note('job_b', 'final')])
    await location.outbox.claim()
    expect(location.outbox.pending().map((n) => n.id)).toEqual(['job_a:final', 'job_b:final'])
    await other.claim()
    expect(other.pending()).toEqual([])
    await location.outbox.settle('job_a:final')
    await other.claim()
    expect(other.pending().map((n) => n.id)).toEqual(['job_a:result'])
    await other.close()
  })

  describe('wake-ups', () => {
    it('tells the other replicas when notifications are added', async () => {
      const other = await location.replica()
      let woken = 0
      const off = other.subscribe?.(() => woken++)
      await location.outbox.add([note('job_a', 'final')])
      await poll('the other replica woken', () => (woken > 0 ? true : undefined), { timeoutMs: 10_000 })
      off?.()
      await other.close()
    })
  })
}
