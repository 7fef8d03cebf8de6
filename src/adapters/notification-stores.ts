import { join } from 'node:path'
import type { Logger } from '../logger.ts'
import { type MailOutbox, openFileMailOutbox } from './mail/mail-outbox.ts'
import type { Pool } from './postgres/pool.ts'
import { type JobThreads, openJobThreads } from './slack/job-threads.ts'
import { type Outbox, openOutbox } from './slack/notifier/outbox.ts'
import { memoryReplayKeys, type ReplayKeys } from './slack/replay-guard.ts'
import { newReplicaId } from './system.ts'

/**
 * Where Roster keeps what it has to tell people: the Slack thread of each job, the Slack outbox, the replay guard's
 * recent requests and the mail outbox. Embedded: files in STORE_DIR (one process). PostgreSQL: tables shared by
 * every replica, each sending what it claims, once.
 */
export type NotificationStoreLocation =
  | { storeDir: string }
  /** `requests`: the stores' pool for what a request waits on (the replay guard's keys). Default `pool`. */
  | { pool: Pool; databaseUrl: string; requests?: Pool }

export interface SlackNotificationStores {
  threads: JobThreads
  outbox: Outbox
  replay: ReplayKeys
}

export interface NotificationStores {
  /** True on PostgreSQL: other replicas share these stores. */
  readonly shared: boolean
  /** Only when asked for (`slack: true`): an outbox opened the first time records that nothing was sent before. */
  slack?: SlackNotificationStores
  mail: MailOutbox
  /** Stops listening and hands this replica's claims back (others take them at once). A pool stays open. */
  close(): Promise<void>
}

export interface NotificationStoreOptions {
  logger: Logger
  /** Slack is configured: open its stores too. */
  slack: boolean
  /** This replica's id in claims. Default: host, pid and a random part. */
  replicaId?: string
  /** PostgreSQL: how often to look for work another replica let go of (a lapsed claim). Default 2000 ms. */
  pollMs?: number
  /** PostgreSQL: how long a claim holds without renewal. Default 30 s (Slack), 60 s (mail). */
  claimMs?: number
}

/**
 * Opens the notification stores for either backend: `{ storeDir }` → STORE_DIR's files (slack-threads.json,
 * slack-outbox.json, outbox/), `{ pool, databaseUrl }` → the tables of migration 003 (the database is migrated
 * already; the pool is the caller's). The PostgreSQL adapters are loaded only then.
 */
export async function openNotificationStores(
  location: NotificationStoreLocation,
  options: NotificationStoreOptions,
): Promise<NotificationStores> {
  if ('pool' in location) {
    const { openPgNotificationStores } = await import('./postgres/notification-stores.ts')
    return openPgNotificationStores(location.pool, location.databaseUrl, {
      ...options,
      requests: location.requests ?? location.pool,
      replicaId: options.replicaId ?? newReplicaId(),
    })
  }
  const { storeDir } = location
  const mail = await openFileMailOutbox(join(storeDir, 'outbox'), { logger: options.logger })
  const slack = options.slack
    ? {
        threads: await openJobThreads(join(storeDir, 'slack-threads.json')),
        outbox: await openOutbox(join(storeDir, 'slack-outbox.json')),
        replay: memoryReplayKeys(),
      }
    : undefined
  return { shared: false, ...(slack ? { slack } : {}), mail, close: async () => undefined }
}
