import { randomBytes } from 'node:crypto'
import { createWriteStream } from 'node:fs'
import { mkdir, mkdtemp, readdir, rename, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { createGzip } from 'node:zlib'
import { checkJobFileName, checkJobId, isJobId } from '../../domain/jobs/job-files.ts'
import type { Artifacts } from '../../engine/ports.ts'
import type { AppError } from '../../errors.ts'
import { databaseUnavailable, type Pool, type PoolClient, transaction } from './pool.ts'

/**
 * Job files in the database (tables job_files and job_file_parts, migration 002), so that any replica can serve
 * any download. A file is kept in parts of `partBytes`: written a part at a time as its pieces come (a stream never
 * holds more than one part), read a part at a time. Each write is one transaction: a file that exists is whole,
 * and a write that fails leaves the earlier version, if any, as it was.
 *
 * `locate` copies a file into a private cache folder under the OS temp dir (0700, files 0600) and gives that path:
 * downloads and `--out` stream from disk. Cached copies are named by the file's version id, so a file written
 * again is copied again; they are removed with their job (`remove`, or the next `jobIds` on another replica) and
 * all at `close`.
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
  let cacheDir: Promise<string> | undefined
  /** Copies being made, by cache path: two downloads of one file at once share one copy. */
  const materializing = new Map<string, Promise<string | undefined>>()

  function check(jobId: string, name: string): void {
    checkJobId(jobId)
    checkJobFileName(name)
  }

  function cache(): Promise<string> {
    // mkdtemp makes the folder 0700: other users of the machine cannot list or read the copies.
    cacheDir ??= mkdtemp(join(options.cacheParent ?? tmpdir(), 'roster-files-'))
    return cacheDir
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
      for await (const part of cutIntoParts(pieces, partBytes)) {
        await insertPart(client, fileId, parts, part)
        size += part.length
        parts++
      }
      await client.query('UPDATE job_files SET size = $2, parts = $3 WHERE id = $1', [fileId, size, parts])
      return size
    })
  }

  /** The file's current version, or undefined. */
  async function versionOf(
    client: Pool | PoolClient,
    jobId: string,
    name: string,
  ): Promise<{ id: string; size: number; parts: number } | undefined> {
    const { rows } = await client.query<{ id: string; size: string; parts: number }>(
      'SELECT id, size, parts FROM job_files WHERE job_id = $1 AND name = $2',
      [jobId, name],
    )
    const row = rows[0]
    return row && { id: row.id, size: Number(row.size), parts: row.parts }
  }

  async function materialize(jobId: string, name: string): Promise<string | undefined> {
    const folder = join(await cache(), jobId)
    // A snapshot: the file read is one version, even if it is written again or removed meanwhile.
    const client = await pool.connect()
    let broken: Error | undefined
    try {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY')
      const version = await versionOf(client, jobId, name)
      if (version === undefined) return undefined
      const path = join(folder, `${version.id}-${name}`)
      const cached = await stat(path).catch(() => undefined)
      if (cached?.size === version.size) return path
      const running = materializing.get(path)
      if (running) return await running
      const copy = copyOut(client, folder, path, version, name)
      materializing.set(path, copy)
      try {
        return await copy
      } finally {
        materializing.delete(path)
      }
    } catch (error) {
      throw unavailable('read', jobId, name, error)
    } finally {
      await client.query('COMMIT').catch((error: Error) => {
        broken = error
      })
      client.release(broken)
    }
  }

  /** Writes the version's parts to a tmp file, then renames it to `path` and drops older versions' copies. */
  async function copyOut(
    client: PoolClient,
    folder: string,
    path: string,
    version: { id: string; size: number; parts: number },
    name: string,
  ): Promise<string> {
    await mkdir(folder, { recursive: true, mode: 0o700 })
    const tmpFile = join(folder, `.${randomBytes(6).toString('hex')}.tmp`)
    try {
      await pipeline(
        Readable.from(readParts(client, version.id, version.parts)),
        createWriteStream(tmpFile, { mode: 0o600 }),
      )
      await rename(tmpFile, path)
    } catch (error) {
      await rm(tmpFile, { force: true })
      throw error
    }
    const stale = (await readdir(folder)).filter(
      (entry) => entry.endsWith(`-${name}`) && entry !== `${version.id}-${name}`,
    )
    // A download still streaming an older copy keeps its open file; the name goes now.
    await Promise.all(stale.map((entry) => rm(join(folder, entry), { force: true })))
    return path
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
      try {
        const { rows } = await pool.query<{ bytes: Buffer }>(
          'SELECT p.bytes FROM job_files f JOIN job_file_parts p ON p.file_id = f.id ' +
            'WHERE f.job_id = $1 AND f.name = $2 ORDER BY p.part',
          [jobId, name],
        )
        if (rows.length > 0) return Buffer.concat(rows.map((row) => row.bytes))
        // No parts: an empty file, or none at all.
        return (await versionOf(pool, jobId, name)) ? Buffer.alloc(0) : undefined
      } catch (error) {
        throw unavailable('read', jobId, name, error)
      }
    },

    async locate(jobId, name) {
      check(jobId, name)
      return materialize(jobId, name)
    },

    async remove(jobId) {
      checkJobId(jobId)
      try {
        await pool.query('DELETE FROM job_files WHERE job_id = $1', [jobId])
      } catch (error) {
        throw unavailable('remove', jobId, undefined, error)
      }
      if (cacheDir) await rm(join(await cacheDir, jobId), { recursive: true, force: true })
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
      if (cacheDir) {
        const kept = new Set(ids)
        const folder = await cacheDir
        const cached = await readdir(folder).catch(() => [] as string[])
        await Promise.all(
          cached
            .filter((entry) => isJobId(entry) && !kept.has(entry))
            .map((entry) => rm(join(folder, entry), { recursive: true, force: true })),
        )
      }
      return ids
    },

    async close() {
      if (cacheDir) await rm(await cacheDir, { recursive: true, force: true })
      cacheDir = undefined
    },
  }
}

async function insertPart(client: PoolClient, fileId: string, part: number, bytes: Buffer): Promise<void> {
  await client.query('INSERT INTO job_file_parts (file_id, part, bytes) VALUES ($1, $2, $3)', [
    fileId,
    part,
    bytes,
  ])
}

/** The parts of one version, in order, one query each: one part in memory at a time. */
async function* readParts(client: PoolClient, fileId: string, parts: number): AsyncIterable<Buffer> {
  for (let part = 0; part < parts; part++) {
    const { rows } = await client.query<{ bytes: Buffer }>(
      'SELECT bytes FROM job_file_parts WHERE file_id = $1 AND part = $2',
      [fileId, part],
    )
    const row = rows[0]
    if (!row) throw new Error(`part ${part} of ${parts} is missing`)
    yield row.bytes
  }
}

/** Pieces regrouped into parts of `size` bytes (the last one shorter); none for an empty stream. */
async function* cutIntoParts(
  pieces: AsyncIterable<Buffer> | Iterable<Buffer>,
  size: number,
): AsyncIterable<Buffer> {
  let held: Buffer[] = []
  let heldBytes = 0
  for await (const piece of pieces) {
    let rest = piece
    while (heldBytes + rest.length >= size) {
      const take = size - heldBytes
      held.push(rest.subarray(0, take))
      yield Buffer.concat(held)
      rest = rest.subarray(take)
      held = []
      heldBytes = 0
    }
    if (rest.length > 0) {
      held.push(rest)
      heldBytes += rest.length
    }
  }
  if (heldBytes > 0) yield Buffer.concat(held)
}

/** Marks a failure of the pieces being written, apart from the database's. */
class PiecesFailed extends Error {}

async function* fromPieces(pieces: AsyncIterable<string | Uint8Array>): AsyncIterable<Buffer> {
  try {
    for await (const piece of pieces) {
      yield typeof piece === 'string'
        ? Buffer.from(piece, 'utf8')
        : Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength)
    }
  } catch (error) {
    throw new PiecesFailed('the pieces failed', { cause: error })
  }
}

/**
 * The pieces gzipped (level 1, as the file store: exports are judged in users per second). Started by the first
 * read, so the streams exist only while someone reads them and their errors reach that reader.
 */
async function* gzipped(pieces: AsyncIterable<string | Uint8Array>): AsyncIterable<Buffer> {
  const raw = Readable.from(pieces)
  const gzip = createGzip({ level: 1 })
  // pipe() does not pass errors on: the pieces' failure must end the gzip stream, or reading it would never end.
  raw.on('error', (error) => gzip.destroy(error))
  raw.pipe(gzip)
  try {
    yield* gzip
  } finally {
    raw.destroy()
  }
}
