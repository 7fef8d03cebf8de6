import { createReadStream } from 'node:fs'
import {
  type BackupSetListing,
  backupManifestFile,
  backupManifestSchema,
  parseBackupSetName,
} from '../../domain/backups/backup-set.ts'
import type { BackupStore } from '../../engine/ports.ts'
import { AppError } from '../../errors.ts'
import { databaseUnavailable, type Pool, transaction } from './pool.ts'

/**
 * Backup sets in the database (tables `backups` and `backup_files`, migration 001), beside the store they back
 * up, so that any replica lists and prunes the same sets. A set is saved in one transaction, its manifest row and
 * every file's parts together: a set that is listed is whole, and a failed save leaves nothing. Files are kept in
 * parts of `partBytes`, read from their source a part at a time, so a large export never sits whole in memory.
 *
 * A set's `path` is `backups/<name>` (no folder exists): `readFile` gives a file's bytes back.
 */
export type PgBackupStore = BackupStore

export interface PgBackupStoreOptions {
  /** Bytes per stored part. Default 1 MiB. */
  partBytes?: number
}

const defaultPartBytes = 1024 * 1024
/** As the file store takes them: a name for a file in a folder, not a path. */
const fileNamePattern = /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/
/** The primary key of `backups`: a second save of a name. */
const uniqueViolation = '23505'

export function createPgBackupStore(
  pool: Pool,
  databaseUrl: string,
  options: PgBackupStoreOptions = {},
): PgBackupStore {
  const partBytes = options.partBytes ?? defaultPartBytes

  function checkName(name: string): void {
    if (!parseBackupSetName(name))
      throw new AppError('invalid_request', `"${name}" is not a backup set name.`)
  }

  function listing(name: string, manifest: unknown): BackupSetListing {
    const path = `backups/${name}`
    const parsed = backupManifestSchema.safeParse(manifest)
    if (parsed.success) return { name, path, manifest: parsed.data }
    return { name, path, problem: 'its manifest does not have the expected shape' }
  }

  return {
    async list() {
      try {
        const { rows } = await pool.query<{ name: string; manifest: unknown }>(
          'SELECT name, manifest FROM backups',
        )
        return rows
          .filter((row) => parseBackupSetName(row.name))
          .map((row) => listing(row.name, row.manifest))
      } catch (error) {
        throw databaseUnavailable(databaseUrl, 'list the backup sets', error)
      }
    },

    async save(name, files, manifest) {
      checkName(name)
      for (const file of files) {
        if (!fileNamePattern.test(file.name) || file.name === backupManifestFile) {
          throw new AppError('invalid_request', `"${file.name}" is not a file name for a backup set.`)
        }
      }
      try {
        await transaction(pool, async (client) => {
          await client.query('INSERT INTO backups (name, manifest) VALUES ($1, $2)', [name, manifest])
          for (const file of files) {
            const insert = (part: number, bytes: Buffer) =>
              client.query(
                'INSERT INTO backup_files (backup_name, file_name, part, bytes) VALUES ($1, $2, $3, $4)',
                [name, file.name, part, bytes],
              )
            let part = 0
            for await (const bytes of partsOf(file.source, partBytes)) await insert(part++, bytes)
            // An empty file is one empty part: every file of a set has a row, so it can be told from a missing one.
            if (part === 0) await insert(0, Buffer.alloc(0))
          }
        })
      } catch (error) {
        if (error instanceof AppError) throw error
        if ((error as { code?: string }).code === uniqueViolation) {
          throw new AppError(
            'invalid_request',
            `Backup set ${name} exists already: a set is never overwritten.`,
            undefined,
            { cause: error },
          )
        }
        throw databaseUnavailable(databaseUrl, `save backup set ${name}`, error)
      }
      return { name, path: `backups/${name}`, manifest }
    },

    async remove(name) {
      checkName(name)
      try {
        // backup_files go with it (ON DELETE CASCADE).
        await pool.query('DELETE FROM backups WHERE name = $1', [name])
      } catch (error) {
        throw databaseUnavailable(databaseUrl, `remove backup set ${name}`, error)
      }
    },

    async readFile(name, file) {
      checkName(name)
      let count: number
      try {
        const { rows } = await pool.query<{ parts: string }>(
          'SELECT count(*) AS parts FROM backup_files WHERE backup_name = $1 AND file_name = $2',
          [name, file],
        )
        count = Number(rows[0]?.parts ?? 0)
      } catch (error) {
        throw databaseUnavailable(databaseUrl, `read backup set ${name}`, error)
      }
      if (count === 0) return undefined
      return readParts(pool, databaseUrl, name, file, count)
    },
  }
}

/**
 * The file at `path` in parts of exactly `size` bytes (the last one shorter), never more than a part in memory.
 * A file that cannot be read is the backup's failure, said with its path.
 */
async function* partsOf(path: string, size: number): AsyncIterable<Buffer> {
  let pending: Buffer[] = []
  let pendingBytes = 0
  try {
    for await (const chunk of createReadStream(path, { highWaterMark: Math.min(size, 1024 * 1024) })) {
      let rest = chunk as Buffer
      while (rest.length > 0) {
        const take = Math.min(rest.length, size - pendingBytes)
        pending.push(rest.subarray(0, take))
        pendingBytes += take
        rest = rest.subarray(take)
        if (pendingBytes === size) {
          yield Buffer.concat(pending)
          pending = []
          pendingBytes = 0
        }
      }
    }
  } catch (error) {
    throw new AppError(
      'store_unavailable',
      `Cannot read ${path} for the backup: ${(error as Error).message}`,
      undefined,
      {
        cause: error,
      },
    )
  }
  if (pendingBytes > 0) yield Buffer.concat(pending)
}

async function* readParts(
  pool: Pool,
  databaseUrl: string,
  name: string,
  file: string,
  count: number,
): AsyncIterable<Buffer> {
  for (let part = 0; part < count; part++) {
    let bytes: Buffer | undefined
    try {
      const { rows } = await pool.query<{ bytes: Buffer }>(
        'SELECT bytes FROM backup_files WHERE backup_name = $1 AND file_name = $2 AND part = $3',
        [name, file, part],
      )
      bytes = rows[0]?.bytes
    } catch (error) {
      throw databaseUnavailable(databaseUrl, `read backup set ${name}`, error)
    }
    if (bytes === undefined) {
      throw new AppError('store_unavailable', `Backup set ${name}: part ${part} of ${file} is missing.`)
    }
    yield bytes
  }
}
