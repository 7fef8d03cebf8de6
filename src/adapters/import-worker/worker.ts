import { parentPort } from 'node:worker_threads'
import { parseUsersFile } from '../../domain/import/parse-users-file.ts'
import { checkRows } from '../../engine/check-rows.ts'
import { decodeUpload } from '../../engine/request-import.ts'
import { partBytes, planImportParts, readUsersFile } from '../../engine/split-file.ts'
import {
  type FileTask,
  type SentPart,
  type SplitTask,
  sendError,
  type WorkerAnswer,
  type WorkerTask,
} from './messages.ts'
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
port.on('message', (task: WorkerTask) => {
  // A part whose users were kept when its file was cut needs no reading: it is answered at once (its request, and
  // the next part's, need not wait for the checks of the parts before), and only its checks take their turn.
  const kept = task.type === 'split' ? undefined : takeKept(task)
  if (task.type !== 'split' && kept !== undefined) {
    post({ id: task.id, type: 'parsed', format: 'ndjson', count: kept.length })
    queue = queue.then(() => checkFile(task, kept))
    return
  }
  queue = queue.then(() => (task.type === 'split' ? splitFile(task) : readFile(task)))
})
post({ type: 'ready' })

/**
 * The users of each part of a split file, and where each is in the part's text, by split (its task id) and part:
 * kept until the part is read (once), so the whole file is parsed once, here. A CSV file's parts keep nothing (their
 * lines are JSON.stringify'd users, which the engine parses, as a server would).
 */
const kept = new Map<number, (unknown[] | undefined)[]>()

function splitFile(task: SplitTask): void {
  const { id, fileName } = task
  try {
    const bytes = Buffer.from(task.bytes.buffer, task.bytes.byteOffset, task.bytes.byteLength)
    const file = readUsersFile(bytes, fileName)
    const parts = planImportParts(file.rows, task.maxBytes, fileName, file)
    kept.set(
      id,
      parts.map((part) => part.users),
    )
    const sent: SentPart[] = parts.map(({ text, users, ...part }) => ({
      ...part,
      bytes: partBytes(text),
      kept: users !== undefined,
    }))
    post(
      { id, type: 'split', users: file.rows.length, parts: sent },
      sent.map((part) => part.bytes.buffer as ArrayBuffer),
    )
  } catch (error) {
    post({ id, type: 'refused', error: sendError(error) })
  }
}

/** The kept users of a part, handed over once (undefined when not kept: the part's bytes are parsed then). */
function takeKept(task: FileTask): unknown[] | undefined {
  if (task.part === undefined) return undefined
  const parts = kept.get(task.part.split)
  const users = parts?.[task.part.part]
  if (!parts || !users) return undefined
  parts[task.part.part] = undefined
  if (parts.every((part) => part === undefined)) kept.delete(task.part.split)
  return users
}

async function readFile(task: FileTask): Promise<void> {
  const { id, fileName } = task
  let rows: unknown[]
  try {
    const text = decodeUpload(task.bytes, fileName, task.maxBytes)
    const parsed = parseUsersFile(text, fileName, task.exportLabels)
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
