import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it, onTestFinished } from 'vitest'
import {
  defaultConnection,
  exitWithin,
  getHealth,
  poll,
  RosterProcesses,
  readLockFile,
} from '../support/roster-process.ts'

/**
 * The server as a person starts it: `npm start` on a port something else holds, and `kill <pid>` of `npm start`.
 * Real processes; the store's lock file tells whether Roster let go of the store.
 */

const processes = new RosterProcesses()
let dir: string
let storeDir: string
let blocker: Server | undefined

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'roster-server-process-'))
  storeDir = join(dir, 'store')
})

afterEach(async () => {
  await processes.killAll()
  await new Promise((done) => (blocker ? blocker.close(done) : done(undefined)))
  blocker = undefined
  await rm(dir, { recursive: true, force: true })
})

/** A port something else listens on (all interfaces, as Roster would). */
async function takenPort(): Promise<number> {
  blocker = createServer()
  const server = blocker
  await new Promise<void>((done) => server.listen(0, done))
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('no port')
  return address.port
}

describe('a port already in use', () => {
  it('stops Roster with a message naming the port and PORT, exit 1, no stack trace', async () => {
    const port = await takenPort()
    const server = processes.spawnServer(storeDir, { PORT: String(port) })
    const exit = await exitWithin(server, 30_000)
    expect(exit.code).toBe(1)
    expect(server.stderr()).toContain(`roster: Port ${port} is in use`)
    expect(server.stderr()).toContain('set PORT=')
    expect(server.stderr()).not.toMatch(/^\s+at /m)
  })

  it('releases the store, so a start on a free port needs no takeover', async () => {
    const port = await takenPort()
    await exitWithin(processes.spawnServer(storeDir, { PORT: String(port) }), 30_000)
    expect(await readLockFile(storeDir)).toBeUndefined()
  })
})

describe('a STORE_DIR that cannot be a folder', () => {
  it('stops Roster naming the folder and STORE_DIR, exit 1, no stack trace', async () => {
    const file = join(dir, 'a-file')
    await writeFile(file, 'not a folder')
    const server = processes.spawnServer(join(file, 'store'))
    expect((await exitWithin(server, 30_000)).code).toBe(1)
    expect(server.stderr()).toContain(`Cannot create the store folder ${join(file, 'store')}`)
    expect(server.stderr()).toContain('Set STORE_DIR')
    expect(server.stderr()).not.toMatch(/^\s+at /m)
  })
})

describe('kill <pid> of npm start', () => {
  it('reaches Roster, which shuts down cleanly and releases the store', async () => {
    const npm = processes.spawnNpm(storeDir, ['start'], { LOG_LEVEL: 'info' })
    const port = await poll('npm start to serve', async () => {
      const lock = await readLockFile(storeDir)
      if (lock?.port === undefined || !npm.stderr().includes('"msg":"Roster is running"')) return undefined
      return lock.port
    })
    const roster = (await readLockFile(storeDir))?.pid
    expect(roster).not.toBe(npm.pid)
    // killAll() kills npm only: if the signal did not reach Roster, it must not outlive the test.
    onTestFinished(() => {
      try {
        process.kill(roster as number, 'SIGKILL')
      } catch {}
    })
    expect((await getHealth(port)).ok).toBe(true)

    npm.child.kill('SIGTERM')
    await exitWithin(npm, 30_000)

    expect(npm.stderr()).toContain('"msg":"shutting down","signal":"SIGTERM"')
    await poll('the lock file to go', async () => ((await readLockFile(storeDir)) ? undefined : true))
    expect(() => process.kill(roster as number, 0)).toThrow()
  })
})

describe('a server started on an existing store', () => {
  it('applies TENANT_OWNERS set since the first start, and logs the change', async () => {
    expect((await processes.runCli(storeDir, ['tenant'])).stdout).toContain('owners   (none')
    const server = await processes.startServer(storeDir, { env: { TENANT_OWNERS: 'ops@example.com' } })
    expect(server.stderr()).toContain(
      '"msg":"tenant owners set from TENANT_OWNERS","before":[],"after":["ops@example.com"]',
    )
    expect((await processes.cliJson(storeDir, ['tenant'])).owners).toEqual(['ops@example.com'])
  })

  it('gives job --json through the server the download location GET /jobs/{id} gives', async () => {
    const server = await processes.startServer(storeDir)
    const job = await processes.cliJson(storeDir, ['export', '--connection', defaultConnection, '--wait'])
    const location = String(job.location)
    expect(location).toMatch(
      new RegExp(`^http://localhost:${server.port}/downloads/${job.id}/roster\\.json\\?Expires=`),
    )
    const download = await fetch(location.replace('localhost', '127.0.0.1'))
    expect(download.status).toBe(200)
    expect(await download.json()).toEqual([])
  })
})
