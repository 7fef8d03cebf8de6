import {
  type BackupManifest,
  type BackupSetListing,
  backupSetName,
  planBackupFiles,
  planBackupPrune,
  sortBackupSets,
} from '../domain/backups/backup-set.ts'
import type { ExportJob, Job, Requester } from '../domain/jobs/job.ts'
import { AppError } from '../errors.ts'
import type { EngineContext } from './context.ts'
import type { ExportRequest } from './export.ts'
import type { BackupStore } from './ports.ts'
import { syncTenantConnections } from './tenant/connections.ts'

/** What the backup schedule needs, from configuration. */
export interface BackupSettings {
  store: BackupStore
  /** Whole sets kept under STORE_DIR/backups; older ones are removed after each backup. `BACKUP_KEEP`, default 7. */
  keep: number
}

/** The engine's own use cases a backup is made of: a backup is ordinary export jobs, plus a copy of their files. */
export interface BackupJobs {
  requestExport(request: ExportRequest): Promise<ExportJob>
  waitFor(id: string): Promise<Job>
  exportFile(id: string): Promise<{ fileName: string; path: string; bytes: number; users: number } | null>
}

/** Who asks for scheduled backups, on their job records. */
export const cronBackupRequester: Requester = { via: 'cron', id: 'backup' }

/**
 * Takes one backup: an export job per database connection (JSON, every field that re-imports, gzip, marked
 * `backup`), and once all have completed, their files copied into a new set named after the clock, then older
 * sets pruned to `keep`. The jobs are normal jobs (listed, expired by retention); the set outlives them.
 * All or nothing: if an export fails, no set is written and none is pruned.
 */
export async function runBackup(
  ctx: EngineContext,
  jobs: BackupJobs,
  settings: BackupSettings,
  requestedBy: Requester,
): Promise<BackupSetListing> {
  const createdAt = ctx.clock.now()
  const existing = await settings.store.list()
  const name = backupSetName(
    createdAt,
    existing.map((set) => set.name),
  )
  // In front of an Auth0 tenant: its database connections as they are now (a nightly backup lists them afresh).
  const planned = planBackupFiles(await syncTenantConnections(ctx))
  const started = []
  for (const { connection, file } of planned) {
    const job = await jobs.requestExport({
      connection: connection.id,
      format: 'json',
      gzip: true,
      backup: true,
      requestedBy,
    })
    started.push({ connection, file, job })
  }
  ctx.logger.info('backup started', { backup: name, jobs: started.map((s) => s.job.id) })

  const finished = await Promise.all(started.map(async (s) => ({ ...s, job: await jobs.waitFor(s.job.id) })))
  const files = []
  const entries: BackupManifest['connections'] = []
  for (const { connection, file, job } of finished) {
    const located = job.status === 'completed' ? await jobs.exportFile(job.id) : null
    if (!located) {
      const why = job.statusDetails ? `: ${job.statusDetails}` : ` (${job.status})`
      throw new AppError(
        'unexpected',
        `Backup ${name} not written: export ${job.id} of ${connection.name} did not complete${why}.`,
      )
    }
    files.push({ name: file, source: located.path })
    entries.push({
      connectionId: connection.id,
      connectionName: connection.name,
      jobId: job.id,
      users: located.users,
      bytes: located.bytes,
      file,
    })
  }
  const manifest: BackupManifest = {
    version: 1,
    name,
    createdAt: createdAt.toISOString(),
    tenant: ctx.catalog.read().tenant.name,
    connections: entries,
  }
  const saved = await settings.store.save(name, files, manifest)
  const prune = planBackupPrune([...existing, saved], settings.keep)
  for (const old of prune) await settings.store.remove(old)
  ctx.logger.info('backup written', {
    backup: name,
    users: entries.reduce((sum, entry) => sum + entry.users, 0),
    removed: prune,
  })
  return saved
}

/** Every set, newest first. */
export async function listBackups(settings: BackupSettings): Promise<BackupSetListing[]> {
  return sortBackupSets(await settings.store.list())
}
