import { parentPort } from 'node:worker_threads'
import '../../src/adapters/import-worker/worker.ts'

/**
 * The import worker, except that a file named `crash.json` kills its thread (exit code 3) as a bug or an
 * out-of-memory would: test/integration/import-worker.test.ts checks that only the files under way fail.
 */
parentPort?.on('message', (task: { fileName: string }) => {
  if (task.fileName === 'crash.json') process.exit(3)
})
