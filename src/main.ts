import { loadConfig } from './config.ts'
import { AppError } from './errors.ts'
import { createLogger } from './logger.ts'
import { openRoster } from './roster.ts'
import { describeSetup, startServer } from './server.ts'

/** `npm start`: configuration → store → engine → HTTP and schedules; SIGTERM/SIGINT shut down cleanly. */
async function main(): Promise<void> {
  const config = loadConfig(process.env)
  const logger = createLogger(config.logLevel)
  const roster = await openRoster(config, { logger })
  const server = await startServer(roster, config, logger)
  logger.info('Roster is running', {
    url: `http://localhost:${server.port}`,
    store: roster.storeDir,
    users: roster.engine.countUsers(),
    connections: roster.engine.listConnections().length,
  })
  for (const line of describeSetup(config)) logger.info(line)

  let closing = false
  const shutdown = (signal: string) => {
    if (closing) return
    closing = true
    logger.info('shutting down', { signal })
    server.close().then(
      () => process.exit(0),
      (error) => {
        logger.error('shutdown failed', { error })
        process.exit(1)
      },
    )
  }
  process.on('SIGTERM', () => shutdown('SIGTERM'))
  process.on('SIGINT', () => shutdown('SIGINT'))
}

main().catch((error) => {
  // Configuration and lock problems are for the person starting Roster: say what and how to fix, no stack.
  const message =
    error instanceof AppError
      ? error.message
      : error instanceof Error
        ? (error.stack ?? error.message)
        : String(error)
  process.stderr.write(`roster: ${message}\n`)
  process.exit(1)
})
