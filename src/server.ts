import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { executeCommand, parseCommand } from './adapters/cli/commands.ts'
import { startSchedules } from './adapters/cron/schedules.ts'
import { createHttpApp, type HealthReport } from './adapters/http/http-app.ts'
import { startSlack } from './adapters/slack/start-slack.ts'
import type { Config } from './config.ts'
import type { Logger } from './logger.ts'
import type { Roster } from './roster.ts'

export interface RunningServer {
  port: number
  /** Stops taking requests and jobs, lets running jobs reach a checkpoint, closes the store. */
  close(): Promise<void>
}

/** Serves Roster over HTTP and runs its schedules. Everything it needs is already open in `roster`. */
export async function startServer(roster: Roster, config: Config, logger: Logger): Promise<RunningServer> {
  const { engine } = roster
  const slack = await startSlackIfConfigured(roster, config, logger)
  const app = createHttpApp({
    logger,
    ...(slack?.router ? { routers: [slack.router] } : {}),
    health: () => health(roster, config),
    control: { token: roster.controlToken, execute: (body) => executeCommand(engine, parseCommand(body)) },
    // A CLI import carries its file base64-encoded inside JSON: a third larger, plus room for the envelope.
    controlMaxBytes: Math.ceil(config.limits.importMaxBytes * 1.4) + 64 * 1024,
  })
  const server = await new Promise<Server>((resolve, reject) => {
    const listening = app.listen(config.port, () => resolve(listening)).once('error', reject)
  })
  const port = (server.address() as AddressInfo).port
  await roster.lock.update({ port, controlToken: roster.controlToken })
  engine.start()
  await engine.sweepRetention()
  const schedules = startSchedules(engine, config, logger)
  logger.info(config.backup.cron ? 'backups scheduled' : 'scheduled backups off (BACKUP_CRON=off)', {
    ...(config.backup.cron ? { cron: config.backup.cron, keep: config.backup.keep } : {}),
    dir: join(roster.storeDir, 'backups'),
  })
  return {
    port,
    async close() {
      schedules.stop()
      await slack?.stop()
      await new Promise<void>((resolve) => server.close(() => resolve()))
      await roster.close()
    },
  }
}

function startSlackIfConfigured(roster: Roster, config: Config, logger: Logger) {
  const { botToken, signingSecret, appToken, apiUrl, admins } = config.slack
  if (!botToken || !signingSecret) return undefined
  return startSlack({
    settings: { botToken, signingSecret, appToken, apiUrl },
    bootstrapAdmins: admins,
    engine: roster.engine,
    audit: roster.audit,
    clock: roster.engine.ctx.clock,
    logger,
    storeDir: roster.storeDir,
    importMaxBytes: config.limits.importMaxBytes,
  })
}

function health(roster: Roster, config: Config): HealthReport {
  const jobs = roster.engine.listJobs(Number.MAX_SAFE_INTEGER)
  return {
    ok: true,
    store: { dir: roster.storeDir, users: roster.engine.countUsers() },
    queue: {
      pending: jobs.filter((job) => job.status === 'pending').length,
      processing: jobs.filter((job) => job.status === 'processing').length,
    },
    slack: { configured: Boolean(config.slack.botToken && config.slack.signingSecret) },
    email: { configured: Boolean(config.mail.smtpUrl) },
  }
}

/** One line per integration, so a newcomer sees at start what works and what to set. */
export function describeSetup(config: Config): string[] {
  const lines: string[] = []
  const { slack } = config
  if (slack.botToken && slack.signingSecret) {
    lines.push(`Slack: credentials set (API ${slack.apiUrl}).`)
  } else {
    const missing = [
      !slack.botToken && 'SLACK_BOT_TOKEN',
      !slack.signingSecret && 'SLACK_SIGNING_SECRET',
    ].filter(Boolean)
    lines.push(`Slack: off — ${missing.join(' and ')} not set. Roster runs without it (CLI and HTTP).`)
  }
  lines.push(config.mail.smtpUrl ? 'Email: SMTP_URL set.' : 'Email: off — SMTP_URL not set.')
  return lines
}
