import { readFile } from 'node:fs/promises'
import type { KnownBlock } from '@slack/types'
import { z } from 'zod'
import { AppError } from '../../../errors.ts'
import { errnoCode, messageOf, writeFileDurably } from '../../store/durable-json-file.ts'

/**
 * The notifier's outbox (embedded: `STORE_DIR/slack-outbox.json`): notifications that must reach Slack (a job's outcome, its
 * files) are written here before they are sent, and their ids are kept once they are settled (delivered, or
 * dropped for good), so neither a Slack outage nor a restart loses one or sends one twice.
 *
 * Limit: a notification Slack accepted whose answer never arrived (the connection died after Slack acted), or
 * whose "settled" mark did not reach the disk before a crash, is sent again. Slack's Web API has no idempotency
 * key to close that gap; it is milliseconds wide.
 */

export const notificationKinds = [
  /** The parent message brought to the job's final state (chat.update). */
  'final',
  /** A milestone reply (half-way). */
  'milestone',
  /** The result reply, mentioning the requester. */
  'result',
  /** A sample export as an inline table. */
  'sample',
  /** The export file, uploaded into the thread. */
  'export-file',
  /** The error report and the failed users, uploaded into the thread. */
  'error-files',
  /**
   * Kept by the listeners when Slack did not take them at once (see `ListenerOutbox`): a job's parent message,
   * posted at `target` and then linked as the job's thread; it goes before anything else of its job.
   */
  'parent',
  /** A dry run's preview with its Import / Cancel buttons, in the job's thread. */
  'preview',
  /** A message posted at `target` that starts no thread (the offer under a dropped file). */
  'post',
  /** `target.ts` edited to `message` (the preview once someone pressed Import or Cancel). */
  'edit',
] as const
export type NotificationKind = (typeof notificationKinds)[number]

/** Blocks as Roster built them (Block Kit's own types); on load only their shape is checked. */
const blockSchema = z.custom<KnownBlock>(
  (value) =>
    typeof value === 'object' && value !== null && typeof (value as { type?: unknown }).type === 'string',
  { error: 'expected a Block Kit block' },
)

const messageSchema = z.object({ text: z.string(), blocks: z.array(blockSchema).optional() })

/** Where a listener's message goes, when that is not simply its job's thread. */
const targetSchema = z.object({
  channel: z.string(),
  /** The message to edit (`edit`). */
  ts: z.string().optional(),
  /** The thread to post in (`post`). */
  threadTs: z.string().optional(),
  /** Who started the flow: recorded with the thread a `parent` starts. */
  user: z.string().optional(),
})

export const notificationSchema = z.object({
  /** Stable: `<job id>:<kind>`. The same notification planned twice is one notification. */
  id: z.string(),
  /** The job it speaks for; for a message of no job (a file offer), a key of its own. Sent in order per key. */
  jobId: z.string(),
  kind: z.enum(notificationKinds),
  createdAt: z.string(),
  /** Rendered when planned, so it survives the job's retention; files are read when sent. */
  message: messageSchema.optional(),
  target: targetSchema.optional(),
})
export type Notification = z.infer<typeof notificationSchema>

/** `slack-outbox.json` (read by `roster store copy` too). */
export const outboxFileSchema = z.object({
  version: z.literal(1),
  /** Waiting to be sent, in the order they were planned. */
  pending: z.array(notificationSchema),
  /** Ids sent (or dropped for good). Pruned with the jobs they belong to. */
  settled: z.array(z.string()),
})
export type OutboxFile = z.infer<typeof outboxFileSchema>

/**
 * The outbox as the listeners see it. A message that carries the outcome of work (a job's parent, a dry run's
 * preview, the note that an import started) and that Slack did not take is kept here, and the notifier's courier
 * sends it when Slack answers again: once, in order with the rest of its job.
 */
export interface ListenerOutbox {
  /** Durable before it resolves; ids already planned are ignored. */
  keep(items: readonly Notification[]): Promise<void>
  /** Planned before: pending or settled. */
  knows(id: string): Promise<boolean>
}

export function notificationId(jobId: string, kind: NotificationKind, detail?: string): string {
  return detail === undefined ? `${jobId}:${kind}` : `${jobId}:${kind}:${detail}`
}

/** The job (or key) a notification id belongs to: what pruning keeps or forgets it by. */
export function jobOfId(id: string): string {
  return id.split(':', 1)[0] ?? id
}

/**
 * The port: `STORE_DIR/slack-outbox.json` (openOutbox, one process) or the `slack_outbox` table shared by replicas
 * (src/adapters/postgres/slack-outbox.ts), where each replica sends what it claimed.
 */
export interface Outbox {
  /** True when the outbox is new: nothing can be known about what earlier runs sent. */
  readonly fresh: boolean
  /**
   * What this process is to send, in order per job. In a file, every pending notification; shared, those this
   * replica claimed (`claim`), at most the first pending one of each job.
   */
  pending(): readonly Notification[]
  /**
   * Takes more to send: shared, claims the first pending notification of jobs no live replica holds and renews
   * this replica's claims (dropping any that lapsed and went to another). True when `pending()` changed. A file
   * has nothing to claim.
   */
  claim(): Promise<boolean>
  /** Planned before: pending or settled, by any replica. */
  knows(id: string): Promise<boolean>
  /** A `parent` of the job waits to be sent (by any replica): its thread is coming. */
  parentPending(jobId: string): Promise<boolean>
  /**
   * Adds the notifications not known yet; durable before it resolves. Returns those added. A `parent` goes
   * before the pending notifications of its job: they are posted in the thread it starts.
   */
  add(items: readonly Notification[]): Promise<Notification[]>
  /** Sent or dropped for good: never sent again. */
  settle(id: string): Promise<void>
  /**
   * Marks ids settled without sending: used once, on a fresh outbox, for jobs that ended before it existed. The
   * outbox is no longer fresh after it; shared, only the first replica's call records anything.
   */
  settleUnsent(ids: readonly string[]): Promise<void>
  /** Forgets settled ids of jobs that no longer exist (their notifications can no longer be planned). */
  prune(liveJobIds: ReadonlySet<string>): Promise<void>
  /** Shared: called when there may be more to claim (another replica added or let go of some; a poll). */
  subscribe?(listener: () => void): () => void
}

export async function openOutbox(file: string): Promise<Outbox> {
  let state: OutboxFile = { version: 1, pending: [], settled: [] }
  let fresh = false
  try {
    const parsed = outboxFileSchema.safeParse(JSON.parse(await readFile(file, 'utf8')))
    if (!parsed.success) {
      throw new AppError(
        'store_invalid',
        `Cannot load ${file}: ${z.prettifyError(parsed.error)}\nMove it away to start fresh (Slack notifications ` +
          'it still held are then not sent).',
      )
    }
    state = parsed.data
  } catch (error) {
    if (error instanceof AppError) throw error
    if (errnoCode(error) !== 'ENOENT') {
      throw new AppError('store_invalid', `Cannot load ${file}: ${messageOf(error)}`, undefined, {
        cause: error,
      })
    }
    fresh = true
  }
  const settled = new Set(state.settled)
  // Writes are serialized; each writes the state as it is when it starts, so the last one holds every change.
  let tail: Promise<void> = Promise.resolve()
  const save = () => {
    const write = tail.then(() =>
      writeFileDurably(file, JSON.stringify({ version: 1, pending: state.pending, settled: [...settled] })),
    )
    tail = write.catch(() => undefined)
    return write
  }
  if (fresh) await save()

  return {
    fresh,
    pending: () => state.pending,
    claim: async () => false,
    knows: async (id) => settled.has(id) || state.pending.some((item) => item.id === id),
    parentPending: async (jobId) =>
      state.pending.some((item) => item.jobId === jobId && item.kind === 'parent'),
    async add(items) {
      const added = items.filter(
        (item, i) =>
          !settled.has(item.id) &&
          !state.pending.some((p) => p.id === item.id) &&
          items.findIndex((x) => x.id === item.id) === i,
      )
      if (added.length === 0) return []
      let pending = [...state.pending]
      for (const item of added) {
        const first = item.kind === 'parent' ? pending.findIndex((p) => p.jobId === item.jobId) : -1
        if (first < 0) pending.push(item)
        else pending = [...pending.slice(0, first), item, ...pending.slice(first)]
      }
      state = { ...state, pending }
      await save()
      return added
    },
    async settle(id) {
      settled.add(id)
      state = { ...state, pending: state.pending.filter((item) => item.id !== id) }
      await save()
    },
    async settleUnsent(ids) {
      if (ids.length === 0) return
      for (const id of ids) settled.add(id)
      await save()
    },
    async prune(live) {
      let changed = false
      for (const id of settled) {
        if (!live.has(jobOfId(id))) {
          settled.delete(id)
          changed = true
        }
      }
      if (changed) await save()
    },
  }
}
