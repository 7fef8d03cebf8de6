import type { WebClient } from '@slack/web-api'
import type { MessageContent } from '../blocks/progress-blocks.ts'
import { listenerNotification } from '../notifier/plan-notifications.ts'
import type { SlackDeps } from '../slack-deps.ts'
import { failureReason, isPermanentFailure, tellUser } from './reply.ts'

export interface JobParent {
  jobId: string
  /** Where the person acted: the parent goes there, and its thread speaks for the job. */
  channel: string
  user: string
  parent: MessageContent
  /** What the person started, as they would say it: "Dry run", "Undo". */
  what: string
}

/**
 * Posts the parent message of a job that already exists and links its thread, so the notifier answers there
 * (progress, result, files). Slack refusing for good (Roster is not in the channel): the person is told, and the
 * notifier gives the job a thread in a direct message. Slack not answering (after the WebClient's retries): the
 * parent is kept in the outbox and posted, and linked, when Slack answers again. Never throws for Slack's sake.
 */
export async function postJobParent(deps: SlackDeps, web: WebClient, target: JobParent): Promise<void> {
  const { jobId, channel, user, parent, what } = target
  await deps.threads.expect(jobId)
  try {
    let posted: { ts?: string | undefined; channel?: string | undefined }
    try {
      posted = await web.chat.postMessage({ channel, ...parent })
    } catch (error) {
      const reason = failureReason(error)
      deps.logger.warn('job parent message not posted', { jobId, channel, reason, error })
      if (isPermanentFailure(error)) {
        await tellUser(
          deps,
          web,
          { channel, user },
          `:warning: ${what} \`${jobId}\` started, but Roster cannot post in this channel (${reason}): its result comes by direct message. To use this channel, invite Roster (\`/invite @roster\`).`,
        )
        return
      }
      await deps.outbox.keep([
        listenerNotification({
          jobId,
          kind: 'parent',
          at: new Date().toISOString(),
          message: parent,
          target: { channel, user },
        }),
      ])
      await tellUser(
        deps,
        web,
        { channel, user },
        `:hourglass: ${what} \`${jobId}\` started. Slack did not take Roster's message just now (${reason}); its thread appears here when Slack does.`,
      )
      return
    }
    if (!posted.ts) throw new Error('chat.postMessage answered without a ts')
    await deps.threads.link(jobId, { channel: posted.channel ?? channel, ts: posted.ts, user })
  } finally {
    // Linked, kept in the outbox (which the notifier also waits on), or given up: no longer this flow's.
    await deps.threads.unexpect(jobId)
  }
}
