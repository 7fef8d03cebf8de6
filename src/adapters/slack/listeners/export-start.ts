import type { WebClient } from '@slack/web-api'
import { asAppError } from '../../../errors.ts'
import { exportRequestedMessage } from '../blocks/progress-blocks.ts'
import { userText } from '../blocks/slack-text.ts'
import { listenerNotification } from '../notifier/plan-notifications.ts'
import type { SlackDeps } from '../slack-deps.ts'
import type { ExportChoice } from './export-args.ts'
import { failureReason, isPermanentFailure } from './reply.ts'

export interface ExportStart {
  channel: string
  user: string
  choice: ExportChoice
}

export type ExportStarted =
  /** `note`: said to the person when the thread is not there yet (Slack did not take the parent message). */
  { ok: true; jobId: string; note?: string } | { ok: false; problem: string }

const cannotPost = new Set(['not_in_channel', 'channel_not_found', 'is_archived', 'channel_is_archived'])

/**
 * Starts an export from Slack, thread first: the parent message is posted before the job exists, so a channel
 * Roster cannot post in is said at once (and no job is left without a place to answer); then the job, then the
 * link. The notifier takes the thread from there (progress, result, file). When Slack does not answer (after the
 * WebClient's retries: 429, 5xx, outage), the export starts all the same and the parent is kept in the outbox:
 * posted, and the thread linked, when Slack answers again, before anything else of the job. Returns what to tell
 * the person.
 */
export async function startExport(
  deps: SlackDeps,
  client: WebClient,
  { channel, user, choice }: ExportStart,
): Promise<ExportStarted> {
  const parent = exportRequestedMessage({
    user,
    connectionName: choice.connection?.name,
    format: choice.format,
    sample: choice.sample,
    gzip: choice.gzip,
  })
  let ts: string | undefined
  let unanswered: string | undefined
  try {
    ts = (await client.chat.postMessage({ channel, ...parent })).ts
  } catch (error) {
    const reason = failureReason(error)
    deps.logger.warn('export parent message not posted', { channel, user, reason, error })
    if (cannotPost.has(reason)) {
      return {
        ok: false,
        problem:
          ':warning: Roster cannot post in this channel: invite it (`/invite @roster`) and run `/export` again.',
      }
    }
    if (isPermanentFailure(error)) {
      return {
        ok: false,
        problem: `:warning: Slack refused Roster's message (${reason}), so no export was started.`,
      }
    }
    unanswered = reason
  }
  if (!ts && unanswered === undefined)
    return {
      ok: false,
      problem: ':warning: Slack answered without a message id; no export was started. Try again.',
    }
  try {
    const job = await deps.engine.requestExport({
      ...(choice.connection ? { connection: choice.connection.id } : {}),
      format: choice.format,
      ...(choice.fields ? { fields: choice.fields } : {}),
      sample: choice.sample,
      gzip: choice.gzip,
      requestedBy: { via: 'slack', id: user },
    })
    if (ts) {
      await deps.threads.link(job.id, { channel, ts, user })
      return { ok: true, jobId: job.id }
    }
    await deps.outbox.keep([
      listenerNotification({
        jobId: job.id,
        kind: 'parent',
        at: new Date().toISOString(),
        message: parent,
        target: { channel, user },
      }),
    ])
    return {
      ok: true,
      jobId: job.id,
      note: `:hourglass: Export \`${job.id}\` started. Slack did not take Roster's message just now (${unanswered}); its thread appears here when Slack does.`,
    }
  } catch (error) {
    const problem = `:warning: The export did not start: ${userText(asAppError(error).message, 2000)}`
    deps.logger.warn('export not started', { channel, user, error })
    if (ts) await client.chat.update({ channel, ts, text: problem }).catch(() => undefined)
    return { ok: false, problem }
  }
}
