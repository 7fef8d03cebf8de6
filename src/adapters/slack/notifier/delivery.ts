import { createReadStream } from 'node:fs'
import type { KnownBlock } from '@slack/types'
import type { WebClient } from '@slack/web-api'
import type { Engine } from '../../../engine/engine.ts'
import { errorReportFiles } from '../error-report-files.ts'
import type { JobThread, JobThreads } from '../job-threads.ts'
import type { Notification } from './outbox.ts'
import type { ProgressUpdates } from './progress-updates.ts'
import type { ChannelSlots } from './rate-plan.ts'
import { type ThreadResolver, WaitForThread } from './thread-resolver.ts'

type UploadArgs = Parameters<WebClient['filesUploadV2']>[0]
type Message = NonNullable<Notification['message']>

export interface DeliveryOptions {
  client: WebClient
  engine: Engine
  threads: ThreadResolver
  /** The registry a delivered `parent` is linked in. */
  jobThreads: JobThreads
  progress: ProgressUpdates
  slots: ChannelSlots
  now: () => number
  /** True once the notifier stops: a send not begun yet is left for the next start, not made now. */
  stopped: () => boolean
}

/** How long a notification of a job this replica does not know yet is held back (see the delivery). */
const catalogLagMs = 10_000

/** The notifier stopped before this send reached Slack: it stays in the outbox, untried. */
export class NotifierStopped extends Error {
  constructor() {
    super('the Slack notifier stopped; the notification stays in the outbox')
  }
}

/**
 * Turns one outbox notification into Slack calls, in its job's thread — or, for what a listener kept (`parent`,
 * `post`, `edit`), at the place it names; a delivered `parent` becomes its job's thread. Each call either happens once or throws,
 * so the courier can retry the notification whole: a failed files upload v2 leaves at most an unshared file
 * behind (Slack shares a file only in its last step, `files.completeUploadExternal`).
 */
export function createDelivery(options: DeliveryOptions): (notification: Notification) => Promise<void> {
  const { client, engine } = options

  /** Waits for the channel's next slot (~1 message/s, short bursts allowed). */
  const slot = async (channel: string) => {
    const atMs = options.slots.reserve(channel, options.now())
    const waitMs = atMs - options.now()
    if (waitMs > 0) await new Promise((resolve) => setTimeout(resolve, waitMs))
    // Checked after the wait, right before the call: a stopped Roster makes no more Slack calls.
    if (options.stopped()) throw new NotifierStopped()
  }

  const reply = async (thread: JobThread, message: Message) => {
    await slot(thread.channel)
    await withTextFallback(message, (content) =>
      client.chat.postMessage({ channel: thread.channel, thread_ts: thread.ts, ...content }),
    )
  }

  /** What a listener kept: it says where it goes itself, so no thread is resolved for it. */
  const deliverKept = async (notification: Notification): Promise<boolean> => {
    const { target, jobId } = notification
    if (!target) return false
    const message = notification.message ?? { text: `Job ${jobId}.` }
    switch (notification.kind) {
      case 'parent': {
        await slot(target.channel)
        const posted = await withTextFallback(message, (content) =>
          client.chat.postMessage({ channel: target.channel, ...content }),
        )
        if (!posted.ts) throw new Error('chat.postMessage answered without a ts')
        await options.jobThreads.link(jobId, {
          channel: posted.channel ?? target.channel,
          ts: posted.ts,
          user: target.user ?? '',
        })
        return true
      }
      case 'post':
        await slot(target.channel)
        await withTextFallback(message, (content) =>
          client.chat.postMessage({
            channel: target.channel,
            ...(target.threadTs ? { thread_ts: target.threadTs } : {}),
            ...content,
          }),
        )
        return true
      case 'edit':
        if (!target.ts) return true
        await slot(target.channel)
        await withTextFallback(message, (content) =>
          client.chat.update({ channel: target.channel, ts: target.ts ?? '', ...content }),
        )
        return true
      default:
        return false
    }
  }

  return async (notification) => {
    if (options.stopped()) throw new NotifierStopped()
    if (await deliverKept(notification)) return
    // Planned by another replica a moment ago: this replica's copy of the jobs may not show the job yet. It is
    // waited for briefly rather than taken for a job that expired (whose files are gone).
    const plannedAtMs = Date.parse(notification.createdAt)
    if (!engine.getJob(notification.jobId) && options.now() - plannedAtMs < catalogLagMs) {
      throw new WaitForThread(250)
    }
    const thread = await options.threads.resolve(notification.jobId)
    const { jobId } = notification
    switch (notification.kind) {
      case 'parent':
      case 'post':
      case 'edit':
        // Without a target there is nowhere to send it (never planned so).
        return
      case 'final': {
        // An update in flight would otherwise land after this one and show the job running again.
        await options.progress.settle(jobId)
        await slot(thread.channel)
        const message = notification.message ?? { text: `Job ${jobId} ended.` }
        await withTextFallback(message, (content) =>
          client.chat.update({ channel: thread.channel, ts: thread.ts, ...content }),
        )
        return
      }
      case 'milestone':
      case 'result':
      case 'sample':
      case 'preview':
        if (notification.message) await reply(thread, notification.message)
        return
      case 'export-file': {
        const file = await engine.exportFile(jobId)
        if (!file) {
          await reply(thread, {
            text: `The file of \`${jobId}\` is no longer available (jobs and their files expire).`,
          })
          return
        }
        if (file.bytes === 0) {
          // Slack refuses empty uploads (an NDJSON export of no users is empty).
          await reply(thread, { text: `The export \`${jobId}\` found no users: there is no file to attach.` })
          return
        }
        await slot(thread.channel)
        await client.filesUploadV2({
          channel_id: thread.channel,
          thread_ts: thread.ts,
          // Read afresh at every attempt: a stream is consumed by the first one.
          file: createReadStream(file.path),
          filename: file.fileName,
          title: file.fileName,
          initial_comment: `Export \`${jobId}\`: ${file.users.toLocaleString('en-US')} users.`,
        } as UploadArgs)
        return
      }
      case 'error-files': {
        const files = await errorReportFiles(engine, jobId)
        if (!files) return
        await slot(thread.channel)
        await client.filesUploadV2({
          channel_id: thread.channel,
          thread_ts: thread.ts,
          initial_comment: files.comment,
          file_uploads: files.uploads,
        } as UploadArgs)
        return
      }
    }
  }
}

/**
 * Sends the message with its blocks; if Slack refuses the blocks (`invalid_blocks`), sends the text alone rather
 * than nothing — the text says everything the blocks do.
 */
async function withTextFallback<T>(
  message: Message,
  send: (content: { text: string; blocks?: KnownBlock[] }) => Promise<T>,
): Promise<T> {
  const { blocks } = message
  try {
    return await send(blocks ? { text: message.text, blocks } : { text: message.text })
  } catch (error) {
    const code = (error as { data?: { error?: unknown } }).data?.error
    if (!blocks || (code !== 'invalid_blocks' && code !== 'invalid_blocks_format')) throw error
    return await send({ text: message.text })
  }
}
