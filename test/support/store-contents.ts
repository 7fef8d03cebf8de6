import { createHash } from 'node:crypto'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { readNotificationRecords } from '../../src/adapters/notification-records.ts'
import { randomIds, systemClock } from '../../src/adapters/system.ts'
import type { UndoChunk } from '../../src/domain/import/plan-undo.ts'
import { silentLogger } from '../../src/logger.ts'
import { openStores, type StoreLocation, seedCatalog } from '../../src/stores.ts'

const sha = (bytes: Buffer | undefined) => bytes && createHash('sha256').update(bytes).digest('hex')

/**
 * Everything a store holds, in a form two stores can be compared by (revisions left out: each store has its own),
 * for `roster store copy` tests: users, catalog, job files, backup sets, audit log, Slack access and the
 * notification stores (thread links, Slack outbox, mail outbox, replay keys).
 */
export async function storeContents(location: StoreLocation) {
  const stores = await openStores(location, {
    logger: silentLogger,
    seed: () => seedCatalog({}, systemClock, randomIds),
    create: false,
  })
  try {
    const users = []
    for await (const { rev: _rev, ...user } of stores.users.scan()) users.push(user)
    const { access: _access, ...catalog } = stores.catalog.read()
    const files: Record<string, unknown> = {}
    for (const jobId of (await stores.artifacts.jobIds()).sort()) {
      for (const name of await stores.artifacts.list(jobId)) {
        const bytes = await stores.artifacts.get(jobId, name)
        // Undo data: the same pre-images, in the same order (their chunks carry each store's own revisions).
        files[`${jobId}/${name}`] =
          name === 'undo.json'
            ? (JSON.parse(String(bytes)) as UndoChunk[]).flatMap((chunk) => chunk.preImages)
            : sha(bytes)
      }
    }
    const backups = []
    for (const set of (await stores.backups.list()).sort((a, b) => a.name.localeCompare(b.name))) {
      const hashes: Record<string, string | undefined> = {}
      for (const { file } of set.manifest?.connections ?? []) {
        const parts = await stores.backups.readFile(set.name, file)
        const chunks: Buffer[] = []
        for await (const part of parts ?? []) chunks.push(part)
        hashes[file] = sha(Buffer.concat(chunks))
      }
      backups.push({ name: set.name, manifest: set.manifest, hashes })
    }
    return {
      users,
      catalog,
      files,
      backups,
      audit: await stores.audit.recent(1_000_000),
      access: await stores.access.read(),
      notifications: await readNotificationRecords(
        stores.postgres ?? { storeDir: stores.embedded?.storeDir ?? '' },
      ),
    }
  } finally {
    await stores.close()
  }
}

/**
 * What the notification stores of a store that ran with Slack and SMTP hold, as their files: `importJob`'s thread
 * and its sent notifications and email, `updateJob`'s parent and result waiting to be sent and its email queued,
 * and an email given up on.
 */
export async function writeNotificationFiles(
  storeDir: string,
  { importJob, updateJob }: { importJob: string; updateJob: string },
): Promise<void> {
  const createdAt = new Date().toISOString()
  await writeFile(
    join(storeDir, 'slack-threads.json'),
    JSON.stringify({
      threads: { [importJob]: { channel: 'C0GENERAL', ts: '1764900000.000100', user: 'U0ADMIN1' } },
    }),
  )
  const parent = {
    id: `${updateJob}:parent`,
    jobId: updateJob,
    kind: 'parent',
    createdAt,
    message: { text: 'Import requested' },
    target: { channel: 'C0GENERAL', user: 'U0ADMIN1' },
  }
  const result = {
    id: `${updateJob}:result`,
    jobId: updateJob,
    kind: 'result',
    createdAt,
    message: { text: 'Done' },
  }
  await writeFile(
    join(storeDir, 'slack-outbox.json'),
    JSON.stringify({
      version: 1,
      pending: [parent, result],
      settled: [`${importJob}:final`, `${importJob}:result`],
    }),
  )
  const mail = (jobId: string) => ({
    jobId,
    to: ['ops@example.com'],
    subject: `Import ${jobId}`,
    text: 'Done',
    html: '<p>Done</p>',
    messageId: `<${jobId}@roster>`,
    attempts: 2,
    lastError: 'connect ECONNREFUSED',
  })
  for (const dir of ['queue', 'failed']) await mkdir(join(storeDir, 'outbox', dir), { recursive: true })
  await writeFile(join(storeDir, 'outbox', 'queue', `${updateJob}.json`), JSON.stringify(mail(updateJob)))
  await writeFile(join(storeDir, 'outbox', 'failed', 'job_gone.json'), JSON.stringify(mail('job_gone')))
  const sent = { jobId: importJob, to: ['ops@example.com'], via: 'smtp', sentAt: '2026-12-01T08:00:00.000Z' }
  await writeFile(join(storeDir, 'outbox', 'sent.jsonl'), `${JSON.stringify(sent)}\n`)
}
