import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach } from 'vitest'

const made: string[] = []

/** A fresh directory under the OS temp dir, removed after the test. */
export async function tempDir(prefix = 'roster-test-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix))
  made.push(dir)
  return dir
}

afterEach(async () => {
  // Retried: a file closed asynchronously after the test (a store's fd released by its finalizer, a write of a
  // closing server) can land while the folder is being emptied, and rmdir then answers ENOTEMPTY.
  await Promise.all(
    made.splice(0).map((dir) => rm(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 20 })),
  )
})
