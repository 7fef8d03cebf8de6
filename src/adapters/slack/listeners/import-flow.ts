import type { WebClient } from '@slack/web-api'
import { type Connection, checkImportTarget } from '../../../domain/connections/connection.ts'
import type { ImportJob, ImportOptions } from '../../../domain/jobs/job.ts'
import type { Engine } from '../../../engine/engine.ts'
import { asAppError } from '../../../errors.ts'
import { type ImportModalMetadata, importModal } from '../blocks/import-modal.ts'
import { dryRunParent, dryRunPreview } from '../blocks/import-preview.ts'
import { userText } from '../blocks/slack-text.ts'
import { notificationId } from '../notifier/outbox.ts'
import { listenerNotification } from '../notifier/plan-notifications.ts'
import type { SlackDeps } from '../slack-deps.ts'
import {
  downloadSlackFile,
  fileInfo,
  isUsersFileName,
  tooLargeError,
  usersFileKinds,
} from '../slack-files.ts'
import { postJobParent } from './job-parent.ts'
import { failureReason, tellUser } from './reply.ts'

/** The import flow's steps shared by `/import`, the dialog, the buttons and file drops. */

export function importableConnections(engine: Engine): Connection[] {
  return engine.listConnections().filter((c) => checkImportTarget(c) === null)
}

export const noImportTarget =
  ':warning: No connection accepts imports: it must be an enabled database connection (custom databases in import mode). Ask a Roster admin.'

/**
 * Opens the import dialog; returns why it could not, for an ephemeral answer. The trigger id lives 3 s, so the
 * WebClient's own retries (429 after Retry-After, 5xx) are all the recovery there is: after them the person is
 * told what happened and to start again. `again` says how (run `/import`, press the button).
 */
export async function openImportModal(
  deps: SlackDeps,
  client: WebClient,
  triggerId: string,
  metadata: ImportModalMetadata,
  selected?: string,
  again = 'Run `/import` again.',
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
    const reason = failureReason(error)
    deps.logger.warn('import dialog did not open', { reason, channel: metadata.channel, error })
    return `:warning: Slack did not open the import dialog (${reason}). ${again}`
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
  /** Stops listening to the engine (Slack is stopping): no preview is planned into a stopped notifier. */
  stop(): void
}

/**
 * The preview (with Import / Cancel) is the dry run's outcome: it is planned into the notifier's outbox when the
 * job finishes — whether or not its thread exists yet — and sent into the thread once there is one, so neither a
 * Slack outage nor a restart loses it, and it is posted once.
 */
export function createImportFlow(deps: SlackDeps): ImportFlow {
  const planPreview = async (job: ImportJob) => {
    const id = notificationId(job.id, 'preview')
    if (await deps.outbox.knows(id)) return
    const [diffs, errors] = await Promise.all([
      deps.engine.getPreview(job.id),
      deps.engine.getJobErrors(job.id),
    ])
    const message = dryRunPreview({ job, diffs, errors: errors ?? [] })
    await deps.outbox.keep([
      listenerNotification({ jobId: job.id, kind: 'preview', at: new Date().toISOString(), message }),
    ])
  }
  const unsubscribe = deps.engine.subscribe((event) => {
    const { job } = event
    if (event.type !== 'job:finished' || job.type !== 'users_import' || !job.options.dryRun) return
    const planned = async () => {
      if (job.requestedBy.via !== 'slack' && !(await deps.threads.get(job.id))) return
      await planPreview(job)
    }
    planned().catch((error: unknown) =>
      deps.logger.error('dry run preview not planned', { jobId: job.id, error }),
    )
  })

  /** The dry run's parent, which its thread hangs from (see `postJobParent`). */
  const postParent = (web: WebClient, job: ImportJob, channel: string, user: string) =>
    postJobParent(deps, web, { jobId: job.id, channel, user, parent: dryRunParent(job), what: 'Dry run' })

  return {
    stop: unsubscribe,
    async startDryRun(web, request) {
      const { user, channel } = request
      let fileName = 'the file'
      try {
        const file = await fileInfo(web, request.fileId)
        fileName = file.name
        if (file.size > deps.importMaxBytes) throw tooLargeError(deps.importMaxBytes)
        if (!isUsersFileName(file.name)) {
          await tellUser(
            deps,
            web,
            { channel, user },
            `:warning: ${userText(file.name, 200)} is not a users file: use ${usersFileKinds}.`,
          )
          return
        }
        const bytes = await downloadSlackFile(file, {
          botToken: request.botToken,
          maxBytes: deps.importMaxBytes,
          apiUrl: web.slackApiUrl,
          retry: deps.retry,
        })
        const job = await deps.engine.requestImport({
          connection: request.connectionId,
          fileName: file.name,
          bytes,
          options: { ...request.options, dryRun: true },
          requestedBy: { via: 'slack', id: user },
        })
        await postParent(web, job, channel, user)
      } catch (error) {
        const appError = asAppError(error)
        if (appError.code === 'unexpected') deps.logger.error('dry run not started', { user, channel, error })
        await tellUser(
          deps,
          web,
          { channel, user },
          `:warning: No dry run of ${userText(fileName, 200)}: ${userText(appError.message, 2000, { multiline: true })}`,
        )
      }
    },
  }
}
