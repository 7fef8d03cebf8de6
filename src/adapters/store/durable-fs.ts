import { type FileHandle, open } from 'node:fs/promises'

/**
 * The two fsync habits crash safety rests on. A file's own fsync does not make its name durable: after creating or
 * renaming a file, the directory must be synced too, or a crash can lose the file although its bytes were synced.
 */

/**
 * Store files hold password hashes, TOTP secrets and tokens: each is 0600 and each directory 0700 from its first
 * byte, whatever the process umask (which can only narrow a mode, never widen it: the explicit chmod also fixes a
 * file that existed, e.g. a `.tmp` left by a crash with other bits).
 */
export const privateFileMode = 0o600
export const privateDirMode = 0o700

/** `open(path, flags)` for a store file: created 0600, and set to exactly 0600 before anything is written. */
export async function openPrivate(path: string, flags: string, mode = privateFileMode): Promise<FileHandle> {
  const handle = await open(path, flags, mode)
  try {
    await handle.chmod(mode)
  } catch (error) {
    await handle.close()
    throw error
  }
  return handle
}

/** Makes a file's written bytes durable (a copied file, say, whose writer did not sync it). */
export async function syncFile(path: string): Promise<void> {
  const handle = await open(path, 'r+')
  try {
    await handle.sync()
  } finally {
    await handle.close()
  }
}

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
