import type { App } from '@slack/bolt'
import type { SlackDeps } from '../slack-deps.ts'
import { registerFileDrop } from './file-drop.ts'
import { registerImportActions } from './import-actions.ts'
import { registerImportCommand } from './import-command.ts'
import { createImportFlow } from './import-flow.ts'
import { registerImportSubmission } from './import-submission.ts'

/**
 * Everything of the import flow: `/import`, its dialog, the preview's buttons and file drops. Returns what removes
 * its engine subscription, for when Slack stops.
 */
export function registerImportListeners(app: App, deps: SlackDeps): () => void {
  const flow = createImportFlow(deps)
  registerImportCommand(app, deps)
  registerImportSubmission(app, deps, flow)
  registerImportActions(app, deps)
  registerFileDrop(app, deps)
  return () => flow.stop()
}
