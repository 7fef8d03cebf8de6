import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { Courier } from '../../src/adapters/slack/notifier/courier.ts'
import { NotifierStopped } from '../../src/adapters/slack/notifier/delivery.ts'
import { type Notification, type Outbox, openOutbox } from '../../src/adapters/slack/notifier/outbox.ts'
import { WaitForThread } from '../../src/adapters/slack/notifier/thread-resolver.ts'
import { silentLogger } from '../../src/logger.ts'
import { poll } from '../support/roster-process.ts'
import { tempDir } from '../support/temp-dir.ts'

const note = (jobId: string, kind: Notification['kind']): Notification => ({
  id: `${jobId}:${kind}`,
  jobId,
  kind,
  createdAt: '2026-11-27T10:00:00.000Z',
  message: { text: `${kind} of ${jobId}` },
})

const platformError = (error: string) =>
  Object.assign(new Error(error), { code: 'slack_webapi_platform_error', data: { ok: false, error } })

describe('the outbox file', () => {
  it('keeps pending and settled notifications across a reopen', async () => {
    const file = join(await tempDir(), 'slack-outbox.json')
    const outbox = await openOutbox(file)
    expect(outbox.fresh).toBe(true)
    await outbox.add([note('job_a', 'final'), note('job_a', 'result')])
    await outbox.settle('job_a:final')
    const again = await openOutbox(file)
    expect(again.fresh).toBe(false)
    expect(again.pending().map((n) => n.id)).toEqual(['job_a:result'])
    expect(await again.knows('job_a:final')).toBe(true)
  })

  it('never plans a notification twice, pending or settled', async () => {
    const outbox = await openOutbox(join(await tempDir(), 'slack-outbox.json'))
    await outbox.add([note('job_a', 'final')])
    await outbox.settle('job_a:final')
    const added = await outbox.add([note('job_a', 'final'), note('job_a', 'result'), note('job_a', 'result')])
    expect(added.map((n) => n.id)).toEqual(['job_a:result'])
    expect(outbox.pending()).toHaveLength(1)
  })

  it('forgets settled ids of jobs that no longer exist', async () => {
    const file = join(await tempDir(), 'slack-outbox.json')
    const outbox = await openOutbox(file)
    await outbox.settleUnsent(['job_a:result', 'job_b:result'])
    await outbox.prune(new Set(['job_b']))
    expect(JSON.parse(await readFile(file, 'utf8')).settled).toEqual(['job_b:result'])
  })

  it('refuses a damaged file instead of silently losing what it held', async () => {
    const dir = await tempDir()
    const file = join(dir, 'slack-outbox.json')
    const { writeFile } = await import('node:fs/promises')
    await writeFile(file, '{"version":1,"pending":[{"id":1}]}')
    await expect(openOutbox(file)).rejects.toThrow(/Cannot load .*slack-outbox.json/)
  })
})

/** An outbox in memory: the courier's contract without the disk. */
function memoryOutbox(items: Notification[]): Outbox & { settledIds: string[] } {
  let pending = [...items]
  const settledIds: string[] = []
  return {
    fresh: false,
    settledIds,
    pending: () => pending,
    claim: async () => false,
    knows: async (id) => settledIds.includes(id) || pending.some((n) => n.id === id),
    parentPending: async (jobId) => pending.some((n) => n.jobId === jobId && n.kind === 'parent'),
    async add(more) {
      pending = [...pending, ...more]
      return [...more]
    },
    async settle(id) {
      settledIds.push(id)
      pending = pending.filter((n) => n.id !== id)
    },
    async settleUnsent() {},
    async prune() {},
  }
}

function courierWith(outbox: Outbox, send: (n: Notification) => Promise<void>) {
  return new Courier({
    outbox,
    send,
    timing: { baseMs: 20, capMs: 80, maxUnknownAttempts: 3, probeIntervalMs: 50 },
    logger: silentLogger,
    now: Date.now,
  })
}

describe('the courier', () => {
  it('sends each job’s notifications in order, one job not waiting for another', async () => {
    const outbox = memoryOutbox([note('job_a', 'final'), note('job_a', 'result'), note('job_b', 'final')])
    const sent: string[] = []
    let failA = true
    const courier = courierWith(outbox, async (n) => {
      if (n.id === 'job_a:final' && failA) {
        failA = false
        throw platformError('internal_error')
      }
      sent.push(n.id)
    })
    courier.pump()
    await poll('everything sent', () => (outbox.pending().length === 0 ? true : undefined), {
      timeoutMs: 3000,
    })
    expect(sent.indexOf('job_a:final')).toBeLessThan(sent.indexOf('job_a:result'))
    expect(sent[0]).toBe('job_b:final')
    expect(sent).toHaveLength(3)
    await courier.stop()
  })

  it('drops a notification Slack refuses for good, and goes on with the next', async () => {
    const outbox = memoryOutbox([note('job_a', 'final'), note('job_a', 'result')])
    const calls: string[] = []
    const courier = courierWith(outbox, async (n) => {
      calls.push(n.id)
      if (n.kind === 'final') throw platformError('message_not_found')
    })
    courier.pump()
    await poll('settled', () => (courier.idle() ? true : undefined), { timeoutMs: 3000 })
    expect(calls).toEqual(['job_a:final', 'job_a:result'])
    expect(outbox.settledIds).toEqual(['job_a:final', 'job_a:result'])
    await courier.stop()
  })

  it('gives up on a failure that is not Slack’s after a few tries', async () => {
    const outbox = memoryOutbox([note('job_a', 'export-file')])
    let tries = 0
    const courier = courierWith(outbox, async () => {
      tries++
      throw new Error('EACCES: permission denied')
    })
    courier.pump()
    await poll('dropped', () => (courier.idle() ? true : undefined), { timeoutMs: 3000 })
    expect(tries).toBe(3)
    await courier.stop()
  })

  it('waits for a thread without counting it as a failure', async () => {
    const outbox = memoryOutbox([note('job_a', 'result')])
    let asks = 0
    const courier = courierWith(outbox, async () => {
      asks++
      if (asks < 6) throw new WaitForThread(5)
    })
    courier.pump()
    await poll('sent', () => (courier.idle() ? true : undefined), { timeoutMs: 3000 })
    expect(asks).toBe(6)
    await courier.stop()
  })

  it('retries what waited for Slack as soon as Slack answers again', async () => {
    const outbox = memoryOutbox([note('job_a', 'result'), note('job_b', 'result')])
    let slackUp = false
    let failures = 0
    let probes = 0
    const courier = new Courier({
      outbox,
      send: async () => {
        if (slackUp) return
        failures++
        throw Object.assign(new Error('down'), { code: 'slack_webapi_request_error' })
      },
      // A backoff far longer than the test: only the probe can deliver in time.
      timing: { baseMs: 60_000, capMs: 60_000, maxUnknownAttempts: 3, probeIntervalMs: 20 },
      logger: silentLogger,
      now: Date.now,
      probe: async () => {
        probes++
        if (!slackUp) throw new Error('still down')
      },
    })
    courier.pump()
    await poll('both failed once, and a probe found Slack still down', () =>
      failures === 2 && probes >= 1 ? true : undefined,
    )
    slackUp = true
    await poll('delivered after a probe found Slack up', () => (courier.idle() ? true : undefined), {
      timeoutMs: 2000,
    })
    expect(outbox.settledIds.sort()).toEqual(['job_a:result', 'job_b:result'])
    expect(failures).toBe(2)
    await courier.stop()
  })

  it('does not hurry a notification Slack refused with an error: it keeps its backoff', async () => {
    const outbox = memoryOutbox([note('job_a', 'result'), note('job_b', 'result')])
    const sent: string[] = []
    let failures = 0
    const courier = new Courier({
      outbox,
      send: async (n) => {
        if (n.jobId === 'job_a') {
          failures++
          throw platformError('internal_error')
        }
        sent.push(n.id)
      },
      timing: { baseMs: 60_000, capMs: 60_000, maxUnknownAttempts: 3, probeIntervalMs: 20 },
      logger: silentLogger,
      now: Date.now,
      probe: async () => undefined,
    })
    courier.pump()
    await poll('job_b sent', () => (sent.length === 1 ? true : undefined))
    courier.wake()
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect(failures).toBe(1)
    await courier.stop()
  })

  it('leaves a notification untried in the outbox when the notifier stops before sending it', async () => {
    const outbox = memoryOutbox([note('job_a', 'result')])
    let asks = 0
    const courier = courierWith(outbox, async () => {
      asks++
      throw new NotifierStopped()
    })
    courier.pump()
    await poll('asked once', () => (asks === 1 ? true : undefined))
    await courier.stop()
    expect(outbox.pending().map((n) => n.id)).toEqual(['job_a:result'])
    expect(outbox.settledIds).toEqual([])
  })
})
