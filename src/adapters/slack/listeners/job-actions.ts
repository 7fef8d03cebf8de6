import { createReadStream } from 'node:fs'
import type {
  AllMiddlewareArgs,
  App,
  BlockAction,
  ButtonAction,
  SlackActionMiddlewareArgs,
} from '@slack/bolt'
import { type AccessAction, denialText } from '../../../domain/access/roles.ts'
import { jobDetailBlocks } from '../blocks/job-blocks.ts'
import { errorReportFiles } from '../error-report-files.ts'
import type { SlackDeps } from '../slack-deps.ts'

type ActionArgs = SlackActionMiddlewareArgs<BlockAction<ButtonAction>> & AllMiddlewareArgs
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
  ) => {
    app.action<BlockAction<ButtonAction>>(actionId, async (args) => {
      await args.ack()
      const jobId = args.action.value ?? ''
      const where = args.body.channel?.id ?? 'unknown'
      const decision = await deps.access.check(args.body.user.id, needs, where, jobId)
      if (!decision.allowed) {
        await args.respond({
          response_type: 'ephemeral',
          replace_original: false,
          text: denialText(needs, decision.role),
        })
        return
      }
      await handle(args, jobId)
    })
  }

  const showJob = async ({ respond }: ActionArgs, jobId: string) => {
    const view = deps.engine.getJob(jobId)
    await respond(
      view
        ? {
            response_type: 'ephemeral',
            replace_original: false,
            text: `Job ${jobId}`,
            blocks: jobDetailBlocks(view.job, view.progress),
          }
        : {
            response_type: 'ephemeral',
            replace_original: false,
            text: `No job ${jobId} (it may have expired).`,
          },
    )
  }
  on('job_info', 'jobs.read', showJob)
  on('job_status', 'jobs.read', showJob)

  on('job_download', 'export', async ({ body, client, respond }, jobId) => {
    const file = await deps.engine.exportFile(jobId)
    if (!file) {
      await respond({
        response_type: 'ephemeral',
        replace_original: false,
        text: `${jobId} has no file to download (not finished, or expired).`,
      })
      return
    }
    const channel = body.channel?.id
    if (!channel) return
    await client.filesUploadV2({
      channel_id: channel,
      ...threadOf(body),
      file: createReadStream(file.path),
      filename: file.fileName,
      initial_comment: `Export \`${jobId}\`: ${file.users.toLocaleString('en-US')} users, requested by <@${body.user.id}>.`,
    } as UploadArgs)
  })

  on('job_errors', 'jobs.read', async ({ body, client, respond }, jobId) => {
    const files = await errorReportFiles(deps.engine, jobId)
    if (!files) {
      await respond({
        response_type: 'ephemeral',
        replace_original: false,
        text: `${jobId} has no error report.`,
      })
      return
    }
    const channel = body.channel?.id
    if (!channel) return
    await client.filesUploadV2({
      channel_id: channel,
      ...threadOf(body),
      initial_comment: files.comment,
      file_uploads: files.uploads,
    } as UploadArgs)
  })

  on('job_undo', 'undo', async ({ body, respond }, jobId) => {
    try {
      const undo = await deps.engine.requestUndo(jobId, { via: 'slack', id: body.user.id })
      await respond({
        response_type: 'ephemeral',
        replace_original: false,
        text: `Undo of \`${jobId}\` started as \`${undo.id}\`.`,
      })
    } catch (error) {
      await respond({
        response_type: 'ephemeral',
        replace_original: false,
        text: `:warning: ${(error as Error).message}`,
      })
    }
  })
}

function threadOf(body: BlockAction): { thread_ts?: string } {
  const message = body.message as { ts?: string; thread_ts?: string } | undefined
  const ts = message?.thread_ts ?? message?.ts
  return ts ? { thread_ts: ts } : {}
}
