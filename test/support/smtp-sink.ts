import type { AddressInfo } from 'node:net'
import { type ParsedMail, simpleParser } from 'mailparser'
import { SMTPServer } from 'smtp-server'

/**
 * A real SMTP server on 127.0.0.1 (the `smtp-server` package) that keeps every message it accepts, parsed with
 * `mailparser`. It can refuse the next N messages with a temporary error (451), as a mail server under load
 * does, so retries are tested against the real protocol. Tests wait on `next()` with a timeout; they never sleep.
 */
export interface SmtpSink {
  url: string
  messages: ParsedMail[]
  /** Envelope recipients of each accepted message, in order. */
  recipients: string[][]
  /** Refuse the next `count` messages with `451 Try again later`. */
  refuseNext(count: number): void
  /** Resolves with the next accepted message (or an already received one not yet taken). */
  next(timeoutMs?: number): Promise<ParsedMail>
  close(): Promise<void>
}

export async function startSmtpSink(): Promise<SmtpSink> {
  const messages: ParsedMail[] = []
  const recipients: string[][] = []
  const waiting: ((mail: ParsedMail) => void)[] = []
  let taken = 0
  let refusals = 0
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, session, callback) {
      simpleParser(stream).then(
        (mail) => {
          if (refusals > 0) {
            refusals--
            const error = Object.assign(new Error('Try again later'), { responseCode: 451 })
            callback(error)
            return
          }
          messages.push(mail)
          recipients.push(session.envelope.rcptTo.map((r) => r.address))
          callback()
          waiting.shift()?.(mail)
        },
        (error: Error) => callback(error),
      )
    },
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  const port = (server.server.address() as AddressInfo).port
  return {
    url: `smtp://127.0.0.1:${port}`,
    messages,
    recipients,
    refuseNext(count) {
      refusals = count
    },
    next(timeoutMs = 10_000) {
      const ready = messages[taken]
      if (ready) {
        taken++
        return Promise.resolve(ready)
      }
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no email within ${timeoutMs} ms`)), timeoutMs)
        waiting.push((mail) => {
          clearTimeout(timer)
          taken++
          resolve(mail)
        })
      })
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  }
}
