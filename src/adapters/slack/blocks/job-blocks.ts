import type { KnownBlock } from '@slack/types'
import { can, type Role } from '../../../domain/access/roles.ts'
import { toAuth0Job } from '../../../domain/jobs/auth0-view.ts'
import type { Job } from '../../../domain/jobs/job.ts'
import { clipMrkdwn, codeText, slackLimits, userText } from './slack-text.ts'

/** Pure Block Kit builders for jobs: one line per job in lists, full detail for one. Text fallbacks beside. */

/** One emoji per job status, in every job message. */
export const statusEmoji: Record<Job['status'], string> = {
  pending: ':hourglass_flowing_sand:',
  processing: ':gear:',
  completed: ':white_check_mark:',
  failed: ':x:',
  expired: ':wastebasket:',
}

// One formatter, made once: `toLocaleString('en-US')` builds one per call (~10× slower, and garbage), and `/jobs`
// formats a few numbers per job on every command.
const numberFormat = new Intl.NumberFormat('en-US')
const n = (value: number) => numberFormat.format(value)

/** File names in job lines: long enough to recognise, short enough that ten jobs fit a message. */
const nameChars = 120

/** The job's outcome in a few words, as mrkdwn (file names escaped and clipped). */
export function summaryText(job: Job): string {
  if (job.type === 'users_export') {
    return job.result
      ? `${n(job.result.users)} users → ${userText(job.result.fileName, nameChars)}`
      : `${job.format} export`
  }
  if (!job.summary)
    return job.type === 'users_import'
      ? `${n(job.upload.rows)} users in ${userText(job.upload.fileName, nameChars)}`
      : ''
  if (job.type === 'users_undo') {
    const s = job.summary
    return `${n(s.deleted)} removed, ${n(s.restored)} restored, ${n(s.conflicts)} conflicts`
  }
  const s = job.summary
  const would = job.options.dryRun ? 'would be ' : ''
  return `${n(s.inserted)} ${would}inserted, ${n(s.updated - s.unchanged)} ${would}updated, ${n(s.unchanged)} unchanged, ${n(s.failed)} failed`
}

function kind(job: Job): string {
  if (job.type === 'users_import') return job.options.dryRun ? 'Dry run' : 'Import'
  return job.type === 'users_export' ? 'Export' : 'Undo'
}

/**
 * Who asked, as mrkdwn: a Slack requester is mentioned (Roster's own mention); anyone else (an API token's name,
 * an OS user) is data. `named`: their name where one is recorded, else their id.
 */
export function requesterText(job: Job, named = false): string {
  const who = job.requestedBy
  if (who.via === 'slack') return `<@${who.id}>`
  return `${userText((named ? who.name : undefined) ?? who.id, nameChars)} (${who.via})`
}

export function jobLine(job: Job): string {
  const when = `<!date^${Math.floor(Date.parse(job.createdAt) / 1000)}^{date_short_pretty} {time}|${job.createdAt}>`
  const where = job.connectionName === undefined ? 'all connections' : userText(job.connectionName, nameChars)
  return clipMrkdwn(
    `${statusEmoji[job.status]} *${kind(job)}* \`${job.id}\` · ${where} · ${job.status} · ${summaryText(job)} · ${requesterText(job)} · ${when}`,
    slackLimits.sectionText,
  )
}

/** The buttons of the Dashboard's View Jobs screen that apply to this job and this person. */
export function jobButtons(job: Job, role: Role | undefined): KnownBlock {
  const button = (text: string, action: string, style?: 'danger') => ({
    type: 'button' as const,
    text: { type: 'plain_text' as const, text },
    action_id: action,
    value: job.id,
    ...(style ? { style } : {}),
  })
  const elements = [button('More info', 'job_info')]
  if (job.status === 'pending' || job.status === 'processing')
    elements.push(button('Check status', 'job_status'))
  if (job.type === 'users_export' && job.status === 'completed')
    elements.push(button('Download export', 'job_download'))
  if (job.status !== 'expired' && problemsOf(job) > 0) {
    elements.push(button('Error report', 'job_errors'))
  }
  if (
    can(role, 'undo') &&
    job.type === 'users_import' &&
    !job.options.dryRun &&
    job.status === 'completed' &&
    !job.undoneBy
  ) {
    elements.push({
      ...button('Undo', 'job_undo', 'danger'),
      confirm: {
        title: { type: 'plain_text', text: 'Undo this import?' },
        text: {
          type: 'mrkdwn',
          text: `Users inserted by \`${job.id}\` are removed and users it updated get their earlier state back. Users changed since are left alone.`,
        },
        confirm: { type: 'plain_text', text: 'Undo' },
        deny: { type: 'plain_text', text: 'Cancel' },
        style: 'danger',
      },
    } as never)
  }
  return { type: 'actions', block_id: `job:${job.id}`, elements }
}

/** Users in the job's error report: failed imports, or undo conflicts. */
function problemsOf(job: Job): number {
  if (job.type === 'users_import') return job.summary?.failed ?? 0
  return job.type === 'users_undo' ? (job.summary?.conflicts ?? 0) : 0
}

/** Everything about one job: Auth0's view of it, as fields. */
export function jobDetailBlocks(job: Job, progress?: Parameters<typeof toAuth0Job>[1]): KnownBlock[] {
  const view = toAuth0Job(job, progress)
  const fields = Object.entries(view)
    .filter(([key]) => key !== 'fields')
    .map(([key, value]) => {
      // external_id, status_details, the connection's name: data (an API client sets external_id), escaped and
      // clipped so the field stays within Slack's 2,000 characters.
      const room = slackLimits.sectionField - key.length - 3
      const shown =
        typeof value === 'object' ? codeText(JSON.stringify(value), room) : userText(String(value), room)
      return { type: 'mrkdwn' as const, text: `*${key}*\n${shown}` }
    })
  return [
    { type: 'section', text: { type: 'mrkdwn', text: jobLine(job) } },
    // Slack allows at most 10 fields per section.
    ...chunk(fields, 10).map((part) => ({ type: 'section' as const, fields: part })),
  ]
}

function chunk<T>(items: readonly T[], size: number): T[][] {
  const parts: T[][] = []
  for (let i = 0; i < items.length; i += size) parts.push(items.slice(i, i + size))
  return parts
}
