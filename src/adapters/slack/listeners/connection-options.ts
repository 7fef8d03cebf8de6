import type { App } from '@slack/bolt'
import { type AccessAction, can } from '../../../domain/access/roles.ts'
import { matchingOptions } from '../blocks/connection-select.ts'
import { exportConnectionOptions, exportFormIds } from '../blocks/export-modal.ts'
import { importConnectionOptions, importFormIds } from '../blocks/import-modal.ts'
import type { SlackDeps } from '../slack-deps.ts'
import { importableConnections } from './import-flow.ts'

/**
 * The connection pickers' search, when a tenant has more connections than a static select holds (see
 * `connection-select.ts`): Slack sends a `block_suggestion` with what the person typed, on every keystroke, and
 * shows the options Roster answers. Answered from memory, for people whose role allows the dialog's action (the
 * dialog was opened for them, but roles change); nobody else gets any. Not audited: a keystroke is not a decision,
 * the submission is (and is checked again).
 */
export function registerConnectionOptions(app: App, deps: SlackDeps): void {
  const answer = (
    block: string,
    action: string,
    needs: AccessAction,
    all: () => ReturnType<typeof matchingOptions>,
  ) =>
    app.options<'block_suggestion'>(
      { type: 'block_suggestion', block_id: block, action_id: action },
      async ({ ack, body }) => {
        const typed = 'value' in body && typeof body.value === 'string' ? body.value : ''
        if (!can(deps.access.roleOf(body.user.id), needs)) return ack({ options: [] })
        return ack({ options: matchingOptions(all(), typed) })
      },
    )
  answer(importFormIds.connection.block, importFormIds.connection.action, 'import', () =>
    importConnectionOptions(importableConnections(deps.engine)),
  )
  answer(exportFormIds.connection.block, exportFormIds.connection.action, 'export', () =>
    exportConnectionOptions(deps.engine.listConnections()),
  )
}
