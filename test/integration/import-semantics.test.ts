import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { ImportJob } from '../../src/domain/jobs/job.ts'
import { defaultConnection, type Harness, openHarness } from '../support/roster-harness.ts'

let h: Harness
beforeEach(async () => {
  h = await openHarness()
})
afterEach(async () => {
  await h.close()
})

const user = (email: string, extra: Record<string, unknown> = {}) => ({ email, ...extra })
const summaryOf = (job: { summary?: unknown }) => job.summary
const stored = async (email: string) => (await h.engine.findUsers(email))[0]

describe('inserting users', () => {
  it('stores each user with the auth0| prefix, a lower-cased email and Auth0 profile defaults', async () => {
    const job = await h.importUsers([
      user('Ada.Lovelace@Example.com', { user_id: 'ada1', given_name: 'Ada' }),
    ])
    expect(job.status).toBe('completed')
    expect(summaryOf(job)).toEqual({ inserted: 1, updated: 0, failed: 0, total: 1, unchanged: 0 })
    expect(await stored('ada.lovelace@example.com')).toMatchObject({
      user_id: 'auth0|ada1',
      email: 'ada.lovelace@example.com',
      email_verified: false,
      given_name: 'Ada',
      name: 'ada.lovelace@example.com',
      nickname: 'ada.lovelace',
      identities: [{ connection: defaultConnection, provider: 'auth0', user_id: 'ada1', isSocial: false }],
      created_at: '2026-11-27T10:00:00.000Z',
    })
  })

  it('generates a 24-hex-digit id for users without a user_id', async () => {
    await h.importUsers([user('new@example.com')])
    expect((await stored('new@example.com'))?.user_id).toMatch(/^auth0\|[0-9a-f]{24}$/)
  })

  it('never doubles an auth0| prefix that the file already carries', async () => {
    await h.importUsers([user('pre@example.com', { user_id: 'auth0|626737a9813c000069daf462' })])
    expect((await stored('pre@example.com'))?.user_id).toBe('auth0|626737a9813c000069daf462')
  })

  it('accepts NDJSON, the format of Auth0 exports', async () => {
    const job = await h.importUsers('{"email":"a@example.com"}\n{"email":"b@example.com"}\n')
    expect(summaryOf(job)).toMatchObject({ inserted: 2, total: 2 })
    expect((job as ImportJob).upload.format).toBe('ndjson')
  })

  it('keeps the password hash but never shows it', async () => {
    const hash = '$2b$10$C9hB01.YxRSTcn/ZOOo4j.TW7xCKKFKBSF.C7E0xiUwumqIDqWUXG'
    await h.importUsers([user('hash@example.com', { password_hash: hash })])
    expect((await stored('hash@example.com'))?.password_hash).toBe(hash)
  })
})

describe('per-user failures', () => {
  it('fails later duplicates inside a file with DUPLICATED_USER and imports the first', async () => {
    const job = await h.importUsers([
      user('dup@example.com'),
      user('DUP@example.com'),
      user('other@example.com'),
    ])
    expect(summaryOf(job)).toMatchObject({ inserted: 2, failed: 1, total: 3 })
    expect(await h.engine.getJobErrors(job.id)).toEqual([
      {
        index: 1,
        user: { email: 'DUP@example.com' },
        errors: [
          { code: 'DUPLICATED_USER', path: 'email', message: 'A user with this email was already provided.' },
        ],
      },
    ])
  })

  it('refuses an existing user when upsert is off, with Auth0 message', async () => {
    await h.importUsers([user('exists@example.com')])
    const job = await h.importUsers([user('exists@example.com', { given_name: 'New' })])
    expect(summaryOf(job)).toMatchObject({ inserted: 0, updated: 0, failed: 1 })
    const [entry] = (await h.engine.getJobErrors(job.id)) ?? []
    expect(entry?.errors).toEqual([
      {
        code: 'DUPLICATED_USER',
        path: 'email',
        message: 'The user already exist and upsert parameter is false',
      },
    ])
    expect((await stored('exists@example.com'))?.given_name).toBeUndefined()
  })

  it('refuses a new email whose user_id or username is taken, when upsert is off', async () => {
    await h.importUsers([user('first@example.com', { user_id: 'u1', username: 'first' })])
    const job = await h.importUsers([
      user('second@example.com', { user_id: 'u1' }),
      user('third@example.com', { username: 'first' }),
    ])
    const report = (await h.engine.getJobErrors(job.id)) ?? []
    expect(report.map((entry) => entry.errors[0]?.path)).toEqual(['user_id', 'username'])
  })

  it('reports the user as given, secrets redacted, with its index in the file', async () => {
    const job = await h.importUsers([
      user('ok@example.com'),
      {
        email: 'bad',
        custom_password_hash: {
          algorithm: 'md5',
          hash: { value: '5f4dcc3b5aa765d61d8327deb882cf99', encoding: 'hex' },
        },
      },
    ])
    const report = (await h.engine.getJobErrors(job.id)) ?? []
    expect(report).toHaveLength(1)
    expect(report[0]?.index).toBe(1)
    expect(report[0]?.user).toEqual({
      email: 'bad',
      custom_password_hash: { algorithm: 'md5', hash: { value: '*****', encoding: 'hex' } },
    })
    expect(report[0]?.errors[0]?.code).toBe('INVALID_FORMAT')
  })

  it('completes a job whose every user fails: per-user failures never fail a job', async () => {
    const job = await h.importUsers([{ nope: true }, 'not an object'])
    expect(job.status).toBe('completed')
    expect(summaryOf(job)).toMatchObject({ inserted: 0, failed: 2, total: 2 })
  })
})

describe('upsert', () => {
  beforeEach(async () => {
    await h.importUsers([
      user('up@example.com', {
        user_id: 'up1',
        username: 'upper',
        email_verified: true,
        given_name: 'Old',
        blocked: true,
        app_metadata: { roles: ['admin'], plan: 'basic' },
        user_metadata: { theme: 'dark', lang: 'en' },
      }),
    ])
  })

  it('updates the upsertable fields and replaces metadata wholesale, as Auth0 does', async () => {
    h.clock.advance(60_000)
    const job = await h.importUsers(
      [user('up@example.com', { given_name: 'New', user_metadata: { theme: 'light' } })],
      {
        upsert: true,
      },
    )
    expect(summaryOf(job)).toEqual({ inserted: 0, updated: 1, failed: 0, total: 1, unchanged: 0 })
    expect(await stored('up@example.com')).toMatchObject({
      given_name: 'New',
      user_metadata: { theme: 'light' },
      app_metadata: { roles: ['admin'], plan: 'basic' },
      updated_at: '2026-11-27T10:01:00.000Z',
      created_at: '2026-11-27T10:00:00.000Z',
    })
  })

  it('never changes user_id, username, blocked or password_hash', async () => {
    await h.importUsers(
      [
        user('up@example.com', {
          user_id: 'up1',
          username: 'upper',
          blocked: false,
          password_hash: '$2b$10$C9hB01.YxRSTcn/ZOOo4j.TW7xCKKFKBSF.C7E0xiUwumqIDqWUXG',
        }),
      ],
      { upsert: true },
    )
    expect(await stored('up@example.com')).toMatchObject({
      user_id: 'auth0|up1',
      username: 'upper',
      blocked: true,
    })
    expect((await stored('up@example.com'))?.password_hash).toBeUndefined()
  })

  it('leaves email_verified alone when the row omits it, and sets it when given', async () => {
    await h.importUsers([user('up@example.com', { given_name: 'X' })], { upsert: true })
    expect((await stored('up@example.com'))?.email_verified).toBe(true)
    await h.importUsers([user('up@example.com', { email_verified: false })], { upsert: true })
    expect((await stored('up@example.com'))?.email_verified).toBe(false)
  })

  it('counts a matched user that needs no change as updated and unchanged, and writes nothing', async () => {
    const before = await stored('up@example.com')
    h.clock.advance(60_000)
    const job = await h.importUsers([user('up@example.com', { given_name: 'Old' })], { upsert: true })
    expect(summaryOf(job)).toMatchObject({ updated: 1, unchanged: 1 })
    expect(await stored('up@example.com')).toEqual(before)
  })

  it('merges metadata as a JSON merge-patch with the merge option: null deletes a key', async () => {
    await h.importUsers(
      [user('up@example.com', { user_metadata: { theme: null, tz: 'UTC' }, app_metadata: { plan: 'pro' } })],
      {
        upsert: true,
        merge: true,
      },
    )
    expect(await stored('up@example.com')).toMatchObject({
      user_metadata: { lang: 'en', tz: 'UTC' },
      app_metadata: { roles: ['admin'], plan: 'pro' },
    })
    expect((await stored('up@example.com'))?.user_metadata).not.toHaveProperty('theme')
  })

  it('inserts rows that match no one', async () => {
    const job = await h.importUsers([user('fresh@example.com')], { upsert: true })
    expect(summaryOf(job)).toMatchObject({ inserted: 1, updated: 0 })
  })

  it('refuses a row whose user_id belongs to another user (CONFLICT)', async () => {
    await h.importUsers([user('other@example.com', { user_id: 'other1' })])
    const job = await h.importUsers([user('up@example.com', { user_id: 'other1', given_name: 'Z' })], {
      upsert: true,
    })
    const [entry] = (await h.engine.getJobErrors(job.id)) ?? []
    expect(entry?.errors[0]).toMatchObject({ code: 'CONFLICT', path: 'user_id' })
    expect((await stored('up@example.com'))?.given_name).toBe('Old')
  })

  it('refuses a row that would change a user email through its user_id (CONFLICT_EMAIL)', async () => {
    const job = await h.importUsers([user('renamed@example.com', { user_id: 'up1' })], { upsert: true })
    const [entry] = (await h.engine.getJobErrors(job.id)) ?? []
    expect(entry?.errors[0]).toMatchObject({ code: 'CONFLICT_EMAIL', path: 'email' })
    expect(await h.engine.findUsers('renamed@example.com')).toEqual([])
  })

  it('refuses a username that belongs to another user (CONFLICT_USERNAME)', async () => {
    const job = await h.importUsers([user('someone@example.com', { username: 'upper' })], { upsert: true })
    const [entry] = (await h.engine.getJobErrors(job.id)) ?? []
    expect(entry?.errors[0]).toMatchObject({ code: 'CONFLICT_USERNAME', path: 'username' })
  })
})

describe('whole-job refusals, with Auth0 messages', () => {
  const request = (bytes: string, connection = defaultConnection) =>
    h.engine.requestImport({
      connection,
      fileName: 'users.json',
      bytes: Buffer.from(bytes),
      options: { upsert: false, merge: false, dryRun: false, sendCompletionEmail: false },
      requestedBy: { via: 'cli', id: 't' },
    })

  it('refuses an empty file', async () => {
    await expect(request('')).rejects.toMatchObject({
      code: 'users_file_empty',
      message: 'Users file must not be empty.',
    })
    await expect(request('[]')).rejects.toMatchObject({ message: 'Users file must not be empty.' })
  })

  it('refuses a file over IMPORT_MAX_BYTES', async () => {
    await expect(request(`[${' '.repeat(512_000)}]`)).rejects.toMatchObject({
      code: 'payload_too_large',
      message: 'Payload content length greater than maximum allowed: 512000.',
    })
  })

  it('refuses a file that is not JSON, naming the line and column', async () => {
    await expect(request('[\n  {"email": "a@example.com"},\n]')).rejects.toMatchObject({
      code: 'invalid_users_file',
      message: expect.stringMatching(/users\.json is not valid JSON at line 3, column 1/),
    })
  })

  it('refuses JSON that is not an array of users', async () => {
    await expect(request('"users"')).rejects.toMatchObject({ code: 'invalid_users_file' })
  })

  it('refuses an unknown connection', async () => {
    await expect(request('[{"email":"a@example.com"}]', 'Nope')).rejects.toMatchObject({
      code: 'connection_not_found',
      message: 'The connection does not exist.',
    })
  })

  it('refuses a non-database connection', async () => {
    await h.engine.addConnection({ name: 'google-oauth2', strategy: 'google-oauth2' })
    await expect(request('[{"email":"a@example.com"}]', 'google-oauth2')).rejects.toMatchObject({
      message: 'Connection must be a database connection.',
    })
  })

  it('refuses a custom database without import mode, and accepts it with import mode', async () => {
    await h.engine.addConnection({ name: 'legacy-db', strategy: 'custom-db', importMode: false })
    await expect(request('[{"email":"a@example.com"}]', 'legacy-db')).rejects.toMatchObject({
      message: 'Custom Database Connections without import mode are not allowed.',
    })
    await h.engine.addConnection({ name: 'migrating-db', strategy: 'custom-db', importMode: true })
    await expect(request('[{"email":"a@example.com"}]', 'migrating-db')).resolves.toMatchObject({
      status: 'pending',
    })
  })

  it('refuses a disabled connection', async () => {
    await h.engine.addConnection({ name: 'off', strategy: 'auth0', enabled: false })
    await expect(request('[{"email":"a@example.com"}]', 'off')).rejects.toMatchObject({
      code: 'connection_is_disabled',
      message: 'Connection must be enabled.',
    })
  })

  it('creates no job for a refused request', async () => {
    await request('').catch(() => undefined)
    expect(h.engine.listJobs()).toEqual([])
  })
})

describe('connections', () => {
  it('keeps users of different connections apart: the same email may exist in both', async () => {
    await h.engine.addConnection({ name: 'second', strategy: 'auth0' })
    await h.importUsers([user('both@example.com')])
    const job = await h.importUsers([user('both@example.com')], { connection: 'second' })
    expect(summaryOf(job)).toMatchObject({ inserted: 1 })
    expect(await h.engine.findUsers('both@example.com')).toHaveLength(2)
  })
})
