import { parentPort } from 'node:worker_threads'
import { parseUsersFile } from '../../domain/import/parse-users-file.ts'
import { checkRows } from '../../engine/check-rows.ts'
import { decodeUpload } from '../../engine/request-import.ts'
import { type FileTask, sendError, type WorkerAnswer } from './messages.ts'
import { parseNdjsonPart } from './ndjson-part.ts'
import { packChunk, transferOf } from './packed-chunk.ts'

/**
 * The import worker thread: reads each file it is sent (decode, parse) and checks its chunks (normalize, in-file
 * duplicates, validate) with the very functions the main thread uses, one file after the other, in the order sent;
 * each chunk's answer is packed (packed-chunk.ts: keys and new users' JSON bytes, transferred).
 */

const port = parentPort
if (!port) throw new Error('import-worker/worker.ts runs as a worker thread only')

const post = (answer: WorkerAnswer, transfer: ArrayBuffer[] = []) => port.postMessage(answer, transfer)

let queue: Promise<void> = Promise.resolve()
port.on('message', (task: FileTask) => {
  queue = queue.then(() => readFile(task))
})
post({ type: 'ready' })

async function readFile(task: FileTask): Promise<void> {
  const { id, fileName } = task
  let rows: unknown[]
  try {
    const { bytes } = task
    const parsed =
      (task.nestingChecked === true
        ? parseNdjsonPart(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength))
        : undefined) ??
      parseUsersFile(
        decodeUpload(bytes, fileName, task.maxBytes),
        fileName,
        task.exportLabels,
        task.nestingChecked,
      )
    rows = parsed.rows
    const format = parsed.format
    post({ id, type: 'parsed', format, count: rows.length, ...(format === 'csv' ? { rows } : {}) })
  } catch (error) {
    post({ id, type: 'refused', error: sendError(error) })
    return
  }
  return checkFile(task, rows)
}

async function checkFile(task: FileTask, rows: unknown[]): Promise<void> {
  const { id } = task
  const checks = checkRows(rows, {
    connection: task.connection,
    exportLabels: task.exportLabels,
    chunkRows: task.chunkRows,
    fromChunk: 0,
    // No request waits on this thread: a chunk is checked in one go (a new file's message waits for it, ~10 ms).
    sliceRows: task.chunkRows,
  })
  for (const [chunk, check] of checks.entries()) {
    try {
      const checked = packChunk(await check, task.planReadsRows)
      post({ id, type: 'chunk', chunk, checked }, transferOf(checked))
    } catch (error) {
      post({ id, type: 'failed', chunk, error: sendError(error) })
      return
    }
  }
}
