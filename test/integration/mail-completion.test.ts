import { readdir, readFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { simpleParser } from 'mailparser'
import { afterEach, describe, expect, it } from 'vitest'
import { executeCommand } from '../../src/adapters/cli/commands.ts'
import { createCompletionNotifier } from '../../src/adapters/mail/completion-notifier.ts'
import { openFileMailOutbox } from '../../src/adapters/mail/mail-outbox.ts'
import { createMailer } from '../../src/adapters/mail/mailer.ts'
import { completionEmail } from '../../src/adapters/mail/templates/completion-email.ts'
import { loadConfig } from '../../src/config.ts'
import type { ImportJob } from '../../src/domain/jobs/job.ts'
import { createLogger, silentLogger } from '../../src/logger.ts'
import { openRoster, type Roster } from '../../src/roster.ts'
import { type RunningServer, startServer } from '../../src/server.ts'
import { type Harness, openHarness } from '../support/roster-harness.ts'
import { type SmtpSink, startSmtpSink } from '../support/smtp-sink.ts'
import { tempDir } from '../support/temp-dir.ts'

/**
 * Completion emails against a real SMTP server on loopback (smtp-server), parsed with mailparser; and the outbox
 * Roster writes to when SMTP_URL is unset.
 */

const owners = 'owner@example.com,second@example.com'
const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

async function sink(): Promise<SmtpSink> {
  const started = await startSmtpSink()
  cleanups.push(() => started.close())
  return started
}

async function serve(
  env: Record<string, string>,
): Promise<{ roster: Roster; server: RunningServer; base: string; token: string }> {
  const config = loadConfig({
    STORE_DIR: await tempDir(),
    PORT: '0',
    TENANT_NAME: 'acme',
    TENANT_OWNERS: owners,
    ...env,
  })
  const roster = await openRoster(config, { logger: silentLogger })
  const server = await startServer(roster, config, silentLogger)
  cleanups.push(() => server.close())
  const { token } = (await executeCommand(roster.engine, {
    name: 'tokens-create',
    tokenName: 'ci',
    scopes: ['create:users'],
  })) as { token: string }
  return { roster, server, base: `http://127.0.0.1:${server.port}`, token }
}

const users = [
  { email: 'ada@example.com', email_verified: true },
  { email: 'not-an-email', email_verified: true },
]

async function apiImport(
  target: { base: string; token: string; roster: Roster },
  extra: Record<string, string> = {},
) {
  const body = new FormData()
  body.append('users', new Blob([JSON.stringify(users)], { type: 'application/json' }), 'users.json')
  body.append('connection_id', target.roster.engine.listConnections()[0]?.id as string)
  for (const [key, value] of Object.entries(extra)) body.append(key, value)
  const response = await fetch(`${target.base}/api/v2/jobs/users-imports`, {
    method: 'POST',
    headers: { authorization: `Bearer ${target.token}` },
    body,
  })
  expect(response.status).toBe(202)
  const job = (await response.json()) as { id: string }
  await target.roster.engine.waitFor(job.id)
  return job.id
}

/** Waits (bounded) until `check` finds something. */
async function eventually<T>(check: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const found = await check()
    if (found !== undefined) return found
    if (Date.now() > deadline) throw new Error('timed out')
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

const filesIn = (dir: string) => readdir(dir).catch(() => [] as string[])

describe('completion emails over SMTP', () => {
  it('emails the tenant owners when an API import finishes (send_completion_email defaults to true)', async () => {
    const smtp = await sink()
    const target = await serve({ SMTP_URL: smtp.url, MAIL_FROM: 'Roster <roster@acme.example>' })
    const jobId = await apiImport(target)
    const mail = await smtp.next()
    expect(smtp.recipients[0]).toEqual(['owner@example.com', 'second@example.com'])
    expect(mail.from?.text).toBe('"Roster" <roster@acme.example>')
    expect(mail.subject).toBe(`[acme] Import ${jobId} completed: 2 users: 1 inserted, 0 updated, 1 failed`)
    expect(mail.messageId).toBe(`<${jobId}.completion@acme.roster>`)
    expect(mail.text).toContain('Connection:     Username-Password-Authentication (con_')
    expect(mail.text).toContain('First errors (1 of 1):')
    expect(mail.text).toContain('row 2 not-an-email: INVALID_FORMAT')
    expect(mail.text).toContain(`roster job errors ${jobId}`)
    expect(mail.text).toContain(`http://localhost:${target.server.port}/api/v2/jobs/${jobId}/errors`)
    expect(mail.html).toContain('<li>row 2 not-an-email: INVALID_FORMAT')
  })

  it('sends nothing for an import with send_completion_email=false', async () => {
    const smtp = await sink()
    const target = await serve({ SMTP_URL: smtp.url })
    const quiet = await apiImport(target, { send_completion_email: 'false' })
    const loud = await apiImport(target)
    const mail = await smtp.next()
    expect(mail.subject).toContain(loud)
    const log = join(target.roster.storeDir, 'outbox', 'sent.jsonl')
    const sent = await eventually(async () => {
      const text = await readFile(log, 'utf8').catch(() => '')
      return text.includes(loud) ? text : undefined
    })
    expect(sent).not.toContain(quiet)
    expect(smtp.messages).toHaveLength(1)
  })
})

describe('the outbox, when SMTP_URL is unset', () => {
  it('writes each message to STORE_DIR/outbox/<job>.eml, readable as an email', async () => {
    const target = await serve({})
    const jobId = await apiImport(target)
    const outbox = join(target.roster.storeDir, 'outbox')
    await eventually(async () => ((await filesIn(outbox)).includes(`${jobId}.eml`) ? true : undefined))
    const mail = await simpleParser(await readFile(join(outbox, `${jobId}.eml`)))
    expect(mail.to && !Array.isArray(mail.to) ? mail.to.text : '').toBe(
      'owner@example.com, second@example.com',
    )
    expect(mail.subject).toContain(`Import ${jobId} completed`)
    expect(mail.text).toContain('row 2 not-an-email: INVALID_FORMAT')
    expect(await filesIn(join(outbox, 'queue'))).toEqual([])
  })
})

describe('the completion notifier', () => {
  let harness: Harness
  const lines: string[] = []
  const logger = createLogger('debug', (line) => lines.push(line))

  async function notifierFor(
    smtpUrl: string | undefined,
    retryDelaysMs: number[],
    env = { TENANT_OWNERS: owners },
  ) {
    harness ??= await openHarness(env)
    const outboxDir = join(harness.storeDir, 'outbox')
    const notifier = createCompletionNotifier({
      engine: harness.engine,
      mailer: createMailer({ smtpUrl, from: 'roster@acme.example', outboxDir }),
      outbox: await openFileMailOutbox(outboxDir, { logger }),
      logger,
      publicUrl: () => 'http://roster.test',
      retentionHours: 24,
      retryDelaysMs,
    })
    cleanups.push(() => notifier.close())
    await notifier.start()
    return { notifier, outboxDir }
  }

  afterEach(async () => {
    await harness?.close()
    harness = undefined as unknown as Harness
    lines.length = 0
  })

  it('retries a refused send and delivers it; the job is completed all along', async () => {
    const smtp = await sink()
    smtp.refuseNext(1)
    await notifierFor(smtp.url, [20, 20])
    const job = await harness.importUsers(users, { sendCompletionEmail: true })
    expect(job.status).toBe('completed')
    const mail = await smtp.next()
    expect(mail.subject).toContain(job.id)
    expect(lines.some((line) => line.includes('completion email not sent; will retry'))).toBe(true)
  })

  it('keeps a queued email across a restart and sends it at the next start', async () => {
    const down = await closedPort()
    const first = await notifierFor(`smtp://127.0.0.1:${down}`, [60_000])
    const job = await harness.importUsers(users, { sendCompletionEmail: true })
    const queued = join(first.outboxDir, 'queue', `${job.id}.json`)
    await eventually(async () => {
      const text = await readFile(queued, 'utf8').catch(() => '')
      return text.includes('"attempts":1') ? true : undefined
    })
    await first.notifier.close()

    const smtp = await sink()
    await notifierFor(smtp.url, [20])
    const mail = await smtp.next()
    expect(mail.subject).toContain(job.id)
    await eventually(async () =>
      (await filesIn(join(first.outboxDir, 'queue'))).length === 0 ? true : undefined,
    )
    expect(await readFile(join(first.outboxDir, 'sent.jsonl'), 'utf8')).toContain(job.id)
  })

  it('gives up after the last retry: the message moves to outbox/failed and an error is logged', async () => {
    const down = await closedPort()
    const { outboxDir } = await notifierFor(`smtp://127.0.0.1:${down}`, [10])
    const job = await harness.importUsers(users, { sendCompletionEmail: true })
    // The failed copy is written before the queued one is removed (a crash between keeps both, never neither),
    // and the error is logged last: wait for all three rather than race the notifier's steps.
    const gaveUp = () => lines.some((line) => line.includes('completion email not sent; gave up'))
    await eventually(async () =>
      (await filesIn(join(outboxDir, 'failed'))).includes(`${job.id}.json`) &&
      (await filesIn(join(outboxDir, 'queue'))).length === 0 &&
      gaveUp()
        ? true
        : undefined,
    )
    expect(await filesIn(join(outboxDir, 'failed'))).toEqual([`${job.id}.json`])
    expect(job.status).toBe('completed')
  })

  it('sends one email when a completion is announced again, also after a restart', async () => {
    const smtp = await sink()
    const first = await notifierFor(smtp.url, [20])
    const job = await harness.importUsers(users, { sendCompletionEmail: true })
    await smtp.next()
    const sentLog = join(first.outboxDir, 'sent.jsonl')
    await eventually(async () =>
      (await readFile(sentLog, 'utf8').catch(() => '')).includes(job.id) ? true : undefined,
    )
    // As a restart does when the process died between announcing an import and recording it settled.
    harness.engine.ctx.events.emit({ type: 'job:finished', job })
    await first.notifier.close()
    await notifierFor(smtp.url, [20])
    harness.engine.ctx.events.emit({ type: 'job:finished', job })
    const other = await harness.importUsers(users, { sendCompletionEmail: true })
    expect((await smtp.next()).subject).toContain(other.id)
    expect(smtp.messages).toHaveLength(2)
    const skipped = () =>
      lines.filter((line) => line.includes('completion email already sent or queued')).length
    await eventually(async () => (skipped() >= 2 ? true : undefined))
    expect(skipped()).toBe(2)
    expect(smtp.messages).toHaveLength(2)
  })

  it('skips, and says why, when the tenant has no owners', async () => {
    const smtp = await sink()
    const { outboxDir } = await notifierFor(smtp.url, [10], { TENANT_OWNERS: '' })
    await harness.importUsers(users, { sendCompletionEmail: true })
    await eventually(async () =>
      lines.some((line) => line.includes('the tenant has no owners')) ? true : undefined,
    )
    expect(await filesIn(join(outboxDir, 'queue'))).toEqual([])
    expect(smtp.messages).toEqual([])
  })
})

describe('the completion email template', () => {
  it('says why a job failed as a whole', () => {
    const job: ImportJob = {
      id: 'job_AAAAAAAAAAAAAAAA',
      type: 'users_import',
      status: 'failed',
      connectionId: 'con_AAAAAAAAAAAAAAAA',
      connectionName: 'Username-Password-Authentication',
      createdAt: '2026-11-27T10:00:00.000Z',
      requestedBy: { via: 'api', id: 'ci' },
      statusDetails: 'The uploaded file of job_AAAAAAAAAAAAAAAA is missing from the store.',
      options: { upsert: true, merge: false, dryRun: false, sendCompletionEmail: true },
      upload: { fileName: 'users.json', format: 'json', bytes: 10, rows: 1, chunkRows: 2000 },
    }
    const email = completionEmail({
      job,
      tenant: 'acme',
      errors: [],
      totalErrors: 0,
      publicUrl: 'http://r',
      retentionHours: 24,
    })
    expect(email.subject).toBe('[acme] Import job_AAAAAAAAAAAAAAAA failed: no users written')
    expect(email.text).toContain(
      'Why it failed:  The uploaded file of job_AAAAAAAAAAAAAAAA is missing from the store.',
    )
    expect(email.text).toContain('Options:        upsert')
    expect(email.html).not.toContain('<script')
  })

  it('escapes what users put in their files', () => {
    const job = { upload: { fileName: '<b>x</b>.json' } } as unknown as ImportJob
    const email = completionEmail({
      job: {
        ...(job as ImportJob),
        id: 'job_AAAAAAAAAAAAAAAA',
        type: 'users_import',
        status: 'completed',
        connectionId: 'con_AAAAAAAAAAAAAAAA',
        connectionName: 'db',
        createdAt: '',
        requestedBy: { via: 'cli', id: 'me' },
        options: { upsert: false, merge: false, dryRun: true, sendCompletionEmail: true },
        upload: { fileName: '<b>x</b>.json', format: 'json', bytes: 1, rows: 1, chunkRows: 1 },
        summary: { inserted: 1, updated: 0, failed: 0, total: 1, unchanged: 0 },
      },
      tenant: 'acme',
      errors: [],
      totalErrors: 0,
      publicUrl: 'http://r',
      retentionHours: 24,
    })
    expect(email.subject).toBe(
      '[acme] Dry run job_AAAAAAAAAAAAAAAA completed: 1 users: 1 would be inserted, 0 would be updated, 0 failed',
    )
    expect(email.html).toContain('&lt;b&gt;x&lt;/b&gt;.json')
    expect(email.html).not.toContain('<b>x</b>')
  })
})

/** A loopback port with nothing listening: connections to it are refused at once. */
async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  const { port } = server.address() as { port: number }
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}
