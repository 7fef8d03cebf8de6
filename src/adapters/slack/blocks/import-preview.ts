import type { KnownBlock } from '@slack/types'
import type { ReportEntry, UserDiff } from '../../../domain/import/report.ts'
import type { ImportJob, ImportOptions } from '../../../domain/jobs/job.ts'

/**
 * Pure Block Kit builders for the import flow in a channel: the job's parent message, the dry run's preview
 * with Import / Cancel, the preview once someone decided, and the offer under a dropped file.
 */

export const importActionIds = {
  confirm: 'import_confirm',
  cancel: 'import_cancel',
  open: 'import_open',
} as const
/** Block id of the preview's buttons: dropped when someone decides. */
export const previewActionsBlockId = (dryRunId: string) => `import:${dryRunId}`

/** Shown in the preview; the full lists are in the error report and the job. */
export const previewLimits = { diffs: 5, errors: 5 } as const

const n = (value: number) => value.toLocaleString('en-US')
const users = (count: number) => `${n(count)} user${count === 1 ? '' : 's'}`
const section = (text: string): KnownBlock => ({ type: 'section', text: { type: 'mrkdwn', text } })
const context = (text: string): KnownBlock => ({ type: 'context', elements: [{ type: 'mrkdwn', text }] })
const clip = (text: string, max: number) => (text.length > max ? `${text.slice(0, max - 1)}…` : text)

function optionsLine(options: ImportOptions): string {
  const on = (flag: boolean) => (flag ? 'on' : 'off')
  return `Upsert ${on(options.upsert)} · merge metadata ${on(options.merge)} · completion email ${on(options.sendCompletionEmail)}`
}

/** The job's parent message in the channel: the thread every later message of the flow goes to. */
export function dryRunParent(job: ImportJob): { text: string; blocks: KnownBlock[] } {
  const text = `:mag: Dry run of ${job.upload.fileName} into ${job.connectionName} by <@${job.requestedBy.id}>`
  return {
    text,
    blocks: [
      section(
        `:mag: *Dry run* of \`${job.upload.fileName}\` (${users(job.upload.rows)}) into *${job.connectionName}* by <@${job.requestedBy.id}>. Nothing is written until someone presses *Import* in the thread.`,
      ),
      context(`\`${job.id}\` · ${optionsLine(job.options)}`),
    ],
  }
}

/** Matched users that need a change: Auth0 counts unchanged ones as updated too. */
export function realUpdates(job: ImportJob): number {
  return job.summary ? job.summary.updated - job.summary.unchanged : 0
}

/** What the Import button's confirm dialog says will change: "1,204 users will be updated in X." */
export function confirmText(job: ImportJob): string {
  const inserted = job.summary?.inserted ?? 0
  const updated = realUpdates(job)
  const into = job.connectionName
  let change: string
  if (inserted > 0 && updated > 0)
    change = `${users(inserted)} will be inserted and ${n(updated)} updated in ${into}.`
  else if (inserted > 0) change = `${users(inserted)} will be inserted in ${into}.`
  else change = `${users(updated)} will be updated in ${into}.`
  const extras = [
    job.options.merge ? 'Metadata is merged into what users have.' : '',
    job.options.sendCompletionEmail ? 'Tenant owners get an email when it is done.' : '',
  ].filter(Boolean)
  return [change, ...extras].join(' ')
}

function diffLine(diff: UserDiff): string {
  const who = `\`${clip(diff.email || diff.user_id, 60)}\``
  if (diff.action === 'insert') return `• *insert* ${who}`
  const changes = diff.changes
    .slice(0, 4)
    .map(
      (c) =>
        `${c.field}: ${clip(JSON.stringify(c.before) ?? '—', 40)} → ${clip(JSON.stringify(c.after) ?? '—', 40)}`,
    )
  const more = diff.changes.length > 4 ? ` (+${diff.changes.length - 4} more)` : ''
  return `• *update* ${who}: ${changes.join('; ')}${more}`
}

function errorLine(entry: ReportEntry): string {
  const user = entry.user as { email?: unknown; user_id?: unknown; username?: unknown } | null
  const key = [user?.email, user?.user_id, user?.username].find((v) => typeof v === 'string')
  const who = key ? ` \`${clip(String(key), 60)}\`` : ''
  const first = entry.errors[0]
  const what = first ? `${first.code}: ${clip(first.message, 160)}` : 'rejected'
  const more = entry.errors.length > 1 ? ` (+${entry.errors.length - 1} more)` : ''
  // Rows as people count them; the report file keeps Auth0's 0-based `index`.
  return `• row ${entry.index + 1}${who} — ${what}${more}`
}

export interface PreviewInput {
  job: ImportJob
  diffs: readonly UserDiff[]
  errors: readonly ReportEntry[]
}

/** The dry run's result in the thread: counts, a few diffs, the first errors, and Import / Cancel. */
export function dryRunPreview({ job, diffs, errors }: PreviewInput): { text: string; blocks: KnownBlock[] } {
  if (job.status !== 'completed' || !job.summary) {
    const why = job.statusDetails ?? `the job is ${job.status}`
    return {
      text: `:x: The dry run ${job.id} did not finish: ${why}`,
      blocks: [section(`:x: The dry run did not finish: ${why}`)],
    }
  }
  const s = job.summary
  const updated = realUpdates(job)
  const counts = `*${n(s.inserted)}* to insert · *${n(updated)}* to update · *${n(s.unchanged)}* unchanged · *${n(s.failed)}* failed (of ${n(s.total)})`
  const blocks: KnownBlock[] = [section(`:mag: *Dry run result* for *${job.connectionName}*\n${counts}`)]
  if (diffs.length > 0) {
    const shown = diffs.slice(0, previewLimits.diffs)
    blocks.push(section(`*Changes* (first ${shown.length}):\n${shown.map(diffLine).join('\n')}`))
  }
  if (errors.length > 0) {
    const shown = errors.slice(0, previewLimits.errors)
    const rest =
      s.failed > shown.length
        ? `\n…and ${n(s.failed - shown.length)} more: *Error report* in \`/jobs ${job.id}\`.`
        : ''
    blocks.push(
      section(
        `*Errors* (first ${shown.length} of ${n(s.failed)}):\n${shown.map(errorLine).join('\n')}${rest}`,
      ),
    )
  }
  const text = `Dry run ${job.id}: ${n(s.inserted)} to insert, ${n(updated)} to update, ${n(s.unchanged)} unchanged, ${n(s.failed)} failed`
  if (s.inserted + updated === 0) {
    blocks.push(context('Nothing to import: the file would change no user.'))
    return { text, blocks }
  }
  const button = (label: string, actionId: string) => ({
    type: 'button' as const,
    text: { type: 'plain_text' as const, text: label },
    action_id: actionId,
    value: job.id,
  })
  blocks.push({
    type: 'actions',
    block_id: previewActionsBlockId(job.id),
    elements: [
      {
        ...button('Import', importActionIds.confirm),
        style: 'primary',
        confirm: {
          title: { type: 'plain_text', text: 'Import these users?' },
          text: { type: 'plain_text', text: confirmText(job) },
          confirm: { type: 'plain_text', text: 'Import' },
          deny: { type: 'plain_text', text: 'Not yet' },
        },
      },
      button('Cancel', importActionIds.cancel),
    ],
  })
  return { text, blocks }
}

/** The preview once decided: its buttons gone, a line saying who decided what. */
export function decidedPreview(
  previous: readonly KnownBlock[],
  dryRunId: string,
  outcome: { by: string; importJobId?: string },
): { text: string; blocks: KnownBlock[] } {
  const kept = previous.filter((b) => b.block_id !== previewActionsBlockId(dryRunId))
  const line = outcome.importJobId
    ? `:white_check_mark: Import confirmed by <@${outcome.by}>: \`${outcome.importJobId}\`. Progress follows in this thread.`
    : `:no_entry_sign: Cancelled by <@${outcome.by}>. Nothing was imported.`
  return { text: line, blocks: [...kept, context(line)] }
}

/** Under a dropped users file: offers the import dialog with the file already chosen. */
export function fileOffer(file: { id: string; name: string }): { text: string; blocks: KnownBlock[] } {
  const text = `Import users from ${file.name}?`
  return {
    text,
    blocks: [
      section(`:inbox_tray: \`${file.name}\` looks like a users file. A dry run comes first.`),
      {
        type: 'actions',
        block_id: `import_offer:${file.id}`,
        elements: [
          {
            type: 'button',
            text: { type: 'plain_text', text: clip(`Import users from ${file.name}`, 75) },
            action_id: importActionIds.open,
            value: JSON.stringify({ id: file.id, name: file.name }),
          },
        ],
      },
    ],
  }
}
