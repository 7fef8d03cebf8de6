import { link, open, readFile, rm } from 'node:fs/promises'
import { hostname } from 'node:os'
import { dirname, resolve } from 'node:path'
import { z } from 'zod'
import { AppError } from '../../errors.ts'
import { errnoCode, makeDirDurably, messageOf, syncDir, writeFileDurably } from './durable-json-file.ts'

/**
 * One writer per store: `<dir>/roster.lock` names the process that holds it and how to reach it. The file is
 * private (0o600): it carries the control token.
 */
export const lockInfoSchema = z.object({
  /** Positive: `process.kill(0)` or a negative pid would probe a whole process group. */
  pid: z.number().int().positive(),
  startedAt: z.string(),
  hostname: z.string(),
  /** The HTTP port, once the server listens. */
  port: z.number().int().optional(),
  /** What the CLI presents to the running process instead of opening the store itself. */
  controlToken: z.string().optional(),
})
export type LockInfo = z.infer<typeof lockInfoSchema>

/** How to reach the holder: recorded at acquire, or later with `update`. */
export interface LockContact {
  port?: number
  controlToken?: string
}

export interface StoreLock {
  readonly file: string
  readonly info: LockInfo
  /** Records `contact` (e.g. the HTTP port once the server listens). Throws 'store_locked' if the lock was lost. */
  update(contact: LockContact): Promise<void>
  /** Deletes the lock file if it still names this holder. Safe to call twice. */
  release(): Promise<void>
}

const lockFileName = 'roster.lock'
// Locks this process holds, by file: a second acquire of the same store in this process is refused from here.
const held = new Map<string, LockInfo>()

/** Takes the store's lock, or throws AppError('store_locked') with the holder's LockInfo as `details`. */
export async function acquireStoreLock(dir: string, contact: LockContact): Promise<StoreLock> {
  const file = resolve(dir, lockFileName)
  const holder = held.get(file)
  if (holder !== undefined) throw lockedError(dir, holder)
  const info: LockInfo = {
    pid: process.pid,
    startedAt: new Date().toISOString(),
    hostname: hostname(),
    ...contact,
  }
  held.set(file, info)
  try {
    await makeDirDurably(dir)
    await createOrTakeOver(dir, file, info)
  } catch (error) {
    held.delete(file)
    throw error
  }
  return lockHandle(dir, file, info)
}

/** The lock's content, or undefined when no one holds the store. */
export function readStoreLock(dir: string): Promise<LockInfo | undefined> {
  return readLockFile(resolve(dir, lockFileName))
}

async function createOrTakeOver(dir: string, file: string, info: LockInfo): Promise<void> {
  // Few rounds: the lock can only vanish between two steps if its holder releases it just then.
  for (let round = 0; round < 3; round++) {
    if (await createExclusively(file, info)) return
    const current = await readLockFile(file)
    if (current === undefined) continue
    if (isAlive(current)) throw lockedError(dir, current)
    // The holder is gone (crash, kill -9): replace its lock whole, then read it back. Two processes taking over
    // at once both rename; whoever reads back someone else's pid gives way. That narrows the race, it does not
    // close it: good enough for "two people started Roster at the same second after a crash".
    await writeFileDurably(file, toJson(info), { tmpFile: `${file}.${process.pid}.tmp` }).catch((error) => {
      throw unavailable('write', file, error)
    })
    const after = await readLockFile(file)
    if (after !== undefined && sameHolder(after, info)) return
    if (after !== undefined) throw lockedError(dir, after)
  }
  throw new AppError('store_locked', `Could not take the lock ${file}: it keeps changing. Try again.`)
}

/**
 * Creates the lock only if none exists. The content is written and synced to a tmp file first and then hard-linked
 * into place (link fails if the name exists), so the lock never exists half-written, even after a power loss.
 */
async function createExclusively(file: string, info: LockInfo): Promise<boolean> {
  const tmpFile = `${file}.${process.pid}.tmp`
  try {
    const handle = await open(tmpFile, 'w', 0o600)
    try {
      await handle.writeFile(toJson(info))
      await handle.sync()
    } finally {
      await handle.close()
    }
    await link(tmpFile, file)
  } catch (error) {
    if (errnoCode(error) === 'EEXIST') return false
    throw unavailable('write', file, error)
  } finally {
    await rm(tmpFile, { force: true })
  }
  await syncDir(dirname(file))
  return true
}

function isAlive(lock: LockInfo): boolean {
  // A pid from another host means nothing here: assume it is alive rather than let two hosts share the store.
  if (lock.hostname !== hostname()) return true
  // Our own pid, but this process does not hold the lock (`held` was checked first): an earlier run that had the
  // same pid, as every container's main process is pid 1.
  if (lock.pid === process.pid) return false
  try {
    process.kill(lock.pid, 0)
    return true
  } catch (error) {
    // EPERM: the process exists but belongs to another user.
    return errnoCode(error) !== 'ESRCH'
  }
}

function lockHandle(dir: string, file: string, acquired: LockInfo): StoreLock {
  let info = acquired
  return {
    file,
    get info() {
      return info
    },
    async update(contact) {
      const current = await readLockFile(file)
      if (current === undefined || !sameHolder(current, info)) {
        const lost = current === undefined ? 'it was deleted' : `process ${current.pid} took it over`
        throw new AppError(
          'store_locked',
          `This process no longer holds the lock on ${dir}: ${lost}. Stop it: two writers would corrupt the store.`,
          current,
        )
      }
      const next = { ...info, ...contact }
      await writeFileDurably(file, toJson(next), { tmpFile: `${file}.${process.pid}.tmp` }).catch((error) => {
        throw unavailable('write', file, error)
      })
      info = next
      if (held.has(file)) held.set(file, info)
    },
    async release() {
      if (held.get(file) === info) held.delete(file)
      const current = await readLockFile(file).catch((error) => {
        // A lock file we cannot parse is not ours: leave it.
        if (error instanceof AppError && error.code === 'store_invalid') return undefined
        throw error
      })
      if (current !== undefined && sameHolder(current, info)) await rm(file, { force: true })
    },
  }
}

async function readLockFile(file: string): Promise<LockInfo | undefined> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return undefined
    throw unavailable('read', file, error)
  }
  const fix = 'If no Roster process is using this store, delete the file.'
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (error) {
    throw new AppError(
      'store_invalid',
      `The lock file ${file} is not valid JSON (${messageOf(error)}). ${fix}`,
    )
  }
  const result = lockInfoSchema.safeParse(json)
  if (!result.success) {
    throw new AppError(
      'store_invalid',
      `The lock file ${file} is not a Roster lock:\n${z.prettifyError(result.error)}\n${fix}`,
      result.error.issues,
    )
  }
  return result.data
}

function lockedError(dir: string, lock: LockInfo): AppError {
  const where = lock.hostname === hostname() ? '' : ` on host ${lock.hostname}`
  return new AppError(
    'store_locked',
    `The store at ${dir} is in use by Roster process ${lock.pid}${where} (started ${lock.startedAt}). Stop that ` +
      `process, or set STORE_DIR to another directory. If that process is gone, delete ${resolve(dir, lockFileName)}.`,
    lock,
  )
}

function sameHolder(a: LockInfo, b: LockInfo): boolean {
  return a.pid === b.pid && a.startedAt === b.startedAt && a.hostname === b.hostname
}

function toJson(info: LockInfo): string {
  return `${JSON.stringify(info, null, 2)}\n`
}

function unavailable(action: 'read' | 'write', file: string, error: unknown): AppError {
  return new AppError(
    'store_unavailable',
    `Cannot ${action} the lock ${file}: ${messageOf(error)}`,
    undefined,
    {
      cause: error,
    },
  )
}
