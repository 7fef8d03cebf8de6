import { readFile } from 'node:fs/promises'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { defaultFields, type ExportField } from '../../src/domain/export/export-fields.ts'
import type { ExportFormat } from '../../src/domain/export/format.ts'
import type { ExportJob, ImportJob, ImportOptions } from '../../src/domain/jobs/job.ts'
import { toAuth0User } from '../../src/domain/users/auth0-user-view.ts'
import type { StoredUser } from '../../src/domain/users/user.ts'
import { allOf } from '../support/async-users.ts'
import { defaultConnection, type Harness, openHarness } from '../support/roster-harness.ts'

/**
 * Golden round trips through real files: export → edit as a person would (text editor, spreadsheet) → import with
 * upsert → exactly the edited users and fields change.
 */

const requestedBy = { via: 'cli', id: 'tester' } as const

const tenant = [
  {
    user_id: 'zoe1',
    email: 'zoe@example.com',
    email_verified: true,
    given_name: 'Zoë',
    family_name: '李',
    password_hash: '$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy',
    user_metadata: { plan: 'pro', seats: 3 },
    app_metadata: { roles: ['admin', 'billing'] },
  },
  {
    user_id: 'dara2',
    email: 'dara@example.com',
    given_name: 'Dara',
    name: 'Dara "DJ" O\'Neil',
    nickname: '=1+1',
    user_metadata: { plan: '=HYPERLINK("http://evil.example","x")' },
  },
  {
    user_id: 'sam3',
    email: 'sam@example.com',
    username: 'sam',
    phone_number: '+12125550001',
    phone_verified: false,
    blocked: true,
    user_metadata: { plan: 'free' },
  },
  { user_id: 'lee4', email: 'lee@example.com', given_name: '1984', user_metadata: { plan: 'team' } },
]

/** The default fields with one label changed, plus a metadata path under a label of its own. */
const editableFields: ExportField[] = [
  ...defaultFields.map((field) =>
    field.name === 'given_name' ? { name: 'given_name', export_as: 'First Name' } : { ...field },
  ),
  { name: 'user_metadata.plan', export_as: 'Plan' },
]

let h: Harness
beforeEach(async () => {
  h = await openHarness()
})
afterEach(async () => {
  await h.close()
})

async function seed(harness = h): Promise<void> {
  const job = await harness.importUsers(tenant)
  expect(job.summary).toMatchObject({ inserted: tenant.length, failed: 0 })
  harness.clock.advance(3_600_000)
}

async function exportUsers(
  format: ExportFormat,
  fields?: ExportField[],
  options: { gzip?: boolean } = {},
): Promise<{ fileName: string; bytes: Buffer }> {
  const created = await h.engine.requestExport({
    connection: defaultConnection,
    format,
    ...(fields ? { fields } : {}),
    gzip: options.gzip ?? false,
    requestedBy,
  })
  const job = (await h.engine.waitFor(created.id)) as ExportJob
  expect(job.status).toBe('completed')
  const file = await h.engine.exportFile(job.id)
  if (!file) throw new Error(`export ${job.id} has no file`)
  return { fileName: file.fileName, bytes: await readFile(file.path) }
}

async function importFile(
  fileName: string,
  content: string | Buffer,
  options: Partial<ImportOptions> = {},
  harness = h,
): Promise<ImportJob> {
  const created = await harness.engine.requestImport({
    connection: defaultConnection,
    fileName,
    bytes: typeof content === 'string' ? Buffer.from(content) : content,
    options: { upsert: true, merge: false, dryRun: false, sendCompletionEmail: false, ...options },
    requestedBy,
  })
  return (await harness.engine.waitFor(created.id)) as ImportJob
}

const snapshot = (harness = h): Promise<StoredUser[]> => allOf(harness.engine.ctx.users.scan())

/** The users whose stored record changed, by email, each with the fields that changed (new values). */
function changes(before: StoredUser[], after: StoredUser[]): Record<string, Record<string, unknown>> {
  expect(after.map((user) => user.user_id)).toEqual(before.map((user) => user.user_id))
  const changed: Record<string, Record<string, unknown>> = {}
  after.forEach((user, i) => {
    const old = before[i] as StoredUser
    const fields = Object.fromEntries(
      [...new Set([...Object.keys(old), ...Object.keys(user)])]
        .filter((key) => key !== 'rev')
        .filter(
          (key) =>
            JSON.stringify(old[key as keyof StoredUser]) !== JSON.stringify(user[key as keyof StoredUser]),
        )
        .map((key) => [key, user[key as keyof StoredUser]]),
    )
    if (Object.keys(fields).length > 0) changed[user.email] = fields
  })
  return changed
}

const editedAt = '2026-11-27T11:00:00.000Z'

describe('JSON: export, edit in a text editor, import with upsert', () => {
  it('changes exactly the edited users and fields', async () => {
    await seed()
    const exported = await exportUsers('json', editableFields)
    const users = JSON.parse(exported.bytes.toString('utf8')) as Record<string, unknown>[]
    const byEmail = (email: string) => users.find((user) => user.Email === email) as Record<string, unknown>
    byEmail('dara@example.com')['Family Name'] = 'Smith'
    byEmail('sam@example.com')['Email Verified'] = true
    byEmail('zoe@example.com').Plan = 'enterprise'
    const before = await snapshot()

    // merge: a Plan column carries one key of user_metadata; without merge it would replace the whole object.
    const job = await importFile('roster.json', JSON.stringify(users, null, 2), { merge: true })

    expect(job.summary).toEqual({ inserted: 0, updated: 4, unchanged: 1, failed: 0, total: 4 })
    expect(job.ignoredFields).toEqual(['Connection', 'Created At', 'Updated At'])
    expect(changes(before, await snapshot())).toEqual({
      'zoe@example.com': { user_metadata: { plan: 'enterprise', seats: 3 }, updated_at: editedAt },
      'dara@example.com': { family_name: 'Smith', updated_at: editedAt },
      'sam@example.com': { email_verified: true, updated_at: editedAt },
    })
    expect(await h.engine.getJobErrors(job.id)).toEqual([])
  })

  it('maps the renamed label back through the label the export recorded', async () => {
    await seed()
    const exported = await exportUsers('json', editableFields)
    const users = JSON.parse(exported.bytes.toString('utf8')) as Record<string, unknown>[]
    expect(users[0]).toHaveProperty('First Name', 'Zoë')
    for (const user of users) user['First Name'] = `${user['First Name'] ?? 'Someone'}!`
    await importFile('roster.json', JSON.stringify(users), { merge: true })
    expect((await snapshot()).map((user) => user.given_name)).toEqual(['Zoë!', 'Dara!', 'Someone!', '1984!'])
  })

  it('merges a metadata column into the user: keys the file did not export survive an upsert without merge', async () => {
    await seed()
    const before = await snapshot()
    const exported = await exportUsers('json', editableFields)
    const job = await importFile('roster.json', exported.bytes, { merge: false })
    expect(job.summary).toMatchObject({ updated: 4, unchanged: 4, failed: 0 })
    expect((await h.engine.findUsers('zoe@example.com'))[0]?.user_metadata).toEqual({ plan: 'pro', seats: 3 })
    expect(await snapshot()).toEqual(before)
  })
})

describe('CSV: export, edit in a spreadsheet, import with upsert', () => {
  const csvFields: ExportField[] = [...editableFields, { name: 'app_metadata' }]

  it('exports the file a spreadsheet opens', async () => {
    await seed()
    const { bytes } = await exportUsers('csv', csvFields)
    expect(bytes.toString('utf8').replaceAll('\r', '\\r')).toMatchInlineSnapshot(`
      "Id,First Name,Family Name,Nickname,Name,Email,Email Verified,Picture,Connection,Created At,Updated At,Plan,app_metadata\\r
      "'auth0|zoe1","'Zoë","'李","'zoe","'zoe@example.com","'zoe@example.com",true,,"'Username-Password-Authentication",2026-11-27T10:00:00.000Z,2026-11-27T10:00:00.000Z,"'pro","'{""roles"":[""admin"",""billing""]}"\\r
      "'auth0|dara2","'Dara",,"'=1+1","'Dara ""DJ"" O'Neil","'dara@example.com",false,,"'Username-Password-Authentication",2026-11-27T10:00:00.000Z,2026-11-27T10:00:00.000Z,"'=HYPERLINK(""http://evil.example"",""x"")",\\r
      "'auth0|sam3",,,"'sam","'sam@example.com","'sam@example.com",false,,"'Username-Password-Authentication",2026-11-27T10:00:00.000Z,2026-11-27T10:00:00.000Z,"'free",\\r
      "'auth0|lee4","'1984",,"'lee","'lee@example.com","'lee@example.com",false,,"'Username-Password-Authentication",2026-11-27T10:00:00.000Z,2026-11-27T10:00:00.000Z,"'team",\\r
      "
    `)
  })

  it('changes exactly the edited cells, unescaping formulas and parsing JSON text', async () => {
    await seed()
    const { bytes, fileName } = await exportUsers('csv', csvFields)
    const lines = bytes.toString('utf8').split('\r\n')
    const edit = (email: string, from: string, to: string) => {
      const index = lines.findIndex((line) => line.includes(`"'${email}"`))
      expect(lines[index]).toContain(from)
      lines[index] = (lines[index] as string).replace(from, to)
    }
    // Zoë: a metadata cell retyped without the quote; a roles list edited inside the JSON text.
    edit('zoe@example.com', `"'pro"`, 'enterprise')
    edit('zoe@example.com', `""billing""]`, `""billing"",""support""]`)
    // Dara: an empty Family Name cell filled in (`,,` after Dara is the empty Family Name).
    edit('dara@example.com', `"'Dara",,`, `"'Dara",Smith,`)
    // Sam: Email Verified switched, as a spreadsheet saves it.
    edit('sam@example.com', ',false,', ',TRUE,')
    const before = await snapshot()

    const job = await importFile(fileName, lines.join('\r\n'), { merge: true })

    expect(job.upload.format).toBe('csv')
    expect(job.summary).toEqual({ inserted: 0, updated: 4, unchanged: 1, failed: 0, total: 4 })
    expect(job.ignoredFields).toEqual(['Connection', 'Created At', 'Updated At'])
    expect(changes(before, await snapshot())).toEqual({
      'zoe@example.com': {
        user_metadata: { plan: 'enterprise', seats: 3 },
        app_metadata: { roles: ['admin', 'billing', 'support'] },
        updated_at: editedAt,
      },
      'dara@example.com': { family_name: 'Smith', updated_at: editedAt },
      'sam@example.com': { email_verified: true, updated_at: editedAt },
    })
    // Values that start a formula came back as they were, without the export's quote.
    expect((await h.engine.findUsers('dara@example.com'))[0]).toMatchObject({
      nickname: '=1+1',
      name: 'Dara "DJ" O\'Neil',
      user_metadata: { plan: '=HYPERLINK("http://evil.example","x")' },
    })
  })

  it('finds CSV by its header under any file name', async () => {
    await seed()
    const { bytes } = await exportUsers('csv', csvFields)
    const job = await importFile('upload', bytes, { merge: true })
    expect(job.upload.format).toBe('csv')
    expect(job.summary).toMatchObject({ updated: 4, unchanged: 4, failed: 0 })
  })

  it('reports a bad cell against its user, not the file', async () => {
    await seed()
    const { bytes, fileName } = await exportUsers('csv', csvFields)
    const text = bytes.toString('utf8').replace(`"'sam@example.com",false`, `"'sam@example.com",maybe`)
    const job = await importFile(fileName, text, { merge: true })
    expect(job.summary).toMatchObject({ updated: 3, failed: 1 })
    const [entry] = (await h.engine.getJobErrors(job.id)) ?? []
    expect(entry?.index).toBe(2)
    expect(entry?.errors[0]).toMatchObject({ code: 'INVALID_TYPE', path: 'email_verified' })
  })

  it('refuses a file whose rows do not match its header, naming the row', async () => {
    await seed()
    const { bytes, fileName } = await exportUsers('csv', csvFields)
    const text = bytes.toString('utf8').replace(`"'dara@example.com",`, `"'dara@example.com",extra,`)
    await expect(importFile(fileName, text)).rejects.toMatchObject({
      code: 'invalid_users_file',
      message: expect.stringMatching(/^roster\.csv: row 3 has 14 cells but the header has 13\./),
    })
  })
})

describe('unedited exports re-import unchanged', () => {
  it.each([
    ['ndjson', false],
    ['json', false],
    ['csv', false],
    ['json', true],
    ['csv', true],
  ] as const)('%s (gzip: %s), full profile: every user unchanged', async (format, gzip) => {
    await seed()
    const { fileName, bytes } = await exportUsers(format, undefined, { gzip })
    const before = await snapshot()
    const job = await importFile(fileName, bytes)
    expect(job.status).toBe('completed')
    expect(job.summary).toEqual({ inserted: 0, updated: 4, unchanged: 4, failed: 0, total: 4 })
    expect(await snapshot()).toEqual(before)
  })

  it('csv, default fields with labels: every user unchanged', async () => {
    await seed()
    const { fileName, bytes } = await exportUsers('csv', [...defaultFields])
    const before = await snapshot()
    const job = await importFile(fileName, bytes)
    expect(job.summary).toEqual({ inserted: 0, updated: 4, unchanged: 4, failed: 0, total: 4 })
    expect(await snapshot()).toEqual(before)
  })
})

describe("the Dashboard guide's update flow, from a Roster export", () => {
  const fixture = (name: string) => readFile(new URL(`../fixtures/${name}`, import.meta.url), 'utf8')

  beforeEach(async () => {
    const seeded = await h.importUsers(await fixture('dashboard-guide-export.json'))
    expect(seeded.summary).toMatchObject({ inserted: 3, failed: 0 })
    h.clock.advance(3_600_000)
  })

  async function exportDefaults(): Promise<Record<string, unknown>[]> {
    const { bytes } = await exportUsers('json', [...defaultFields])
    return JSON.parse(bytes.toString('utf8')) as Record<string, unknown>[]
  }

  it("exports the guide's shape: labelled keys, prefixed ids, one object per user", async () => {
    const users = await exportDefaults()
    expect(users[0]).toEqual({
      Id: 'auth0|626737a9813c000069daf462',
      Nickname: 'testuser1',
      Name: 'testuser1@auth0.com',
      Email: 'testuser1@auth0.com',
      'Email Verified': false,
      Connection: defaultConnection,
      'Created At': '2026-11-27T10:00:00.000Z',
      'Updated At': '2026-11-27T10:00:00.000Z',
    })
    expect(users.map((user) => user.Id)).toEqual(
      JSON.parse(await fixture('dashboard-guide-export.json')).map((user: { Id: string }) => user.Id),
    )
  })

  it("updates exactly testuser1 after the guide's edit (Family Name added, email verified)", async () => {
    const users = await exportDefaults()
    const edited = users.map((user) =>
      user.Id === 'auth0|626737a9813c000069daf462'
        ? { ...user, 'Family Name': 'Smith', 'Email Verified': true }
        : user,
    )
    const before = await snapshot()
    const job = await importFile('roster.json', JSON.stringify(edited, null, 2))
    expect(job.summary).toEqual({ inserted: 0, updated: 3, unchanged: 2, failed: 0, total: 3 })
    expect(job.ignoredFields).toEqual(['Connection', 'Created At', 'Updated At'])
    expect(changes(before, await snapshot())).toEqual({
      'testuser1@auth0.com': { family_name: 'Smith', email_verified: true, updated_at: editedAt },
    })
  })

  it("follows the guide's literal edit: email_verified added beside the exported Email Verified wins", async () => {
    // The guide adds "email_verified": true; Roster's export already carries "Email Verified": false. The label
    // still holds the stored value, so the field's own name is the edit, and it wins.
    const users = await exportDefaults()
    const edited = users.map((user) =>
      user.Id === 'auth0|626737a9813c000069daf462'
        ? { ...user, 'Family Name': 'Smith', email_verified: true }
        : user,
    )
    const before = await snapshot()
    const job = await importFile('roster.json', JSON.stringify(edited))
    expect(job.summary).toMatchObject({ updated: 3, unchanged: 2, failed: 0 })
    expect(job.ignoredFields).toEqual(['Connection', 'Created At', 'Updated At'])
    const changed = (await snapshot()).filter((user, i) => JSON.stringify(user) !== JSON.stringify(before[i]))
    expect(changed.map((user) => [user.email, user.family_name, user.email_verified])).toEqual([
      ['testuser1@auth0.com', 'Smith', true],
    ])
  })
})

describe('restoring a backup into an empty store', () => {
  it('recreates the same users from an unedited full-profile gzip JSON export', async () => {
    await seed()
    const { fileName, bytes } = await exportUsers('json', undefined, { gzip: true })
    expect(fileName).toBe('roster.json.gz')
    const original = await snapshot()

    const fresh = await openHarness()
    try {
      const job = await importFile(fileName, bytes, {}, fresh)
      expect(job.summary).toEqual({ inserted: 4, updated: 0, unchanged: 0, failed: 0, total: 4 })
      // Everything but the dates (read-only: the store sets them) and secrets (never exported).
      const profile = (user: StoredUser) => {
        const { created_at: _c, updated_at: _u, ...rest } = toAuth0User(user)
        return rest
      }
      expect((await snapshot(fresh)).map(profile)).toEqual(original.map(profile))
      expect((await snapshot(fresh)).map((user) => user.password_hash)).toEqual([
        undefined,
        undefined,
        undefined,
        undefined,
      ])
    } finally {
      await fresh.close()
    }
  })
})
