import { loadConfig, readEnvironment } from './config.ts'
import { AppError } from './errors.ts'
import { createLogger } from './logger.ts'
import { openRoster } from './roster.ts'
import { describeSetup, startServer } from './server.ts'

/** `npm start`: configuration → store → engine → HTTP and schedules; SIGTERM/SIGINT shut down cleanly. */
async function main(): Promise<void> {
  const settings = readEnvironment()
  const config = loadConfig(settings.env)
  const logger = createLogger(config.logLevel)
  if (settings.file)
    logger.info('settings read from .env (environment variables win)', { file: settings.file })
  // Signals are heard from the first moment: one arriving during start-up shuts down as soon as there is a
  // server to close, instead of killing the process with the store half-open.
  let stopRequested: string | undefined
  let stop: ((signal: string) => void) | undefined
  const onSignal = (signal: string) => {
    if (stopRequested) {
      // A second Ctrl-C while jobs reach their checkpoint: the person wants out now. The lock is left behind and
      // taken over at the next start; an interrupted job resumes from its last durable chunk.
      process.stderr.write(`roster: ${signal} again: stopping now, without waiting for running jobs\n`)
      process.exit(130)
    }
    stopRequested = signal
    stop?.(signal)
  }
  process.on('SIGTERM', () => onSignal('SIGTERM'))
  process.on('SIGINT', () => onSignal('SIGINT'))

  const roster = await openRoster(config, { logger })
  const server = await startServer(roster, config, logger).catch(async (error: unknown) => {
    // Nothing is serving: release the store at once, so the next start (on a free port) needs no takeover.
    await roster.close()
    throw error
  })
  stop = (signal) => {
    logger.info('shutting down', { signal })
    server.close().then(
      () => process.exit(0),
      (error) => {
        logger.error('shutdown failed', { error })
        process.exit(1)
      },
    )
  }
  if (stopRequested) return stop(stopRequested)
  logger.info('Roster is running', {
    url: `http://localhost:${server.port}`,
    store: roster.stores.where,
    // On PostgreSQL a count of the users reads the whole table (seconds at a million): not worth a start-up line.
    ...(roster.engine.ctx.tenant
      ? { directory: roster.engine.ctx.tenant.domain }
      : roster.stores.kind === 'postgres'
        ? {}
        : { users: await roster.engine.countUsers() }),
    connections: roster.engine.listConnections().length,
  })
  for (const line of describeSetup(config)) logger.info(line)
}

main().catch((error) => {
  // Configuration and lock problems are for the person starting Roster: say what and how to fix, no stack.
  // So are system errors (a STORE_DIR that cannot be created or written): their message names the path. Only a
  // bug shows its stack.
  const message =
    error instanceof AppError
      ? error.message
      : error instanceof Error && typeof (error as NodeJS.ErrnoException).code === 'string'
        ? error.message
        : error instanceof Error
          ? (error.stack ?? error.message)
          : String(error)
  process.stderr.write(`roster: ${message}\n`)
  process.exit(1)
})
