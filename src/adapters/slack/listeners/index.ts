import type { App } from '@slack/bolt'
import type { SlackDeps } from '../slack-deps.ts'
import { registerJobActions } from './job-actions.ts'
import { registerJobsCommand } from './jobs-command.ts'

/** What the app registers, as data: manifest.yml must declare the same (a test compares them). */
export const slashCommands = ['/jobs'] as const
export const botEvents = [] as const

export function registerListeners(app: App, deps: SlackDeps): void {
  registerJobsCommand(app, deps)
  registerJobActions(app, deps)
}
