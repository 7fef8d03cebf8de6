import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { type Harness, openHarness } from '../support/roster-harness.ts'

/**
 * Each stage that can fail a user (validation, a duplicate in the file, a user that exists, a user_id conflict)
 * reports it without the user's secrets: in the report and in the journal's chunk record. Removing the redaction of
 * any one stage fails its test here.
 */

let h: Harness
beforeEach(async () => {
  h = await openHarness()
})
afterEach(async () => {
  await h.close()
})

const bcrypt = (tag: string) => `$2b$10$${`${tag}${'x'.repeat(53)}`.slice(0, 53)}`
const secretsOf = (tag: string) => ({
  password_hash: bcrypt(`${tag}HASH`),
  user_metadata: { password: `${tag}-metadata-password` },
})
const leaks = (tag: string) => new RegExp(`${tag}HASH|${tag}-metadata-password|${tag}TOTP`)

async function journalText(): Promise<string> {
  const dir = join(h.storeDir, 'users')
  const files = (await readdir(dir)).filter((name) => name.startsWith('journal-'))
  const texts = await Promise.all(files.map((name) => readFile(join(dir, name), 'utf8')))
  // Only the chunk records' errors: the users' own lines hold their secrets, as they must.
  return texts
    .flatMap((text) => text.split('\n').filter(Boolean))
    .map((line) => JSON.stringify((JSON.parse(line) as { meta?: { errors?: unknown } }).meta?.errors ?? null))
    .join('\n')
}

async function expectRedacted(jobId: string, tag: string, code: string) {
  const report = (await h.engine.getJobErrors(jobId)) ?? []
  expect(report.flatMap((entry) => entry.errors.map((error) => error.code))).toContain(code)
  expect(JSON.stringify(report)).not.toMatch(leaks(tag))
  expect(await journalText()).not.toMatch(leaks(tag))
  const user = report[0]?.user as Record<string, unknown>
  expect(user.password_hash).toBe('*****')
  expect(user.user_metadata).toEqual({ password: '*****' })
}

describe('every stage that reports a user redacts its secrets', () => {
  it('validation: the row and the message (which names the hash by length and scheme only)', async () => {
    const job = await h.importUsers([{ email: 'bad', ...secretsOf('VALID') }])
    await expectRedacted(job.id, 'VALID', 'INVALID_FORMAT')
    const row = { email: 'y@example.com', password_hash: bcrypt('YHASH').replace('$2b$', '$2y$') }
    const second = await h.importUsers([row])
    const [error] = (await h.engine.getJobErrors(second.id))?.[0]?.errors ?? []
    expect(error?.message).toContain(': a secret of 60 characters starting $2y$ (')
    expect(error?.message).not.toContain('YHASH')
  })

  it('a duplicate inside the file (DUPLICATED_USER)', async () => {
    const job = await h.importUsers([
      { email: 'twice@example.com' },
      { email: 'twice@example.com', ...secretsOf('INFILE') },
    ])
    await expectRedacted(job.id, 'INFILE', 'DUPLICATED_USER')
  })

  it('a user that exists already, upsert off (DUPLICATED_USER found while planning)', async () => {
    await h.importUsers([{ email: 'exists@example.com' }])
    const job = await h.importUsers([{ email: 'exists@example.com', ...secretsOf('PLANNED') }])
    await expectRedacted(job.id, 'PLANNED', 'DUPLICATED_USER')
  })

  it('a user_id that belongs to another user, on upsert (CONFLICT), including its MFA secret', async () => {
    await h.importUsers([
      { email: 'a@example.com', user_id: 'a' },
      { email: 'b@example.com', user_id: 'b' },
    ])
    const job = await h.importUsers(
      [
        {
          email: 'a@example.com',
          user_id: 'b',
          ...secretsOf('CONFLICT'),
          mfa_factors: [{ totp: { secret: 'CONFLICTTOTP' } }],
        },
      ],
      { upsert: true },
    )
    await expectRedacted(job.id, 'CONFLICT', 'CONFLICT')
  })

  it('a dry run reports the same way', async () => {
    const job = await h.importUsers(
      [{ email: 'twice@example.com' }, { email: 'twice@example.com', ...secretsOf('DRY') }],
      { dryRun: true },
    )
    await expectRedacted(job.id, 'DRY', 'DUPLICATED_USER')
  })
})
