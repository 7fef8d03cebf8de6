import { AppError } from '../errors.ts'
import type { Stores } from '../stores.ts'

/**
 * What `roster store copy` checks before it writes anything: the target holds nothing a person made (a new store
 * holds only its seeded tenant and default connection), and no job of the source is half-way through.
 */

/** What the target holds, as "1,204 users", "3 jobs"…; empty when it is as a first start leaves it. */
export async function contentsOf(stores: Stores): Promise<string[]> {
  const catalog = stores.catalog.read()
  const [users, jobsWithFiles, backups, audit, access] = await Promise.all([
    stores.users.count(),
    stores.artifacts.jobIds(),
    stores.backups.list(),
    stores.audit.recent(1),
    stores.access.read(),
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

/**
 * A job that is running, or pending with chunks already committed, would resume on the target from commits a
 * copy does not carry (users are copied as they are, not commit by commit): it is refused, naming the jobs.
 */
export async function refuseUnfinishedJobs(source: Stores): Promise<void> {
  const unfinished: string[] = []
  for (const job of source.catalog.read().jobs) {
    if (job.status === 'processing') unfinished.push(job.id)
    else if (job.status === 'pending' && (await source.users.commitsOf(job.id)).length > 0)
      unfinished.push(job.id)
  }
  if (unfinished.length === 0) return
  throw new AppError(
    'invalid_request',
    `The source ${source.where} has jobs that are half-way through (${unfinished.join(', ')}): start Roster on it ` +
      'until they finish (npm start resumes them), stop it, then copy again.',
    { jobs: unfinished },
  )
}
