import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { z } from 'zod'
import { AppError } from '../errors.ts'
import { type QueuedMail, queuedMailSchema, type SentMail, sentMailSchema } from './mail/mail-outbox.ts'
import { writeDurably } from './mail/mailer.ts'
import type { NotificationStoreLocation } from './notification-stores.ts'
import { type JobThread, jobThreadsFileSchema } from './slack/job-threads.ts'
import { type Notification, type OutboxFile, outboxFileSchema } from './slack/notifier/outbox.ts'
import { errnoCode, messageOf, writeFileDurably } from './store/durable-json-file.ts'

/**
 * Everything the notification stores hold that outlives a process, in one form for both backends: what
 * `roster store copy` reads from the source and writes into the target. Left out: the marks that a thread's parent
 * is being posted (they last a minute, for the process posting it).
 */
export interface NotificationRecords {
  /** Job → its Slack thread: a job's later messages go there. */
  threads: Record<string, JobThread>
  /** Undefined: the store never opened one (the target stays "fresh" too, see `Outbox.fresh`). */
  slackOutbox: Pick<OutboxFile, 'pending' | 'settled'> | undefined
  mail: { queued: QueuedMail[]; sent: SentMail[]; failed: QueuedMail[] }
  /** The replay guard's keys still within the window (PostgreSQL: the embedded store keeps them in memory). */
  replayKeys: { key: string; seenAt: string }[]
  /** Jobs a notification of which a live sender holds now (a claim not lapsed): half-way through. */
  claimed: string[]
  /** What could not be read, as "queued email outbox/queue/x.json (why)". */
  unreadable: string[]
}

export async function readNotificationRecords(
  location: NotificationStoreLocation,
): Promise<NotificationRecords> {
  if ('pool' in location) {
    const { readPgNotificationRecords } = await import('./postgres/notification-records.ts')
    return readPgNotificationRecords(location.pool, location.databaseUrl)
  }
  return readFileNotificationRecords(location.storeDir)
}

/** Into a store that holds none (the caller checked): a copy's last step. */
export async function writeNotificationRecords(
  location: NotificationStoreLocation,
  records: NotificationRecords,
): Promise<void> {
  if ('pool' in location) {
    const { writePgNotificationRecords } = await import('./postgres/notification-records.ts')
    return writePgNotificationRecords(location.pool, location.databaseUrl, records)
  }
  return writeFileNotificationRecords(location.storeDir, records)
}

/** How many of each, as a copy reports them (and as a non-empty target is described). */
export function countNotificationRecords(records: NotificationRecords) {
  return {
    slackThreads: Object.keys(records.threads).length,
    slackPending: records.slackOutbox?.pending.length ?? 0,
    slackSettled: records.slackOutbox?.settled.length ?? 0,
    mailQueued: records.mail.queued.length,
    mailSent: records.mail.sent.length,
    mailFailed: records.mail.failed.length,
    replayKeys: records.replayKeys.length,
  }
}

/**
 * A job's notifications in the order they go: a `parent` before the others of its job, as `Outbox.add` keeps them.
 * `items` are in the order they were planned.
 */
export function inSendingOrder(items: readonly Notification[]): Notification[] {
  let pending: Notification[] = []
  for (const item of items) {
    const first = item.kind === 'parent' ? pending.findIndex((p) => p.jobId === item.jobId) : -1
    if (first < 0) pending.push(item)
    else pending = [...pending.slice(0, first), item, ...pending.slice(first)]
  }
  return pending
}

/** STORE_DIR's files: slack-threads.json, slack-outbox.json, outbox/{queue,failed}/, outbox/sent.jsonl. */
async function readFileNotificationRecords(storeDir: string): Promise<NotificationRecords> {
  const unreadable: string[] = []
  const threadsFile = join(storeDir, 'slack-threads.json')
  const threadsText = await readIfThere(threadsFile)
  const outboxFile = join(storeDir, 'slack-outbox.json')
  const outboxText = await readIfThere(outboxFile)
  const threads =
    threadsText === undefined ? {} : parseFile(threadsFile, threadsText, jobThreadsFileSchema).threads
  const outbox = outboxText === undefined ? undefined : parseFile(outboxFile, outboxText, outboxFileSchema)

  const outboxDir = join(storeDir, 'outbox')
  const sent: SentMail[] = []
  for (const line of ((await readIfThere(join(outboxDir, 'sent.jsonl'))) ?? '').split('\n')) {
    const parsed = sentMailSchema.safeParse(safeJson(line))
    // A line cut short by a crash is passed over, as the outbox itself does.
    if (parsed.success) sent.push(parsed.data)
  }
  const sentIds = new Set(sent.map((mail) => mail.jobId))
  const mails = async (dir: 'queue' | 'failed') => {
    const found: QueuedMail[] = []
    const names = await readdir(join(outboxDir, dir)).catch(() => [] as string[])
    for (const name of names.filter((each) => each.endsWith('.json')).sort()) {
      const parsed = queuedMailSchema.safeParse(
        safeJson((await readIfThere(join(outboxDir, dir, name))) ?? ''),
      )
      if (!parsed.success)
        unreadable.push(`${dir === 'queue' ? 'queued' : 'failed'} email outbox/${dir}/${name}`)
      // A queued copy left beside its sent line (a crash between the two) was sent: the outbox drops it.
      else if (!(dir === 'queue' && sentIds.has(parsed.data.jobId))) found.push(parsed.data)
    }
    return found
  }
  return {
    threads,
    slackOutbox: outbox && { pending: outbox.pending, settled: outbox.settled },
    mail: { queued: await mails('queue'), sent, failed: await mails('failed') },
    replayKeys: [],
    claimed: [],
    unreadable,
  }
}

async function writeFileNotificationRecords(storeDir: string, records: NotificationRecords): Promise<void> {
  if (Object.keys(records.threads).length > 0) {
    await writeFileDurably(join(storeDir, 'slack-threads.json'), JSON.stringify({ threads: records.threads }))
  }
  if (records.slackOutbox !== undefined) {
    const { pending, settled } = records.slackOutbox
    await writeFileDurably(
      join(storeDir, 'slack-outbox.json'),
      JSON.stringify({ version: 1, pending, settled }),
    )
  }
  const outboxDir = join(storeDir, 'outbox')
  for (const mail of records.mail.queued)
    await writeDurably(join(outboxDir, 'queue', `${mail.jobId}.json`), JSON.stringify(mail))
  for (const mail of records.mail.failed)
    await writeDurably(join(outboxDir, 'failed', `${mail.jobId}.json`), JSON.stringify(mail))
  if (records.mail.sent.length > 0) {
    const lines = records.mail.sent.map((mail) => `${JSON.stringify(mail)}\n`).join('')
    await writeDurably(join(outboxDir, 'sent.jsonl'), lines)
  }
}

async function readIfThere(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8')
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return undefined
    throw new AppError('store_unavailable', `Cannot read ${file}: ${messageOf(error)}`, undefined, {
      cause: error,
    })
  }
}

/** A file Roster wrote, as its schema says; one that is not is named (a copy never guesses at what it holds). */
function parseFile<T>(file: string, text: string, schema: z.ZodType<T>): T {
  const parsed = schema.safeParse(safeJson(text))
  if (!parsed.success) {
    throw new AppError('store_invalid', `Cannot read ${file}: ${z.prettifyError(parsed.error)}`)
  }
  return parsed.data
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}
