import { parentPort } from 'node:worker_threads'
import { parseUsersFile } from '../../domain/import/parse-users-file.ts'
import { rowSpans } from '../../domain/import/row-spans.ts'
import { checkRows } from '../../engine/check-rows.ts'
import { decodeUpload } from '../../engine/request-import.ts'
import { type FileTask, sendError, type WorkerAnswer } from './messages.ts'

/**
 * The import worker thread: reads each file it is sent (decode, parse) and checks its chunks (normalize, in-file
 * duplicates, validate) with the very functions the main thread uses, one file after the other, in the order sent.
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
