import type { WebClient } from '@slack/web-api'
import { type Connection, checkImportTarget } from '../../../domain/connections/connection.ts'
import type { ImportJob, ImportOptions } from '../../../domain/jobs/job.ts'
import type { Engine } from '../../../engine/engine.ts'
import { asAppError } from '../../../errors.ts'
import { type ImportModalMetadata, importModal } from '../blocks/import-modal.ts'
import { dryRunParent, dryRunPreview } from '../blocks/import-preview.ts'
import type { SlackDeps } from '../slack-deps.ts'
import {
  downloadSlackFile,
  fileInfo,
  isUsersFileName,
  tooLargeError,
  usersFileKinds,
} from '../slack-files.ts'

/** The import flow's steps shared by `/import`, the dialog, the buttons and file drops. */

export function importableConnections(engine: Engine): Connection[] {
  return engine.listConnections().filter((c) => checkImportTarget(c) === null)
}

export const noImportTarget =
  ':warning: No connection accepts imports: it must be an enabled database connection (custom databases in import mode). Ask a Roster admin.'

/** Opens the import dialog; returns why it could not, for an ephemeral answer. */
export async function openImportModal(
  deps: SlackDeps,
  client: WebClient,
  triggerId: string,
  metadata: ImportModalMetadata,
  selected?: string,
): Promise<string | undefined> {
  const connections = importableConnections(deps.engine)
  if (connections.length === 0) return noImportTarget
  try {
    await client.views.open({
      trigger_id: triggerId,
      view: importModal({ metadata, connections, selected, maxBytes: deps.importMaxBytes }),
    })
    return undefined
  } catch (error) {
    deps.logger.warn('import dialog did not open', { error })
    return ':warning: Slack did not open the import dialog (it took too long?). Try again.'
  }
}

/**
 * Tells one person something only they see: ephemeral in the channel (in a thread if given), or by direct
 * message when the bot cannot post there (not a member, archived…).
 */
export async function tellUser(
  client: WebClient,
  target: { channel: string; user: string; threadTs?: string | undefined },
  text: string,
): Promise<void> {
  try {
    await client.chat.postEphemeral({
      channel: target.channel,
      user: target.user,
      text,
      ...(target.threadTs ? { thread_ts: target.threadTs } : {}),
    })
  } catch {
    await client.chat.postMessage({ channel: target.user, text })
  }
}

export interface DryRunRequest {
  user: string
  channel: string
  fileId: string
  connectionId: string
  options: Omit<ImportOptions, 'dryRun'>
  /** Sent only to Slack's file host, to download the file. */
  botToken: string
}

export interface ImportFlow {
  /** Downloads the file, asks the engine for a dry run, posts the job's parent message and links its thread. */
  startDryRun(client: WebClient, request: DryRunRequest): Promise<void>
}

/**
 * `client` posts the previews: dry runs finish after the request that started them is long answered (or after
 * a restart), so the preview is posted from the engine's `job:finished` event, once per job.
 */
export function createImportFlow(deps: SlackDeps, client: WebClient): ImportFlow {
  const previewed = new Set<string>()

  const postPreview = async (job: ImportJob) => {
    const thread = deps.threads.get(job.id)
    if (!thread || previewed.has(job.id)) return
    previewed.add(job.id)
    const [diffs, errors] = await Promise.all([
      deps.engine.getPreview(job.id),
      deps.engine.getJobErrors(job.id),
    ])
    const preview = dryRunPreview({ job, diffs, errors: errors ?? [] })
    await client.chat.postMessage({ channel: thread.channel, thread_ts: thread.ts, ...preview })
  }
  const previewIfFinished = (jobId: string) => {
    const job = deps.engine.getJob(jobId)?.job
    if (job?.type !== 'users_import' || !job.options.dryRun) return
    if (job.status !== 'completed' && job.status !== 'failed') return
    postPreview(job).catch((error) => deps.logger.error('dry run preview not posted', { jobId, error }))
  }
  deps.engine.subscribe((event) => {
    if (event.type === 'job:finished') previewIfFinished(event.job.id)
  })

  return {
    async startDryRun(web, request) {
      const { user, channel } = request
      let fileName = 'the file'
      try {
        const file = await fileInfo(web, request.fileId)
        fileName = file.name
        if (file.size > deps.importMaxBytes) throw tooLargeError(deps.importMaxBytes)
        if (!isUsersFileName(file.name)) {
          await tellUser(
            web,
            { channel, user },
            `:warning: ${file.name} is not a users file: use ${usersFileKinds}.`,
          )
          return
        }
        const bytes = await downloadSlackFile(file, {
          botToken: request.botToken,
          maxBytes: deps.importMaxBytes,
          apiUrl: web.slackApiUrl,
        })
        const job = await deps.engine.requestImport({
          connection: request.connectionId,
          fileName: file.name,
          bytes,
          options: { ...request.options, dryRun: true },
          requestedBy: { via: 'slack', id: user },
        })
        const parent = await web.chat.postMessage({ channel, ...dryRunParent(job) }).catch((error) => {
          deps.logger.warn('dry run parent message not posted', { jobId: job.id, channel, error })
          return undefined
        })
        if (!parent?.ts) {
          const why = `:warning: Dry run \`${job.id}\` started, but Roster cannot post in this channel: invite it (\`/invite @roster\`) and run \`/import\` again.`
          await tellUser(web, { channel, user }, why)
          return
        }
        await deps.threads.link(job.id, { channel, ts: parent.ts, user })
        // The dry run may have finished before the thread existed: its event then found no thread to post in.
        previewIfFinished(job.id)
      } catch (error) {
        const appError = asAppError(error)
        if (appError.code === 'unexpected') deps.logger.error('dry run not started', { user, channel, error })
        await tellUser(web, { channel, user }, `:warning: No dry run of ${fileName}: ${appError.message}`)
      }
    },
  }
}
