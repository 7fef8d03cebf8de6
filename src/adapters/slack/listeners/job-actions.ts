import { createReadStream } from 'node:fs'
import type { App, BlockAction } from '@slack/bolt'
import type { AccessAction } from '../../../domain/access/roles.ts'
import type { Job } from '../../../domain/jobs/job.ts'
import { jobDetailBlocks } from '../blocks/job-blocks.ts'
import { parentMessage } from '../blocks/progress-blocks.ts'
import { userText } from '../blocks/slack-text.ts'
import { errorReportFiles } from '../error-report-files.ts'
import type { SlackDeps } from '../slack-deps.ts'
import { type ButtonArgs, onButton } from './buttons.ts'
import { postJobParent } from './job-parent.ts'
import { failureReason } from './reply.ts'

type ActionArgs = ButtonArgs
type UploadArgs = Parameters<ActionArgs['client']['filesUploadV2']>[0]

/**
 * The buttons of `/jobs` and of job threads (More info, Check status, Download export, Error report, Undo). The
 * role check is for the person who pressed the button, whoever started the flow.
 */
export function registerJobActions(app: App, deps: SlackDeps): void {
  const on = (
    actionId: string,
    needs: AccessAction,
    handle: (args: ActionArgs, jobId: string) => Promise<void>,
  ) => onButton(app, deps, actionId, needs, handle)

  const showJob = async ({ reply }: ActionArgs, jobId: string) => {
    const view = deps.engine.getJob(jobId)
    await reply(
      view
        ? { text: `Job ${jobId}`, blocks: jobDetailBlocks(view.job, view.progress) }
        : { text: `No job ${jobId} (it may have expired).` },
    )
  }

  /** A file the presser asked for: Slack not taking it (after the WebClient's retries) is said to them. */
  const upload = async ({ client, reply }: ActionArgs, jobId: string, what: string, args: UploadArgs) => {
    try {
      await client.filesUploadV2(args)
    } catch (error) {
      const reason = failureReason(error)
      deps.logger.warn('file not uploaded to Slack', { jobId, what, reason, error })
      await reply({
        text: `:warning: Slack did not take the ${what} of \`${jobId}\` (${reason}). Press the button again.`,
      })
    }
  }
  on('job_info', 'jobs.read', showJob)
  on('job_status', 'jobs.read', showJob)

  on('job_download', 'export', async (args, jobId) => {
    const { body, reply } = args
    const file = await deps.engine.exportFile(jobId)
    if (!file) {
      await reply({ text: `${jobId} has no file to download (not finished, or expired).` })
      return
    }
    const channel = body.channel?.id
    if (!channel) return
    await upload(args, jobId, 'export file', {
      channel_id: channel,
      ...threadOf(body),
      file: createReadStream(file.path),
      filename: file.fileName,
      initial_comment: `Export \`${jobId}\`: ${file.users.toLocaleString('en-US')} users, requested by <@${body.user.id}>.`,
    } as UploadArgs)
  })

  on('job_errors', 'jobs.read', async (args, jobId) => {
    const { body, reply } = args
    const files = await errorReportFiles(deps.engine, jobId)
    if (!files) {
      await reply({ text: `${jobId} has no error report.` })
      return
    }
    const channel = body.channel?.id
    if (!channel) return
    await upload(args, jobId, 'error report', {
      channel_id: channel,
      ...threadOf(body),
      initial_comment: files.comment,
      file_uploads: files.uploads,
    } as UploadArgs)
  })

  on('job_undo', 'undo', async ({ body, client, reply }, jobId) => {
    let undo: Job
    try {
      undo = await deps.engine.requestUndo(jobId, { via: 'slack', id: body.user.id })
    } catch (error) {
      await reply({ text: `:warning: ${userText((error as Error).message, 2000)}` })
      return
    }
    await reply({
      text: `Undo of \`${jobId}\` started as \`${undo.id}\`: it answers in its own thread here.`,
    })
    // The undo answers where it was asked for, in a thread of its own, as imports and exports do (a direct
    // message only when Roster cannot post here).
    await postJobParent(deps, client, {
      jobId: undo.id,
      channel: body.channel?.id ?? body.user.id,
      user: body.user.id,
      parent: parentMessage(undo),
      what: 'Undo',
    })
  })
}

function threadOf(body: BlockAction): { thread_ts?: string } {
  const message = body.message as { ts?: string; thread_ts?: string } | undefined
  const ts = message?.thread_ts ?? message?.ts
  return ts ? { thread_ts: ts } : {}
}
