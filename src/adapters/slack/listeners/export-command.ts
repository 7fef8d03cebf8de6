import type { App } from '@slack/bolt'
import { denialText } from '../../../domain/access/roles.ts'
import { exportModal } from '../blocks/export-modal.ts'
import type { SlackDeps } from '../slack-deps.ts'
import { parseExportArgs } from './export-args.ts'
import { startExport } from './export-start.ts'
import { createReply, failureReason } from './reply.ts'

/**
 * `/export` — the dialog (connection, format, fields, sample, gzip); `/export <connection|all> <format> [sample]
 * [gzip]` — straight to the job. Acked before any Slack call: the parse and the role check are in memory.
 */
export function registerExportCommand(app: App, deps: SlackDeps): void {
  app.command('/export', async ({ command, ack, client }) => {
    const text = command.text.trim()
    const reply = createReply(deps, client, command.response_url, {
      channel: command.channel_id,
      user: command.user_id,
    })
    const decision = await deps.access.check(command.user_id, 'export', command.channel_id, text || undefined)
    if (!decision.allowed)
      return ack({ response_type: 'ephemeral', text: denialText('export', decision.role) })
    const connections = deps.engine.listConnections()
    if (text === '') {
      await ack()
      try {
        await client.views.open({
          trigger_id: command.trigger_id,
          view: exportModal({ metadata: { channel: command.channel_id }, connections }),
        })
      } catch (error) {
        // The trigger id lives 3 s: the WebClient's retries are all the recovery there is; then the person is told.
        const reason = failureReason(error)
        deps.logger.warn('export dialog did not open', { reason, channel: command.channel_id, error })
        await reply({
          text: `:warning: Slack did not open the export dialog (${reason}). Run \`/export\` again, or give the options: \`/export all csv\`.`,
        })
      }
      return
    }
    const parsed = parseExportArgs(text, connections)
    if (!parsed.ok) return ack({ response_type: 'ephemeral', text: parsed.problem })
    await ack()
    const started = await startExport(deps, client, {
      channel: command.channel_id,
      user: command.user_id,
      choice: parsed.value,
    })
    if (!started.ok) await reply({ text: started.problem })
    else if (started.note) await reply({ text: started.note })
  })
}
