import { open } from 'node:fs/promises'

/**
 * The two fsync habits crash safety rests on. A file's own fsync does not make its name durable: after creating or
 * renaming a file, the directory must be synced too, or a crash can lose the file although its bytes were synced.
 */

export async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r')
  try {
    await handle.sync()
  } catch (error) {
    // Some platforms (Windows) cannot fsync a directory; there, rename is as durable as it gets.
    if (!isErrno(error, 'EISDIR', 'EPERM', 'EINVAL')) throw error
  } finally {
    await handle.close()
  }
}

/** Cuts a torn tail off and makes the cut durable, so the next append starts right after the last good line. */
export async function truncateFile(path: string, bytes: number): Promise<void> {
  const handle = await open(path, 'r+')
  try {
    await handle.truncate(bytes)
    await handle.sync()
  } finally {
    await handle.close()
  }
}

export function isErrno(error: unknown, ...codes: string[]): boolean {
  return (
    error instanceof Error && 'code' in error && typeof error.code === 'string' && codes.includes(error.code)
  )
}
