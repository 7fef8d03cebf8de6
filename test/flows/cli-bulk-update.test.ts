import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { defaultConnection, RosterProcesses } from '../support/roster-process.ts'

/**
 * The Dashboard guide's bulk profile update, through the CLI as a person runs it, on a FULL export (no
 * --default-fields): every user already carries `family_name`, and the person adds `"Family Name": "Smith"`.
 */

const processes = new RosterProcesses()
let dir: string
let storeDir: string

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'roster-bulk-update-'))
  storeDir = join(dir, 'store')
  await writeFile(
    join(dir, 'seed.json'),
    JSON.stringify([
      { email: 'testuser1@auth0.com', family_name: 'Doe' },
      { email: 'testuser2@auth0.com', family_name: 'Roe' },
      { email: 'testuser3@auth0.com' },
    ]),
  )
  await processes.cliJson(storeDir, [
    'import',
    join(dir, 'seed.json'),
    '--connection',
    defaultConnection,
    '--wait',
  ])
})

afterEach(async () => {
  await processes.killAll()
  await rm(dir, { recursive: true, force: true })
})

type Row = Record<string, unknown>

/** Exports every profile field (JSON), lets `edit` change the file's users, and re-imports it with --upsert. */
async function exportEditImport(edit: (user: Row) => Row) {
  const file = join(dir, 'export', 'roster.json')
  await processes.cliJson(storeDir, ['export', '--connection', defaultConnection, '--out', file])
  const users = JSON.parse(await readFile(file, 'utf8')) as Row[]
  expect(users[0]).toHaveProperty('family_name', 'Doe')
  await writeFile(file, JSON.stringify(users.map(edit), null, 2))
  return processes.runCli(storeDir, ['import', file, '--connection', defaultConnection, '--upsert', '--wait'])
}

const familyName = async (email: string) =>
  (await processes.cliJson<Row[]>(storeDir, ['users', 'get', email]))[0]?.family_name

describe("the guide's bulk update on a full export", () => {
  it('"Family Name" added beside the stored family_name is the edit: it is written', async () => {
    const run = await exportEditImport((user) =>
      user.email === 'testuser1@auth0.com' ? { ...user, 'Family Name': 'Smith', email_verified: true } : user,
    )
    expect(run.code).toBe(0)
    expect(run.stdout).toContain('3 updated (2 unchanged), 0 failed of 3')
    expect(run.stdout).not.toContain('Family Name')
    expect(await familyName('testuser1@auth0.com')).toBe('Smith')
    expect(await familyName('testuser2@auth0.com')).toBe('Roe')
  })

  it('"Family Name" added to a user without family_name is written', async () => {
    const run = await exportEditImport((user) =>
      user.email === 'testuser3@auth0.com' ? { ...user, 'Family Name': 'Smith' } : user,
    )
    expect(run.code).toBe(0)
    expect(await familyName('testuser3@auth0.com')).toBe('Smith')
  })

  it('a label and its field both changed, differently, fail the row naming both; nothing is dropped', async () => {
    const run = await exportEditImport((user) =>
      user.email === 'testuser2@auth0.com'
        ? { ...user, family_name: 'Roe-Smith', 'Family Name': 'Smith' }
        : user,
    )
    expect(run.code).toBe(4)
    expect(run.stdout).toContain('1 failed of 3')
    const id = /job_\w+/.exec(run.stdout)?.[0] ?? ''
    const errors = await processes.runCli(storeDir, ['job', 'errors', id])
    expect(errors.stdout).toContain('row 2 testuser2@auth0.com')
    expect(errors.stdout).toContain('"Family Name" is "Smith" and "family_name" is "Roe-Smith"')
    expect(await familyName('testuser2@auth0.com')).toBe('Roe')
  })
})
