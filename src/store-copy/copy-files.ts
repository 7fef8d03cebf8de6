import { createReadStream, createWriteStream } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type { UndoChunk } from '../domain/import/plan-undo.ts'
import { artifactNames } from '../engine/context.ts'
import type { Stores } from '../stores.ts'

export interface FilesCopied {
  jobs: number
  files: number
  bytes: number
}

/**
 * Every job's files, byte for byte, a file at a time and streamed (an export may be hundreds of MB). The undo
 * data is the exception: it names the store revision each chunk wrote (undo reverts a user only while its `rev`
 * is that chunk's), and revisions are the target's own, so each pre-image is re-pointed at the revision its user
 * got on the target (see `repointUndo`).
 */
export async function copyJobFiles(source: Stores, target: Stores): Promise<FilesCopied> {
  const copied: FilesCopied = { jobs: 0, files: 0, bytes: 0 }
  // An import into an Auth0 tenant undoes by the tenant's own timestamps, not by store revisions: copied as it is.
  const tenantJobs = new Set(
    source.catalog
      .read()
      .jobs.filter((job) => job.type === 'users_import' && job.tenantParts !== undefined)
      .map((job) => job.id),
  )
  for (const jobId of (await source.artifacts.jobIds()).sort()) {
    const names = await source.artifacts.list(jobId)
    for (const name of names) {
      if (name === artifactNames.undo && !tenantJobs.has(jobId)) {
        const bytes = await source.artifacts.get(jobId, name)
        if (bytes === undefined) continue
        const text = JSON.stringify(await repointUndo(source, target, JSON.parse(bytes.toString('utf8'))))
        await target.artifacts.put(jobId, name, text)
        copied.bytes += Buffer.byteLength(text)
      } else {
        const path = await source.artifacts.locate(jobId, name)
        // Removed meanwhile (retention): nothing to copy.
        if (path === undefined) continue
        const { bytes } = await target.artifacts.putStream(jobId, name, createReadStream(path), {
          gzip: false,
        })
        copied.bytes += bytes
      }
      copied.files++
    }
    if (names.length > 0) copied.jobs++
  }
  return copied
}

/**
 * The undo chunks with the target's revisions: a pre-image whose user is, on the source, still as the chunk left
 * it (rev = the chunk's seq) moves to a chunk of that user's target rev; any other (changed or deleted since)
 * stays a conflict, under a seq no user has (0: revisions start at 1). A chunk may thus become several.
 */
async function repointUndo(source: Stores, target: Stores, chunks: UndoChunk[]): Promise<UndoChunk[]> {
  const repointed: UndoChunk[] = []
  for (const chunk of chunks) {
    const userIds = chunk.preImages.map((preImage) => preImage.user_id)
    // Lookups by user_id alone: the connection only scopes emails and usernames.
    const [before, after] = await Promise.all([
      source.users.lookup('', { userIds }),
      target.users.lookup('', { userIds }),
    ])
    // Runs of consecutive pre-images with one target seq: the pre-images keep their order, so an undo reports its
    // conflicts at the same positions as on the source.
    let run: UndoChunk | undefined
    for (const preImage of chunk.preImages) {
      const unchanged = before.getById(preImage.user_id)?.rev === chunk.seq
      const seq = unchanged ? (after.getById(preImage.user_id)?.rev ?? 0) : 0
      if (run?.seq !== seq) {
        run = { seq, preImages: [] }
        repointed.push(run)
      }
      run.preImages.push(preImage)
    }
  }
  return repointed
}

/**
 * Backup sets, each saved whole on the target under its own name and manifest. The port saves from files on
 * disk, so each set's files pass through a private temp folder, one set at a time. A set without a readable
 * manifest is skipped (named in the summary): the target would refuse it anyway.
 */
export async function copyBackups(
  source: Stores,
  target: Stores,
): Promise<{ sets: number; skipped: string[] }> {
  let sets = 0
  const skipped: string[] = []
  const listings = (await source.backups.list()).sort((a, b) => a.name.localeCompare(b.name))
  for (const listing of listings) {
    const manifest = listing.manifest
    if (manifest === undefined) {
      skipped.push(`backup set ${listing.name} (${listing.problem ?? 'no manifest'})`)
      continue
    }
    const dir = await mkdtemp(join(tmpdir(), 'roster-copy-'))
    try {
      const files: { name: string; source: string }[] = []
      for (const { file } of manifest.connections) {
        const parts = await source.backups.readFile(listing.name, file)
        if (parts === undefined) continue
        const path = join(dir, file)
        await pipeline(Readable.from(parts), createWriteStream(path, { mode: 0o600 }))
        files.push({ name: file, source: path })
      }
      if (files.length < manifest.connections.length) {
        skipped.push(`backup set ${listing.name} (a file named in its manifest is missing)`)
        continue
      }
      await target.backups.save(listing.name, files, manifest)
      sets++
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  }
  return { sets, skipped }
}
