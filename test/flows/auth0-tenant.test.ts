import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { toAuth0User } from '../../src/domain/users/auth0-user-view.ts'
import { defaultConnection, RosterProcesses } from '../support/roster-process.ts'
import { readUsers } from '../support/store-inspection.ts'
import { comparableSet, startTenantPair, type TenantPair } from '../support/tenant-pair.ts'

/**
 * Issue 13's "done when", through the CLI: a front Roster with AUTH0_* set drives a tenant Roster (the stand-in,
 * API_RATE_LIMIT set) over HTTP only, and the same files run in embedded mode on a store of their own change that
 * store exactly as they change the tenant. Each test uses its own email domain, so they share one pair.
 */

type Row = Record<string, unknown>
type JobView = { id: string; status: string; summary?: Record<string, number> }

let pair: TenantPair
let dir: string
const embeddedRuns = new RosterProcesses()

beforeAll(async () => {
  pair = await startTenantPair()
  // Connections the tenant has before the front starts (the front refreshes its copy at start and after 60 s).
  await pair.tenantJson(['connections', 'add', 'legacy-db', '--strategy', 'custom-db', '--import-mode'])
  await pair.tenantJson(['connections', 'add', 'google', '--strategy', 'google-oauth2'])
  await pair.startFront()
  dir = await mkdtemp(join(tmpdir(), 'roster-tenant-flow-'))
}, 300_000)

afterAll(async () => {
  await embeddedRuns.killAll()
  await pair?.close()
  if (dir) await rm(dir, { recursive: true, force: true })
})

async function file(name: string, users: unknown[]): Promise<string> {
  const path = join(dir, name)
  await writeFile(path, JSON.stringify(users, null, 2))
  return path
}

/** An embedded Roster store of its own, driven by the same CLI commands (no AUTH0_*). */
function embeddedStore(name: string) {
  const storeDir = join(dir, `embedded-${name}`)
  return {
    storeDir,
    json: <T>(args: readonly string[], exitCodes: readonly number[] = [0]) =>
      embeddedRuns.cliJson<T>(storeDir, args, exitCodes),
    users: async () => (await readUsers(storeDir)).map((user) => toAuth0User(user)),
  }
}

const ofDomain = (domain: string, users: readonly Row[]) =>
  comparableSet(users.filter((user) => String(user.email).endsWith(`@${domain}`)))

const importArgs = (path: string, ...flags: string[]) => [
  'import',
  path,
  '--connection',
  defaultConnection,
  '--wait',
  ...flags,
]

describe('a Roster in front of an Auth0 tenant (CLI)', () => {
  it("lists the tenant's database connections, with the tenant's ids", async () => {
    const onTenant = await pair.tenantJson<{ id: string; name: string }[]>(['connections'])
    const idOf = (name: string) => onTenant.find((c) => c.name === name)?.id
    const listed = await pair.frontJson<{ id: string; name: string }[]>(['connections'])
    expect(listed.map((c) => [c.name, c.id]).sort()).toEqual(
      [defaultConnection, 'legacy-db'].map((name) => [name, idOf(name)]).sort(),
    )
  })

  /** The "same file" comparison's state, for the undo test after it. */
  const same = { domain: 'same.example', frontJob: '', localJob: '' }

  it('dry run and import change the tenant exactly as the same files change an embedded store', async () => {
    const { domain } = same
    const embedded = embeddedStore('same')
    const seed = await file('same-seed.json', [
      { email: `ada@${domain}`, given_name: 'Ada', family_name: 'Lovelace', user_metadata: { team: 'math' } },
      { email: `grace@${domain}`, given_name: 'Grace', app_metadata: { plan: 'pro' }, email_verified: true },
      { email: `linus@${domain}`, name: 'Linus', user_metadata: { shell: 'sh' } },
    ])
    const change = await file('same-change.json', [
      {
        email: `ada@${domain}`,
        given_name: 'Augusta',
        family_name: 'Lovelace',
        user_metadata: { team: 'math' },
      },
      { email: `grace@${domain}`, given_name: 'Grace', app_metadata: { plan: 'pro' }, email_verified: true },
      { email: `linus@${domain}`, name: 'Linus', user_metadata: { shell: 'bash' } },
      { email: `mae@${domain}`, given_name: 'Mae', nickname: 'mae' },
      { email: 'not-an-email', given_name: 'Nobody' },
    ])
    expect(await pair.frontJson<JobView>(importArgs(seed))).toMatchObject({ status: 'completed' })
    expect(await embedded.json<JobView>(importArgs(seed))).toMatchObject({ status: 'completed' })
    expect(ofDomain(domain, await pair.tenantUsers())).toEqual(ofDomain(domain, await embedded.users()))

    const dryFront = await pair.frontJson<JobView>(importArgs(change, '--upsert', '--dry-run'), [0, 4])
    const dryEmbedded = await embedded.json<JobView>(importArgs(change, '--upsert', '--dry-run'), [0, 4])
    expect(dryFront.summary).toEqual(dryEmbedded.summary)
    expect(dryFront.summary).toMatchObject({ inserted: 1, updated: 3, unchanged: 1, failed: 1, total: 5 })
    expect(await pair.frontJson(['job', 'errors', dryFront.id])).toEqual(
      await embedded.json(['job', 'errors', dryEmbedded.id]),
    )

    const front = await pair.frontJson<JobView>(importArgs(change, '--upsert'), [0, 4])
    const local = await embedded.json<JobView>(importArgs(change, '--upsert'), [0, 4])
    expect(front.summary).toEqual(local.summary)
    const afterImport = ofDomain(domain, await pair.tenantUsers())
    expect(afterImport).toEqual(ofDomain(domain, await embedded.users()))
    expect(afterImport.find((user) => user.email === `ada@${domain}`)).toMatchObject({
      given_name: 'Augusta',
    })
    expect(await pair.frontJson(['job', 'errors', front.id])).toEqual(
      await embedded.json(['job', 'errors', local.id]),
    )
    same.frontJob = front.id
    same.localJob = local.id
  }, 400_000)

  it('undo changes the tenant exactly as it changes the embedded store', async () => {
    const { domain } = same
    const embedded = embeddedStore('same')
    expect(same.frontJob).not.toBe('')
    const undoFront = await pair.frontJson<JobView>(['undo', same.frontJob, '--wait'])
    const undoLocal = await embedded.json<JobView>(['undo', same.localJob, '--wait'])
    expect(undoFront.summary).toEqual(undoLocal.summary)
    expect(undoFront.summary).toMatchObject({ deleted: 1, conflicts: 0 })
    const afterUndo = ofDomain(domain, await pair.tenantUsers())
    expect(afterUndo).toEqual(ofDomain(domain, await embedded.users()))
    expect(afterUndo.map((user) => user.email)).not.toContain(`mae@${domain}`)
    expect(afterUndo.find((user) => user.email === `ada@${domain}`)).toMatchObject({ given_name: 'Ada' })
  }, 400_000)

  it('re-imports its own export of the tenant with every user unchanged', async () => {
    const domain = 'export.example'
    const seed = await file('export-seed.json', [
      { email: `kim@${domain}`, given_name: 'Kim', user_metadata: { desk: 4, tags: ['a', 'b'] } },
      { email: `lee@${domain}`, name: 'Lee', app_metadata: { roles: ['admin'] }, email_verified: true },
      { email: `max@${domain}`, username: 'max', nickname: 'mx' },
    ])
    await pair.frontJson(importArgs(seed))
    const before = (await pair.tenantUsers()).filter((user) => String(user.email).endsWith(`@${domain}`))
    const exported = join(dir, 'export-out', 'acme.json')
    await pair.frontJson(['export', '--connection', defaultConnection, '--out', exported])
    const users = JSON.parse(await readFile(exported, 'utf8')) as Row[]
    expect(users.map((user) => user.email)).toEqual(
      expect.arrayContaining([`kim@${domain}`, `lee@${domain}`]),
    )
    const again = await pair.frontJson<JobView>(importArgs(exported, '--upsert'))
    expect(again.summary).toMatchObject({ inserted: 0, failed: 0 })
    expect(again.summary?.unchanged).toBe(again.summary?.total)
    const after = (await pair.tenantUsers()).filter((user) => String(user.email).endsWith(`@${domain}`))
    // Unchanged to the last field, ids and timestamps included: nothing was sent for them.
    expect(after).toEqual(before)
  }, 300_000)

  it("runs the Dashboard guide's bulk profile update against the tenant", async () => {
    const guide = JSON.parse(
      await readFile(new URL('../fixtures/dashboard-guide-export.json', import.meta.url), 'utf8'),
    ) as Row[]
    // The guide's three users, already in the tenant (made there, as people made them in the Dashboard).
    const seed = await file(
      'guide-seed.json',
      guide.map((user) => ({ email: user.email, nickname: user.Nickname, name: user.Name })),
    )
    await pair.tenantJson(['import', seed, '--connection', defaultConnection, '--wait'])
    const exported = join(dir, 'guide-out', 'acme.json')
    await pair.frontJson(['export', '--connection', defaultConnection, '--default-fields', '--out', exported])
    const users = JSON.parse(await readFile(exported, 'utf8')) as Row[]
    // The default fields carry Auth0's Dashboard labels: "Email", "Nickname", "Connection"…
    const testuser1 = users.find((user) => user.Email === 'testuser1@auth0.com')
    expect(testuser1).toMatchObject({ Nickname: 'testuser1', Connection: defaultConnection })
    // The guide's edit: "Family Name": "Smith" and a verified email on testuser1, then re-import with upsert.
    const edited = users.map((user) =>
      user.Email === 'testuser1@auth0.com'
        ? { ...user, 'Family Name': 'Smith', 'Email Verified': true }
        : user,
    )
    const run = await pair.frontJson<JobView>(importArgs(await file('guide-edited.json', edited), '--upsert'))
    expect(run.summary).toMatchObject({ inserted: 0, failed: 0 })
    const tenantUsers = await pair.tenantUsers()
    expect(tenantUsers.find((user) => user.email === 'testuser1@auth0.com')).toMatchObject({
      family_name: 'Smith',
      email_verified: true,
      nickname: 'testuser1',
    })
    expect(tenantUsers.find((user) => user.email === 'testuser2@auth0.com')).not.toHaveProperty('family_name')
  }, 300_000)
})
