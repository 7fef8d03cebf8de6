import { randomBytes } from 'node:crypto'
import { rm, writeFile } from 'node:fs/promises'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import type { CommandContext } from './adapters/cli/commands.ts'
import { startSchedules } from './adapters/cron/schedules.ts'
import { createApiRouter } from './adapters/http/api-router.ts'
import { createHttpApp, type HealthReport } from './adapters/http/http-app.ts'
import { createLinkSigner } from './adapters/http/signed-links.ts'
import { type CompletionNotifier, createCompletionNotifier } from './adapters/mail/completion-notifier.ts'
import { createMailer } from './adapters/mail/mailer.ts'
import {
  type NotificationStoreLocation,
  openNotificationStores,
  type SlackNotificationStores,
} from './adapters/notification-stores.ts'
import type { SlackTuning } from './adapters/slack/start-slack.ts'
import type { Config } from './config.ts'
import { downloadName } from './domain/api/export-format.ts'
import { type DirectoryHealth, directoryHealth } from './engine/tenant/directory-health.ts'
import { AppError } from './errors.ts'
import type { Logger } from './logger.ts'
import type { Roster } from './roster.ts'

export interface RunningServer {
  port: number
  /** Stops taking requests and jobs, lets running jobs reach a checkpoint, closes the store. */
  close(): Promise<void>
}

export interface ServerTuning {
  /** Slack retry and notifier timings; production defaults when absent (tests make them short). */
  slack?: SlackTuning
  /**
   * Where the notification stores are (see `openNotificationStores`). Default: the store's own (STORE_DIR's
   * files, or the PostgreSQL store's pool).
   */
  notificationStore?: NotificationStoreLocation
}

/** Serves Roster over HTTP and runs its schedules. Everything it needs is already open in `roster`. */
export async function startServer(
  roster: Roster,
  config: Config,
  logger: Logger,
  tuning: ServerTuning = {},
): Promise<RunningServer> {
  const { engine } = roster
  const slackConfigured = Boolean(config.slack.botToken && config.slack.signingSecret)
  // On PostgreSQL the notification stores are tables on the store's own pool, shared with the other replicas, and
  // this replica claims what it sends under the id it claims jobs with.
  const notifications = await openNotificationStores(
    tuning.notificationStore ?? roster.stores.postgres ?? { storeDir: roster.storeDir },
    {
      logger,
      slack: slackConfigured,
      ...(engine.ctx.replica ? { replicaId: engine.ctx.replica.id } : {}),
      // JOB_LEASE_SECONDS also bounds how long a dead replica's claimed notifications wait for another sender.
      ...(config.limits.leaseMs === undefined ? {} : { claimMs: config.limits.leaseMs }),
    },
  )
  let slack: Awaited<ReturnType<typeof startSlackIfConfigured>>
  try {
    slack = await startSlackIfConfigured(roster, config, logger, notifications.slack, tuning.slack)
  } catch (error) {
    await notifications.close()
    throw error
  }
  // Known once the server listens (PORT=0 picks one): links and emails are made later than that.
  let publicUrl = config.publicUrl ?? `http://localhost:${config.port}`
  const signer = createLinkSigner(randomBytes(32))
  const api = createApiRouter({
    engine,
    audit: roster.audit,
    logger,
    limits: config.limits,
    signer,
    publicUrl: () => publicUrl,
    publicUrlSet: config.publicUrl !== undefined,
    ...(config.apiRateLimit === undefined ? {} : { rateLimitPerSecond: config.apiRateLimit }),
    ...(config.apiTenantRateLimit === undefined
      ? {}
      : { tenantRateLimitPerSecond: config.apiTenantRateLimit }),
    faults: config.apiFaults,
  })
  // `roster job <id> --json` through this server carries the download link GET /api/v2/jobs/{id} would.
  const commandContext: CommandContext = {
    exportLink: (job) =>
      job.type === 'users_export' && job.result
        ? `${publicUrl}${signer.sign(job.id, downloadName(job.result.fileName), engine.ctx.clock.now().getTime())}`
        : undefined,
  }
  const outboxDir = join(roster.storeDir, 'outbox')
  const notifier = createCompletionNotifier({
    engine,
    mailer: createMailer({ smtpUrl: config.mail.smtpUrl, from: config.mail.from, outboxDir }),
    outbox: notifications.mail,
    logger,
    publicUrl: () => publicUrl,
    retentionHours: config.limits.retentionHours,
  })
  const directory = directoryHealth(engine.ctx)
  const app = createHttpApp({
    logger,
    routers: [...(slack?.router ? [slack.router] : []), api],
    health: () => health(roster, config, notifier, directory),
    control: {
      token: roster.controlToken,
      // The CLI's commands are loaded at the first command, not at start.
      execute: async (body) => {
        const { executeCommand, parseCommand } = await import('./adapters/cli/commands.ts')
        return executeCommand(engine, parseCommand(body), commandContext)
      },
    },
    // A CLI import carries its file base64-encoded inside JSON: a third larger, plus room for the envelope.
    controlMaxBytes: Math.ceil(config.limits.importMaxBytes * 1.4) + 64 * 1024,
  })
  let server: Server
  try {
    server = await listen(app, config.port)
  } catch (error) {
    await slack?.stop()
    await notifications.close()
    throw error
  }
  const port = (server.address() as AddressInfo).port
  publicUrl = config.publicUrl ?? `http://localhost:${port}`
  await roster.lock.update({ port, controlToken: roster.controlToken })
  engine.start()
  await notifier.start()
  if (!config.mail.smtpUrl) logger.info('completion emails are written as .eml files', { dir: outboxDir })
  await engine.sweepRetention()
  const schedules = startSchedules(engine, config, logger)
  logger.info(config.backup.cron ? 'backups scheduled' : 'scheduled backups off (BACKUP_CRON=off)', {
    ...(config.backup.cron ? { cron: config.backup.cron, keep: config.backup.keep } : {}),
    dir: roster.stores.kind === 'postgres' ? roster.stores.where : join(roster.storeDir, 'backups'),
  })
  return {
    port,
    async close() {
      schedules.stop()
      await slack?.stop()
      await new Promise<void>((resolve) => server.close(() => resolve()))
      // Jobs reach a checkpoint first: one that finishes meanwhile still queues its email, sent at next start.
      await engine.stop()
      await notifier.close()
      await notifications.close()
      await roster.close()
    },
  }
}

/**
 * Express 5 hands a listen error to the callback (the server then has no address): a port in use or one that
 * needs privileges becomes a message that names the port and the setting to change, not a stack trace.
 */
function listen(app: ReturnType<typeof createHttpApp>, port: number): Promise<Server> {
  return new Promise<Server>((resolve, reject) => {
    const listening: Server = app.listen(port, (error?: Error) => {
      if (!error) return resolve(listening)
      const code = (error as NodeJS.ErrnoException).code
      if (code === 'EADDRINUSE') {
        return reject(
          new AppError(
            'port_unavailable',
            `Port ${port} is in use (another Roster, or another program, listens on it); set PORT=… to a free ` +
              'port (PORT=0 picks one), or stop what uses it.',
          ),
        )
      }
      if (code === 'EACCES') {
        return reject(
          new AppError(
            'port_unavailable',
            `Port ${port} needs privileges this process does not have; set PORT=… to a port above 1023.`,
          ),
        )
      }
      reject(error)
    })
  })
}

async function startSlackIfConfigured(
  roster: Roster,
  config: Config,
  logger: Logger,
  stores: SlackNotificationStores | undefined,
  tuning: SlackTuning = {},
) {
  const { botToken, signingSecret, appToken, apiUrl, admins } = config.slack
  if (!botToken || !signingSecret || !stores) return undefined
  const { retries, minTimeoutMs, ...options } = tuning
  // Bolt and its clients are the largest part of the code Roster loads: loaded only when Slack is configured (a
  // replica serving the API alone starts sooner).
  const { startSlack } = await import('./adapters/slack/start-slack.ts')
  return startSlack({
    ...options,
    settings: {
      botToken,
      signingSecret,
      appToken,
      apiUrl,
      ...(retries === undefined ? {} : { retries }),
      ...(minTimeoutMs === undefined ? {} : { minTimeoutMs }),
    },
    bootstrapAdmins: admins,
    engine: roster.engine,
    audit: roster.audit,
    clock: roster.engine.ctx.clock,
    logger,
    storeDir: roster.storeDir,
    accessInCatalog: roster.stores.kind === 'postgres',
    stores,
    importMaxBytes: config.limits.importMaxBytes,
  })
}

async function health(
  roster: Roster,
  config: Config,
  notifier: CompletionNotifier,
  directory: () => Promise<DirectoryHealth>,
): Promise<HealthReport> {
  const jobs = roster.engine.listJobs(Number.MAX_SAFE_INTEGER)
  const { kind, where, postgres } = roster.stores
  const [writable, directoryReport, users, reachable] = await Promise.all([
    storeWritable(roster.storeDir),
    directory(),
    // The embedded store counts its users in memory. On PostgreSQL a count(*) reads the whole table (seconds at a
    // million users, on every probe of a load balancer): the probe asks the database for `SELECT 1` instead.
    postgres ? undefined : roster.engine.ctx.users.count().catch(() => undefined),
    // A database that does not answer makes the probe fail (503), not the request (500).
    postgres
      ? postgres.pool.query('SELECT 1').then(
          () => true,
          () => false,
        )
      : true,
  ])
  return {
    // Roster's own health: a tenant that does not answer shows in `directory`, without failing the probe (a
    // restart of Roster would not bring the tenant back).
    ok: writable && reachable && (postgres !== undefined || users !== undefined),
    // The store's users: none in front of an Auth0 tenant (the tenant holds them). On PostgreSQL, `dir` is this
    // process's local folder and `database` the store (its password hidden), with no count of its users.
    store: {
      kind,
      ...(kind === 'postgres' ? { database: where, reachable } : {}),
      dir: roster.storeDir,
      writable,
      ...(users === undefined ? {} : { users }),
    },
    directory: directoryReport,
    queue: {
      pending: jobs.filter((job) => job.status === 'pending').length,
      processing: jobs.filter((job) => job.status === 'processing').length,
    },
    slack: { configured: Boolean(config.slack.botToken && config.slack.signingSecret) },
    email: {
      configured: Boolean(config.mail.smtpUrl),
      via: config.mail.smtpUrl ? 'smtp' : 'outbox',
      queued: await notifier.pending(),
    },
  }
}

/** Whether a file can be written in the store now (a full disk or a read-only mount says no). */
async function storeWritable(storeDir: string): Promise<boolean> {
  const probe = join(storeDir, `.healthz-${process.pid}`)
  try {
    await writeFile(probe, 'ok', { mode: 0o600 })
    await rm(probe, { force: true })
    return true
  } catch {
    return false
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
  const { auth0 } = config
  if (auth0) {
    const via =
      auth0.credentials.kind === 'token' ? 'AUTH0_TOKEN' : `application ${auth0.credentials.clientId}`
    const where = auth0.baseUrlIsDefault ? '' : ` at ${auth0.baseUrl}`
    lines.push(`Directory: the Auth0 tenant ${auth0.domain}${where} (${via}).`)
  } else {
    lines.push(
      config.databaseUrl === undefined
        ? 'Directory: the embedded store (AUTH0_DOMAIN not set).'
        : "Directory: Roster's store on PostgreSQL, DATABASE_URL (AUTH0_DOMAIN not set).",
    )
  }
  return lines
}
