import {
  countNotificationRecords,
  readNotificationRecords,
  writeNotificationRecords,
} from '../adapters/notification-records.ts'
import type { Catalog } from '../domain/catalog.ts'
import type { StoredUser } from '../domain/users/user.ts'
import type { Stores } from '../stores.ts'
import { notificationLocation, refuseNonEmptyTarget, refuseUnfinishedJobs } from './checks.ts'
import { copyBackups, copyJobFiles, type FilesCopied } from './copy-files.ts'

/** What `roster store copy` moved, as it prints it (`--json`: this object). */
export interface CopySummary {
  from: string
  to: string
  users: number
  connections: number
  jobs: number
  apiTokens: number
  apiClients: number
  exportLabels: number
  accessEntries: number
  files: FilesCopied
  auditEntries: number
  backupSets: number
  /** Slack thread links, the Slack outbox (to send, and sent), the mail outbox, the replay guard's keys. */
  notifications: ReturnType<typeof countNotificationRecords>
  /** What was found but not copied, and why. */
  skipped: string[]
  /** What a store holds that this copy leaves behind. */
  notCopied: string[]
}

/** Users per commit on the target: a page of the source at a time, each one transaction (or one journal write). */
const usersPerCommit = 2000

/**
 * Copies a whole store into an empty one: catalog (tenant, connections, jobs history, API tokens and clients,
 * export labels), the Slack access mapping, users (same user_ids; revisions are the target's own), every job's
 * files, the audit log, the backup sets and the notification stores (thread links, so that a job's later messages
 * land in its thread; the Slack and mail outboxes, so that what was not sent yet is sent from the target; the replay
 * guard's keys still in their window). Refuses, before writing anything, a target that holds anything and a source
 * with a job half-way through (a notification a live replica is sending counts as one). Both stores are the caller's to open and close (openStores: the embedded
 * ones are locked, so no Roster process changes them meanwhile).
 */
export async function copyStore(source: Stores, target: Stores): Promise<CopySummary> {
  await refuseNonEmptyTarget(target)
  const notifications = await readNotificationRecords(notificationLocation(source))
  await refuseUnfinishedJobs(source, notifications.claimed)
  const catalog = source.catalog.read()
  // Users first: the catalog then names only jobs whose users are there, and undo data is re-pointed at them.
  const users = await copyUsers(source, target)
  await target.catalog.update((draft) => replaceCatalog(draft, catalog))
  const access = await source.access.read()
  const accessEntries = Object.keys(access.users).length
  if (accessEntries > 0) await target.access.write(access)
  const files = await copyJobFiles(source, target)
  const auditEntries = await copyAudit(source, target)
  const backups = await copyBackups(source, target)
  // Last: the outboxes name jobs (and their files) that are on the target by now.
  await writeNotificationRecords(notificationLocation(target), notifications)
  // The embedded target folds the copy's journal into its snapshot now, rather than at its first quiet moment.
  await target.embedded?.fileUsers.compact()
  return {
    from: source.where,
    to: target.where,
    users,
    connections: catalog.connections.length,
    jobs: catalog.jobs.length,
    apiTokens: catalog.apiTokens?.length ?? 0,
    apiClients: catalog.apiClients?.length ?? 0,
    exportLabels: Object.keys(catalog.exportLabels).length,
    accessEntries,
    files,
    auditEntries,
    backupSets: backups.sets,
    notifications: countNotificationRecords(notifications),
    skipped: [...backups.skipped, ...notifications.unreadable],
    notCopied:
      target.kind === 'embedded' && notifications.replayKeys.length > 0
        ? [
            `${notifications.replayKeys.length} replay-guard keys (an embedded store keeps them in its process's memory: ` +
              'a Slack request retried within 5 minutes of the copy may run again)',
          ]
        : [],
  }
}

/**
 * The source's catalog, whole, in place of the target's seeded one; `access` stays with the access mapping (the
 * embedded store keeps it in access.json, not in its catalog).
 */
function replaceCatalog(draft: Catalog, catalog: Catalog): void {
  const copy = structuredClone(catalog) as Partial<Catalog>
  delete copy.access
  const kept = draft.access
  for (const key of Object.keys(draft) as (keyof Catalog)[]) delete draft[key]
  Object.assign(draft, copy)
  if (kept !== undefined) draft.access = kept
}

/** The users in the source's scan order (the target keeps it), a commit per page. */
async function copyUsers(source: Stores, target: Stores): Promise<number> {
  // Not a job of the catalog: the commits' name in the target's records, one per copy.
  const jobId = `store-copy-${new Date().toISOString()}`
  let batch: Omit<StoredUser, 'rev'>[] = []
  let chunk = 0
  let count = 0
  const flush = async () => {
    if (batch.length === 0) return
    await target.users.commit({ jobId, chunk: chunk++, puts: batch, deletes: [], meta: { storeCopy: true } })
    count += batch.length
    batch = []
  }
  for await (const { rev: _rev, ...user } of source.users.scan({}, { pageSize: usersPerCommit })) {
    batch.push(user)
    if (batch.length === usersPerCommit) await flush()
  }
  await flush()
  return count
}

/** The audit log in its order; each entry as it was (its own time, actor and decision). */
async function copyAudit(source: Stores, target: Stores): Promise<number> {
  const entries = await source.audit.recent(Number.MAX_SAFE_INTEGER)
  for (const entry of entries) await target.audit.record(entry)
  return entries.length
}
