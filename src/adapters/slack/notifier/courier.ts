import type { Logger } from '../../../logger.ts'
import { NotifierStopped } from './delivery.ts'
import type { Notification, Outbox } from './outbox.ts'
import { classifySlackError, type RetryTiming, retryDelayMs } from './retry-plan.ts'
import { NoThread, WaitForThread } from './thread-resolver.ts'

export interface CourierOptions {
  outbox: Outbox
  /** Sends one notification; throws what Slack (or the file system) threw. */
  send: (notification: Notification) => Promise<void>
  timing: RetryTiming
  logger: Logger
  now: () => number
  /** Jobs whose notifications are sent at the same time. Default 4. */
  parallel?: number
  /** A cheap call that succeeds when Slack answers (`auth.test`): see `RetryTiming.probeIntervalMs`. */
  probe?: () => Promise<unknown>
}

interface Attempts {
  failures: number
  dueAtMs: number
  /** Slack's Retry-After: not even a recovery makes us call sooner. */
  notBeforeMs: number
  /** The last failure was Slack not answering: it is retried as soon as Slack answers again. */
  awaitsSlack: boolean
}

/**
 * Sends the outbox: per job in the order planned (the result before its files), different jobs side by side.
 * A failure keeps the notification and retries it with backoff. When Slack did not answer at all (down, 5xx),
 * a cheap probe asks every few seconds whether it answers again, and on the first answer (the probe's, or any
 * send's) everything that waited for Slack goes at once. Refusals for good (the channel is gone…) are logged and
 * dropped.
 */
export class Courier {
  readonly #o: CourierOptions
  readonly #attempts = new Map<string, Attempts>()
  readonly #busyJobs = new Set<string>()
  readonly #running = new Set<Promise<void>>()
  #timer: NodeJS.Timeout | undefined
  #probeTimer: NodeJS.Timeout | undefined
  #stopped = false
  #claiming: Promise<void> | undefined
  #claimAgain = false
  readonly #unsubscribe: () => void

  constructor(options: CourierOptions) {
    this.#o = options
    this.#unsubscribe = options.outbox.subscribe?.(() => this.refresh()) ?? (() => undefined)
  }

  /**
   * Claims what there is to send (a shared outbox: what other replicas planned or let go of), then pumps. Calls
   * while a claim is under way make one more claim after it, not one each.
   */
  refresh(): void {
    if (this.#stopped) return
    if (this.#claiming) {
      this.#claimAgain = true
      return
    }
    this.#claiming = this.#o.outbox
      .claim()
      .then(
        () => this.pump(),
        (error: unknown) => this.#o.logger.warn('Slack outbox: could not claim notifications', { error }),
      )
      .finally(() => {
        this.#claiming = undefined
        if (this.#claimAgain) {
          this.#claimAgain = false
          this.refresh()
        }
      })
  }

  /** Sends what is due now and sets a timer for what is due later. */
  pump(): void {
    if (this.#stopped) return
    clearTimeout(this.#timer)
    this.#timer = undefined
    const now = this.#o.now()
    let nextDueMs = Number.POSITIVE_INFINITY
    const seen = new Set<string>()
    for (const item of this.#o.outbox.pending()) {
      if (seen.has(item.jobId)) continue
      seen.add(item.jobId)
      if (this.#busyJobs.has(item.jobId)) continue
      const due = this.#attempts.get(item.id)?.dueAtMs ?? 0
      if (due > now) {
        nextDueMs = Math.min(nextDueMs, due)
        continue
      }
      // The rest waits for a free hand: the end of every send pumps again.
      if (this.#busyJobs.size >= (this.#o.parallel ?? 4)) break
      this.#run(item)
    }
    if (nextDueMs < Number.POSITIVE_INFINITY) {
      this.#timer = setTimeout(() => this.pump(), Math.max(0, nextDueMs - now))
      this.#timer.unref()
    }
    this.#scheduleProbe(now)
  }

  /** Probes Slack while a notification waits for it longer than the probe interval. */
  #scheduleProbe(now: number): void {
    const { probe } = this.#o
    const intervalMs = this.#o.timing.probeIntervalMs
    if (!probe || this.#probeTimer) return
    const waiting = [...this.#attempts.values()].some((a) => a.awaitsSlack && a.dueAtMs > now + intervalMs)
    if (!waiting) return
    this.#probeTimer = setTimeout(() => {
      probe().then(
        () => {
          this.#probeTimer = undefined
          this.wake()
          this.pump()
        },
        () => {
          this.#probeTimer = undefined
          this.pump()
        },
      )
    }, intervalMs)
    this.#probeTimer.unref()
  }

  /** Slack answered: what waited for it to answer is tried now (Retry-After still honoured). */
  wake(): void {
    const now = this.#o.now()
    let changed = false
    for (const attempts of this.#attempts.values()) {
      if (attempts.awaitsSlack && attempts.dueAtMs > now) {
        attempts.dueAtMs = Math.max(now, attempts.notBeforeMs)
        changed = true
      }
    }
    if (changed) this.pump()
  }

  /** Stops sending; waits up to `timeoutMs` for sends in flight (whose outcome is still recorded). */
  async stop(timeoutMs = 5000): Promise<void> {
    this.#stopped = true
    this.#unsubscribe()
    clearTimeout(this.#timer)
    clearTimeout(this.#probeTimer)
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeoutMs)
    })
    await Promise.race([Promise.allSettled([...this.#running, this.#claiming]), timeout])
    clearTimeout(timer)
  }

  /** Nothing pending and nothing in flight (for tests and shutdown logs). */
  idle(): boolean {
    return this.#o.outbox.pending().length === 0 && this.#running.size === 0
  }

  #run(item: Notification): void {
    this.#busyJobs.add(item.jobId)
    const run = this.#attempt(item).finally(() => {
      this.#busyJobs.delete(item.jobId)
      this.#running.delete(run)
      this.pump()
      // A shared outbox hands out a job's next notification once this one is settled.
      this.refresh()
    })
    this.#running.add(run)
  }

  async #attempt(item: Notification): Promise<void> {
    try {
      await this.#o.send(item)
    } catch (error) {
      await this.#failed(item, error)
      return
    }
    this.#attempts.delete(item.id)
    await this.#settle(item, 'sent')
    this.wake()
  }

  async #failed(item: Notification, error: unknown): Promise<void> {
    const now = this.#o.now()
    const attempts = this.#attempts.get(item.id) ?? {
      failures: 0,
      dueAtMs: 0,
      notBeforeMs: 0,
      awaitsSlack: false,
    }
    this.#attempts.set(item.id, attempts)
    if (error instanceof NotifierStopped) return
    if (error instanceof WaitForThread) {
      attempts.dueAtMs = now + error.retryInMs
      return
    }
    if (error instanceof NoThread) {
      this.#o.logger.warn('Slack notification dropped: no thread to post it in', {
        id: item.id,
        reason: error.message,
      })
      this.#attempts.delete(item.id)
      await this.#settle(item, 'dropped')
      return
    }
    const failure = classifySlackError(error)
    attempts.failures++
    const giveUp =
      failure.kind === 'permanent' ||
      (failure.kind === 'unknown' && attempts.failures >= this.#o.timing.maxUnknownAttempts)
    if (giveUp) {
      this.#o.logger.error('Slack notification dropped', {
        id: item.id,
        kind: item.kind,
        jobId: item.jobId,
        reason: failure.reason,
        attempts: attempts.failures,
      })
      this.#attempts.delete(item.id)
      await this.#settle(item, 'dropped')
      return
    }
    const retryAfterMs = failure.kind === 'transient' ? (failure.retryAfterMs ?? 0) : 0
    const delayMs = retryDelayMs(attempts.failures, this.#o.timing, retryAfterMs)
    attempts.dueAtMs = now + delayMs
    attempts.notBeforeMs = now + retryAfterMs
    attempts.awaitsSlack = failure.kind === 'transient' && failure.unreachable === true
    this.#o.logger.warn('Slack notification not delivered yet; kept for a retry', {
      id: item.id,
      reason: failure.reason,
      attempts: attempts.failures,
      retryInMs: delayMs,
    })
  }

  async #settle(item: Notification, outcome: 'sent' | 'dropped'): Promise<void> {
    try {
      await this.#o.outbox.settle(item.id)
    } catch (error) {
      // Settled in memory already: this run will not send it again. A restart might, once.
      this.#o.logger.error('could not record a Slack notification as settled', {
        id: item.id,
        outcome,
        error,
      })
    }
  }
}
