import { join } from 'node:path'
import type { Router } from 'express'
import type { Engine } from '../../engine/engine.ts'
import type { AuditLog, Clock } from '../../engine/ports.ts'
import type { Logger } from '../../logger.ts'
import { openNotificationStores, type SlackNotificationStores } from '../notification-stores.ts'
import { openAccessControl } from './access-control.ts'
import { type JobNotifier, type NotifierTuning, startJobNotifier } from './notifier/job-notifier.ts'
import { createSlackApp, type SlackSettings, slackRetryOf } from './slack-app.ts'
import type { SlackDeps } from './slack-deps.ts'

export interface SlackOptions {
  settings: SlackSettings
  /** Slack user ids that are admins whatever access.json says. */
  bootstrapAdmins: readonly string[]
  engine: Engine
  audit: AuditLog
  clock: Clock
  logger: Logger
  storeDir: string
  /** PostgreSQL: the access mapping is the catalog's (shared by every replica), not STORE_DIR/access.json. */
  accessInCatalog?: boolean
  /**
   * Thread links, outbox and replay keys (see `openNotificationStores`), opened and closed by the caller. Absent:
   * STORE_DIR's files, opened here.
   */
  stores?: SlackNotificationStores
  importMaxBytes: number
  /** Timings of the job notifier (retry backoff, throttles); production defaults when absent. */
  notifier?: NotifierTuning
  /** First wait before `auth.test` is tried again when Slack did not answer at start. Default 5000 ms. */
  reconnectMs?: number
}

/** Programmatic tuning of the Slack side (tests: fast retries), passed through `startServer`. */
export type SlackTuning = Pick<SlackSettings, 'retries' | 'minTimeoutMs'> &
  Pick<SlackOptions, 'notifier' | 'reconnectMs'>

export interface RunningSlack {
  /** HTTP mode: mount on Roster's express app. */
  router?: Router
  deps: SlackDeps
  stop(): Promise<void>
}

/**
 * Builds the Slack side of Roster: access control (`STORE_DIR/access.json`), the job → thread registry (given in
 * `stores`, or STORE_DIR's), the Bolt
 * app and its listeners. `auth.test` is tried at start; if Slack cannot be reached, Roster keeps running and tries
 * again, so Slack being down never takes the CLI and the HTTP API with it.
 */
export async function startSlack(options: SlackOptions): Promise<RunningSlack> {
  const { logger } = options
  let botUserId: string | undefined
  // The listeners are registered before the notifier exists (it needs the app's client); they run only once
  // Slack delivers requests, after it started.
  let notifier: JobNotifier | undefined
  const stores =
    options.stores ??
    (await openNotificationStores({ storeDir: options.storeDir }, { logger, slack: true })).slack
  if (!stores) throw new Error('the Slack notification stores were not opened')
  const notStarted = () => new Error('the Slack notifier has not started')
  const deps: SlackDeps = {
    engine: options.engine,
    access: openAccessControl({
      file: join(options.storeDir, 'access.json'),
      ...(options.accessInCatalog ? { catalog: options.engine.ctx.catalog } : {}),
      bootstrapAdmins: options.bootstrapAdmins,
      audit: options.audit,
      clock: options.clock,
      logger,
    }),
    logger,
    importMaxBytes: options.importMaxBytes,
    threads: stores.threads,
    replay: stores.replay,
    botUserId: () => botUserId,
    retry: slackRetryOf(options.settings),
    outbox: {
      keep: (items) => (notifier ? notifier.keep(items) : Promise.reject(notStarted())),
      knows: (id) => notifier?.knows(id) ?? Promise.resolve(false),
    },
  }
  const slack = createSlackApp(options.settings, deps)
  // Subscribed before the engine starts (the server starts it after Slack), so no job event is missed.
  notifier = await startJobNotifier({
    deps,
    client: slack.app.client,
    outbox: stores.outbox,
    ...options.notifier,
  })
  let retry: NodeJS.Timeout | undefined
  let stopped = false
  const connect = async (delayMs: number) => {
    try {
      await slack.start()
      const auth = await slack.app.client.auth.test()
      botUserId = auth.user_id
      logger.info('Slack connected', {
        team: auth.team,
        bot: auth.user,
        mode: options.settings.appToken ? 'socket' : 'http',
      })
    } catch (error) {
      if (stopped) return
      logger.error('Slack is not reachable yet; retrying', { error, retryInMs: delayMs })
      retry = setTimeout(() => void connect(Math.min(delayMs * 2, 300_000)), delayMs)
      retry.unref()
    }
  }
  await connect(options.reconnectMs ?? 5_000)
  return {
    ...(slack.router ? { router: slack.router } : {}),
    deps,
    async stop() {
      stopped = true
      clearTimeout(retry)
      // Requests and the listeners' job events stop first, so none of them hands the notifier work once it stopped.
      await slack.stop()
      await notifier?.stop()
    },
  }
}
