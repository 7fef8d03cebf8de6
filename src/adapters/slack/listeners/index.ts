import type { App } from '@slack/bolt'
import type { SlackDeps } from '../slack-deps.ts'
import { registerConnectionOptions } from './connection-options.ts'
import { registerExportCommand } from './export-command.ts'
import { registerExportSubmission } from './export-submission.ts'
import { registerImportListeners } from './import-listeners.ts'
import { registerJobActions } from './job-actions.ts'
import { registerJobPages } from './job-pages.ts'
import { registerJobsCommand } from './jobs-command.ts'

/** What the app registers, as data: manifest.yml must declare the same (a test compares them). */
export const slashCommands = ['/export', '/import', '/jobs'] as const
export const botEvents = ['message.channels', 'message.groups'] as const

/**
 * Least privilege: each scope a Web API call or event of the app needs. `commands` — the slash commands;
 * `chat:write` — postMessage/update/postEphemeral; `files:read` — files.info and downloading dropped files;
 * `files:write` — uploading exports and error reports; `channels:history`/`groups:history` — the message
 * events that carry file drops in public/private channels.
 */
export const botScopes = [
  'commands',
  'chat:write',
  'files:read',
  'files:write',
  'channels:history',
  'groups:history',
] as const

/** Returns what removes the listeners' engine subscriptions: Bolt has no way to unregister the listeners. */
export function registerListeners(app: App, deps: SlackDeps): () => void {
  registerJobsCommand(app, deps)
  registerJobActions(app, deps)
  registerJobPages(app, deps)
  const stopImports = registerImportListeners(app, deps)
  registerExportCommand(app, deps)
  registerExportSubmission(app, deps)
  registerConnectionOptions(app, deps)
  return stopImports
}
