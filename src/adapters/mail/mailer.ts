import { randomBytes } from 'node:crypto'
import { dirname, join } from 'node:path'
import type { Transporter } from 'nodemailer'
import { makeDirDurably, writeFileDurably } from '../store/durable-json-file.ts'

/**
 * Sends mail with nodemailer: over SMTP when `SMTP_URL` is set, otherwise into `STORE_DIR/outbox/` as `.eml`
 * files, so nothing is lost on a machine without mail and a newcomer can open what Roster would have sent.
 */
export interface MailMessage {
  to: readonly string[]
  subject: string
  text: string
  html: string
  /** `<…@…>`: the same id on a retry, so a receiver can tell a resend from a new message. */
  messageId: string
}

export interface Mailer {
  readonly via: 'smtp' | 'outbox'
  /** Resolves when the SMTP server accepted the message, or its `.eml` file is durable. */
  send(message: MailMessage, fileStem: string): Promise<{ via: 'smtp' | 'outbox'; file?: string }>
  close(): void
}

export interface MailerOptions {
  smtpUrl: string | undefined
  /** MAIL_FROM. */
  from: string
  outboxDir: string
}

export function createMailer(options: MailerOptions): Mailer {
  // nodemailer (~40 modules) is loaded when the first message is sent, not at start: most starts send none.
  let transport: Promise<Transporter> | undefined
  let made: Transporter | undefined
  const transporter = () => {
    transport ??= import('nodemailer').then(({ default: nodemailer }) => {
      made = options.smtpUrl
        ? nodemailer.createTransport(options.smtpUrl)
        : nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix' })
      return made
    })
    return transport
  }
  const close = () => made?.close()
  if (options.smtpUrl) {
    return {
      via: 'smtp',
      async send(message) {
        await (await transporter()).sendMail({ ...message, to: [...message.to], from: options.from })
        return { via: 'smtp' }
      },
      close,
    }
  }
  return {
    via: 'outbox',
    async send(message, fileStem) {
      const info = await (await transporter()).sendMail({
        ...message,
        to: [...message.to],
        from: options.from,
      })
      const file = join(options.outboxDir, `${fileStem}.eml`)
      await writeDurably(file, info.message as Buffer)
      return { via: 'outbox', file }
    },
    close,
  }
}

/**
 * A file in the outbox (or the mail queue) is whole or absent, and survives a power loss: the store's durable
 * write (tmp, fsync, rename, directory fsync) with a tmp name of its own, as several sends may be in flight.
 */
export async function writeDurably(file: string, data: Buffer | string): Promise<void> {
  const dir = dirname(file)
  await makeDirDurably(dir)
  await writeFileDurably(file, data, { tmpFile: join(dir, `.${randomBytes(6).toString('hex')}.tmp`) })
}
