import { countNotificationRecords, readNotificationRecords } from '../adapters/notification-records.ts'
import type { NotificationStoreLocation } from '../adapters/notification-stores.ts'
import { AppError } from '../errors.ts'
import type { Stores } from '../stores.ts'

/**
 * What `roster store copy` checks before it writes anything: the target holds nothing a person made (a new store
 * holds only its seeded tenant and default connection), and no job of the source is half-way through.
 */

/** What the target holds, as "1,204 users", "3 jobs"…; empty when it is as a first start leaves it. */
export async function contentsOf(stores: Stores): Promise<string[]> {
  const catalog = stores.catalog.read()
  const [users, jobsWithFiles, backups, audit, access, notifications] = await Promise.all([
    stores.users.count(),
    stores.artifacts.jobIds(),
    stores.backups.list(),
    stores.audit.recent(1),
    stores.access.read(),
    readNotificationRecords(notificationLocation(stores)).then(countNotificationRecords),
  ])
  const found: [number, string][] = [
    [users, 'users'],
    [catalog.jobs.length, 'jobs'],
    // A first start seeds one connection: more is a person's doing.
    [Math.max(0, catalog.connections.length - 1), 'connections besides the default one'],
    [catalog.apiTokens?.length ?? 0, 'API tokens'],
    [catalog.apiClients?.length ?? 0, 'API clients'],
    [Object.keys(catalog.exportLabels).length, 'export labels'],
    [jobsWithFiles.length, 'jobs with files'],
    [backups.length, 'backup sets'],
    [audit.length, 'audit entries (at least)'],
    [Object.keys(access.users).length, 'Slack access entries'],
    [notifications.slackThreads, 'Slack thread links'],
    [notifications.slackPending + notifications.slackSettled, 'Slack outbox entries'],
    [notifications.mailQueued + notifications.mailSent + notifications.mailFailed, 'completion emails'],
    [notifications.replayKeys, 'recent Slack request keys'],
  ]
  return found.filter(([count]) => count > 0).map(([count, what]) => `${count.toLocaleString('en')} ${what}`)
}

export async function refuseNonEmptyTarget(target: Stores): Promise<void> {
  const found = await contentsOf(target)
  if (found.length === 0) return
  throw new AppError(
    'store_not_empty',
    `The target ${target.where} is not empty: it holds ${found.join(', ')}. roster store copy only fills an ` +
      'empty store (a new STORE_DIR, or a new database: createdb), so that nothing there is mixed or overwritten.',
    { found },
  )
}

/** Where a store's notification stores are: its STORE_DIR's files, or its database's tables. */
export function notificationLocation(stores: Stores): NotificationStoreLocation {
  if (stores.postgres) return stores.postgres
  if (stores.embedded) return { storeDir: stores.embedded.storeDir }
  throw new Error(`store copy: ${stores.where} is neither embedded nor PostgreSQL`)
}

/**
 * A job that is running, or pending with chunks already committed, would resume on the target from commits a
 * copy does not carry (users are copied as they are, not commit by commit): it is refused, naming the jobs. So is
 * a job whose Slack notification or completion email a live replica is sending (`claimed`): the copy would send it
 * again, or not know it was sent.
 */
export async function refuseUnfinishedJobs(source: Stores, claimed: readonly string[] = []): Promise<void> {
  const unfinished: string[] = []
  for (const job of source.catalog.read().jobs) {
    if (job.status === 'processing') unfinished.push(job.id)
    else if (job.status === 'pending' && (await source.users.commitsOf(job.id)).length > 0)
      unfinished.push(job.id)
  }
  for (const jobId of claimed) if (!unfinished.includes(jobId)) unfinished.push(jobId)
  if (unfinished.length === 0) return
  throw new AppError(
    'invalid_request',
    `The source ${source.where} has jobs that are half-way through (${unfinished.join(', ')}): start Roster on it ` +
      'until they finish and their notifications are sent (npm start resumes them), stop it, then copy again.',
    { jobs: unfinished },
  )
}
