import type { App } from '@slack/bolt'
import { can, denialText, roles } from '../../../domain/access/roles.ts'
import { jobFilters, pageJobs, parseJobFilters } from '../../../domain/jobs/job-page.ts'
import { jobDetailBlocks } from '../blocks/job-blocks.ts'
import { jobListMessage } from '../blocks/job-list.ts'
import { codeText, userText } from '../blocks/slack-text.ts'
import type { SlackDeps } from '../slack-deps.ts'

/**
 * `/jobs` — recent jobs with the Dashboard's buttons, ten a page (Newer / Older, see job-pages.ts); `/jobs failed
 * mine` — filtered (`failed`, `running`, `mine`, `import`, `export`, combinable); `/jobs JOB_ID` — one job;
 * `/jobs help` — what the caller may do; `/jobs access [@user ROLE]` — the admin mapping (admins only). Every
 * answer is ephemeral: job lists name users and files, which a channel need not see.
 */
export function registerJobsCommand(app: App, deps: SlackDeps): void {
  app.command('/jobs', async ({ command, ack }) => {
    const words = command.text.trim().split(/\s+/).filter(Boolean)
    const [verb, ...rest] = words
    const where = command.channel_id
    if (verb === 'help') {
      await ack({ response_type: 'ephemeral', text: helpText(deps.access.roleOf(command.user_id)) })
      return
    }
    if (verb === 'access') {
      const decision = await deps.access.check(command.user_id, 'access.change', where)
      if (!decision.allowed)
        return ack({ response_type: 'ephemeral', text: denialText('access.change', decision.role) })
      return ack({ response_type: 'ephemeral', text: await changeAccess(deps, rest) })
    }
    const decision = await deps.access.check(command.user_id, 'jobs.read', where, verb)
    if (!decision.allowed)
      return ack({ response_type: 'ephemeral', text: denialText('jobs.read', decision.role) })
    const asFilters = parseJobFilters(words)
    if ('filters' in asFilters) {
      const all = deps.engine.listJobs(Number.MAX_SAFE_INTEGER)
      const page = pageJobs(all, { f: asFilters.filters }, command.user_id)
      return ack({ response_type: 'ephemeral', ...jobListMessage(page, asFilters.filters, decision.role) })
    }
    if (words.length > 1 || verb === undefined) {
      return ack({
        response_type: 'ephemeral',
        text: `${codeText(asFilters.unknown, 100)} is not a filter: use ${jobFilters.map((f) => `\`${f}\``).join(', ')}, or a job id alone. \`/jobs help\` says more.`,
      })
    }
    const view = deps.engine.getJob(verb)
    if (!view)
      return ack({
        response_type: 'ephemeral',
        text: `No job ${userText(verb, 100)}. \`/jobs\` lists recent ones.`,
      })
    return ack({
      response_type: 'ephemeral',
      text: `Job ${verb}`,
      blocks: jobDetailBlocks(view.job, view.progress),
    })
  })
}

const roleWords = `${roles.join(', ')} or remove`

function helpText(role: ReturnType<SlackDeps['access']['roleOf']>): string {
  const lines = [`Your Roster role: *${role ?? 'none'}*.`]
  if (can(role, 'import'))
    lines.push(
      '• `/import` — import users from a JSON, NDJSON or CSV file (dry run first), or drop the file here',
    )
  if (can(role, 'export'))
    lines.push(
      '• `/export [connection] [json|ndjson|csv] [sample]` — export users; the file comes in a thread',
    )
  if (can(role, 'jobs.read')) {
    lines.push(
      '• `/jobs` — recent jobs, ten a page (*Older* / *Newer* below them) · `/jobs JOB_ID` — one job',
    )
    lines.push(
      `• \`/jobs ${jobFilters.join('|')}\` — only those jobs; combine them: \`/jobs failed mine\`, \`/jobs running import\``,
    )
  }
  if (can(role, 'undo')) lines.push('• *Undo* on a finished import (in `/jobs`)')
  if (can(role, 'access.change'))
    lines.push(`• \`/jobs access\` — who has which role · \`/jobs access @user ROLE\` — ROLE is ${roleWords}`)
  if (!role) lines.push('Ask a Roster admin for a role.')
  return lines.join('\n')
}

async function changeAccess(deps: SlackDeps, args: string[]): Promise<string> {
  if (args.length === 0) {
    const entries = Object.entries(deps.access.mapping().users)
    if (entries.length === 0) return 'No one is in access.json yet (SLACK_ADMINS are admins regardless).'
    return entries.map(([user, role]) => `• <@${user}> — ${role}`).join('\n')
  }
  const [mention, role] = args
  const user =
    /^<@([UW][A-Z0-9]+)(\|[^>]*)?>$/.exec(mention ?? '')?.[1] ??
    (/^[UW][A-Z0-9]+$/.test(mention ?? '') ? mention : undefined)
  if (!user || role === undefined) return `Usage: \`/jobs access @user ROLE\` — ROLE is ${roleWords}.`
  if (role === 'remove') {
    await deps.access.set(user, null)
    return `<@${user}> no longer has a Roster role.`
  }
  const known = roles.find((r) => r === role)
  if (!known) return `Unknown role ${codeText(role, 100)}: use ${roles.join(', ')} or remove.`
  await deps.access.set(user, known)
  return `<@${user}> is now ${known}.`
}
