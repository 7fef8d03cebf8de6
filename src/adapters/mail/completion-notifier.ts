import { appendFile, mkdir, readdir, readFile, rename, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { z } from 'zod'
import type { ImportJob } from '../../domain/jobs/job.ts'
import type { Engine } from '../../engine/engine.ts'
import type { JobEvent } from '../../engine/events.ts'
import type { Logger } from '../../logger.ts'
import { type Mailer, writeDurably } from './mailer.ts'
import { completionEmail } from './templates/completion-email.ts'

/**
 * Completion emails: when an import with `send_completion_email` finishes, its tenant owners get an email. The
 * message is first written to `outbox/queue/<job>.json`, then sent; a failed send is retried with backoff and
 * logged, and never touches the job. Queued messages survive a restart (`start` sends them), so an email is not
 * lost to a crash or an SMTP outage; after the last retry it moves to `outbox/failed/`. Sent ones are listed in
 * `outbox/sent.jsonl`.
 */
export interface CompletionNotifierOptions {
  engine: Engine
  mailer: Mailer
  /** STORE_DIR/outbox. */
  outboxDir: string
  logger: Logger
  /** Where Roster's API answers, for the report link in the email. */
  publicUrl: () => string
  retentionHours: number
  /** Waits before each retry. Default 5 s, 30 s, 2 min, 10 min: an SMTP outage of a quarter hour loses nothing. */
  retryDelaysMs?: readonly number[]
  /** Errors shown in the email. Default 10. */
  firstErrors?: number
}

export interface CompletionNotifier {
  /** Sends what an earlier run left queued. */
  start(): Promise<void>
  /** Messages queued and not yet sent. */
  pending(): Promise<number>
  /** Stops retrying (queued messages stay for the next start) and waits for sends in flight. */
  close(): Promise<void>
}

const queuedSchema = z.object({
  jobId: z.string(),
  to: z.array(z.string()),
  subject: z.string(),
  text: z.string(),
  html: z.string(),
  messageId: z.string(),
  attempts: z.number().int().nonnegative(),
  lastError: z.string().optional(),
})
type Queued = z.infer<typeof queuedSchema>

const defaultRetryDelaysMs = [5_000, 30_000, 120_000, 600_000]

export function createCompletionNotifier(options: CompletionNotifierOptions): CompletionNotifier {
  const { engine, mailer, logger } = options
  const delays = options.retryDelaysMs ?? defaultRetryDelaysMs
  const queueDir = join(options.outboxDir, 'queue')
  const failedDir = join(options.outboxDir, 'failed')
  const timers = new Set<NodeJS.Timeout>()
  const inFlight = new Set<Promise<void>>()
  let closed = false
  /**
   * Jobs whose email is queued, sent or given up on. A job's completion can be announced twice (a restart right
   * after an import settled announces it again): its owners still get one email. Read before the first event.
   */
  const handled = loadHandled(options.outboxDir)

  const track = (work: Promise<void>) => {
    const tracked = work.catch((error) => logger.error('completion email failed', { error }))
    inFlight.add(tracked)
    tracked.finally(() => inFlight.delete(tracked))
  }

  async function enqueue(job: ImportJob): Promise<void> {
    const seen = await handled
    if (seen.has(job.id)) {
      logger.debug('completion email already sent or queued', { jobId: job.id })
      return
    }
    seen.add(job.id)
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
    const entry: Queued = {
      jobId: job.id,
      to: [...owners],
      ...content,
      messageId: `<${job.id}.completion@${tenant}.roster>`,
      attempts: 0,
    }
    await writeDurably(join(queueDir, `${job.id}.json`), JSON.stringify(entry))
    await deliver(entry)
  }

  async function deliver(entry: Queued): Promise<void> {
    if (closed) return
    try {
      const sent = await mailer.send(entry, entry.jobId)
      await rm(join(queueDir, `${entry.jobId}.json`), { force: true })
      const line = {
        jobId: entry.jobId,
        to: entry.to,
        via: sent.via,
        sentAt: engine.ctx.clock.now().toISOString(),
      }
      await appendFile(join(options.outboxDir, 'sent.jsonl'), `${JSON.stringify(line)}\n`, { mode: 0o600 })
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
        await writeDurably(join(failedDir, `${entry.jobId}.json`), JSON.stringify(next))
        await rm(join(queueDir, `${entry.jobId}.json`), { force: true })
        logger.error('completion email not sent; gave up', { jobId: entry.jobId, attempts, error: reason })
        return
      }
      await writeDurably(join(queueDir, `${entry.jobId}.json`), JSON.stringify(next))
      logger.warn('completion email not sent; will retry', {
        jobId: entry.jobId,
        attempts,
        delayMs,
        error: reason,
      })
      if (closed) return
      const timer = setTimeout(() => {
        timers.delete(timer)
        track(deliver(next))
      }, delayMs)
      timers.add(timer)
    }
  }

  const onEvent = (event: JobEvent) => {
    if (event.type !== 'job:finished' || closed) return
    const { job } = event
    if (job.type !== 'users_import' || !job.options.sendCompletionEmail) return
    track(enqueue(job))
  }
  const unsubscribe = engine.subscribe(onEvent)

  return {
    async start() {
      await mkdir(queueDir, { recursive: true, mode: 0o700 })
      for (const name of await readdir(queueDir)) {
        if (!name.endsWith('.json')) continue
        const file = join(queueDir, name)
        const parsed = queuedSchema.safeParse(safeJson(await readFile(file, 'utf8')))
        if (!parsed.success) {
          logger.error('unreadable queued email moved aside', { file })
          await mkdir(failedDir, { recursive: true, mode: 0o700 })
          await rename(file, join(failedDir, name))
          continue
        }
        track(deliver(parsed.data))
      }
    },
    async pending() {
      try {
        return (await readdir(queueDir)).filter((name) => name.endsWith('.json')).length
      } catch {
        return 0
      }
    },
    async close() {
      closed = true
      unsubscribe()
      for (const timer of timers) clearTimeout(timer)
      timers.clear()
      while (inFlight.size > 0) await Promise.all([...inFlight])
      mailer.close()
    },
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

/** Job ids in `sent.jsonl`, `queue/` and `failed/`: mail already dealt with. */
async function loadHandled(outboxDir: string): Promise<Set<string>> {
  const ids = new Set<string>()
  const sent = await readFile(join(outboxDir, 'sent.jsonl'), 'utf8').catch(() => '')
  for (const line of sent.split('\n')) {
    const jobId = (safeJson(line) as { jobId?: unknown } | undefined)?.jobId
    if (typeof jobId === 'string') ids.add(jobId)
  }
  for (const dir of ['queue', 'failed']) {
    for (const name of await readdir(join(outboxDir, dir)).catch(() => [] as string[])) {
      if (name.endsWith('.json')) ids.add(name.slice(0, -'.json'.length))
    }
  }
  return ids
}
