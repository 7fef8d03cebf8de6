import { join } from 'node:path'
import type { Router } from 'express'
import type { Engine } from '../../engine/engine.ts'
import type { AuditLog, Clock } from '../../engine/ports.ts'
import type { Logger } from '../../logger.ts'
import { openAccessControl } from './access-control.ts'
import { openJobThreads } from './job-threads.ts'
import { type NotifierTuning, startJobNotifier } from './notifier/job-notifier.ts'
import { createSlackApp, type SlackSettings } from './slack-app.ts'
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
  importMaxBytes: number
  /** Timings of the job notifier (retry backoff, throttles); production defaults when absent. */
  notifier?: NotifierTuning
}

export interface RunningSlack {
  /** HTTP mode: mount on Roster's express app. */
  router?: Router
  deps: SlackDeps
  stop(): Promise<void>
}

/**
 * Builds the Slack side of Roster: access control (`STORE_DIR/access.json`), the job → thread registry, the Bolt
 * app and its listeners. `auth.test` is tried at start; if Slack cannot be reached, Roster keeps running and tries
 * again, so Slack being down never takes the CLI and the HTTP API with it.
 */
export async function startSlack(options: SlackOptions): Promise<RunningSlack> {
  const { logger } = options
  let botUserId: string | undefined
  const deps: SlackDeps = {
    engine: options.engine,
    access: openAccessControl({
      file: join(options.storeDir, 'access.json'),
      bootstrapAdmins: options.bootstrapAdmins,
      audit: options.audit,
      clock: options.clock,
      logger,
    }),
    logger,
    importMaxBytes: options.importMaxBytes,
    threads: await openJobThreads(join(options.storeDir, 'slack-threads.json')),
    botUserId: () => botUserId,
  }
  const slack = createSlackApp(options.settings, deps)
  // Subscribed before the engine starts (the server starts it after Slack), so no job event is missed.
  const notifier = await startJobNotifier({
    deps,
    client: slack.app.client,
    storeDir: options.storeDir,
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
  await connect(5_000)
  return {
    ...(slack.router ? { router: slack.router } : {}),
    deps,
    async stop() {
      stopped = true
      clearTimeout(retry)
      await notifier.stop()
      await slack.stop()
    },
  }
}
