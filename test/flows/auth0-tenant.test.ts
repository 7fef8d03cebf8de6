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

  it.todo('undo changes the tenant exactly as it changes the embedded store (needs wip-13undo)')

  it.todo('re-imports its own export of the tenant with every user unchanged (needs wip-13undo)')
  it.todo("runs the Dashboard guide's bulk profile update against the tenant (needs wip-13undo)")
})
