import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { defaultConnection, exitWithin, RosterProcesses } from '../support/roster-process.ts'

/**
 * The CLI as a newcomer meets it, as a child process on a store of its own (no server: the CLI opens the store):
 * help, usage errors, suggestions, and what each command prints.
 */

const processes = new RosterProcesses()
let dir: string
let storeDir: string

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'roster-cli-manners-'))
  storeDir = join(dir, 'store')
})

afterEach(async () => {
  await processes.killAll()
  await rm(dir, { recursive: true, force: true })
})

const cli = (...args: string[]) => processes.runCli(storeDir, args)
const noStack = /^\s+at /m

async function usersFile(name: string, users: unknown): Promise<string> {
  const file = join(dir, name)
  await writeFile(file, typeof users === 'string' ? users : JSON.stringify(users))
  return file
}

describe('help', () => {
  it('roster --help prints every command on stdout and exits 0', async () => {
    const run = await cli('--help')
    expect(run.code).toBe(0)
    expect(run.stdout).toContain('Usage: roster <command>')
    expect(run.stdout).toContain('tokens create')
  })

  it('roster <command> --help prints that command alone and exits 0', async () => {
    const run = await cli('import', '--help')
    expect(run.code).toBe(0)
    expect(run.stdout).toMatch(/^Usage:\n {2}roster import <file> --connection/)
    expect(run.stdout).not.toContain('tokens')
  })
})

describe('usage errors', () => {
  it('print the error and the command’s own usage line, exit 2', async () => {
    const run = await cli('import', '--connection', defaultConnection)
    expect(run.code).toBe(2)
    expect(run.stderr).toContain('roster: import: missing <file>')
    expect(run.stderr).toContain('roster import <file> --connection <name|id>')
    expect(run.stderr).not.toContain('tokens create')
    expect(run.stderr.split('\n').length).toBeLessThan(8)
  })

  it('suggest the command meant', async () => {
    const run = await cli('improt', 'users.json')
    expect(run.code).toBe(2)
    expect(run.stderr).toContain('unknown command improt (did you mean import?)')
  })

  it('suggest the option meant', async () => {
    const run = await cli('users', 'count', '--conection', defaultConnection)
    expect(run.code).toBe(2)
    expect(run.stderr).toContain('unknown option --conection (did you mean --connection?)')
  })

  it('refuse an option the command does not take', async () => {
    const run = await cli('jobs', '--upsert')
    expect(run.code).toBe(2)
    expect(run.stderr).toContain('jobs does not take --upsert')
  })
})

describe('connection names', () => {
  it('suggest the closest name when one is wrong, exit 1', async () => {
    const run = await cli('users', 'count', '--connection', 'Username-Pasword-Authentication')
    expect(run.code).toBe(1)
    expect(run.stderr).toContain(`(did you mean ${defaultConnection}?)`)
    expect(run.stderr).not.toMatch(noStack)
  })

  it('accept a name that differs only in case, and say which was used', async () => {
    const run = await cli('users', 'count', '--connection', defaultConnection.toLowerCase())
    expect(run.code).toBe(0)
    expect(run.stdout.trim()).toBe('0')
    expect(run.stderr).toContain(`using connection ${defaultConnection}`)
  })
})

describe('commands', () => {
  it('users get of an unknown user says so and exits 1', async () => {
    const run = await cli('users', 'get', 'nobody@example.com')
    expect(run.code).toBe(1)
    expect(run.stderr).toContain('No user nobody@example.com')
  })

  it('tokens create says the secret is shown once; tokens list is a table', async () => {
    const created = await cli('tokens', 'create', '--name', 'ci', '--scopes', 'read:users')
    expect(created.code).toBe(0)
    expect(created.stdout).toContain('shown this once')
    expect(created.stdout).toMatch(/^ {2}rst_\S+$/m)
    const listed = await cli('tokens', 'list')
    expect(listed.stdout.trim()).toMatch(
      /^id +name +scopes +created +status\ntok_\w+ +ci +read:users +\S+ +active$/,
    )
  })

  it('job errors shows rows 1-based; --json keeps the 0-based index', async () => {
    const file = await usersFile('users.json', [{ email: 'ok@example.com' }, { email: 'not-an-email' }])
    const run = await cli('import', file, '--connection', defaultConnection, '--wait')
    expect(run.code).toBe(4)
    const id = /job_\w+/.exec(run.stdout)?.[0] ?? ''
    expect((await cli('job', 'errors', id)).stdout).toMatch(/^row 2 not-an-email$/m)
    const json = JSON.parse((await cli('job', 'errors', id, '--json')).stdout)
    expect(json[0].index).toBe(1)
  })

  it('says "1 user", not "1 users"', async () => {
    const file = await usersFile('one.json', [{ email: 'one@example.com' }])
    const run = await cli('import', file, '--connection', defaultConnection, '--wait')
    expect(run.stdout).toContain('one.json, 1 user,')
  })

  it('refuses a {"users": [...]} wrapper as a whole file, with the fix', async () => {
    const file = await usersFile('dump.json', { users: [{ email: 'a@example.com' }] })
    const run = await cli('import', file, '--connection', defaultConnection)
    expect(run.code).toBe(1)
    expect(run.stderr).toContain('dump.json holds one object with a "users" list')
    expect(run.stderr).not.toMatch(noStack)
  })
})

describe('export', () => {
  it('--out into folders that do not exist creates them', async () => {
    const out = join(dir, 'some', 'new', 'folder', 'users.csv')
    const run = await cli('export', '--connection', defaultConnection, '--format', 'csv', '--out', out)
    expect(run.code).toBe(0)
    expect(run.stderr).toContain(`Wrote ${out}`)
    expect(await readFile(out, 'utf8')).toContain('user_id')
  })

  it('--out onto a path that cannot be a file says so, and where the export is', async () => {
    const blocker = await usersFile('taken', 'a file, not a folder')
    const run = await cli('export', '--connection', defaultConnection, '--out', join(blocker, 'users.json'))
    expect(run.code).toBe(1)
    expect(run.stderr).toContain('a part of its path is a file, not a folder')
    expect(run.stderr).toContain('The export itself succeeded')
    expect(run.stderr).not.toMatch(noStack)
  })

  it('--wait prints where the file is; job --json carries its location', async () => {
    const run = await cli('export', '--connection', defaultConnection, '--wait')
    const saved = /saved at {5}(\S+)/.exec(run.stdout)?.[1] ?? ''
    expect(JSON.parse(await readFile(saved, 'utf8'))).toEqual([])
    const id = /job_\w+/.exec(run.stdout)?.[0] ?? ''
    const job = JSON.parse((await cli('job', id, '--json')).stdout)
    expect(fileURLToPath(job.location)).toBe(saved)
  })
})

describe('tenant settings', () => {
  const tenant = async (env: Record<string, string> = {}) =>
    JSON.parse((await processes.runCli(storeDir, ['tenant', '--json'], { env })).stdout)

  it('TENANT_OWNERS and TENANT_NAME set after the first start apply, and stay when unset again', async () => {
    expect(await tenant()).toMatchObject({ name: 'roster', owners: [] })
    expect(await tenant({ TENANT_OWNERS: 'ops@example.com', TENANT_NAME: 'acme' })).toMatchObject({
      name: 'acme',
      owners: ['ops@example.com'],
    })
    expect(await tenant()).toMatchObject({ name: 'acme', owners: ['ops@example.com'] })
  })

  it('tenant owners add|remove change the owners; removing a stranger is refused', async () => {
    await cli('tenant', 'owners', 'add', 'a@example.com', 'b@example.com')
    const removed = await cli('tenant', 'owners', 'remove', 'a@example.com')
    expect(removed.stdout).toContain('owners   b@example.com')
    const stranger = await cli('tenant', 'owners', 'remove', 'zed@example.com')
    expect(stranger.code).toBe(1)
    expect(stranger.stderr).toContain('zed@example.com is not an owner')
  })
})

describe('a linked roster run outside the project folder', () => {
  it('warns that it opened a new, empty store', async () => {
    const run = processes.spawnCliIn(dir, ['users', 'count'], {})
    const exit = await exitWithin(run, 45_000)
    expect(exit.code).toBe(0)
    expect(run.stderr()).toContain(`a new, empty one was created at ${join(dir, 'store')}`)
    expect(run.stderr()).toContain('run roster in the folder where npm start runs')
  })
})

describe('.env in the working directory', () => {
  it('is read at start; a variable set in the environment wins', async () => {
    await writeFile(
      join(dir, '.env'),
      'STORE_DIR=./data\nTENANT_NAME=from-dotenv\nTENANT_OWNERS=dotenv@example.com\nMAIL_FROM="Roster <roster@localhost>"\n',
    )
    const run = processes.spawnCliIn(dir, ['tenant', '--json'], { TENANT_OWNERS: 'shell@example.com' })
    expect((await exitWithin(run, 45_000)).code).toBe(0)
    expect(JSON.parse(run.stdout())).toMatchObject({ name: 'from-dotenv', owners: ['shell@example.com'] })
    expect(run.stderr()).toContain(`created at ${join(dir, 'data')}`)
  })
})
