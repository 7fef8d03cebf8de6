import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { completionEmail } from '../../src/adapters/mail/templates/completion-email.ts'
import { dryRunPreview } from '../../src/adapters/slack/blocks/import-preview.ts'
import { errorReportFiles } from '../../src/adapters/slack/error-report-files.ts'
import { loadConfig } from '../../src/config.ts'
import type { ImportJob, ImportOptions } from '../../src/domain/jobs/job.ts'
import { createLogger } from '../../src/logger.ts'
import { openRoster, type Roster } from '../../src/roster.ts'
import { FixedClock, sequentialIds } from '../support/clock-and-ids.ts'

/**
 * Thousands of rows of random shapes, each secret-ish field (any key Auth0 treats as secret, at any depth, any type)
 * carrying a unique marker, go through real imports: validation, duplicates in the file, users that exist already,
 * user_id conflicts, a dry run. No marker may appear in anything Roster shows or keeps about errors: the report
 * (API and errors.json), the journal's chunk error records, the completion email, the Slack upload and preview, the
 * log. Seeded and bounded: the same rows every run.
 */

/** Markers are upper-case letters only, so they also fit bcrypt and Base32 (TOTP) alphabets: valid rows carry them. */
let counter = 0
const letters = (n: number) => n.toString(26).replace(/./g, (d) => String.fromCharCode(65 + parseInt(d, 26)))
const marker = fc.constant(null).map(() => `ZQX${letters(counter++)}SECRETQ`)
const markerPattern = /ZQX[A-Z]*SECRETQ|SECRETQ|ZQX[A-Z]{2,}/

const bcrypt = marker.map((m) => `$2b$10$${`${m}${'a'.repeat(53)}`.slice(0, 53)}`)
const secretLeaf = fc.oneof(
  marker,
  bcrypt,
  marker.map((m) => `$2y$10$${m}`),
  marker.map((m) => `{SSHA}${m}`),
  marker.map((m) => `$argon2id$v=19$m=1,t=1,p=1$${m}$${m}`),
  marker.map((m) => `${m.toLowerCase()}`),
)
/** Any shape under a secret key: a leaf, nested arrays, objects with any keys (never a hash parameter's name). */
const { secretShape } = fc.letrec((tie) => ({
  secretShape: fc.oneof(
    { depthSize: 'small', maxDepth: 3 },
    secretLeaf,
    fc.array(tie('secretShape'), { maxLength: 3 }),
    fc.dictionary(fc.constantFrom('value', 'hash', 'x', 'secret', 'data', 'totp'), tie('secretShape'), {
      maxKeys: 3,
    }),
  ),
}))

const hashPart = fc.oneof(secretShape, fc.record({ value: secretLeaf }, { requiredKeys: [] }))
const customHash = fc.oneof(
  secretShape,
  fc.record(
    {
      algorithm: fc.constantFrom(
        'bcrypt',
        'md5',
        'hmac',
        'sha256',
        'ldap',
        'argon2',
        'pbkdf2',
        'scrypt',
        'nope',
      ),
      hash: fc.oneof(
        secretShape,
        fc.record(
          {
            value: secretLeaf,
            encoding: fc.constantFrom('hex', 'base64', 'utf8', 'ebcdic'),
            digest: fc.constantFrom('sha1', 'sha256'),
            key: hashPart,
          },
          { requiredKeys: [] },
        ),
      ),
      salt: fc.oneof(
        hashPart,
        fc.record({ value: secretLeaf, position: fc.constantFrom('prefix', 'suffix') }),
      ),
      keylen: fc.integer({ min: -1, max: 64 }),
    },
    { requiredKeys: ['algorithm'] },
  ),
)
const factor = fc.oneof(
  fc.record({ totp: fc.oneof(secretShape, fc.record({ secret: secretLeaf })) }),
  fc.constant({ phone: { value: '+15551234567' } }),
  fc.array(fc.record({ totp: fc.record({ secret: marker }) }), { maxLength: 2 }),
)
const mfaFactors = fc.oneof(secretShape, fc.array(factor, { maxLength: 3 }), factor)
const metadata = fc.record(
  {
    password: secretShape,
    api_key: secretShape,
    deep: fc.record({ a: fc.record({ salt: secretShape, note: fc.constant('fine') }) }),
    list: fc.array(fc.record({ token: secretShape }), { maxLength: 2 }),
    colour: fc.constant('blue'),
  },
  { requiredKeys: ['colour'] },
)
/** A row that is otherwise valid, so that only a duplicate or a conflict can fail it. */
const validSecrets = fc.oneof(
  fc.record({ password_hash: bcrypt }),
  fc.record({
    custom_password_hash: fc.record({ algorithm: fc.constant('bcrypt'), hash: fc.record({ value: bcrypt }) }),
  }),
  fc.record({ mfa_factors: fc.tuple(fc.record({ totp: fc.record({ secret: marker }) })) }),
  fc.record({ user_metadata: fc.record({ password: marker, colour: fc.constant('blue') }) }),
)
const anySecrets = fc.record(
  {
    password_hash: fc.oneof(bcrypt, secretShape),
    custom_password_hash: customHash,
    passwd: secretShape,
    password: secretShape,
    Password: secretShape,
    pwd: secretShape,
    mfa_factors: mfaFactors,
    user_metadata: metadata,
    app_metadata: fc.record({ hash: secretShape, key: secretShape }, { requiredKeys: [] }),
  },
  { requiredKeys: [] },
)
const secrets = fc.oneof({ weight: 2, arbitrary: validSecrets }, { weight: 3, arbitrary: anySecrets })

const baseUsers = 40
const base = (i: number) => `base-${i}@example.com`

let dir: string
let roster: Roster
const logLines: string[] = []
const jobs: ImportJob[] = []

async function runImport(rows: unknown[], options: Partial<ImportOptions>): Promise<ImportJob> {
  const job = await roster.engine.requestImport({
    connection: 'Username-Password-Authentication',
    fileName: 'users.json',
    bytes: Buffer.from(JSON.stringify(rows)),
    options: { upsert: false, merge: false, dryRun: false, sendCompletionEmail: false, ...options },
    requestedBy: { via: 'cli', id: 'tester' },
  })
  const done = (await roster.engine.waitFor(job.id)) as ImportJob
  jobs.push(done)
  return done
}

beforeAll(async () => {
  // Not tempDir(): that one is removed after each test, and these tests share one store.
  dir = await mkdtemp(join(tmpdir(), 'roster-secrets-'))
  const config = loadConfig({ STORE_DIR: dir })
  const logger = createLogger('debug', (line) => {
    logLines.push(line)
  })
  roster = await openRoster(config, { logger, clock: new FixedClock(), ids: sequentialIds() })
  roster.engine.start()
  await runImport(
    Array.from({ length: baseUsers }, (_, i) => ({ email: base(i), user_id: `base-${i}` })),
    {},
  )

  // Insert-only: new users, duplicates inside the file, users that exist already, and invalid rows.
  const emails = fc.oneof(
    fc.nat().map(() => `new-${counter++}@example.com`),
    fc.constant('twice@example.com'),
    fc.nat(baseUsers - 1).map(base),
    fc.nat().map(() => `not-an-email-${counter++}`),
  )
  // 1,500 rows in files of 300 (a file is at most 512 KB).
  const rows = fc.sample(fc.tuple(emails, secrets), { seed: 1010, numRuns: 1500 })
  for (let start = 0; start < rows.length; start += 300) {
    await runImport(
      rows.slice(start, start + 300).map(([email, s]) => ({ email, ...s })),
      {},
    )
  }

  // Upsert: a user_id that belongs to another user is a CONFLICT; then a dry run of changes to existing users.
  const conflicts = fc.sample(fc.tuple(fc.nat(baseUsers - 2), validSecrets), { seed: 1011, numRuns: 300 })
  await runImport(
    conflicts.map(([i, s]) => ({ email: base(i), user_id: `base-${i + 1}`, ...s })),
    { upsert: true },
  )
  const updates = fc.sample(fc.tuple(fc.nat(baseUsers - 1), secrets), { seed: 1012, numRuns: 300 })
  await runImport(
    updates.map(([i, s]) => ({ email: base(i), ...s })),
    { upsert: true, merge: true, dryRun: true },
  )
}, 120_000)

afterAll(async () => {
  await roster?.close()
  await rm(dir, { recursive: true, force: true })
})

/** Every journal line's chunk error records, as stored. */
async function journalErrorRecords(): Promise<string[]> {
  const files = (await readdir(join(dir, 'users'))).filter((name) => name.startsWith('journal-'))
  const records: string[] = []
  for (const file of files) {
    for (const line of (await readFile(join(dir, 'users', file), 'utf8')).split('\n')) {
      if (line === '') continue
      const meta = (JSON.parse(line) as { meta?: { errors?: unknown } }).meta
      records.push(JSON.stringify(meta?.errors ?? null))
    }
  }
  return records
}

function expectNoMarker(what: string, text: string): void {
  const found = markerPattern.exec(text)
  expect(
    found,
    `${what} shows a secret: …${text.slice(Math.max(0, (found?.index ?? 0) - 80), (found?.index ?? 0) + 40)}…`,
  ).toBeNull()
}

describe('no secret leaves the user record', () => {
  it('sent markers in secret fields through every stage that reports errors', async () => {
    const insert = jobs[1]
    const upload = await roster.engine.ctx.artifacts.get(insert?.id ?? '', 'upload')
    expect(upload?.toString('utf8')).toMatch(markerPattern)
    const codes = new Set<string>()
    for (const job of jobs) {
      for (const entry of (await roster.engine.getJobErrors(job?.id ?? '')) ?? []) {
        for (const error of entry.errors) codes.add(error.code)
      }
    }
    for (const code of ['DUPLICATED_USER', 'CONFLICT', 'PATTERN', 'INVALID_TYPE'])
      expect(codes).toContain(code)
    expect(insert?.summary?.inserted).toBeGreaterThan(20)
    expect(insert?.summary?.failed).toBeGreaterThan(100)
  })

  it('keeps every marker out of the reports, errors.json and the journal error records', async () => {
    for (const job of jobs) {
      const report = await roster.engine.getJobErrors(job.id)
      expectNoMarker(`GET errors of ${job.id}`, JSON.stringify(report))
      const file = await roster.engine.ctx.artifacts.get(job.id, 'errors.json')
      expectNoMarker(`errors.json of ${job.id}`, file?.toString('utf8') ?? '')
      const preview = await roster.engine.ctx.artifacts.get(job.id, 'preview.json')
      expectNoMarker(`preview.json of ${job.id}`, preview?.toString('utf8') ?? '')
    }
    const records = await journalErrorRecords()
    expect(records.length).toBeGreaterThan(2)
    for (const record of records) expectNoMarker('a journal error record', record)
  })

  it('keeps every marker out of the completion email, the Slack upload and preview, and the log', async () => {
    for (const job of jobs) {
      const report = (await roster.engine.getJobErrors(job.id)) ?? []
      const email = completionEmail({
        job,
        tenant: 'acme',
        errors: report,
        totalErrors: report.length,
        publicUrl: 'http://127.0.0.1',
        retentionHours: 24,
      })
      expectNoMarker(`email of ${job.id}`, `${email.subject}\n${email.text}\n${email.html}`)
      const files = await errorReportFiles(roster.engine, job.id)
      const uploads = files?.uploads.map((upload) => upload.file.toString('utf8')).join('\n') ?? ''
      expectNoMarker(`Slack upload of ${job.id}`, `${files?.comment ?? ''}\n${uploads}`)
      const diffs = await roster.engine.getPreview(job.id)
      const preview = dryRunPreview({ job, diffs, errors: report })
      expectNoMarker(`Slack preview of ${job.id}`, JSON.stringify(preview))
    }
    expect(logLines.length).toBeGreaterThan(3)
    expectNoMarker('the log', logLines.join(''))
  })
})
