import type { App } from '@slack/bolt'
import { denialText } from '../../../domain/access/roles.ts'
import { findConnection } from '../../../domain/connections/connection.ts'
import type { SlackDeps } from '../slack-deps.ts'
import { importableConnections, noImportTarget, openImportModal } from './import-flow.ts'
import { createReply } from './reply.ts'

/**
 * `/import [connection]` — opens the import dialog (file, connection, options) for people who may import. The
 * trigger id lives 3 s, so the dialog opens right after the ack; the channel rides along in the dialog.
 */
export function registerImportCommand(app: App, deps: SlackDeps): void {
  app.command('/import', async ({ command, ack, client }) => {
    const decision = await deps.access.check(command.user_id, 'import', command.channel_id)
    if (!decision.allowed)
      return ack({ response_type: 'ephemeral', text: denialText('import', decision.role) })
    const connections = importableConnections(deps.engine)
    if (connections.length === 0) return ack({ response_type: 'ephemeral', text: noImportTarget })
    await ack()
    const named = command.text.trim()
    const selected = named ? findConnection(connections, named)?.id : undefined
    const problem = await openImportModal(
      deps,
      client,
      command.trigger_id,
      { channel: command.channel_id },
      selected,
    )
    if (!problem) return
    const person = { channel: command.channel_id, user: command.user_id }
    await createReply(deps, client, command.response_url, person)({ text: problem })
  })
}
