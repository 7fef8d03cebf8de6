import type { Engine } from '../../engine/engine.ts'
import type { Logger } from '../../logger.ts'
import type { AccessControl } from './access-control.ts'
import type { SlackRetry } from './http-retry.ts'
import type { JobThreads } from './job-threads.ts'
import type { ListenerOutbox } from './notifier/outbox.ts'
import type { ReplayKeys } from './replay-guard.ts'

/** What every Slack listener may use. Listeners call engine use cases; they hold no import logic of their own. */
export interface SlackDeps {
  engine: Engine
  access: AccessControl
  logger: Logger
  /** Largest users file accepted: dropped files over it are refused before download. */
  importMaxBytes: number
  /** Job → Slack thread. */
  threads: JobThreads
  /** The bot's own user id (from auth.test): its own uploads are ignored. */
  botUserId: () => string | undefined
  /** Retries of Slack calls Roster makes without the WebClient (`response_url`, downloads): the same policy. */
  retry: SlackRetry
  /** Where messages that must not be lost go when Slack did not take them: the job notifier's outbox. */
  outbox: ListenerOutbox
  /** Slack requests already handled (the replay guard): in memory, or shared by replicas. Default: in memory. */
  replay?: ReplayKeys
}
