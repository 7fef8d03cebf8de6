import { basename, join } from 'node:path'
import { AppError } from '../../errors.ts'
import { openPrivate, syncDirectory } from './durable-fs.ts'
import { journalFileName } from './store-files.ts'

/** What the writer needs of an open file. `fs.promises.FileHandle` fits; tests pass handles that fail on cue. */
export interface AppendHandle {
  write(buffer: Uint8Array, offset: number, length: number): Promise<{ bytesWritten: number }>
  datasync(): Promise<void>
  close(): Promise<void>
}

export type OpenAppendHandle = (path: string) => Promise<AppendHandle>

/** The journal holds every password hash and TOTP secret: private (0600) from its first byte. */
export const openForAppend: OpenAppendHandle = (path) => openPrivate(path, 'a')

interface JournalFile {
  generation: number
  path: string
  /** Opened eagerly so the file exists (and its name is durable) before anything refers to it. */
  handle: Promise<AppendHandle>
}

interface QueuedAppend {
  file: JournalFile
  text: string | Uint8Array
  resolve: () => void
  reject: (error: AppError) => void
}

/**
 * Appends journal lines durably, in the order they were given, with group commit: while one write + fdatasync is
 * in flight, later lines queue up and go out together in the next write + fdatasync. A failed write or sync
 * rejects that group and everything after it and refuses later appends: memory is then ahead of disk, and only a
 * restart (which reloads from disk) tells the truth again.
 */
export class JournalWriter {
  private current: JournalFile
  private readonly queue: QueuedAppend[] = []
  private draining = false
  private lastAppend: Promise<void> = Promise.resolve()
  private failure: AppError | undefined
  private closed = false
  /** Bytes in the current journal file, on disk or queued. */
  private currentBytes: number

  constructor(
    private readonly dir: string,
    generation: number,
    existingBytes: number,
    private readonly openHandle: OpenAppendHandle,
  ) {
    this.current = this.openFile(generation)
    this.currentBytes = existingBytes
  }

  get generation(): number {
    return this.current.generation
  }

  get bytes(): number {
    return this.currentBytes
  }

  /** Why appends are refused, once a write failed or the writer was closed. */
  get refusal(): AppError | undefined {
    if (this.failure !== undefined) return this.failure
    return this.closed ? new AppError('store_unavailable', 'The user store is closed.') : undefined
  }

  /** Resolves once the current journal file is open and its name durable; rejects (and refuses appends) if not. */
  async ready(): Promise<void> {
    await this.settle(this.current.handle, this.current)
  }

  /**
   * `text` must be whole lines, each ending in `\n`: a string, or its UTF-8 bytes (a commit's line is encoded once,
   * by `encodeCommit`, and not measured or encoded again here). Resolves once its bytes are durable.
   */
  append(text: string | Uint8Array): Promise<void> {
    const refusal = this.refusal
    if (refusal !== undefined) return Promise.reject(refusal)
    this.currentBytes += typeof text === 'string' ? Buffer.byteLength(text) : text.length
    const appended = new Promise<void>((resolve, reject) => {
      this.queue.push({ file: this.current, text, resolve, reject })
    })
    this.lastAppend = appended
    if (!this.draining) void this.drain()
    return appended
  }

  /**
   * Sends later appends to the next journal file. Appends already queued for the old file still go there, before
   * any append to the new one. The returned promise resolves once everything sent to the old file is durable, the
   * old file is closed and the new one exists on disk; it rejects (and the writer refuses appends) if not.
   */
  rotate(): { generation: number; retired: Promise<void> } {
    const old = this.current
    const oldAppends = this.lastAppend
    this.current = this.openFile(old.generation + 1)
    this.currentBytes = 0
    const next = this.current
    const retired = (async () => {
      try {
        await oldAppends
      } finally {
        await closeQuietly(old)
      }
      await this.settle(next.handle, next)
    })()
    return { generation: next.generation, retired }
  }

  /** Waits for queued appends (failures included), then closes the current file. Later appends are refused. */
  async close(): Promise<void> {
    this.closed = true
    await this.lastAppend.catch(() => undefined)
    await closeQuietly(this.current)
  }

  private openFile(generation: number): JournalFile {
    const path = join(this.dir, journalFileName(generation))
    const handle = (async () => {
      const opened = await this.openHandle(path)
      try {
        await syncDirectory(this.dir)
      } catch (error) {
        await opened.close().catch(() => undefined)
        throw error
      }
      return opened
    })()
    // Whoever needs the handle (an append, a rotation) awaits it and reports the failure; this only keeps an
    // unused failed open from being an unhandled rejection.
    handle.catch(() => undefined)
    return { generation, path, handle }
  }

  private async drain(): Promise<void> {
    this.draining = true
    try {
      for (let first = this.queue[0]; first !== undefined; first = this.queue[0]) {
        // One group = the queued appends up to the next file switch.
        let size = 1
        while (this.queue[size]?.file === first.file) size += 1
        const group = this.queue.splice(0, size)
        try {
          const handle = await this.settle(first.file.handle, first.file)
          await writeAll(handle, groupBytes(group))
          await handle.datasync()
        } catch (error) {
          const failure = this.fail(error, first.file)
          for (const append of group) append.reject(failure)
          return
        }
        for (const append of group) append.resolve()
      }
    } finally {
      this.draining = false
    }
  }

  /** Awaits a file step, turning its failure into the writer's failure. */
  private async settle<T>(step: Promise<T>, file: JournalFile): Promise<T> {
    try {
      return await step
    } catch (error) {
      throw this.fail(error, file)
    }
  }

  private fail(error: unknown, file: JournalFile): AppError {
    if (this.failure !== undefined) return this.failure
    const reason = error instanceof Error ? error.message : String(error)
    this.failure = new AppError(
      'store_unavailable',
      `Could not write ${basename(file.path)} in ${this.dir}: ${reason}. The user store refuses commits until ` +
        'Roster restarts and reloads it; free disk space or fix permissions, then restart.',
      undefined,
      { cause: error },
    )
    for (const append of this.queue.splice(0)) append.reject(this.failure)
    return this.failure
  }
}

/** One group's bytes: a lone line as it is, several concatenated (copies, no re-encoding). */
function groupBytes(group: readonly QueuedAppend[]): Uint8Array {
  const only = group.length === 1 ? group[0]?.text : undefined
  if (only !== undefined && typeof only !== 'string') return only
  return Buffer.concat(group.map(({ text }) => (typeof text === 'string' ? Buffer.from(text) : text)))
}

async function writeAll(handle: AppendHandle, bytes: Uint8Array): Promise<void> {
  let offset = 0
  while (offset < bytes.length) {
    const { bytesWritten } = await handle.write(bytes, offset, bytes.length - offset)
    if (bytesWritten <= 0) throw new Error('the file accepted no bytes')
    offset += bytesWritten
  }
}

async function closeQuietly(file: JournalFile): Promise<void> {
  // A close after a failed open or write has nothing left to lose: every byte that mattered was synced or reported.
  try {
    await (await file.handle).close()
  } catch {}
}
