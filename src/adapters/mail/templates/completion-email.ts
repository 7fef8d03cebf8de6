import type { ReportEntry } from '../../../domain/import/report.ts'
import type { ImportJob } from '../../../domain/jobs/job.ts'

/**
 * The completion email Auth0 sends tenant owners when an import finishes (reference §3.7: "total users processed",
 * and for a whole-job failure, why), written for the person who has to act on it: what ran, what came of it, the
 * first errors, and how to get the full report. Pure: the notifier passes everything in.
 */
export interface CompletionEmailInput {
  job: ImportJob
  tenant: string
  /** The first entries of the job's error report. */
  errors: readonly ReportEntry[]
  /** How many entries the whole report has. */
  totalErrors: number
  /** Where Roster's API answers, for the report's curl line. */
  publicUrl: string
  /** How long the report is kept (JOB_RETENTION_HOURS). */
  retentionHours: number
}

export interface EmailContent {
  subject: string
  text: string
  html: string
}

export function completionEmail(input: CompletionEmailInput): EmailContent {
  const { job } = input
  const kind = job.options.dryRun ? 'Dry run' : 'Import'
  const subject = `[${input.tenant}] ${kind} ${job.id} ${job.status}: ${outcome(job)}`
  const facts: [string, string][] = [
    ['Job', job.id],
    ['Status', job.status],
    ['Connection', `${job.connectionName} (${job.connectionId})`],
    ['File', `${job.upload.fileName}, ${job.upload.rows} users, ${job.upload.bytes} bytes`],
    ['Options', options(job)],
    ['Requested by', `${job.requestedBy.name ?? job.requestedBy.id} via ${job.requestedBy.via}`],
    ['Summary', outcome(job)],
  ]
  if (job.statusDetails) facts.push(['Why it failed', job.statusDetails])
  if (job.ignoredFields?.length) facts.push(['Columns ignored', job.ignoredFields.join(', ')])
  const reportUrl = `${input.publicUrl}/api/v2/jobs/${job.id}/errors`
  const howTo = [`roster job errors ${job.id}`, `curl -H "Authorization: Bearer $ROSTER_TOKEN" ${reportUrl}`]
  const kept = `The report is kept ${input.retentionHours} hours after the job was created.`
  const errorLines = input.errors.map(describeError)
  const more = input.totalErrors - input.errors.length

  const text = [
    `${kind} ${job.id} into ${job.connectionName} (tenant ${input.tenant}) is ${job.status}.`,
    '',
    ...facts.map(([label, value]) => `${`${label}:`.padEnd(16)}${value}`),
    '',
    ...(errorLines.length === 0
      ? ['No user failed.']
      : [
          `First errors (${input.errors.length} of ${input.totalErrors}):`,
          ...errorLines.map((line) => `  ${line}`),
          ...(more > 0 ? [`  … and ${more} more.`] : []),
        ]),
    '',
    'Full report:',
    ...howTo.map((line) => `  ${line}`),
    kept,
    '',
  ].join('\n')

  const html = [
    `<p>${escapeHtml(`${kind} ${job.id} into ${job.connectionName} (tenant ${input.tenant}) is ${job.status}.`)}</p>`,
    '<table>',
    ...facts.map(
      ([label, value]) => `<tr><th align="left">${escapeHtml(label)}</th><td>${escapeHtml(value)}</td></tr>`,
    ),
    '</table>',
    errorLines.length === 0
      ? '<p>No user failed.</p>'
      : [
          `<p>First errors (${input.errors.length} of ${input.totalErrors}):</p>`,
          '<ul>',
          ...errorLines.map((line) => `<li>${escapeHtml(line)}</li>`),
          ...(more > 0 ? [`<li>… and ${more} more.</li>`] : []),
          '</ul>',
        ].join('\n'),
    '<p>Full report:</p>',
    `<pre>${howTo.map(escapeHtml).join('\n')}</pre>`,
    `<p>${escapeHtml(kept)}</p>`,
  ].join('\n')

  return { subject, text, html }
}

function outcome(job: ImportJob): string {
  const s = job.summary
  if (!s) return job.status === 'failed' ? 'no users written' : 'no summary'
  const would = job.options.dryRun ? 'would be ' : ''
  return (
    `${s.total} users: ${s.inserted} ${would}inserted, ${s.updated} ${would}updated` +
    `${s.unchanged > 0 ? ` (${s.unchanged} unchanged)` : ''}, ${s.failed} failed`
  )
}

function options(job: ImportJob): string {
  const o = job.options
  const set = [o.upsert && 'upsert', o.merge && 'merge', o.dryRun && 'dry run'].filter(Boolean)
  const external = o.externalId === undefined ? '' : `, external_id ${o.externalId}`
  return `${set.length === 0 ? 'insert only' : set.join(', ')}${external}`
}

/** `#3 ada@example.com: INVALID_FORMAT Error in email property … (email)`: who, what, where. */
function describeError(entry: ReportEntry): string {
  const user = entry.user as Record<string, unknown> | undefined
  const who =
    typeof user?.email === 'string' ? user.email : typeof user?.user_id === 'string' ? user.user_id : ''
  const problems = entry.errors
    .map((e) => `${e.code} ${e.message}${'path' in e && e.path ? ` (${String(e.path)})` : ''}`)
    .join('; ')
  return `row ${entry.index + 1}${who ? ` ${who}` : ''}: ${problems}`
}

function escapeHtml(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
}
