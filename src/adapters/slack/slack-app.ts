import { App, type Logger as BoltLogger, ExpressReceiver, LogLevel } from '@slack/bolt'
import express, { type Router } from 'express'
import type { Logger } from '../../logger.ts'
import { defaultSlackRetry, type SlackRetry } from './http-retry.ts'
import { registerListeners } from './listeners/index.ts'
import { replayGuard } from './replay-guard.ts'
import type { SlackDeps } from './slack-deps.ts'

export interface SlackSettings {
  botToken: string
  signingSecret: string
  /** `xapp-…`: Socket Mode instead of HTTP (no public URL needed). */
  appToken?: string | undefined
  /** Web API base URL: Slack's, or an emulator's. */
  apiUrl: string
  /** Retries of failed Web API calls (429s honour Retry-After). Default 3; tests use 0. */
  retries?: number
  /** Wait before the first retry, doubled at each further one. Default 500 ms; fault tests use a few ms. */
  minTimeoutMs?: number
}

/** The retry policy of every Slack call: the WebClient's, and Roster's own for `response_url` and downloads. */
export function slackRetryOf(settings: Pick<SlackSettings, 'retries' | 'minTimeoutMs'>): SlackRetry {
  return {
    ...defaultSlackRetry,
    ...(settings.retries === undefined ? {} : { retries: settings.retries }),
    ...(settings.minTimeoutMs === undefined ? {} : { minTimeoutMs: settings.minTimeoutMs }),
  }
}

export interface SlackApp {
  app: App
  /** HTTP mode: serves `POST /slack/events`; mount it on Roster's express app before any body parser. */
  router?: Router
  /** Checks the token (`auth.test`) and, in Socket Mode, connects. */
  start(): Promise<void>
  stop(): Promise<void>
}

/**
 * The Bolt app: HTTP mode on Roster's own server (one request URL for commands, events and interactivity) or
 * Socket Mode. Bolt checks every request's signature; nothing here turns that off.
 */
export function createSlackApp(settings: SlackSettings, deps: SlackDeps): SlackApp {
  const retry = slackRetryOf(settings)
  const clientOptions = {
    slackApiUrl: settings.apiUrl,
    retryConfig: {
      retries: retry.retries,
      factor: 2,
      minTimeout: retry.minTimeoutMs,
      maxTimeout: retry.maxTimeoutMs,
    },
  }
  const logger = boltLogger(deps.logger)
  let app: App
  let router: Router | undefined
  if (settings.appToken) {
    app = new App({
      token: settings.botToken,
      appToken: settings.appToken,
      socketMode: true,
      clientOptions,
      logger,
      deferInitialization: true,
    })
  } else {
    router = express.Router()
    const receiver = new ExpressReceiver({
      signingSecret: settings.signingSecret,
      router,
      endpoints: '/slack/events',
      logger,
    })
    app = new App({ token: settings.botToken, receiver, clientOptions, logger, deferInitialization: true })
  }
  app.error(async (error) => {
    deps.logger.error('slack listener failed', { code: (error as { code?: string }).code, error })
  })
  // Before every listener: a replayed signed request or a retried event runs once (replay-guard.ts).
  app.use(replayGuard(deps.logger, deps.replay))
  const unsubscribe = registerListeners(app, deps)
  return {
    app,
    ...(router ? { router } : {}),
    async start() {
      await app.init()
      if (settings.appToken) await app.start()
    },
    async stop() {
      // Listeners hear no more job events: a job finishing during shutdown plans nothing into a stopped notifier.
      unsubscribe()
      if (settings.appToken) await app.stop()
    },
  }
}

/** Bolt's logs go through Roster's logger, which redacts secrets. */
function boltLogger(logger: Logger): BoltLogger {
  let level = LogLevel.INFO
  const text = (parts: unknown[]) =>
    parts.map((p) => (typeof p === 'string' ? p : JSON.stringify(p))).join(' ')
  return {
    debug: (...parts) => logger.debug(text(parts), { from: 'bolt' }),
    info: (...parts) => logger.info(text(parts), { from: 'bolt' }),
    warn: (...parts) => logger.warn(text(parts), { from: 'bolt' }),
    error: (...parts) => logger.error(text(parts), { from: 'bolt' }),
    setLevel: (next) => {
      level = next
    },
    getLevel: () => level,
    setName: () => undefined,
  }
}
