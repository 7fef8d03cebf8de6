import type { NotificationStoreOptions, NotificationStores } from '../notification-stores.ts'
import { createPgMailOutbox } from './mail-outbox.ts'
import { NotificationWakeups } from './notification-wakeups.ts'
import type { Pool } from './pool.ts'
import { createPgReplayKeys } from './replay-keys.ts'
import { openPgOutbox } from './slack-outbox.ts'
import { createPgJobThreads } from './slack-threads.ts'

/** The notification stores on PostgreSQL (see `openNotificationStores`), with one LISTEN connection for wake-ups. */
export async function openPgNotificationStores(
  pool: Pool,
  databaseUrl: string,
  /** `requests`: the pool for what a Slack request waits on (the replay guard's keys). */
  options: NotificationStoreOptions & { replicaId: string; requests: Pool },
): Promise<NotificationStores> {
  const { logger, replicaId } = options
  const wakeups = new NotificationWakeups(databaseUrl, { pollMs: options.pollMs ?? 2000, logger })
  await wakeups.start()
  const claim = options.claimMs === undefined ? {} : { claimMs: options.claimMs }
  const common = { pool, databaseUrl, replicaId, wakeups, logger, ...claim }
  const mail = createPgMailOutbox(common)
  const outbox = options.slack ? await openPgOutbox(common) : undefined
  const slack = outbox
    ? {
        threads: createPgJobThreads(pool, databaseUrl),
        outbox,
        replay: createPgReplayKeys(options.requests, databaseUrl, { logger }),
      }
    : undefined
  return {
    shared: true,
    ...(slack ? { slack } : {}),
    mail,
    async close() {
      await wakeups.stop()
      await Promise.all([mail.close(), outbox?.close()])
    },
  }
}
