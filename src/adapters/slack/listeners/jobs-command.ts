import type { App } from '@slack/bolt'
import { can, denialText, roles } from '../../../domain/access/roles.ts'
import { jobDetailBlocks, jobListBlocks } from '../blocks/job-blocks.ts'
import type { SlackDeps } from '../slack-deps.ts'

const listSize = 10

/**
 * `/jobs` — recent jobs with the Dashboard's buttons; `/jobs <job_id>` — one job; `/jobs help` — what the caller
 * may do; `/jobs access [<@user> <role>|remove]` — the admin mapping (admins only). Every answer is ephemeral:
 * job lists name users and files, which a channel need not see.
 */
export function registerJobsCommand(app: App, deps: SlackDeps): void {
  app.command('/jobs', async ({ command, ack }) => {
    const [verb, ...rest] = command.text.trim().split(/\s+/).filter(Boolean)
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
    if (verb === undefined) {
      const jobs = deps.engine.listJobs(listSize)
      return ack({
        response_type: 'ephemeral',
        text: `${jobs.length} recent jobs`,
        blocks: jobListBlocks(jobs, decision.role),
      })
    }
    const view = deps.engine.getJob(verb)
    if (!view)
      return ack({ response_type: 'ephemeral', text: `No job ${verb}. \`/jobs\` lists recent ones.` })
    return ack({
      response_type: 'ephemeral',
      text: `Job ${verb}`,
      blocks: jobDetailBlocks(view.job, view.progress),
    })
  })
}

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
  if (can(role, 'jobs.read')) lines.push('• `/jobs` — recent jobs · `/jobs <job_id>` — one job')
  if (can(role, 'undo')) lines.push('• *Undo* on a finished import (in `/jobs`)')
  if (can(role, 'access.change'))
    lines.push(`• \`/jobs access\` — who has which role · \`/jobs access @user <${roles.join('|')}|remove>\``)
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
  if (!user || role === undefined) return `Usage: \`/jobs access @user <${roles.join('|')}|remove>\``
  if (role === 'remove') {
    await deps.access.set(user, null)
    return `<@${user}> no longer has a Roster role.`
  }
  const known = roles.find((r) => r === role)
  if (!known) return `Unknown role ${role}: use ${roles.join(', ')} or remove.`
  await deps.access.set(user, known)
  return `<@${user}> is now ${known}.`
}
