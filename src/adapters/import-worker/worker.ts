import { parentPort } from 'node:worker_threads'
import { parseUsersFile } from '../../domain/import/parse-users-file.ts'
import { rowSpans } from '../../domain/import/row-spans.ts'
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

/**
 * The import worker thread: reads each file it is sent (decode, parse) and checks its chunks (normalize, in-file
 * duplicates, validate) with the very functions the main thread uses, one file after the other, in the order sent.
 */

const port = parentPort
if (!port) throw new Error('import-worker/worker.ts runs as a worker thread only')

const post = (answer: WorkerAnswer, transfer: ArrayBuffer[] = []) => port.postMessage(answer, transfer)

let queue: Promise<void> = Promise.resolve()
port.on('message', (task: WorkerTask) => {
  queue = queue.then(() => (task.type === 'split' ? splitFile(task) : readFile(task)))
})
post({ type: 'ready' })

/**
 * The users of each part of a split file, and where each is in the part's text, by split (its task id) and part:
 * kept until the part is read (once), so the whole file is parsed once, here. A CSV file's parts keep nothing (their
 * lines are JSON.stringify'd users, which the engine parses, as a server would).
 */
const kept = new Map<number, ({ rows: unknown[]; spans: Int32Array } | undefined)[]>()

function splitFile(task: SplitTask): void {
  const { id, fileName } = task
  try {
    const file = readUsersFile(
      Buffer.from(task.bytes.buffer, task.bytes.byteOffset, task.bytes.byteLength),
      fileName,
    )
    const parts = planImportParts(file.rows, task.maxBytes, fileName, file)
    const sent: SentPart[] = []
    const keep: ({ rows: unknown[]; spans: Int32Array } | undefined)[] = []
    for (const { text, users, ...part } of parts) {
      const spans = users && rowSpans(text, 'ndjson')
      const found = spans !== undefined && users !== undefined && spans.length === users.length * 2
      keep.push(found ? { rows: users, spans } : undefined)
      sent.push({ ...part, bytes: partBytes(text), kept: found })
    }
    kept.set(id, keep)
    post(
      { id, type: 'split', users: file.rows.length, parts: sent },
      sent.map((part) => part.bytes.buffer as ArrayBuffer),
    )
  } catch (error) {
    post({ id, type: 'refused', error: sendError(error) })
  }
}

/** The kept users of a part, handed over once (undefined when not kept: the part's bytes are parsed then). */
function takeKept(task: FileTask): { rows: unknown[]; spans: Int32Array } | undefined {
  if (task.part === undefined) return undefined
  const parts = kept.get(task.part.split)
  const found = parts?.[task.part.part]
  if (!parts || !found) return undefined
  parts[task.part.part] = undefined
  if (parts.every((part) => part === undefined)) kept.delete(task.part.split)
  return found
}

async function readFile(task: FileTask): Promise<void> {
  const { id, fileName } = task
  let rows: unknown[]
  const part = takeKept(task)
  if (part) {
    rows = part.rows
    post({ id, type: 'parsed', format: 'ndjson', count: rows.length, spans: part.spans }, [
      part.spans.buffer as ArrayBuffer,
    ])
    return checkFile(task, rows)
  }
  try {
    const text = decodeUpload(task.bytes, fileName, task.maxBytes)
    const parsed = parseUsersFile(text, fileName, task.exportLabels)
    rows = parsed.rows
    const spans = rowSpans(text, parsed.format)
    // The spans stand for the rows only if they found every one (they always should: checked, not assumed).
    if (spans && spans.length === rows.length * 2)
      post({ id, type: 'parsed', format: parsed.format, count: rows.length, spans }, [
        spans.buffer as ArrayBuffer,
      ])
    else post({ id, type: 'parsed', format: parsed.format, count: rows.length, rows })
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
  })
  for (const [chunk, check] of checks.entries()) {
    try {
      post({ id, type: 'chunk', chunk, checked: await check })
    } catch (error) {
      post({ id, type: 'failed', chunk, error: sendError(error) })
      return
    }
  }
}
