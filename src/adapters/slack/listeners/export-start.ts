import type { WebClient } from '@slack/web-api'
import { asAppError } from '../../../errors.ts'
import { exportRequestedMessage } from '../blocks/progress-blocks.ts'
import type { SlackDeps } from '../slack-deps.ts'
import type { ExportChoice } from './export-args.ts'

export interface ExportStart {
  channel: string
  user: string
  choice: ExportChoice
}

/**
 * Starts an export from Slack, thread first: the parent message is posted before the job exists, so a channel
 * Roster cannot post in is said at once (and no job is left without a place to answer); then the job, then the
 * link. The notifier takes the thread from there (progress, result, file). Returns what to tell the person when
 * it could not start.
 */
export async function startExport(
  deps: SlackDeps,
  client: WebClient,
  { channel, user, choice }: ExportStart,
): Promise<{ ok: true; jobId: string } | { ok: false; problem: string }> {
  let ts: string | undefined
  try {
    const posted = await client.chat.postMessage({
      channel,
      ...exportRequestedMessage({
        user,
        connectionName: choice.connection?.name,
        format: choice.format,
        sample: choice.sample,
        gzip: choice.gzip,
      }),
    })
    ts = posted.ts
  } catch (error) {
    const code = (error as { data?: { error?: unknown } }).data?.error
    deps.logger.warn('export parent message not posted', { channel, user, code, error })
    if (code === 'not_in_channel' || code === 'channel_not_found' || code === 'is_archived') {
      return {
        ok: false,
        problem:
          ':warning: Roster cannot post in this channel: invite it (`/invite @roster`) and run `/export` again.',
      }
    }
    return {
      ok: false,
      problem:
        ":warning: Slack did not take Roster's message just now, so no export was started. Try again in a moment.",
    }
  }
  if (!ts)
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
    await deps.threads.link(job.id, { channel, ts, user })
    return { ok: true, jobId: job.id }
  } catch (error) {
    const problem = `:warning: The export did not start: ${asAppError(error).message}`
    deps.logger.warn('export not started', { channel, user, error })
    await client.chat.update({ channel, ts, text: problem }).catch(() => undefined)
    return { ok: false, problem }
  }
}
