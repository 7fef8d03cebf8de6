import type { KnownBlock } from '@slack/types'
import type { Role } from '../../../domain/access/roles.ts'
import type { JobProgress } from '../../../domain/jobs/auth0-view.ts'
import type { Job } from '../../../domain/jobs/job.ts'
import { context, formatCount, section, usersCount } from './basic-blocks.ts'
import { jobButtons, requesterText, statusEmoji, summaryText } from './job-blocks.ts'
import { userText } from './slack-text.ts'

/**
 * Pure Block Kit builders for a job's status thread: the parent message (updated in place while the job runs),
 * the milestone and result replies that mention the requester. Every message carries a plain-text fallback,
 * which is what notifications and screen readers show.
 */

export interface MessageContent {
  text: string
  blocks: KnownBlock[]
}

const n = formatCount
const users = usersCount
/** Names and reasons in thread messages: data, escaped and clipped. */
const nameChars = 200
const detailChars = 1000
const data = (text: string, max = nameChars) => userText(text, max)

export function jobKind(job: Job): string {
  if (job.type === 'users_import') return job.options.dryRun ? 'Dry run' : 'Import'
  return job.type === 'users_export' ? 'Export' : 'Undo'
}

/** What the job works on: `all connections · CSV (gzip) · sample`, `users.json → Username-Password-…`. */
export function jobTarget(job: Job): string {
  if (job.type === 'users_import') return `${data(job.upload.fileName)} → ${data(job.connectionName)}`
  if (job.type === 'users_undo') return `undo of \`${job.undoOf}\` in ${data(job.connectionName)}`
  const parts = [
    job.connectionName === undefined ? 'all connections' : data(job.connectionName),
    `${job.format.toUpperCase()}${job.gzip ? ' (gzip)' : ''}`,
  ]
  if (job.limit !== undefined) parts.push(`first ${users(job.limit)}`)
  return parts.join(' · ')
}

/** `▰▰▰▰▱▱▱▱▱▱` — ten cells, floored, so 100% only shows when everything is done. */
export function progressBar(fraction: number, cells = 10): string {
  const filled = Math.max(0, Math.min(cells, Math.floor(fraction * cells)))
  return `${'▰'.repeat(filled)}${'▱'.repeat(cells - filled)}`
}

/** Seconds left, as a person says it. 0 (nothing measured yet) is "estimating". */
export function etaText(secondsLeft: number): string {
  if (!(secondsLeft > 0)) return 'estimating time left'
  if (secondsLeft < 60) return 'less than a minute left'
  const minutes = Math.round(secondsLeft / 60)
  if (minutes < 60) return `about ${minutes} min left`
  return `about ${Math.floor(minutes / 60)} h ${minutes % 60} min left`
}

/** Fraction done and seconds left, extrapolated from the rate so far (the engine's own clock). */
export function progressFigures(progress: JobProgress): { fraction: number; secondsLeft: number } {
  const fraction = progress.total === 0 ? 0 : Math.min(1, progress.processed / progress.total)
  const elapsedS = Math.max(0, progress.nowMs - progress.startedAtMs) / 1000
  const secondsLeft = fraction === 0 || elapsedS === 0 ? 0 : (elapsedS / fraction) * (1 - fraction)
  return { fraction, secondsLeft: Math.ceil(secondsLeft) }
}

/** The parent message: one per job, replaced by each progress update and finally by the outcome. */
export function parentMessage(job: Job, progress?: JobProgress): MessageContent {
  const head = `${statusEmoji[job.status]} *${jobKind(job)}* \`${job.id}\` · ${jobTarget(job)}`
  const blocks: KnownBlock[] = []
  let text: string
  if (job.status === 'processing' && progress && progress.total > 0) {
    const { fraction, secondsLeft } = progressFigures(progress)
    const percent = Math.floor(fraction * 100)
    const line = `${n(progress.processed)} of ${users(progress.total)} · ${etaText(secondsLeft)}`
    blocks.push(section(`${head}\n\`${progressBar(fraction)}\` *${percent}%* · ${line}`))
    text = `${jobKind(job)} ${job.id}: ${percent}% (${n(progress.processed)} of ${users(progress.total)}), ${etaText(secondsLeft)}`
  } else if (job.status === 'completed' || job.status === 'failed') {
    const outcome =
      job.status === 'failed' ? data(job.statusDetails ?? 'see the thread', detailChars) : summaryText(job)
    blocks.push(section(`${head}\n${job.status === 'failed' ? '*Failed*' : '*Done*'} · ${outcome}`))
    text = `${jobKind(job)} ${job.id} ${job.status === 'failed' ? 'failed' : 'done'}: ${outcome}`
  } else {
    const state = job.status === 'pending' ? 'queued' : job.status
    blocks.push(section(`${head}\n_${state}_`))
    text = `${jobKind(job)} ${job.id}: ${state}`
  }
  blocks.push(context(`Requested by ${requesterText(job, true)} · updates and files in the thread`))
  return { text, blocks }
}

export interface ExportRequestSummary {
  user: string
  connectionName?: string | undefined
  format: string
  sample: boolean
  gzip: boolean
}

/** /export's parent, posted before the job exists: the thread the job is then linked to. */
export function exportRequestedMessage(request: ExportRequestSummary): MessageContent {
  const what = [
    request.connectionName === undefined ? 'all connections' : data(request.connectionName),
    `${request.format.toUpperCase()}${request.gzip ? ' (gzip)' : ''}`,
    ...(request.sample ? ['sample of 10 users'] : []),
  ].join(' · ')
  return {
    text: `Export requested by <@${request.user}>: ${what}`,
    blocks: [
      section(`${statusEmoji.pending} *Export* · ${what}\n_starting…_`),
      context(`Requested by <@${request.user}> · updates and files in the thread`),
    ],
  }
}

/** Who a job's replies mention: its Slack requester, and whoever started the thread's flow if that is someone else. */
export function mentionsOf(job: Job, threadUser?: string): string[] {
  const ids = [job.requestedBy.via === 'slack' ? job.requestedBy.id : undefined, threadUser]
  return [...new Set(ids.filter((id): id is string => id !== undefined))]
}

const mentionText = (ids: readonly string[]) => ids.map((id) => `<@${id}> `).join('')

/** A thread reply when a long job passes a milestone (half done). */
export function milestoneMessage(
  job: Job,
  progress: { processed: number; total: number },
  mentions: readonly string[] = mentionsOf(job),
): MessageContent {
  const text = `${mentionText(mentions)}${jobKind(job)} \`${job.id}\` is halfway: ${n(progress.processed)} of ${users(progress.total)} done.`
  return { text, blocks: [section(`:hourglass: ${text}`)] }
}

/** Users in the job's error report: failed import rows, or undo conflicts. */
export function problemCount(job: Job): number {
  if (job.type === 'users_import') return job.summary?.failed ?? 0
  return job.type === 'users_undo' ? (job.summary?.conflicts ?? 0) : 0
}

/**
 * The result, as a thread reply that mentions the requester (`mentions`, see `mentionsOf`). `role` is the
 * requester's, for the buttons (Undo shows only to roles that may undo; the press is checked again).
 */
export function resultMessage(
  job: Job,
  role: Role | undefined,
  mentions: readonly string[] = mentionsOf(job),
): MessageContent {
  const who = mentionText(mentions)
  const what = `${jobKind(job)} \`${job.id}\``
  let line: string
  if (job.status === 'failed') {
    line = `:x: ${who}${what} failed: ${data(job.statusDetails ?? 'no reason recorded', detailChars)}.`
    if (job.type !== 'users_export' && job.summary) line += ` Before it stopped: ${summaryText(job)}.`
  } else if (job.type === 'users_export') {
    const result = job.result
    if (!result) line = `:white_check_mark: ${who}${what} is done.`
    else if (result.bytes === 0) line = `:white_check_mark: ${who}${what} is done: no users, so no file.`
    else {
      line = `:white_check_mark: ${who}${what} is done: ${users(result.users)} in \`${data(result.fileName)}\` (${byteText(result.bytes)}), attached below.`
    }
  } else {
    line = `:white_check_mark: ${who}${what} is done: ${summaryText(job)}.`
  }
  const problems = problemCount(job)
  if (problems > 0) {
    const files =
      job.type === 'users_undo'
        ? 'the conflicts'
        : 'the error report and the failed users (to fix and import again)'
    line += ` ${users(problems)} ${job.type === 'users_undo' ? 'were left alone' : 'failed'}: ${files} follow in this thread.`
  }
  const plain = line.replace(/^:[a-z_]+: /, '').replaceAll('`', '')
  return { text: plain, blocks: [section(line), jobButtons(job, role)] }
}

export function byteText(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`
}
