import type { ImportJob } from '../../domain/jobs/job.ts'
import type { Engine } from '../../engine/engine.ts'
import type { JobEvent } from '../../engine/events.ts'
import type { Logger } from '../../logger.ts'
import type { MailOutbox, QueuedMail } from './mail-outbox.ts'
import type { Mailer } from './mailer.ts'
import { completionEmail } from './templates/completion-email.ts'

/**
 * Completion emails: when an import with `send_completion_email` finishes, its tenant owners get an email. The
 * message is first queued in the mail outbox (`outbox/queue/<job>.json`, or the `mail_outbox` table), then sent;
 * a failed send is retried with backoff and logged, and never touches the job. Queued messages survive a restart
 * (`start` sends them), so an email is not lost to a crash or an SMTP outage; after the last retry it is set aside
 * (`outbox/failed/`). With a shared outbox, the replica that ran the import queues it and any replica sends it,
 * once: each claims what it sends.
 */
export interface CompletionNotifierOptions {
  engine: Engine
  mailer: Mailer
  /** Opened by the caller (see `openNotificationStores`), which also closes it. */
  outbox: MailOutbox
  logger: Logger
  /** Where Roster's API answers, for the report link in the email. */
  publicUrl: () => string
  retentionHours: number
  /** Waits before each retry. Default 5 s, 30 s, 2 min, 10 min: an SMTP outage of a quarter hour loses nothing. */
  retryDelaysMs?: readonly number[]
  /** Errors shown in the email. Default 10. */
  firstErrors?: number
  /** Emails sent at the same time. Default 4. */
  parallel?: number
}

export interface CompletionNotifier {
  /** Sends what is queued (what an earlier run left, what other replicas queued). */
  start(): Promise<void>
  /** Messages queued and not yet sent. */
  pending(): Promise<number>
  /** Stops sending (queued messages stay for the next start, or another replica) and waits for sends in flight. */
  close(): Promise<void>
}

const defaultRetryDelaysMs = [5_000, 30_000, 120_000, 600_000]

export function createCompletionNotifier(options: CompletionNotifierOptions): CompletionNotifier {
  const { engine, mailer, logger, outbox } = options
  const delays = options.retryDelaysMs ?? defaultRetryDelaysMs
  const parallel = options.parallel ?? 4
  const inFlight = new Set<Promise<void>>()
  let closed = false
  let started = false
  let timer: NodeJS.Timeout | undefined
  let pumping: Promise<void> | undefined
  let pumpAgain = false

  const track = (work: Promise<void>) => {
    const tracked = work.catch((error) => logger.error('completion email failed', { error }))
    inFlight.add(tracked)
    tracked.finally(() => inFlight.delete(tracked))
  }

  /** Claims what is due and sends it; sets a timer for what is due later. One pump at a time. */
  const pump = () => {
    if (closed || !started) return
    if (pumping) {
      pumpAgain = true
      return
    }
    pumping = (async () => {
      while (!closed && inFlight.size < parallel) {
        const due = await outbox.claimDue(parallel - inFlight.size)
        if (due.length === 0) break
        for (const mail of due) track(deliver(mail))
      }
      const next = await outbox.nextDueAt()
      clearTimeout(timer)
      if (next !== undefined && !closed) {
        timer = setTimeout(pump, Math.max(0, next - Date.now()))
        timer.unref()
      }
    })()
      .catch((error: unknown) => logger.error('completion emails: could not read the mail outbox', { error }))
      .finally(() => {
        pumping = undefined
        if (pumpAgain) {
          pumpAgain = false
          pump()
        }
      })
  }

  async function enqueue(job: ImportJob): Promise<void> {
    if (await outbox.handled(job.id)) {
      logger.debug('completion email already sent or queued', { jobId: job.id })
      return
    }
    const owners = engine.ctx.catalog.read().tenant.owners
    if (owners.length === 0) {
      logger.warn(
        'completion email skipped: the tenant has no owners (set TENANT_OWNERS, or: roster tenant owners add <email>)',
        { jobId: job.id },
      )
      return
    }
    const firstErrors = options.firstErrors ?? 10
    const report = (await engine.getJobErrors(job.id)) ?? []
    const tenant = engine.ctx.catalog.read().tenant.name
    const content = completionEmail({
      job,
      tenant,
      errors: report.slice(0, firstErrors),
      totalErrors: report.length,
      publicUrl: options.publicUrl(),
      retentionHours: options.retentionHours,
    })
    const entry: QueuedMail = {
      jobId: job.id,
      to: [...owners],
      ...content,
      messageId: `<${job.id}.completion@${tenant}.roster>`,
      attempts: 0,
    }
    if (!(await outbox.enqueue(entry))) {
      logger.debug('completion email already sent or queued', { jobId: job.id })
      return
    }
    pump()
  }

  async function deliver(entry: QueuedMail): Promise<void> {
    try {
      const sent = await mailer.send(entry, entry.jobId)
      await outbox.sent(entry, { via: sent.via, sentAt: engine.ctx.clock.now().toISOString() })
      logger.info('completion email sent', {
        jobId: entry.jobId,
        to: entry.to,
        via: sent.via,
        file: sent.file,
      })
    } catch (error) {
      const attempts = entry.attempts + 1
      const reason = error instanceof Error ? error.message : String(error)
      const next = { ...entry, attempts, lastError: reason }
      const delayMs = delays[attempts - 1]
      if (delayMs === undefined) {
        await outbox.failed(next)
        logger.error('completion email not sent; gave up', { jobId: entry.jobId, attempts, error: reason })
        return
      }
      await outbox.retry(next, delayMs)
      logger.warn('completion email not sent; will retry', {
        jobId: entry.jobId,
        attempts,
        delayMs,
        error: reason,
      })
    } finally {
      // The next due email, or this one's retry: the pump sets the timer.
      queueMicrotask(pump)
    }
  }

  const onEvent = (event: JobEvent) => {
    if (event.type !== 'job:finished' || closed) return
    const { job } = event
    if (job.type !== 'users_import' || !job.options.sendCompletionEmail) return
    track(enqueue(job))
  }
  const unsubscribe = engine.subscribe(onEvent)
  const unsubscribeOutbox = outbox.subscribe?.(pump) ?? (() => undefined)

  return {
    async start() {
      started = true
      pump()
      await pumping
    },
    pending: () => outbox.pending(),
    async close() {
      closed = true
      unsubscribe()
      unsubscribeOutbox()
      clearTimeout(timer)
      await pumping
      while (inFlight.size > 0) await Promise.all([...inFlight])
      mailer.close()
    },
  }
}
