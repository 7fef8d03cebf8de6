import { chmod, lstat, readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { isErrno, privateDirMode, privateFileMode } from './durable-fs.ts'

/**
 * Makes every file under the store 0600 and every directory 0700 (the store root included), for stores written
 * before Roster created them private (the user journal was 0644 in a 0755 folder) or touched by hand. Symbolic
 * links are left alone (chmod would follow them out of the store). Returns the paths it changed, so the caller
 * can say so in the log.
 */
export async function tightenStorePermissions(root: string): Promise<string[]> {
  const changed: string[] = []
  const pending = [root]
  for (let path = pending.pop(); path !== undefined; path = pending.pop()) {
    // The root is followed (STORE_DIR may be a link to the real folder); links inside the store are not.
    const stats = await (path === root ? stat(path) : lstat(path)).catch((error: unknown) => {
      // A file removed while we walk (a retention sweep, a finished temp file) needs nothing.
      if (isErrno(error, 'ENOENT')) return undefined
      throw error
    })
    if (stats === undefined || stats.isSymbolicLink()) continue
    const wanted = stats.isDirectory() ? privateDirMode : privateFileMode
    if ((stats.mode & 0o777) !== wanted) {
      await chmod(path, wanted)
      changed.push(path)
    }
    if (stats.isDirectory()) {
      for (const name of await readdir(path)) pending.push(join(path, name))
    }
  }
  return changed
}
