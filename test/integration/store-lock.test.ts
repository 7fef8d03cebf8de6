import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { hostname, tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import {
  acquireStoreLock,
  type LockInfo,
  readStoreLock,
  type StoreLock,
} from '../../src/adapters/store/store-lock.ts'
import { AppError } from '../../src/errors.ts'

let dir: string
const locks: StoreLock[] = []
const children: ChildProcess[] = []

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'roster-lock-'))
})

afterEach(async () => {
  for (const lock of locks.splice(0)) await lock.release()
  for (const child of children.splice(0)) if (child.exitCode === null && child.pid) process.kill(child.pid)
  await rm(dir, { recursive: true, force: true })
})

async function acquire(contact: { port?: number; controlToken?: string } = {}): Promise<StoreLock> {
  const lock = await acquireStoreLock(dir, contact)
  locks.push(lock)
  return lock
}

async function acquireError(): Promise<AppError> {
  const error = await acquire().then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(AppError)
  return error as AppError
}

/** The pid of a process that has exited (and been reaped): nothing answers to it any more. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' })
  const pid = child.pid
  await once(child, 'exit')
  if (pid === undefined) throw new Error('spawn gave no pid')
  return pid
}

async function livePid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)'], { stdio: 'ignore' })
  children.push(child)
  await once(child, 'spawn')
  if (child.pid === undefined) throw new Error('spawn gave no pid')
  return child.pid
}

async function writeLock(info: LockInfo): Promise<void> {
  await writeFile(join(dir, 'roster.lock'), JSON.stringify(info), { mode: 0o600 })
}

function otherHolder(pid: number): LockInfo {
  return {
    pid,
    startedAt: '2026-01-01T00:00:00.000Z',
    hostname: hostname(),
    port: 4100,
    controlToken: 'their-token',
  }
}

describe('acquireStoreLock', () => {
  it('writes a private lock file naming this process and how to reach it', async () => {
    await acquire({ port: 3000, controlToken: 'secret' })

    const info = await readStoreLock(dir)
    expect(info).toMatchObject({ pid: process.pid, hostname: hostname(), port: 3000, controlToken: 'secret' })
    expect((await stat(join(dir, 'roster.lock'))).mode & 0o777).toBe(0o600)
    expect(await readdir(dir)).toEqual(['roster.lock'])
  })

  it('refuses a second acquire in the same process with store_locked and the holder in details', async () => {
    await acquire({ port: 3000, controlToken: 'secret' })

    const error = await acquireError()

    expect(error.code).toBe('store_locked')
    expect(error.message).toContain(`The store at ${dir} is in use by Roster process ${process.pid}`)
    expect(error.details).toMatchObject({ pid: process.pid, port: 3000, controlToken: 'secret' })
  })

  it('refuses a store whose lock names another live process', async () => {
    const pid = await livePid()
    await writeLock(otherHolder(pid))

    const error = await acquireError()

    expect(error.code).toBe('store_locked')
    expect(error.message).toContain(`Roster process ${pid} (started 2026-01-01T00:00:00.000Z)`)
    expect(error.details).toEqual(otherHolder(pid))
  })

  it('refuses a store locked from another host, whose pids it cannot check', async () => {
    await writeLock({ ...otherHolder(await deadPid()), hostname: 'elsewhere.example' })

    const error = await acquireError()

    expect(error.code).toBe('store_locked')
    expect(error.message).toContain('on host elsewhere.example')
  })

  it('takes over a lock left by a process that died', async () => {
    await writeLock(otherHolder(await deadPid()))

    const lock = await acquire({ port: 3000 })

    expect(lock.info.pid).toBe(process.pid)
    expect(await readStoreLock(dir)).toMatchObject({ pid: process.pid, port: 3000 })
    expect(await readdir(dir)).toEqual(['roster.lock'])
  })

  it('takes over a lock left by an earlier run that had this same pid (pid 1 in containers)', async () => {
    await writeLock(otherHolder(process.pid))

    const lock = await acquire()

    expect(await readStoreLock(dir)).toEqual(lock.info)
  })

  it('refuses a lock file it cannot read with store_invalid, leaving it in place', async () => {
    await writeFile(join(dir, 'roster.lock'), 'garbage')

    const error = await acquireError()

    expect(error.code).toBe('store_invalid')
    expect(error.message).toContain(join(dir, 'roster.lock'))
    expect(await readFile(join(dir, 'roster.lock'), 'utf8')).toBe('garbage')
  })

  it('can be acquired again after release', async () => {
    const first = await acquire()
    await first.release()

    await expect(acquire()).resolves.toBeDefined()
  })
})

describe('StoreLock', () => {
  it('records the port once the server listens', async () => {
    const lock = await acquire({ controlToken: 'secret' })

    await lock.update({ port: 4321 })

    expect(await readStoreLock(dir)).toMatchObject({ pid: process.pid, port: 4321, controlToken: 'secret' })
    expect(lock.info.port).toBe(4321)
  })

  it('removes its own lock on release', async () => {
    const lock = await acquire()

    await lock.release()

    expect(await readStoreLock(dir)).toBeUndefined()
  })

  it('leaves a lock that another process has taken over', async () => {
    const lock = await acquire()
    const pid = await livePid()
    await writeLock(otherHolder(pid))

    await lock.release()

    expect(await readStoreLock(dir)).toEqual(otherHolder(pid))
  })

  it('refuses to update a lock it no longer holds', async () => {
    const lock = await acquire()
    await writeLock(otherHolder(await livePid()))

    const error = await lock.update({ port: 1 }).catch((e: unknown) => e)

    expect((error as AppError).code).toBe('store_locked')
  })
})

describe('readStoreLock', () => {
  it('answers undefined when no one holds the store', async () => {
    expect(await readStoreLock(dir)).toBeUndefined()
  })
})
