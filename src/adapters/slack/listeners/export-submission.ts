import type { App } from '@slack/bolt'
import { denialText } from '../../../domain/access/roles.ts'
import { findConnection } from '../../../domain/connections/connection.ts'
import {
  exportFormIds,
  exportModalCallbackId,
  exportModalMetadataSchema,
  readExportModal,
} from '../blocks/export-modal.ts'
import { plainText, slackLimits } from '../blocks/slack-text.ts'
import type { SlackDeps } from '../slack-deps.ts'
import { parseFieldLines } from './export-args.ts'
import { startExport } from './export-start.ts'
import { tellUser } from './reply.ts'

/**
 * The export dialog's submission. Everything that can be wrong with it (role, connection, field lines) is found
 * before the ack, in memory, and shown on the dialog itself; the job starts after the ack.
 */
export function registerExportSubmission(app: App, deps: SlackDeps): void {
  app.view(exportModalCallbackId, async ({ ack, body, view, client }) => {
    const user = body.user.id
    const fail = (block: string, message: string) =>
      ack({ response_action: 'errors', errors: { [block]: plainText(message, slackLimits.viewError) } })
    const metadata = exportModalMetadataSchema.safeParse(safeJson(view.private_metadata))
    if (!metadata.success)
      return fail(exportFormIds.connection.block, 'This dialog is out of date: run /export again.')
    const { channel } = metadata.data
    const decision = await deps.access.check(user, 'export', channel)
    if (!decision.allowed) return fail(exportFormIds.connection.block, denialText('export', decision.role))
    const values = readExportModal(view.state.values)
    if (!values) return fail(exportFormIds.connection.block, 'This dialog is out of date: run /export again.')
    const connection =
      values.connection === undefined
        ? undefined
        : findConnection(deps.engine.listConnections(), values.connection)
    if (values.connection !== undefined && !connection) {
      return fail(exportFormIds.connection.block, 'That connection no longer exists: pick another.')
    }
    const fields = parseFieldLines(values.fieldLines, values.defaultFields)
    if (!fields.ok) return fail(exportFormIds.fields.block, fields.problem)
    await ack()
    const started = await startExport(deps, client, {
      channel,
      user,
      choice: {
        connection,
        format: values.format,
        sample: values.sample,
        gzip: values.gzip,
        ...(fields.value ? { fields: fields.value } : {}),
      },
    })
    if (!started.ok) await tellUser(deps, client, { channel, user }, started.problem)
    else if (started.note) await tellUser(deps, client, { channel, user }, started.note)
  })
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}
