import { mkdir, readFile, rename, rm } from 'node:fs/promises'
import { dirname, resolve } from 'node:path'
import type { Adapter } from 'lowdb'
import { z } from 'zod'
import { AppError } from '../../errors.ts'
import { openPrivate, privateDirMode, privateFileMode, syncDirectory } from './durable-fs.ts'

/**
 * Durable files: what has been written survives kill -9 and power loss whole, or not at all. The store adapters
 * (catalog, artifacts, lock) all write through `writeFileDurably`.
 */

export interface DurableWriteOptions {
  /** Where the new content is staged before the rename. Default: `<file>.tmp`. */
  tmpFile?: string
  /** Permission bits of a newly created file. Default: 0o600 (store files hold users and tokens). */
  mode?: number
  /**
   * Awaited after the new content is synced and before the rename: what must be durable before `file` may say so
   * (a job's upload before its record). Its fsyncs overlap with this write's; if it rejects, nothing is renamed.
   */
  renameAfter?: Promise<unknown> | undefined
}

/** Writes `file` atomically and durably: tmp file, fsync, rename over `file`, fsync the directory. */
export async function writeFileDurably(
  file: string,
  data: string | Uint8Array,
  options: DurableWriteOptions = {},
): Promise<void> {
  const tmpFile = options.tmpFile ?? `${file}.tmp`
  try {
    const handle = await openPrivate(tmpFile, 'w', options.mode ?? privateFileMode)
    try {
      await handle.writeFile(data)
      // Without this, a power loss soon after the rename can leave `file` empty: the rename may reach the disk
      // before the data does.
      await handle.sync()
    } finally {
      await handle.close()
    }
    await options.renameAfter
    // rename is atomic: readers, and whatever survives a crash, see the old content or the new, never a mix.
    await rename(tmpFile, file)
  } catch (error) {
    await rm(tmpFile, { force: true }).catch(() => undefined)
    throw error
  }
  // The rename is a change to the directory; until the directory is synced, a power loss can undo it.
  await syncDir(dirname(file))
}

/**
 * Writes a file that must not exist yet, durably, without a tmp file: its data is synced while its directory entry
 * is, so it is durable one fsync sooner than through a rename. For a file nothing reads before the caller says it
 * is there (a job's upload before its record; its undo data before the job is settled), which a crash can leave
 * half-written under its name: whoever writes it again finds it there and replaces it whole. Answers false, writing
 * nothing, when the file exists (then use `writeFileDurably`).
 */
export async function writeNewFileDurably(
  file: string,
  data: string | Uint8Array,
  options: { mode?: number } = {},
): Promise<boolean> {
  let handle: Awaited<ReturnType<typeof openPrivate>>
  try {
    handle = await openPrivate(file, 'wx', options.mode ?? privateFileMode)
  } catch (error) {
    if (errnoCode(error) === 'EEXIST') return false
    throw error
  }
  // The new name is made durable while the data is written and synced.
  const entry = syncDir(dirname(file))
  entry.catch(() => undefined)
  try {
    try {
      await handle.writeFile(data)
      await handle.sync()
    } finally {
      await handle.close()
    }
    await entry
  } catch (error) {
    await rm(file, { force: true }).catch(() => undefined)
    throw error
  }
  return true
}

/** One fsync-a-directory for the whole store: the user store's (durable-fs.ts), minus Windows, which cannot. */
export async function syncDir(dir: string): Promise<void> {
  if (process.platform === 'win32') return
  await syncDirectory(dir)
}

/** `mkdir -p` whose new directories survive a power loss: each one's entry is synced into its parent. */
export async function makeDirDurably(dir: string): Promise<void> {
  await (await makeDir(dir)).synced
}

/**
 * `mkdir -p` now; `synced` resolves once the new directories' entries are durable (syncs that can overlap with
 * writing into the directory: whoever needs the directory durable awaits `synced` before saying so).
 */
export async function makeDir(dir: string): Promise<{ synced: Promise<void> }> {
  const target = resolve(dir)
  const first = await mkdir(target, { recursive: true, mode: privateDirMode })
  if (first === undefined) return { synced: Promise.resolve() }
  const synced = (async () => {
    for (let created = target; ; created = dirname(created)) {
      await syncDir(dirname(created))
      if (created === resolve(first) || dirname(created) === created) return
    }
  })()
  // Awaited by the caller, which may first meet another failure; this only keeps it from counting as unhandled.
  synced.catch(() => undefined)
  return { synced }
}

/** The `code` of a Node system error (`ENOENT`, `EEXIST` …), if it is one. */
export function errnoCode(error: unknown): string | undefined {
  return error instanceof Error && 'code' in error && typeof error.code === 'string' ? error.code : undefined
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

export interface DurableJsonFileOptions<T> {
  /** Every read is parsed with it; a document that fails is refused, never repaired. */
  schema: z.ZodType<T>
  /** The document to create when the file does not exist yet. */
  seed: () => T
  /** The file's bytes, its last newline included; default `JSON.stringify(data, null, 2)` and a newline. */
  serialize?: (data: T) => Uint8Array
}

/**
 * A lowdb adapter for one zod-validated JSON document, written with `writeFileDurably`. Like steno, it coalesces:
 * while a write is in flight, later writes keep only the most recent data, written once when the in-flight one ends.
 */
export class DurableJsonFile<T> implements Adapter<T> {
  readonly #file: string
  readonly #tmpFile: string
  readonly #options: DurableJsonFileOptions<T>
  #writing = false
  /** The write in flight (settles, never rejects), for `settled`. */
  #current: Promise<void> = Promise.resolve()
  #next:
    | {
        text: string | Uint8Array
        renameAfter?: Promise<unknown>
        waiters: { resolve: () => void; reject: (error: unknown) => void }[]
      }
    | undefined

  constructor(file: string, options: DurableJsonFileOptions<T>) {
    this.#file = file
    this.#tmpFile = `${file}.tmp`
    this.#options = options
  }

  /** Never null: a missing file is seeded (and written) first. */
  async read(): Promise<T> {
    let text: string
    try {
      // A tmp file is what is left of a write that never reached its rename: the file itself still holds the last
      // durable document. (Unless we are writing right now: then it is our own write in progress.)
      if (!this.#writing) await rm(this.#tmpFile, { force: true })
      text = await readFile(this.#file, 'utf8')
    } catch (error) {
      if (errnoCode(error) === 'ENOENT') return this.#createFromSeed()
      throw new AppError('store_unavailable', `Cannot read ${this.#file}: ${messageOf(error)}`, undefined, {
        cause: error,
      })
    }
    return this.#parse(text)
  }

  /**
   * Resolves once data at least as new as `data` is durable; rejects with AppError('store_unavailable'). With
   * `renameAfter`, the file takes the data only once that has resolved (see `writeFileDurably`), and a later write
   * coalesced with this one waits for it too.
   */
  write(data: T, options: { renameAfter?: Promise<unknown> } = {}): Promise<void> {
    // Serialize now: the caller may change `data` after this returns, and a stringify error belongs to this caller.
    const text = this.#options.serialize?.(data) ?? `${JSON.stringify(data, null, 2)}\n`
    const { renameAfter } = options
    if (!this.#writing) return this.#writeNow(text, renameAfter)
    // A write is in flight: only keep the most recent data. Every caller waiting on it settles when it lands.
    return new Promise((resolve, reject) => {
      this.#next ??= { text, waiters: [] }
      this.#next.text = text
      if (renameAfter !== undefined) {
        const earlier = this.#next.renameAfter
        const barrier = earlier === undefined ? renameAfter : Promise.all([earlier, renameAfter])
        // Awaited when the queued write starts; until then a rejection must not count as unhandled.
        barrier.catch(() => undefined)
        this.#next.renameAfter = barrier
      }
      this.#next.waiters.push({ resolve, reject })
    })
  }

  /**
   * Resolves once no write is in flight or queued (each write's outcome still goes to its own caller): what a
   * store's close awaits before it lets go of the folder.
   */
  async settled(): Promise<void> {
    while (this.#writing || this.#next !== undefined) await this.#current
  }

  async #writeNow(text: string | Uint8Array, renameAfter?: Promise<unknown>): Promise<void> {
    // Set before the first await, so a write() in the same tick already sees the file as busy.
    this.#writing = true
    try {
      const writing = writeFileDurably(this.#file, text, { tmpFile: this.#tmpFile, renameAfter })
      this.#current = writing.then(
        () => undefined,
        () => undefined,
      )
      await writing
    } catch (error) {
      throw new AppError('store_unavailable', `Cannot save ${this.#file}: ${messageOf(error)}`, undefined, {
        cause: error,
      })
    } finally {
      this.#writing = false
      this.#writeQueued()
    }
  }

  #writeQueued(): void {
    const next = this.#next
    if (next === undefined) return
    this.#next = undefined
    this.#writeNow(next.text, next.renameAfter).then(
      () => {
        for (const waiter of next.waiters) waiter.resolve()
      },
      (error: unknown) => {
        for (const waiter of next.waiters) waiter.reject(error)
      },
    )
  }

  async #createFromSeed(): Promise<T> {
    // Parse the seed too: what we write must be something the next start can load.
    const seeded = this.#options.schema.safeParse(this.#options.seed())
    if (!seeded.success) {
      throw new AppError(
        'unexpected',
        `The initial document for ${this.#file} is not valid:\n${z.prettifyError(seeded.error)}`,
        seeded.error.issues,
      )
    }
    try {
      await makeDirDurably(dirname(this.#file))
    } catch (error) {
      throw new AppError(
        'store_unavailable',
        `Cannot create ${dirname(this.#file)}: ${messageOf(error)}`,
        undefined,
        {
          cause: error,
        },
      )
    }
    await this.write(seeded.data)
    return seeded.data
  }

  #parse(text: string): T {
    let json: unknown
    try {
      json = JSON.parse(text)
    } catch (error) {
      throw this.#invalid(`it is not valid JSON (${messageOf(error)}).`)
    }
    const result = this.#options.schema.safeParse(json)
    if (!result.success) {
      throw this.#invalid(
        `it does not have the expected shape:\n${z.prettifyError(result.error)}`,
        result.error.issues,
      )
    }
    return result.data
  }

  #invalid(reason: string, issues?: z.core.$ZodIssue[]): AppError {
    return new AppError(
      'store_invalid',
      `Cannot load ${this.#file}: ${reason}\nRestore it from a backup, or move it away to start fresh (Roster then ` +
        'creates a new, empty one).',
      issues,
    )
  }
}
