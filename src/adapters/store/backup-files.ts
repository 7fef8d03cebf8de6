import { randomBytes } from 'node:crypto'
import { chmod, copyFile, open, readdir, readFile, rename, rm } from 'node:fs/promises'
import { join } from 'node:path'
import {
  type BackupSetListing,
  backupManifestFile,
  backupManifestSchema,
  parseBackupSetName,
} from '../../domain/backups/backup-set.ts'
import type { BackupStore } from '../../engine/ports.ts'
import { AppError } from '../../errors.ts'
import { privateFileMode, syncFile } from './durable-fs.ts'
import { errnoCode, makeDirDurably, messageOf, syncDir, writeFileDurably } from './durable-json-file.ts'

/** Where a set is assembled before it gets its name: a leading dot, so it is never listed as a set. */
const stagingPrefix = '.staging-'
const fileNamePattern = /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/

/**
 * Backup sets as folders: `<dir>/<set>/<connection>.json.gz` and `<dir>/<set>/backup.json`. A set is assembled in
 * a staging folder (every file fsync'd) and renamed into place in one step, so a crash leaves either a whole set
 * or a staging folder, which the next save removes.
 */
export function createBackupFiles(dir: string): BackupStore {
  const setPath = (name: string) => {
    if (!parseBackupSetName(name))
      throw new AppError('invalid_request', `"${name}" is not a backup set name.`)
    return join(dir, name)
  }

  async function read(name: string): Promise<BackupSetListing> {
    const path = setPath(name)
    let text: string
    try {
      text = await readFile(join(path, backupManifestFile), 'utf8')
    } catch (error) {
      const problem = errnoCode(error) === 'ENOENT' ? 'no backup.json' : messageOf(error)
      return { name, path, problem }
    }
    try {
      const parsed = backupManifestSchema.safeParse(JSON.parse(text))
      if (parsed.success) return { name, path, manifest: parsed.data }
      return { name, path, problem: 'backup.json does not have the expected shape' }
    } catch (error) {
      return { name, path, problem: `backup.json is not valid JSON (${messageOf(error)})` }
    }
  }

  return {
    async list() {
      let names: string[]
      try {
        const entries = await readdir(dir, { withFileTypes: true })
        names = entries.filter((e) => e.isDirectory() && parseBackupSetName(e.name)).map((e) => e.name)
      } catch (error) {
        if (errnoCode(error) === 'ENOENT') return []
        throw unavailable('list', dir, error)
      }
      return Promise.all(names.map(read))
    },

    async save(name, files, manifest) {
      const target = setPath(name)
      const staging = join(dir, `${stagingPrefix}${name}.${randomBytes(6).toString('hex')}`)
      try {
        await makeDirDurably(dir)
        await removeStaging(dir)
        await makeDirDurably(staging)
        for (const file of files) {
          if (!fileNamePattern.test(file.name) || file.name === backupManifestFile) {
            throw new AppError('invalid_request', `"${file.name}" is not a file name for a backup set.`)
          }
          const copy = join(staging, file.name)
          await copyFile(file.source, copy)
          // copyFile gives the copy its source's mode; a backup is private whatever that was (the staging folder
          // is 0700, so no one else could open it in between).
          await chmod(copy, privateFileMode)
          await syncFile(copy)
        }
        await writeFileDurably(join(staging, backupManifestFile), `${JSON.stringify(manifest, null, 2)}\n`)
        await syncDir(staging)
        // Refuses to replace a non-empty folder: an existing set is never overwritten.
        await rename(staging, target)
        await syncDir(dir)
      } catch (error) {
        await rm(staging, { recursive: true, force: true }).catch(() => undefined)
        if (error instanceof AppError) throw error
        throw unavailable('save', target, error)
      }
      return { name, path: target, manifest }
    },

    async remove(name) {
      const path = setPath(name)
      try {
        await rm(path, { recursive: true, force: true })
        await syncDir(dir)
      } catch (error) {
        throw unavailable('remove', path, error)
      }
    },

    async readFile(name, file) {
      if (!fileNamePattern.test(file)) return undefined
      const path = join(setPath(name), file)
      try {
        // Opened here, so a missing file is told now; read a chunk at a time, as the database store does.
        const handle = await open(path, 'r')
        return handle.createReadStream()
      } catch (error) {
        if (errnoCode(error) === 'ENOENT') return undefined
        throw unavailable('read', path, error)
      }
    },
  }
}

/** Staging folders left by a crash. Only one Roster process writes a store, so none of them is in use. */
async function removeStaging(dir: string): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true })
  for (const entry of entries) {
    if (entry.isDirectory() && entry.name.startsWith(stagingPrefix)) {
      await rm(join(dir, entry.name), { recursive: true, force: true })
    }
  }
}

function unavailable(action: string, path: string, error: unknown): AppError {
  return new AppError('store_unavailable', `Cannot ${action} ${path}: ${messageOf(error)}`, undefined, {
    cause: error,
  })
}
