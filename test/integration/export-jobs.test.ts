import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { gunzipSync } from 'node:zlib'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { defaultFields } from '../../src/domain/export/export-fields.ts'
import { toAuth0Job } from '../../src/domain/jobs/auth0-view.ts'
import type { ExportJob } from '../../src/domain/jobs/job.ts'
import type { ExportRequest } from '../../src/engine/export.ts'
import { defaultConnection, type Harness, openHarness } from '../support/roster-harness.ts'

const bcryptHash = '$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy'
const md5Hash = '9e107d9d372bb6826bd81d3542a419d6'
const totpSecret = 'JBTWY3DPEHPK3PNP'

/** A small tenant with every kind of value an export must get right: unicode, quotes, formulas, secrets. */
const tenant = [
  {
    user_id: 'zoe1',
    email: 'zoe@example.com',
    email_verified: true,
    given_name: 'Zoë',
    family_name: '李',
    name: 'Zoë 李',
    password_hash: bcryptHash,
    user_metadata: { plan: 'pro', seats: 3 },
    app_metadata: { roles: ['admin', 'billing'] },
  },
  {
    user_id: 'dara2',
    email: 'dara@example.com',
    name: 'Dara "DJ" O\'Neil',
    nickname: '=1+1',
    custom_password_hash: { algorithm: 'md5', hash: { value: md5Hash, encoding: 'hex' } },
    user_metadata: { plan: '=HYPERLINK("http://evil.example","x")' },
  },
  {
    user_id: 'sam3',
    email: 'sam@example.com',
    username: 'sam',
    phone_number: '+12125550001',
    phone_verified: false,
    blocked: true,
    mfa_factors: [{ totp: { secret: totpSecret } }],
  },
]

let h: Harness
beforeEach(async () => {
  h = await openHarness()
  const seeded = await h.importUsers(tenant)
  expect(seeded.summary).toMatchObject({ inserted: 3, failed: 0 })
  await h.engine.addConnection({ name: 'Staff', strategy: 'auth0' })
  const staff = await h.importUsers([{ user_id: 'kim4', email: 'kim@example.com' }], { connection: 'Staff' })
  expect(staff.summary).toMatchObject({ inserted: 1, failed: 0 })
  h.clock.advance(60_000)
})
afterEach(async () => {
  await h.close()
})

/** CSV lines end in CRLF: shown as a visible \\r so the snapshots pin the line ends too. */
const crlf = (text: string) => text.replaceAll('\r', '\\r')

interface Exported {
  job: ExportJob
  fileName: string
  bytes: Buffer
  text: string
}

/** `connection: null` exports every connection; absent, the default one. */
type ExportOptions = Partial<Omit<ExportRequest, 'connection'>> & { connection?: string | null }

async function runExport(options: ExportOptions): Promise<Exported> {
  const { connection = defaultConnection, ...rest } = options
  const created = await h.engine.requestExport({
    format: 'json',
    gzip: false,
    requestedBy: { via: 'cli', id: 'tester' },
    ...rest,
    ...(connection === null ? {} : { connection }),
  })
  const job = (await h.engine.waitFor(created.id)) as ExportJob
  expect(job.status).toBe('completed')
  const file = await h.engine.exportFile(job.id)
  if (!file) throw new Error(`export ${job.id} has no file`)
  const bytes = await readFile(file.path)
  return { job, fileName: file.fileName, bytes, text: bytes.toString('utf8') }
}

describe('file bytes of each format (full profile: fields omitted)', () => {
  it('writes JSON as an array, one user per line', async () => {
    const { text, fileName } = await runExport({ format: 'json' })
    expect(fileName).toBe('roster.json')
    expect(text).toMatchInlineSnapshot(`
      "[
      {"user_id":"auth0|zoe1","email":"zoe@example.com","email_verified":true,"given_name":"Zoë","family_name":"李","name":"Zoë 李","nickname":"zoe","app_metadata":{"roles":["admin","billing"]},"user_metadata":{"plan":"pro","seats":3},"created_at":"2026-11-27T10:00:00.000Z","updated_at":"2026-11-27T10:00:00.000Z"},
      {"user_id":"auth0|dara2","email":"dara@example.com","email_verified":false,"name":"Dara \\"DJ\\" O'Neil","nickname":"=1+1","user_metadata":{"plan":"=HYPERLINK(\\"http://evil.example\\",\\"x\\")"},"created_at":"2026-11-27T10:00:00.000Z","updated_at":"2026-11-27T10:00:00.000Z"},
      {"user_id":"auth0|sam3","email":"sam@example.com","email_verified":false,"username":"sam","phone_number":"+12125550001","phone_verified":false,"name":"sam@example.com","nickname":"sam","blocked":true,"created_at":"2026-11-27T10:00:00.000Z","updated_at":"2026-11-27T10:00:00.000Z"}
      ]
      "
    `)
  })

  it('writes NDJSON, one user object per line', async () => {
    const { text, fileName } = await runExport({ format: 'ndjson' })
    expect(fileName).toBe('roster.ndjson')
    expect(text).toMatchInlineSnapshot(`
      "{"user_id":"auth0|zoe1","email":"zoe@example.com","email_verified":true,"given_name":"Zoë","family_name":"李","name":"Zoë 李","nickname":"zoe","app_metadata":{"roles":["admin","billing"]},"user_metadata":{"plan":"pro","seats":3},"created_at":"2026-11-27T10:00:00.000Z","updated_at":"2026-11-27T10:00:00.000Z"}
      {"user_id":"auth0|dara2","email":"dara@example.com","email_verified":false,"name":"Dara \\"DJ\\" O'Neil","nickname":"=1+1","user_metadata":{"plan":"=HYPERLINK(\\"http://evil.example\\",\\"x\\")"},"created_at":"2026-11-27T10:00:00.000Z","updated_at":"2026-11-27T10:00:00.000Z"}
      {"user_id":"auth0|sam3","email":"sam@example.com","email_verified":false,"username":"sam","phone_number":"+12125550001","phone_verified":false,"name":"sam@example.com","nickname":"sam","blocked":true,"created_at":"2026-11-27T10:00:00.000Z","updated_at":"2026-11-27T10:00:00.000Z"}
      "
    `)
  })

  it('writes CSV with escaped strings, bare dates, numbers and booleans, and metadata as JSON text', async () => {
    const { text, fileName } = await runExport({ format: 'csv' })
    expect(fileName).toBe('roster.csv')
    expect(crlf(text)).toMatchInlineSnapshot(`
      "user_id,email,email_verified,username,phone_number,phone_verified,given_name,family_name,name,nickname,picture,blocked,app_metadata,user_metadata,created_at,updated_at\\r
      "'auth0|zoe1","'zoe@example.com",true,,,,"'Zoë","'李","'Zoë 李","'zoe",,,"'{""roles"":[""admin"",""billing""]}","'{""plan"":""pro"",""seats"":3}",2026-11-27T10:00:00.000Z,2026-11-27T10:00:00.000Z\\r
      "'auth0|dara2","'dara@example.com",false,,,,,,"'Dara ""DJ"" O'Neil","'=1+1",,,,"'{""plan"":""=HYPERLINK(\\""http://evil.example\\"",\\""x\\"")""}",2026-11-27T10:00:00.000Z,2026-11-27T10:00:00.000Z\\r
      "'auth0|sam3","'sam@example.com",false,"'sam","'+12125550001",false,,,"'sam@example.com","'sam",,true,,,2026-11-27T10:00:00.000Z,2026-11-27T10:00:00.000Z\\r
      "
    `)
  })

  it("writes the extension's eleven default fields under their labels", async () => {
    const { text } = await runExport({ format: 'csv', fields: [...defaultFields] })
    expect(crlf(text)).toMatchInlineSnapshot(`
      "Id,Given Name,Family Name,Nickname,Name,Email,Email Verified,Picture,Connection,Created At,Updated At\\r
      "'auth0|zoe1","'Zoë","'李","'zoe","'Zoë 李","'zoe@example.com",true,,"'Username-Password-Authentication",2026-11-27T10:00:00.000Z,2026-11-27T10:00:00.000Z\\r
      "'auth0|dara2",,,"'=1+1","'Dara ""DJ"" O'Neil","'dara@example.com",false,,"'Username-Password-Authentication",2026-11-27T10:00:00.000Z,2026-11-27T10:00:00.000Z\\r
      "'auth0|sam3",,,"'sam","'sam@example.com","'sam@example.com",false,,"'Username-Password-Authentication",2026-11-27T10:00:00.000Z,2026-11-27T10:00:00.000Z\\r
      "
    `)
  })

  it('treats an empty field list like an omitted one: the full profile', async () => {
    const empty = await runExport({ format: 'csv', fields: [] })
    expect(empty.text).toBe((await runExport({ format: 'csv' })).text)
  })
})

describe('renames and custom paths', () => {
  const fields = [
    { name: 'email', export_as: 'Mail' },
    { name: 'user_metadata.plan', export_as: 'Plan' },
    { name: 'user_metadata.seats' },
    { name: 'app_metadata.roles' },
    { name: 'identities[0].provider', export_as: 'Provider' },
  ]

  it('writes renamed columns and nested values in CSV', async () => {
    const { text } = await runExport({ format: 'csv', fields })
    expect(crlf(text)).toMatchInlineSnapshot(`
      "Mail,Plan,user_metadata.seats,app_metadata.roles,Provider\\r
      "'zoe@example.com","'pro",3,"'[""admin"",""billing""]","'auth0"\\r
      "'dara@example.com","'=HYPERLINK(""http://evil.example"",""x"")",,,"'auth0"\\r
      "'sam@example.com",,,,"'auth0"\\r
      "
    `)
  })

  it('writes renamed keys and nested values in JSON, leaving out what a user lacks', async () => {
    const { text } = await runExport({ format: 'json', fields })
    expect(text).toMatchInlineSnapshot(`
      "[
      {"Mail":"zoe@example.com","Plan":"pro","user_metadata.seats":3,"app_metadata.roles":["admin","billing"],"Provider":"auth0"},
      {"Mail":"dara@example.com","Plan":"=HYPERLINK(\\"http://evil.example\\",\\"x\\")","Provider":"auth0"},
      {"Mail":"sam@example.com","Provider":"auth0"}
      ]
      "
    `)
  })

  it('records the labels that differ from their paths in the catalog, so the file re-imports', async () => {
    await runExport({ format: 'csv', fields })
    expect(h.engine.ctx.catalog.read().exportLabels).toEqual({
      Mail: 'email',
      Plan: 'user_metadata.plan',
      Provider: 'identities[0].provider',
    })
  })

  it('takes built-in property names as ordinary labels, and refuses the reserved ones', async () => {
    // Before, `toString` found Object.prototype's member among the recorded labels and was refused as taken.
    await runExport({ format: 'csv', fields: [{ name: 'email', export_as: 'toString' }] })
    expect(Object.hasOwn(h.engine.ctx.catalog.read().exportLabels, 'toString')).toBe(true)
    for (const label of ['constructor', '__proto__']) {
      await expect(
        runExport({ format: 'csv', fields: [{ name: 'email', export_as: label }] }),
      ).rejects.toThrow(
        `"${label}" cannot be a column label: __proto__, constructor and prototype are reserved.`,
      )
    }
  })

  it('refuses a label an earlier export recorded for another field, naming both', async () => {
    await runExport({ format: 'csv', fields })
    const before = h.engine.listJobs(100).length
    await expect(
      runExport({ format: 'csv', fields: [{ name: 'app_metadata.plan', export_as: 'Plan' }] }),
    ).rejects.toThrow(
      'The label "Plan" already stands for user_metadata.plan in earlier exports, and their files re-import ' +
        'through it. Export app_metadata.plan under another label (or under its own name, app_metadata.plan).',
    )
    expect(h.engine.listJobs(100)).toHaveLength(before)
    expect(h.engine.ctx.catalog.read().exportLabels.Plan).toBe('user_metadata.plan')
    // The same label for the same field stays welcome.
    await runExport({ format: 'csv', fields: [{ name: 'user_metadata.plan', export_as: 'Plan' }] })
  })

  it('refuses a secret field before any job exists', async () => {
    const before = h.engine.listJobs(100).length
    await expect(runExport({ fields: [{ name: 'password_hash' }] })).rejects.toMatchObject({
      code: 'invalid_request',
    })
    await expect(runExport({ fields: [{ name: 'custom_password_hash.hash.value' }] })).rejects.toThrow(
      /never exported/,
    )
    expect(h.engine.listJobs(100)).toHaveLength(before)
  })
})

describe('how many users', () => {
  const fields = [{ name: 'email' }]

  beforeEach(async () => {
    const more = Array.from({ length: 12 }, (_, i) => ({
      email: `bulk${String(i + 1).padStart(2, '0')}@example.com`,
    }))
    const job = await h.importUsers(more)
    expect(job.summary).toMatchObject({ inserted: 12, failed: 0 })
  })

  it('exports 10 users as a sample', async () => {
    const { job, text } = await runExport({ format: 'ndjson', fields, sample: true })
    expect(job.limit).toBe(10)
    expect(job.result?.users).toBe(10)
    expect(
      text
        .trimEnd()
        .split('\n')
        .map((line) => JSON.parse(line).email),
    ).toEqual([
      'zoe@example.com',
      'dara@example.com',
      'sam@example.com',
      ...Array.from({ length: 7 }, (_, i) => `bulk0${i + 1}@example.com`),
    ])
  })

  it('exports at most limit users, in store order', async () => {
    const { job, text } = await runExport({ format: 'csv', fields, limit: 2 })
    expect(job.result?.users).toBe(2)
    expect(text).toBe(`email\r\n"'zoe@example.com"\r\n"'dara@example.com"\r\n`)
  })

  it('keeps a smaller limit inside a sample', async () => {
    const { job } = await runExport({ fields, sample: true, limit: 3 })
    expect(job.result?.users).toBe(3)
  })

  it('exports every user when the limit is above the count', async () => {
    const { job } = await runExport({ fields, limit: 1000 })
    expect(job.result?.users).toBe(15)
  })

  it('refuses a limit below 1', async () => {
    await expect(runExport({ fields, limit: 0 })).rejects.toThrow('limit must be a whole number, at least 1.')
  })
})

describe('connections', () => {
  const fields = [{ name: 'email' }, { name: 'identities[0].connection', export_as: 'Connection' }]

  it("exports one connection's users", async () => {
    const { text, job } = await runExport({ format: 'ndjson', fields, connection: 'Staff' })
    expect(text).toBe('{"email":"kim@example.com","Connection":"Staff"}\n')
    expect(job.connectionName).toBe('Staff')
  })

  it('exports every connection when none is named', async () => {
    const { text, job } = await runExport({ format: 'ndjson', fields, connection: null })
    expect(
      text
        .trimEnd()
        .split('\n')
        .map((line) => JSON.parse(line)),
    ).toEqual([
      { email: 'zoe@example.com', Connection: defaultConnection },
      { email: 'dara@example.com', Connection: defaultConnection },
      { email: 'sam@example.com', Connection: defaultConnection },
      { email: 'kim@example.com', Connection: 'Staff' },
    ])
    expect(job.connectionId).toBeUndefined()
  })

  it('refuses a connection that does not exist', async () => {
    await expect(runExport({ connection: 'Nope' })).rejects.toMatchObject({ code: 'connection_not_found' })
  })
})

describe('gzip', () => {
  it.each(['json', 'ndjson', 'csv'] as const)('gzips %s to exactly the plain bytes', async (format) => {
    const plain = await runExport({ format })
    const zipped = await runExport({ format, gzip: true })
    expect(zipped.fileName).toBe(`roster.${format}.gz`)
    expect([...zipped.bytes.subarray(0, 2)]).toEqual([0x1f, 0x8b])
    expect(gunzipSync(zipped.bytes).equals(plain.bytes)).toBe(true)
    expect(zipped.job.result?.bytes).toBe(zipped.bytes.length)
  })
})

describe('secrets', () => {
  const secrets = [bcryptHash, md5Hash, totpSecret, 'password_hash', 'custom_password_hash', 'mfa_factors']

  it.each(['json', 'ndjson', 'csv'] as const)('never writes a secret into a %s file', async (format) => {
    for (const request of [{ format }, { format, connection: null }, { format, gzip: true }]) {
      const { bytes, job } = await runExport(request)
      const text = job.gzip ? gunzipSync(bytes).toString('utf8') : bytes.toString('utf8')
      for (const secret of secrets) expect(text).not.toContain(secret)
      // The file does hold the users: the check above is not passing on an empty file.
      expect(text).toContain('sam@example.com')
    }
  })
})

describe('the job', () => {
  it("shows an export job in Auth0's shape: format, fields, limit, no summary", async () => {
    const { job } = await runExport({
      format: 'csv',
      fields: [{ name: 'email', export_as: 'Mail' }],
      limit: 2,
    })
    const view = toAuth0Job(job)
    expect(view).toEqual({
      type: 'users_export',
      status: 'completed',
      connection_id: job.connectionId,
      format: 'csv',
      limit: 2,
      fields: [{ name: 'email', export_as: 'Mail' }],
      connection: defaultConnection,
      created_at: '2026-11-27T10:01:00.000Z',
      id: job.id,
    })
    expect(view).not.toHaveProperty('summary')
    expect(job.connectionId).toMatch(/^con_/)
  })

  it('records the full profile field list when fields are omitted', async () => {
    const { job } = await runExport({ format: 'json' })
    expect(job.fields.map((field) => field.name)).toEqual([
      'user_id',
      'email',
      'email_verified',
      'username',
      'phone_number',
      'phone_verified',
      'given_name',
      'family_name',
      'name',
      'nickname',
      'picture',
      'blocked',
      'app_metadata',
      'user_metadata',
      'created_at',
      'updated_at',
    ])
    expect(toAuth0Job(job)).not.toHaveProperty('limit')
  })
})

describe('users whose stored JSON is not what JSON.stringify writes', () => {
  const snapshotPath = () => join(h.storeDir, 'users', 'snapshot.jsonl')

  /** Rewrites the JSON part (after the four keys) of the user `userId`'s snapshot line. */
  async function editStoredUser(userId: string, edit: (json: string) => string): Promise<void> {
    await h.engine.ctx.maintenance?.compact()
    await h.close()
    const lines = (await readFile(snapshotPath(), 'utf8')).split('\n')
    // Imported ids get the connection's prefix (`auth0|zoe1`).
    const index = lines.findIndex((line) => line.split('\t')[0]?.endsWith(`${userId}"`))
    expect(index).toBeGreaterThan(0)
    const keys = (lines[index] as string).split('\t').slice(0, 4).join('\t')
    lines[index] = `${keys}\t${edit((lines[index] as string).split('\t').slice(4).join('\t'))}`
    await writeFile(snapshotPath(), lines.join('\n'))
    h = await openHarness({}, h.storeDir)
  }

  it('writes the same files when a user is stored with spaces and \\u escapes (parsed, not copied)', async () => {
    const cases: ExportOptions[] = [
      { format: 'json' },
      { format: 'ndjson' },
      { format: 'csv' },
      { format: 'csv', fields: [...defaultFields, { name: 'user_metadata.plan', export_as: 'plan' }] },
    ]
    const before = []
    for (const request of cases) before.push((await runExport({ ...request, connection: null })).text)
    // Same values, other bytes: JSON.parse reads them alike, a byte copy would not.
    await editStoredUser('zoe1', (json) => json.replace('"Zoë"', '"Zo\\u00eb"').replace(',', ', '))

    for (const [i, request] of cases.entries()) {
      expect((await runExport({ ...request, connection: null })).text).toBe(before[i])
    }
  })

  it('fails the export when a stored user is damaged, as a scan reports it', async () => {
    await editStoredUser('dara2', (json) => json.replace(/,"rev":\d+/, ''))
    const created = await h.engine.requestExport({
      format: 'csv',
      gzip: false,
      requestedBy: { via: 'cli', id: 'tester' },
    })
    const job = await h.engine.waitFor(created.id)
    expect(job.status).toBe('failed')
    expect(job.statusDetails).toContain('dara2')
  })
})
