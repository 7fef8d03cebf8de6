import type { App } from '@slack/bolt'
import { type JobPageQuery, jobPageQuerySchema, pageJobs } from '../../../domain/jobs/job-page.ts'
import { parseJsonAs } from '../../parse-json-as.ts'
import { jobListMessage, jobPageActionIds } from '../blocks/job-list.ts'
import type { SlackDeps } from '../slack-deps.ts'
import { onButton } from './buttons.ts'
import { failureReason } from './reply.ts'

/**
 * `/jobs`'s Newer / Older buttons: the next page, with the same filters, replaces the list in place. The list is
 * ephemeral (chat.update cannot edit it), so the page goes to the press's `response_url` with
 * `replace_original`; when Slack does not take that, the page is sent as a new ephemeral message instead.
 */
export function registerJobPages(app: App, deps: SlackDeps): void {
  for (const actionId of [jobPageActionIds.newer, jobPageActionIds.older]) {
    onButton(app, deps, actionId, 'jobs.read', async (args, value) => {
      const query = parseQuery(value)
      if (!query) return args.reply({ text: ':warning: That button no longer works. Run `/jobs` again.' })
      const user = args.body.user.id
      const page = pageJobs(deps.engine.listJobs(Number.MAX_SAFE_INTEGER), query, user)
      const message = jobListMessage(page, query.f, deps.access.roleOf(user))
      try {
        await args.respond({ replace_original: true, response_type: 'ephemeral', ...message })
      } catch (error) {
        deps.logger.warn('job page not replaced in place; sending it anew', { reason: failureReason(error) })
        await args.reply(message)
      }
    })
  }
}

function parseQuery(value: string): JobPageQuery | undefined {
  return parseJsonAs(jobPageQuerySchema, value)
}
