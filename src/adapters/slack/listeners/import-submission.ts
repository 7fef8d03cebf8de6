import type { App } from '@slack/bolt'
import { denialText } from '../../../domain/access/roles.ts'
import { checkImportTarget, findConnection } from '../../../domain/connections/connection.ts'
import {
  type ImportForm,
  type ImportModalMetadata,
  importFormIds,
  importModalCallbackId,
  readImportForm,
  readImportMetadata,
} from '../blocks/import-modal.ts'
import { userText } from '../blocks/slack-text.ts'
import type { SlackDeps } from '../slack-deps.ts'
import { isUsersFileName, tooLargeError, usersFileKinds } from '../slack-files.ts'
import { type ImportFlow, importableConnections, noImportTarget } from './import-flow.ts'
import { tellUser } from './reply.ts'

/**
 * The import dialog's submission. Checked before the ack, for the person submitting (the role may have changed
 * since the dialog opened): the role, then what the dialog itself can show next to its fields (no file, a file
 * of the wrong kind or over the size limit by its metadata, no connection). Everything slow — the download, the
 * engine — runs after the ack.
 */
export function registerImportSubmission(app: App, deps: SlackDeps, flow: ImportFlow): void {
  app.view(importModalCallbackId, async ({ ack, body, view, client, context }) => {
    const user = body.user.id
    const metadata = readImportMetadata(view.private_metadata)
    if (!metadata) {
      await ack()
      deps.logger.warn('import dialog came back without valid metadata', { user })
      await client.chat
        .postMessage({
          channel: user,
          text: ':warning: The import dialog came back damaged. Run `/import` again.',
        })
        .catch((error: unknown) =>
          deps.logger.warn('could not tell that the import dialog came back damaged', { user, error }),
        )
      return
    }
    const decision = await deps.access.check(user, 'import', metadata.channel, metadata.file?.id)
    if (!decision.allowed) {
      await ack()
      await tellUser(deps, client, { channel: metadata.channel, user }, denialText('import', decision.role))
      return
    }
    const form = readImportForm(view.state.values)
    const errors = formErrors(deps, form, metadata)
    if (errors) return ack({ response_action: 'errors', errors })
    await ack()
    const file = metadata.file ?? form.file
    if (!file || !form.connectionId) return
    if (!context.botToken) {
      deps.logger.error('no bot token in the listener context: cannot download the file', { user })
      return
    }
    await flow.startDryRun(client, {
      user,
      channel: metadata.channel,
      fileId: file.id,
      connectionId: form.connectionId,
      options: form.options,
      botToken: context.botToken,
    })
  })
}

/** Problems shown next to the dialog's fields (by block id), or undefined when it may go ahead. */
function formErrors(
  deps: SlackDeps,
  form: ImportForm,
  metadata: ImportModalMetadata,
): Record<string, string> | undefined {
  const errors: Record<string, string> = {}
  // A dropped file has no field to show an error at: it is checked from files.info after the ack.
  if (!metadata.file) {
    const file = form.file
    if (!file) errors[importFormIds.file.block] = `Choose ${usersFileKinds}.`
    else if (!isUsersFileName(file.name))
      errors[importFormIds.file.block] = `${userText(file.name, 200)} is not ${usersFileKinds}.`
    else if ((file.size ?? 0) > deps.importMaxBytes)
      errors[importFormIds.file.block] = tooLargeError(deps.importMaxBytes).message
  }
  // The connection may have changed since the dialog opened: Auth0's refusal says how.
  const connection = form.connectionId
    ? findConnection(deps.engine.listConnections(), form.connectionId)
    : undefined
  const refusal = connection ? checkImportTarget(connection) : null
  if (refusal) errors[importFormIds.connection.block] = refusal.message
  else if (!connection) {
    errors[importFormIds.connection.block] =
      importableConnections(deps.engine).length === 0
        ? noImportTarget
        : 'Choose a connection that accepts imports.'
  }
  return Object.keys(errors).length > 0 ? errors : undefined
}
