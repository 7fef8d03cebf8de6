import { appendFile, mkdir, readdir, readFile, rename, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { z } from 'zod'
import type { Logger } from '../../logger.ts'
import { writeDurably } from './mailer.ts'

/** A completion email waiting to be sent, as the outbox keeps it. */
export const queuedMailSchema = z.object({
  jobId: z.string(),
  to: z.array(z.string()),
  subject: z.string(),
  text: z.string(),
  html: z.string(),
  messageId: z.string(),
  attempts: z.number().int().nonnegative(),
  lastError: z.string().optional(),
})
export type QueuedMail = z.infer<typeof queuedMailSchema>

/** A line of `outbox/sent.jsonl`: a completion email sent (no body: it is not needed again). */
export const sentMailSchema = z.object({
  jobId: z.string(),
  to: z.array(z.string()),
  via: z.string(),
  sentAt: z.string(),
})
export type SentMail = z.infer<typeof sentMailSchema>

/**
 * The port: where completion emails wait until sent, one per job. `STORE_DIR/outbox` (openFileMailOutbox, one
 * process) or the `mail_outbox` table shared by replicas (src/adapters/postgres/mail-outbox.ts), where each sender
 * claims what it sends, so an email is sent once whichever replica finished the import.
 */
export interface MailOutbox {
  /** The job's email was queued, sent or given up on before (by any replica). */
  handled(jobId: string): Promise<boolean>
  /** Queues the email unless its job's was handled before; durable before it resolves. True when queued now. */
  enqueue(mail: QueuedMail): Promise<boolean>
  /** Takes up to `limit` emails due now: no other sender gets them until they are settled, retried or lapse. */
  claimDue(limit: number): Promise<QueuedMail[]>
  /** When the next queued email not yet due is due (ms since the epoch); undefined when none waits. */
  nextDueAt(): Promise<number | undefined>
  /** Sent: recorded (`sent.jsonl`, or the row's `sent_at`) and never sent again. */
  sent(mail: QueuedMail, record: { via: string; sentAt: string }): Promise<void>
  /** Not sent: kept as given (its attempts and last error), due again in `delayMs`. */
  retry(mail: QueuedMail, delayMs: number): Promise<void>
  /** Given up on: kept aside (`outbox/failed/`, or the row's `failed_at`), never sent. */
  failed(mail: QueuedMail): Promise<void>
  /** Emails queued and not yet sent. */
  pending(): Promise<number>
  /** Shared: called when there may be mail to claim (another replica queued or let go of some; a poll). */
  subscribe?(listener: () => void): () => void
}

/**
 * `STORE_DIR/outbox`: a queued email is `queue/<job>.json` until sent (then a line in `sent.jsonl`) or given up on
 * (then `failed/<job>.json`). What a run leaves queued is due at the next open. Retry times are kept in memory.
 */
export async function openFileMailOutbox(
  outboxDir: string,
  options: { logger: Logger; now?: () => number },
): Promise<MailOutbox> {
  const { logger } = options
  const now = options.now ?? Date.now
  const queueDir = join(outboxDir, 'queue')
  const failedDir = join(outboxDir, 'failed')
  const sentIds = await loadSent(outboxDir)
  const handled = await loadHandled(outboxDir, sentIds)
  /** Job → when it is due (ms); those being sent are in `claimed`. */
  const queued = new Map<string, { mail: QueuedMail; dueAtMs: number }>()
  const claimed = new Set<string>()
  await mkdir(queueDir, { recursive: true, mode: 0o700 })
  for (const name of await readdir(queueDir)) {
    if (!name.endsWith('.json')) continue
    const file = join(queueDir, name)
    const parsed = queuedMailSchema.safeParse(safeJson(await readFile(file, 'utf8')))
    if (!parsed.success) {
      logger.error('unreadable queued email moved aside', { file })
      await mkdir(failedDir, { recursive: true, mode: 0o700 })
      await rename(file, join(failedDir, name))
      continue
    }
    if (sentIds.has(parsed.data.jobId)) {
      await rm(file, { force: true })
      continue
    }
    queued.set(parsed.data.jobId, { mail: parsed.data, dueAtMs: 0 })
  }
  const queueFile = (jobId: string) => join(queueDir, `${jobId}.json`)

  return {
    handled: async (jobId) => handled.has(jobId),
    async enqueue(mail) {
      if (handled.has(mail.jobId)) return false
      handled.add(mail.jobId)
      await writeDurably(queueFile(mail.jobId), JSON.stringify(mail))
      queued.set(mail.jobId, { mail, dueAtMs: 0 })
      return true
    },
    async claimDue(limit) {
      const due: QueuedMail[] = []
      for (const [jobId, entry] of queued) {
        if (due.length >= limit) break
        if (claimed.has(jobId) || entry.dueAtMs > now()) continue
        claimed.add(jobId)
        due.push(entry.mail)
      }
      return due
    },
    async nextDueAt() {
      let next: number | undefined
      for (const [jobId, entry] of queued) {
        if (!claimed.has(jobId)) next = Math.min(next ?? entry.dueAtMs, entry.dueAtMs)
      }
      return next
    },
    async sent(mail, record) {
      // Recorded before the queued copy goes: a crash between leaves both, and the next open drops the copy.
      const line: SentMail = { jobId: mail.jobId, to: mail.to, via: record.via, sentAt: record.sentAt }
      await appendFile(join(outboxDir, 'sent.jsonl'), `${JSON.stringify(line)}\n`, { mode: 0o600 })
      sentIds.add(mail.jobId)
      await rm(queueFile(mail.jobId), { force: true })
      queued.delete(mail.jobId)
      claimed.delete(mail.jobId)
    },
    async retry(mail, delayMs) {
      await writeDurably(queueFile(mail.jobId), JSON.stringify(mail))
      queued.set(mail.jobId, { mail, dueAtMs: now() + delayMs })
      claimed.delete(mail.jobId)
    },
    async failed(mail) {
      // The failed copy is written before the queued one is removed: a crash between keeps both, never neither.
      await writeDurably(join(failedDir, `${mail.jobId}.json`), JSON.stringify(mail))
      await rm(queueFile(mail.jobId), { force: true })
      queued.delete(mail.jobId)
      claimed.delete(mail.jobId)
    },
    async pending() {
      try {
        return (await readdir(queueDir)).filter((name) => name.endsWith('.json')).length
      } catch {
        return 0
      }
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

/** Job ids in `sent.jsonl`. */
async function loadSent(outboxDir: string): Promise<Set<string>> {
  const ids = new Set<string>()
  const sent = await readFile(join(outboxDir, 'sent.jsonl'), 'utf8').catch(() => '')
  for (const line of sent.split('\n')) {
    const jobId = (safeJson(line) as { jobId?: unknown } | undefined)?.jobId
    if (typeof jobId === 'string') ids.add(jobId)
  }
  return ids
}

/** Job ids in `sent.jsonl`, `queue/` and `failed/`: mail already dealt with. */
async function loadHandled(outboxDir: string, sent: ReadonlySet<string>): Promise<Set<string>> {
  const ids = new Set(sent)
  for (const dir of ['queue', 'failed']) {
    for (const name of await readdir(join(outboxDir, dir)).catch(() => [] as string[])) {
      if (name.endsWith('.json')) ids.add(name.slice(0, -'.json'.length))
    }
  }
  return ids
}
