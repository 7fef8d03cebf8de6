import { randomBytes } from 'node:crypto'
import { mkdir, mkdtemp, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { isJobId } from '../../domain/jobs/job-files.ts'

const prefix = 'roster-files-'
/** Written in the folder: the process that owns it, so a later one can clear what a killed one left. */
const ownerFile = 'owner.pid'

/**
 * Copies of job files on this machine's disk, for what streams a file from a path (downloads, the CLI's --out,
 * backups). One private folder per process under the OS temp dir (0700, copies 0600): other users of the
 * machine cannot list or read them. A copy is named by the version of the file it holds (`<jobId>/<versionId>-
 * <name>`), so a file written again is copied again and never served stale.
 */
export class JobFileCache {
  readonly #parent: string
  #folder: Promise<string> | undefined
  /** Copies being made, by path: two downloads of one file at once share one copy. */
  readonly #filling = new Map<string, Promise<string>>()

  constructor(parent: string = tmpdir()) {
    this.#parent = parent
  }

  /**
   * The path of the copy of `versionId` (`size` bytes), made by `fill(tmpFile)` if this process has none yet. The
   * copy of an older version of the same file is removed (a download still streaming it keeps its open file).
   */
  async copy(
    jobId: string,
    name: string,
    version: { id: string; size: number },
    fill: (tmpFile: string) => Promise<void>,
  ): Promise<string> {
    const folder = join(await this.#root(), jobId)
    const path = join(folder, `${version.id}-${name}`)
    if ((await stat(path).catch(() => undefined))?.size === version.size) return path
    const running = this.#filling.get(path)
    if (running) return running
    const making = this.#make(folder, path, name, fill)
    this.#filling.set(path, making)
    try {
      return await making
    } finally {
      this.#filling.delete(path)
    }
  }

  async #make(folder: string, path: string, name: string, fill: (tmpFile: string) => Promise<void>) {
    await mkdir(folder, { recursive: true, mode: 0o700 })
    const tmpFile = join(folder, `.${randomBytes(6).toString('hex')}.tmp`)
    try {
      await fill(tmpFile)
      await rename(tmpFile, path)
    } catch (error) {
      await rm(tmpFile, { force: true })
      throw error
    }
    const current = path.slice(folder.length + 1)
    const stale = (await readdir(folder)).filter((entry) => entry.endsWith(`-${name}`) && entry !== current)
    await Promise.all(stale.map((entry) => rm(join(folder, entry), { force: true })))
    return path
  }

  /** Removes the copies of one job. */
  async drop(jobId: string): Promise<void> {
    if (this.#folder) await rm(join(await this.#folder, jobId), { recursive: true, force: true })
  }

  /** Removes the copies of every job not in `jobIds` (removed by another replica, or by retention). */
  async keepOnly(jobIds: ReadonlySet<string>): Promise<void> {
    if (!this.#folder) return
    const folder = await this.#folder
    const entries = await readdir(folder).catch(() => [] as string[])
    await Promise.all(
      entries
        .filter((entry) => isJobId(entry) && !jobIds.has(entry))
        .map((entry) => rm(join(folder, entry), { recursive: true, force: true })),
    )
  }

  async close(): Promise<void> {
    const folder = this.#folder
    this.#folder = undefined
    if (folder) await rm(await folder, { recursive: true, force: true })
  }

  #root(): Promise<string> {
    this.#folder ??= (async () => {
      await clearAbandoned(this.#parent)
      // mkdtemp makes the folder 0700.
      const folder = await mkdtemp(join(this.#parent, prefix))
      await writeFile(join(folder, ownerFile), String(process.pid), { mode: 0o600 })
      return folder
    })()
    return this.#folder
  }
}

/** Folders of processes that are gone (killed before their close): their copies are of no use to anyone. */
async function clearAbandoned(parent: string): Promise<void> {
  const names = await readdir(parent).catch(() => [] as string[])
  for (const name of names.filter((entry) => entry.startsWith(prefix))) {
    const folder = join(parent, name)
    const pid = Number(await readFile(join(folder, ownerFile), 'utf8').catch(() => ''))
    if (Number.isInteger(pid) && pid > 0 && !isAlive(pid)) {
      await rm(folder, { recursive: true, force: true }).catch(() => undefined)
    }
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}
