import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { seedRows, toJsonArray } from '../support/generate-users.ts'
import {
  defaultConnection,
  exitWithin,
  RosterProcesses,
  readLockFile,
  type ServerProcess,
} from '../support/roster-process.ts'
import { readCatalog, storeFileProblems } from '../support/store-inspection.ts'

/**
 * "One writer per store: a second process on the same STORE_DIR gets a clear error, never corrupts it", and the
 * CLI "must be safe while `npm start` is running (no second writer on the store)". Real processes on one
 * STORE_DIR: the lock file decides who writes, and the CLI talks to the holder instead of opening the store.
 */

// Each test starts two or three Roster processes one after another (~20 s on a quiet 2-core host): 30 s is too
// tight when the host is busy.
vi.setConfig({ testTimeout: 120_000 })

const processes = new RosterProcesses()
let dir: string
let storeDir: string
let usersFile: string
const userCount = 50

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'roster-lock-process-'))
  storeDir = join(dir, 'store')
  usersFile = join(dir, 'users.json')
  await writeFile(usersFile, toJsonArray(seedRows(userCount)))
})

afterEach(async () => {
  await processes.killAll()
  await rm(dir, { recursive: true, force: true })
})

const importArgs = () => ['import', usersFile, '--connection', defaultConnection, '--wait']

async function usersCount(): Promise<number> {
  return (await processes.cliJson<{ count: number }>(storeDir, ['users', 'count'])).count
}

/** A server that has imported the users file, then died by kill -9: its lock file is left behind. */
async function crashedServerWithUsers(): Promise<ServerProcess> {
  const server = await processes.startServer(storeDir)
  await processes.cliJson(storeDir, importArgs())
  expect(await server.kill9()).toEqual({ code: null, signal: 'SIGKILL' })
  expect((await readLockFile(storeDir))?.pid).toBe(server.pid)
  return server
}

describe('a second server on a store that a running server holds', () => {
  it('exits non-zero, naming the store and the process that holds it', async () => {
    const server = await processes.startServer(storeDir)

    const second = processes.spawnServer(storeDir)
    const exit = await exitWithin(second, 30_000)

    expect(exit.code).toBe(1)
    expect(second.stderr()).toContain(
      `The store at ${resolve(storeDir)} is in use by Roster process ${server.pid}`,
    )
    expect(second.stderr()).not.toContain('    at ') // a message for a person, not a stack trace
  })

  it('leaves the first server serving, its lock untouched and every store file whole', async () => {
    const server = await processes.startServer(storeDir)
    await processes.cliJson(storeDir, importArgs())
    const lock = await readLockFile(storeDir)

    await exitWithin(processes.spawnServer(storeDir), 30_000)

    expect(await readLockFile(storeDir)).toEqual(lock)
    expect(await server.health()).toMatchObject({ ok: true, store: { users: userCount } })
    expect((await readCatalog(storeDir)).jobs).toHaveLength(1)
    expect(await storeFileProblems(storeDir)).toEqual([])
  })
})

describe('the CLI while a server holds the store', () => {
  it('answers `users count` from the server', async () => {
    const server = await processes.startServer(storeDir)
    const lock = await readLockFile(storeDir)

    expect(await usersCount()).toBe(0)

    // Had the CLI opened the store itself, it would have taken (and then deleted) the lock.
    expect(await readLockFile(storeDir)).toEqual(lock)
    expect(lock?.pid).toBe(server.pid)
  })

  it('runs `import --wait` in the server: the server sees the new users and still holds the lock', async () => {
    const server = await processes.startServer(storeDir)
    const lock = await readLockFile(storeDir)

    const job = await processes.cliJson<{ status: string; summary: unknown }>(storeDir, importArgs())

    expect(job).toMatchObject({ status: 'completed', summary: { inserted: userCount, failed: 0 } })
    // Only the server's own memory can know of users it did not write itself.
    expect(await server.health()).toMatchObject({ ok: true, store: { users: userCount } })
    expect(await usersCount()).toBe(userCount)
    expect(await readLockFile(storeDir)).toEqual(lock)
  })

  it('gets the job id back at once without --wait, and the server runs the job', async () => {
    const server = await processes.startServer(storeDir)

    const args = importArgs().filter((arg) => arg !== '--wait')
    const job = await processes.cliJson<{ id: string; status: string }>(storeDir, args)

    expect(job.status).toBe('pending')
    const finished = await processes.cliJson<{ status: string }>(storeDir, ['job', job.id, '--wait'])
    expect(finished.status).toBe('completed')
    expect(await server.health()).toMatchObject({ store: { users: userCount } })
  })
})

describe('after kill -9 of the server', () => {
  it('the CLI takes over the stale lock, works on the store itself, and releases it', async () => {
    await crashedServerWithUsers()

    const count = await processes.runCli(storeDir, ['users', 'count', '--json'])

    expect(count.code, count.stderr).toBe(0)
    expect(JSON.parse(count.stdout)).toEqual({ count: userCount })
    expect(await readLockFile(storeDir)).toBeUndefined()
    expect(await storeFileProblems(storeDir)).toEqual([])
  })

  it('a new server starts on the store, with every user', async () => {
    const crashed = await crashedServerWithUsers()

    const server = await processes.startServer(storeDir)

    expect(server.pid).not.toBe(crashed.pid)
    expect((await readLockFile(storeDir))?.pid).toBe(server.pid)
    expect(await server.health()).toMatchObject({ ok: true, store: { users: userCount } })
  })
})
