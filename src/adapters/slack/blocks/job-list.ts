import type { KnownBlock } from '@slack/types'
import type { Role } from '../../../domain/access/roles.ts'
import type { JobFilter, JobPage, JobPageQuery } from '../../../domain/jobs/job-page.ts'
import { jobButtons, jobLine } from './job-blocks.ts'

/** `/jobs`: a page of jobs with their buttons, and Newer / Older buttons that replace the page in place. */

export const jobPageActionIds = { newer: 'jobs_newer', older: 'jobs_older' } as const

const numberFormat = new Intl.NumberFormat('en-US')
const n = (value: number) => numberFormat.format(value)

/** What the list shows: "Jobs 11–20 of 200 · failed, mine". */
function title(page: JobPage, filters: readonly JobFilter[]): string {
  const which = filters.length > 0 ? ` · ${filters.join(', ')}` : ''
  if (page.jobs.length === 0) return `Jobs${which}`
  return `Jobs ${n(page.start + 1)}–${n(page.start + page.jobs.length)} of ${n(page.total)}${which}`
}

export function jobListMessage(
  page: JobPage,
  filters: readonly JobFilter[],
  role: Role | undefined,
): { text: string; blocks: KnownBlock[] } {
  const text = title(page, filters)
  if (page.jobs.length === 0) {
    const none =
      filters.length > 0
        ? `No jobs match \`${filters.join(' ')}\`. \`/jobs\` lists them all.`
        : 'No jobs yet. Try `/import` or `/export`.'
    return { text: none, blocks: [{ type: 'section', text: { type: 'mrkdwn', text: none } }] }
  }
  const blocks: KnownBlock[] = [{ type: 'header', text: { type: 'plain_text', text } }]
  for (const job of page.jobs) {
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: jobLine(job) } }, jobButtons(job, role))
  }
  const pager = pagerButtons(page, filters)
  if (pager) blocks.push(pager)
  return { text, blocks }
}

function pagerButtons(page: JobPage, filters: readonly JobFilter[]): KnownBlock | undefined {
  const first = page.jobs[0]
  const last = page.jobs.at(-1)
  const button = (label: string, actionId: string, query: JobPageQuery) => ({
    type: 'button' as const,
    text: { type: 'plain_text' as const, text: label },
    action_id: actionId,
    value: JSON.stringify(query),
  })
  const elements = []
  if (page.hasNewer && first)
    elements.push(button('← Newer', jobPageActionIds.newer, { f: [...filters], a: first.id }))
  if (page.hasOlder && last)
    elements.push(button('Older →', jobPageActionIds.older, { f: [...filters], b: last.id }))
  return elements.length > 0 ? { type: 'actions', block_id: 'jobs_pager', elements } : undefined
}
