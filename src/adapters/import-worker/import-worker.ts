import { Worker } from 'node:worker_threads'
import { labelTable } from '../../domain/import/export-labels.ts'
import type { ImportRow } from '../../domain/import/import-row.ts'
import { parseUsersFile } from '../../domain/import/parse-users-file.ts'
import { rowSpans } from '../../domain/import/row-spans.ts'
import { type CheckedChunk, type RowChecks, type RowSource, recheckedRow } from '../../engine/check-rows.ts'
import type { ImportFileReader, ImportFileToRead, ReadImportFile } from '../../engine/ports.ts'
import { decodeUpload } from '../../engine/request-import.ts'
import { AppError } from '../../errors.ts'
import type { Logger } from '../../logger.ts'
import { type FileTask, receivedError, type WorkerAnswer } from './messages.ts'
import { unpackChunk } from './packed-chunk.ts'

/**
 * Reads and checks import files on one worker thread (node:worker_threads), so a second core parses and validates
 * the next queued file while the main thread plans and commits the current one.
 *
 * What crosses between the threads (bench/support/transfer-cost.ts, P3's notes): the file's bytes go over as they are
 * (a copy of 0.5 MB, ~0.1 ms); back come each chunk's checks packed (packed-chunk.ts): the valid users' keys, and
 * their new users' JSON as bytes the store copies into its journal, not the users as objects to rebuild and
 * stringify here; and instead of every user as written only their count: a report quotes a user rarely, and finds
 * and parses it in the file's text then (textRows).
 *
 * The thread starts on first use and is unref'd while idle (it never keeps a process alive). If it dies, the files it
 * was reading fail with an error that says so, and the next file starts a new one: the service goes on.
 */

interface Task {
  fileName: string
  bytes: Uint8Array
  maxBytes: number
  chunkRows: number
  parsed: Deferred<ReadImportFile>
  /** What the checks were made with: a row is checked again with it, should the planner read one sent without. */
  checkedWith?: { connection: ImportFileToRead['connection']; labels: ReturnType<typeof labelTable> }
  /** The file's users as written, once parsed. */
  rows?: RowSource
  /** Created when the file is parsed: one per chunk. */
  chunks?: Deferred<CheckedChunk>[]
  /** Chunks answered so far. */
  answered: number
}

interface Deferred<T> {
  promise: Promise<T>
  resolve(value: T): void
  reject(error: Error): void
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void
  let reject!: (error: Error) => void
  const promise = new Promise<T>((res, rej) => {
    resolve = res
    reject = rej
  })
  // Awaited by the request or the run; a job that never runs must not leave an unhandled rejection.
  promise.catch(() => undefined)
  return { promise, resolve, reject }
}

/**
 * Run from the sources (tsx), the worker is TypeScript and starts through a bootstrap that registers tsx first. Run
 * from the bundle (`npm run build`, scripts/build.ts), this module is a chunk in dist/ and the worker is
 * dist/import-worker.js beside it, plain JavaScript that starts as it is.
 */
const fromSources = import.meta.url.endsWith('.ts')
const defaultWorkerUrl = new URL(fromSources ? './worker.ts' : './import-worker.js', import.meta.url)
const bootstrap = new URL('./worker-bootstrap.mjs', import.meta.url)

export class ImportWorker implements ImportFileReader {
  #worker: Worker | undefined
  readonly #tasks = new Map<number, Task>()
  #nextId = 1
  #closed = false
  #ready = false
  /** Resolves when the current thread is ready, or has died (never rejects: `read` reports the failure). */
  #started: Promise<void> = Promise.resolve()
  #onStarted: () => void = () => undefined

  constructor(
    private readonly logger: Logger,
    /** Tests pass a worker that fails on purpose. */
    private readonly workerUrl: URL = defaultWorkerUrl,
  ) {}

  get ready(): boolean {
    return this.#ready
  }

  warm(): Promise<void> {
    if (!this.#closed) this.#thread()
    return this.#started
  }

  read(file: ImportFileToRead): Promise<ReadImportFile> {
    if (this.#closed) return Promise.reject(new AppError('store_unavailable', 'Roster is shutting down.'))
    const id = this.#nextId++
    const task: Task = {
      fileName: file.fileName,
      bytes: file.bytes,
      maxBytes: file.maxBytes,
      chunkRows: file.chunkRows,
      parsed: deferred(),
      checkedWith: { connection: file.connection, labels: labelTable(file.exportLabels) },
      answered: 0,
    }
    this.#tasks.set(id, task)
    const message: FileTask = { id, ...file }
    const worker = this.#thread()
    worker.ref()
    worker.postMessage(message)
    return task.parsed.promise
  }

  async close(): Promise<void> {
    this.#closed = true
    const worker = this.#worker
    this.#worker = undefined
    this.#ready = false
    this.#onStarted()
    this.#failAll(new AppError('store_unavailable', 'Roster is shutting down: the file was not read.'))
    await worker?.terminate()
  }

  #thread(): Worker {
    if (this.#worker) return this.#worker
    const worker = this.workerUrl.pathname.endsWith('.ts')
      ? new Worker(bootstrap, { workerData: { entry: this.workerUrl.href } })
      : new Worker(this.workerUrl)
    worker.unref()
    this.#started = new Promise((resolve) => {
      this.#onStarted = resolve
    })
    worker.on('message', (answer: WorkerAnswer) => this.#answer(answer))
    worker.on('error', (error) => this.#died(worker, error.message))
    worker.on('exit', (code) => this.#died(worker, `it exited with code ${code}`))
    this.#worker = worker
    return worker
  }

  #answer(answer: WorkerAnswer): void {
    if (answer.type === 'ready') {
      this.#ready = true
      this.#onStarted()
      return
    }
    const task = this.#tasks.get(answer.id)
    if (!task) return
    switch (answer.type) {
      case 'parsed': {
        const chunks = Array.from({ length: Math.ceil(answer.count / task.chunkRows) }, () =>
          deferred<CheckedChunk>(),
        )
        task.chunks = chunks
        const rows = answer.rows ?? textRows(task, answer.format, answer.count)
        task.rows = rows
        const checks: RowChecks = chunks.map((chunk) => chunk.promise)
        task.parsed.resolve({ format: answer.format, rows, checks })
        if (chunks.length === 0) this.#done(answer.id)
        return
      }
      case 'refused':
        task.parsed.reject(receivedError(answer.error))
        this.#done(answer.id)
        return
      case 'chunk':
        task.chunks?.[answer.chunk]?.resolve(unpackChunk(answer.checked, (index) => recheck(task, index)))
        task.answered++
        if (task.answered === task.chunks?.length) this.#done(answer.id)
        return
      case 'failed': {
        const error = receivedError(answer.error)
        for (const chunk of task.chunks?.slice(answer.chunk) ?? []) chunk.reject(error)
        this.#done(answer.id)
        return
      }
    }
  }

  #done(id: number): void {
    this.#tasks.delete(id)
    if (this.#tasks.size === 0) this.#worker?.unref()
  }

  #died(worker: Worker, reason: string): void {
    if (this.#worker !== worker) return
    this.#worker = undefined
    this.#ready = false
    this.#onStarted()
    if (this.#tasks.size > 0) this.logger.error('the import worker thread stopped', { reason })
    this.#failAll(undefined, reason)
  }

  /** Fails every file under way: with `error`, or with one naming the file and why the thread stopped. */
  #failAll(error: Error | undefined, reason?: string): void {
    for (const task of this.#tasks.values()) {
      const failure =
        error ??
        new AppError(
          'unexpected',
          `Roster's import worker thread stopped while checking ${task.fileName} (${reason}). The file's users ` +
            'were not imported; import it again.',
        )
      task.parsed.reject(failure)
      for (const chunk of task.chunks ?? []) chunk.reject(failure)
    }
    this.#tasks.clear()
  }
}

/** A valid row of the file checked again from the user as written (packed-chunk.ts: a row sent without its JSON). */
function recheck(task: Task, index: number): ImportRow {
  if (!task.rows || !task.checkedWith) throw new AppError('unexpected', `${task.fileName} was never parsed.`)
  return recheckedRow(task.rows.at(index), task.checkedWith)
}

/**
 * The users of a JSON or NDJSON file, each parsed from its place in the text when a report quotes it: the first
 * quote decodes the file and finds where every user is (rowSpans, ~5 ms for 500 KB: on this thread, but only for a
 * file with errors, where the worker would pay it for every file).
 */
function textRows(task: Task, format: ReadImportFile['format'], count: number): RowSource {
  let found: ((index: number) => unknown) | undefined
  const find = (): ((index: number) => unknown) => {
    const text = decodeUpload(task.bytes, task.fileName, task.maxBytes)
    const spans = rowSpans(text, format)
    // The spans stand for the users only if they found every one (they always should: checked, not assumed).
    if (spans && spans.length === count * 2)
      return (index) => JSON.parse(text.slice(spans[index * 2], spans[index * 2 + 1]))
    const { rows } = parseUsersFile(text, task.fileName)
    return (index) => rows[index]
  }
  return {
    length: count,
    at(index) {
      if (!Number.isInteger(index) || index < 0 || index >= count) return undefined
      found ??= find()
      return found(index)
    },
  }
}
