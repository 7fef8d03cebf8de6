import type { KnownBlock } from '@slack/types'
import type { ReportEntry, UserDiff } from '../../../domain/import/report.ts'
import type { ImportJob, ImportOptions } from '../../../domain/jobs/job.ts'
import { context, formatCount, section, usersCount } from './basic-blocks.ts'
import { codeText, plainText, userText } from './slack-text.ts'

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

const n = formatCount
const users = usersCount
/** File and connection names in these messages: enough to recognise them (a file name may have 2,000+). */
const nameChars = 200
/** A file name as offered under a drop: what the button's value and the dialog's metadata carry. */
export const offeredNameChars = 300

function optionsLine(options: ImportOptions): string {
  const on = (flag: boolean) => (flag ? 'on' : 'off')
  return `Upsert ${on(options.upsert)} · merge metadata ${on(options.merge)} · completion email ${on(options.sendCompletionEmail)}`
}

/** The job's parent message in the channel: the thread every later message of the flow goes to. */
export function dryRunParent(job: ImportJob): { text: string; blocks: KnownBlock[] } {
  const file = userText(job.upload.fileName, nameChars)
  const into = userText(job.connectionName, nameChars)
  const text = `:mag: Dry run of ${file} into ${into} by <@${job.requestedBy.id}>`
  return {
    text,
    blocks: [
      section(
        `:mag: *Dry run* of ${codeText(job.upload.fileName, nameChars)} (${users(job.upload.rows)}) into *${into}* by <@${job.requestedBy.id}>. Nothing is written until someone presses *Import* in the thread.`,
      ),
      context(`\`${job.id}\` · ${optionsLine(job.options)}`),
    ],
  }
}

/** Matched users that need a change: Auth0 counts unchanged ones as updated too. */
export function realUpdates(job: ImportJob): number {
  return job.summary ? job.summary.updated - job.summary.unchanged : 0
}

/**
 * What the Import button's confirm dialog says will change: "1,204 users will be updated in X." Plain text (Slack
 * parses nothing there), within a confirm text's 300 characters.
 */
export function confirmText(job: ImportJob): string {
  return plainText(confirmSentences(job), 300)
}

function confirmSentences(job: ImportJob): string {
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
  const who = codeText(diff.email || diff.user_id, 60)
  if (diff.action === 'insert') return `• *insert* ${who}`
  const changes = diff.changes
    .slice(0, 4)
    .map(
      (c) =>
        `${userText(c.field, 60)}: ${userText(JSON.stringify(c.before) ?? '—', 40)} → ${userText(JSON.stringify(c.after) ?? '—', 40)}`,
    )
  const more = diff.changes.length > 4 ? ` (+${diff.changes.length - 4} more)` : ''
  return `• *update* ${who}: ${changes.join('; ')}${more}`
}

function errorLine(entry: ReportEntry): string {
  const user = entry.user as { email?: unknown; user_id?: unknown; username?: unknown } | null
  const key = [user?.email, user?.user_id, user?.username].find((v) => typeof v === 'string')
  const who = key ? ` ${codeText(String(key), 60)}` : ''
  const first = entry.errors[0]
  // Messages quote the row's values: data.
  const what = first ? `${first.code}: ${userText(first.message, 160)}` : 'rejected'
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
    const why = job.statusDetails ? userText(job.statusDetails, 1000) : `the job is ${job.status}`
    return {
      text: `:x: The dry run ${job.id} did not finish: ${why}`,
      blocks: [section(`:x: The dry run did not finish: ${why}`)],
    }
  }
  const s = job.summary
  const updated = realUpdates(job)
  const counts = `*${n(s.inserted)}* to insert · *${n(updated)}* to update · *${n(s.unchanged)}* unchanged · *${n(s.failed)}* failed (of ${n(s.total)})`
  const blocks: KnownBlock[] = [
    section(`:mag: *Dry run result* for *${userText(job.connectionName, nameChars)}*\n${counts}`),
  ]
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

/**
 * Under a dropped users file: offers the import dialog with the file already chosen. The button's value carries
 * the file's id and its name as shown (escaped and clipped): within a value's 2,000 characters however long the
 * name, and with no live markup anywhere in the message.
 */
export function fileOffer(file: { id: string; name: string }): { text: string; blocks: KnownBlock[] } {
  const text = `Import users from ${userText(file.name, nameChars)}?`
  const shownName = userText(file.name, offeredNameChars)
  return {
    text,
    blocks: [
      section(
        `:inbox_tray: ${codeText(file.name, nameChars)} looks like a users file. A dry run comes first.`,
      ),
      {
        type: 'actions',
        block_id: `import_offer:${file.id}`,
        elements: [
          {
            type: 'button',
            text: { type: 'plain_text', text: 'Import users from this file' },
            action_id: importActionIds.open,
            value: JSON.stringify({ id: file.id, name: shownName }),
          },
        ],
      },
    ],
  }
}
