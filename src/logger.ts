import { redactSecrets } from './domain/users/secrets.ts'

/**
 * Structured logs: one JSON object per line on stderr. Fields go through Roster's one redaction
 * (`domain/users/secrets.ts`), at any depth: a token, a password hash or a TOTP secret never reaches a log line.
 */
export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void
  info(message: string, fields?: Record<string, unknown>): void
  warn(message: string, fields?: Record<string, unknown>): void
  error(message: string, fields?: Record<string, unknown>): void
}

export const logLevels = ['debug', 'info', 'warn', 'error', 'silent'] as const
export type LogLevel = (typeof logLevels)[number]

export function createLogger(
  level: LogLevel,
  write: (line: string) => void = (line) => process.stderr.write(line),
): Logger {
  const threshold = logLevels.indexOf(level)
  const log = (at: LogLevel) => (message: string, fields?: Record<string, unknown>) => {
    if (logLevels.indexOf(at) < threshold) return
    const entry = {
      time: new Date().toISOString(),
      level: at,
      msg: message,
      ...(redactSecrets(fields) as object),
    }
    write(`${JSON.stringify(entry)}\n`)
  }
  return { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') }
}

export const silentLogger: Logger = createLogger('silent')
