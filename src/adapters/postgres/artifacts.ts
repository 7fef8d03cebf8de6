import { createWriteStream } from 'node:fs'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { to as copyTo } from 'pg-copy-streams'
import { checkJobFileName, checkJobId } from '../../domain/jobs/job-files.ts'
import type { Artifacts } from '../../engine/ports.ts'
import type { AppError } from '../../errors.ts'
import { JobFileCache } from './job-file-cache.ts'
import { bytesOfBinaryCopy, cutIntoParts, fromPieces, gzipped, PiecesFailed } from './job-file-parts.ts'
import { databaseUnavailable, type Pool, type PoolClient, transaction } from './pool.ts'

/**
 * Job files in the database (tables job_files and job_file_parts, migration 002), so that any replica can serve
 * any download. A file is kept in parts of `partBytes`: written a part at a time as its pieces come (a stream never
 * holds more than one part), read a part at a time. Each write is one transaction: a file that exists is whole,
 * and a write that fails leaves the earlier version, if any, as it was.
 *
 * `locate` copies a file into this process's private cache (job-file-cache.ts) and gives that path: downloads and
 * `--out` stream from disk. Copies go with their job (`remove`, or the next `jobIds` on another replica) and all
 * at `close`.
 */
export interface PgArtifacts extends Artifacts {
  /** Removes the cache folder. The pool is the caller's. */
  close(): Promise<void>
}

export interface PgArtifactsOptions {
  /** Bytes per stored part. Default 1 MiB. */
  partBytes?: number
  /** Where the cache folder is made. Default: the OS temp dir. */
  cacheParent?: string
}

const defaultPartBytes = 1024 * 1024

export function createPgArtifacts(
  pool: Pool,
  databaseUrl: string,
  options: PgArtifactsOptions = {},
): PgArtifacts {
  const partBytes = options.partBytes ?? defaultPartBytes
  const cache = new JobFileCache(options.cacheParent)

  function check(jobId: string, name: string): void {
    checkJobId(jobId)
    checkJobFileName(name)
  }

  function unavailable(action: string, jobId: string, name: string | undefined, error: unknown): AppError {
    const what = name === undefined ? `the files of job ${jobId}` : `${jobId}/${name}`
    return databaseUnavailable(databaseUrl, `${action} ${what}`, error)
  }

  /**
   * Writes one version of a file in one transaction: the pieces, cut into parts, then its row. Concurrent writes
   * of one file take turns (an advisory lock on its name): each replaces the one before, whole.
   */
  async function write(
    jobId: string,
    name: string,
    pieces: AsyncIterable<Buffer> | Iterable<Buffer>,
  ): Promise<number> {
    return transaction(pool, async (client) => {
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1), hashtext($2))', [jobId, name])
      await client.query('DELETE FROM job_files WHERE job_id = $1 AND name = $2', [jobId, name])
      const inserted = await client.query<{ id: string }>(
        'INSERT INTO job_files (job_id, name, size, parts) VALUES ($1, $2, 0, 0) RETURNING id',
        [jobId, name],
      )
      const fileId = inserted.rows[0]?.id as string
      let size = 0
      let parts = 0
      // One part stored while the next is made: the writer (an export formatting users) goes on instead of
      // waiting for the database, and at most two parts are held.
      let storing: Promise<void> | undefined
      try {
        for await (const part of cutIntoParts(pieces, partBytes)) {
          await storing
          storing = insertPart(client, fileId, parts, part)
          // Awaited above or below; a failure meanwhile must not count as unhandled.
          storing.catch(() => undefined)
          size += part.length
          parts++
        }
        await storing
      } finally {
        // Left by the pieces' failure: the insert under way ends before ROLLBACK is sent on the same connection.
        await storing?.catch(() => undefined)
      }
      await client.query('UPDATE job_files SET size = $2, parts = $3 WHERE id = $1', [fileId, size, parts])
      return size
    })
  }

  /** The file's current version, or undefined. */
  async function versionOf(
    client: PoolClient,
    jobId: string,
    name: string,
  ): Promise<FileVersion | undefined> {
    const { rows } = await client.query<{ id: string; size: string; parts: number }>(
      'SELECT id, size, parts FROM job_files WHERE job_id = $1 AND name = $2',
      [jobId, name],
    )
    const row = rows[0]
    return row && { id: row.id, size: Number(row.size), parts: row.parts }
  }

  /**
   * Runs `use` on the file's current version in a snapshot (one version throughout, even if the file is written
   * again or removed meanwhile); undefined when there is no such file.
   */
  async function withVersion<T>(
    jobId: string,
    name: string,
    action: string,
    use: (client: PoolClient, version: FileVersion) => Promise<T>,
  ): Promise<T | undefined> {
    let client: PoolClient | undefined
    let broken: Error | undefined
    try {
      client = await pool.connect()
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY')
      const version = await versionOf(client, jobId, name)
      return version === undefined ? undefined : await use(client, version)
    } catch (error) {
      // A COPY left halfway (its reader failed) leaves the connection mid-stream: it is closed, not reused.
      broken = error instanceof Error ? error : new Error(String(error))
      throw unavailable(action, jobId, name, error)
    } finally {
      if (broken === undefined) {
        await client?.query('COMMIT').catch((error: Error) => {
          broken = error
        })
      }
      client?.release(broken)
    }
  }

  return {
    async put(jobId, name, bytes) {
      check(jobId, name)
      const buffer =
        typeof bytes === 'string'
          ? Buffer.from(bytes, 'utf8')
          : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
      try {
        await write(jobId, name, [buffer])
      } catch (error) {
        throw unavailable('save', jobId, name, error)
      }
    },

    async putStream(jobId, name, pieces, options) {
      check(jobId, name)
      const source = options.gzip ? gzipped(pieces) : pieces
      try {
        return { bytes: await write(jobId, name, fromPieces(source)) }
      } catch (error) {
        // The pieces' own failure (an export that broke off) is the caller's to report, as it is.
        if (error instanceof PiecesFailed) throw error.cause
        throw unavailable('save', jobId, name, error)
      }
    },

    async get(jobId, name) {
      check(jobId, name)
      // A part at a time: the file and one part in memory, not the whole of it again as the query's hex text.
      return withVersion(jobId, name, 'read', async (client, version) => {
        const parts: Buffer[] = []
        for await (const part of readParts(client, version)) parts.push(part)
        return Buffer.concat(parts, version.size)
      })
    },

    async locate(jobId, name) {
      check(jobId, name)
      return withVersion(jobId, name, 'copy out', (client, version) =>
        cache.copy(jobId, name, version, (tmpFile) =>
          pipeline(Readable.from(readParts(client, version)), createWriteStream(tmpFile, { mode: 0o600 })),
        ),
      )
    },

    async remove(jobId) {
      checkJobId(jobId)
      try {
        await pool.query('DELETE FROM job_files WHERE job_id = $1', [jobId])
      } catch (error) {
        throw unavailable('remove', jobId, undefined, error)
      }
      await cache.drop(jobId)
    },

    async list(jobId) {
      checkJobId(jobId)
      try {
        const { rows } = await pool.query<{ name: string }>(
          'SELECT name FROM job_files WHERE job_id = $1 ORDER BY name COLLATE "C"',
          [jobId],
        )
        return rows.map((row) => row.name)
      } catch (error) {
        throw unavailable('list', jobId, undefined, error)
      }
    },

    async jobIds() {
      let ids: string[]
      try {
        const { rows } = await pool.query<{ job_id: string }>('SELECT DISTINCT job_id FROM job_files')
        ids = rows.map((row) => row.job_id)
      } catch (error) {
        throw databaseUnavailable(databaseUrl, 'list the jobs that have files', error)
      }
      // Retention calls this: copies of jobs another replica removed go now.
      await cache.keepOnly(new Set(ids))
      return ids
    },

    close: () => cache.close(),
  }
}

async function insertPart(client: PoolClient, fileId: string, part: number, bytes: Buffer): Promise<void> {
  await client.query('INSERT INTO job_file_parts (file_id, part, bytes) VALUES ($1, $2, $3)', [
    fileId,
    part,
    bytes,
  ])
}

/** One version of a file: a row of job_files. */
interface FileVersion {
  id: string
  size: number
  parts: number
}

/**
 * The bytes of one version, in order, as the database sends them (binary COPY): a few chunks in memory at a time.
 * Checked against the version's size: a file that comes back shorter or longer is an error, never a download.
 */
async function* readParts(client: PoolClient, { id, size }: FileVersion): AsyncIterable<Buffer> {
  // COPY takes no parameters; the id is the database's own bigint, checked to be one before it goes in the text.
  if (!/^\d+$/.test(id)) throw new Error(`unexpected job file id ${id}`)
  const stream = client.query(
    copyTo(
      `COPY (SELECT bytes FROM job_file_parts WHERE file_id = ${id} ORDER BY part) TO STDOUT (FORMAT binary)`,
    ),
  )
  let read = 0
  for await (const bytes of bytesOfBinaryCopy(stream)) {
    read += bytes.length
    yield bytes
  }
  if (read !== size) throw new Error(`job file ${id} holds ${read} bytes where ${size} were written`)
}
