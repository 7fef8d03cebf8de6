import type { Role } from '../../../domain/access/roles.ts'
import type { Job } from '../../../domain/jobs/job.ts'
import { sampleSize } from '../../../engine/export.ts'
import { type SampleTable, sampleTableMessage } from '../blocks/export-sample-table.ts'
import { milestoneMessage, parentMessage, problemCount, resultMessage } from '../blocks/progress-blocks.ts'
import { type Notification, type NotificationKind, notificationId } from './outbox.ts'

/** Which jobs the notifier speaks for: those with a thread, or asked for in Slack. */
export function isAnnounced(job: Job, hasThread: boolean): boolean {
  // A dry run's outcome is the import flow's preview (with Import / Cancel), posted by that flow.
  if (job.type === 'users_import' && job.options.dryRun) return false
  return hasThread || job.requestedBy.via === 'slack'
}

/** An export small enough to be a sample ("Export as sample") is also shown inline as a table. */
export function isSampleExport(job: Job): boolean {
  return job.type === 'users_export' && job.limit !== undefined && job.limit <= sampleSize
}

export interface FinishContext {
  /** ISO time of planning. */
  at: string
  /** The requester's role (for the result's buttons). */
  role: Role | undefined
  /** Who the replies mention. */
  mentions: readonly string[]
  /** A sample export's rows, read from its file. */
  sample?: SampleTable | undefined
}

/**
 * Everything a finished job's thread gets, in order: the parent brought to its final state, the result reply,
 * for a sample its table, then its files (the export, or the error report when users failed). Pure: rendered
 * here, sent later by the courier.
 */
export function planFinished(job: Job, context: FinishContext): Notification[] {
  const item = (kind: NotificationKind, message?: Notification['message']): Notification => ({
    id: notificationId(job.id, kind),
    jobId: job.id,
    kind,
    createdAt: context.at,
    ...(message ? { message } : {}),
  })
  const items = [
    item('final', parentMessage(job)),
    item('result', resultMessage(job, context.role, context.mentions)),
  ]
  if (job.type === 'users_export' && job.status === 'completed') {
    if (context.sample) items.push(item('sample', sampleTableMessage(job.id, context.sample)))
    items.push(item('export-file'))
  }
  if (problemCount(job) > 0) items.push(item('error-files'))
  return items
}

/** The half-way reply of a long job. */
export function planMilestone(
  job: Job,
  progress: { processed: number; total: number },
  context: { at: string; mentions: readonly string[] },
): Notification {
  return {
    id: notificationId(job.id, 'milestone', 'halfway'),
    jobId: job.id,
    kind: 'milestone',
    createdAt: context.at,
    message: milestoneMessage(job, progress, context.mentions),
  }
}

/** The id that says a job's outcome was planned (and so is sent, or was). */
export function resultId(jobId: string): string {
  return notificationId(jobId, 'result')
}

/** A message a listener hands to the outbox (see `ListenerOutbox`): rendered now, sent when Slack takes it. */
export function listenerNotification(input: {
  jobId: string
  kind: 'parent' | 'preview' | 'post' | 'edit'
  /** ISO time of planning. */
  at: string
  message: NonNullable<Notification['message']>
  target?: Notification['target']
  /** Tells apart two notifications of one kind and job (two edits of a preview). */
  detail?: string
}): Notification {
  return {
    id: notificationId(input.jobId, input.kind, input.detail),
    jobId: input.jobId,
    kind: input.kind,
    createdAt: input.at,
    message: input.message,
    ...(input.target ? { target: input.target } : {}),
  }
}
