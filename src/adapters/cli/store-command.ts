import { resolve } from 'node:path'
import { randomIds, systemClock } from '../../adapters/system.ts'
import { AppError } from '../../errors.ts'
import { silentLogger } from '../../logger.ts'
import type { CopySummary } from '../../store-copy/copy-store.ts'
import { copyStore } from '../../store-copy/copy-store.ts'
import { openStores, type StoreLocation, type Stores, seedCatalog } from '../../stores.ts'
import { exitCodes } from './usage.ts'

/**
 * `roster store copy --from <STORE_DIR|postgres://…> --to <STORE_DIR|postgres://…>`: opens both stores as Roster
 * does (an embedded one is locked, so no Roster process may hold it meanwhile; a database gets its pending
 * migrations), copies the whole source into the empty target, and says what it copied.
 */
export async function runStoreCopy(
  command: { from: string; to: string },
  json: boolean,
  print: (text: string) => Promise<void>,
): Promise<number> {
  const from = locationOf(command.from)
  const to = locationOf(command.to)
  if ((from.databaseUrl ?? from.storeDir) === (to.databaseUrl ?? to.storeDir)) {
    throw new AppError('invalid_request', 'store copy: --from and --to name the same store.')
  }
  const seed = () => seedCatalog({}, systemClock, randomIds)
  const source = await openStores(from, { logger: silentLogger, seed, create: false })
  let target: Stores | undefined
  try {
    target = await openStores(to, { logger: silentLogger, seed })
    const summary = await copyStore(source, target)
    await print(json ? JSON.stringify(summary, null, 2) : describe(summary))
    return exitCodes.ok
  } finally {
    await target?.close()
    await source.close()
  }
}

/** A postgres:// URL is a database; anything else is a STORE_DIR path. */
function locationOf(value: string): StoreLocation {
  if (/^postgres(ql)?:\/\//i.test(value)) return { storeDir: '', databaseUrl: value }
  return { storeDir: resolve(value) }
}

function describe(summary: CopySummary): string {
  const n = (value: number) => value.toLocaleString('en')
  const notes = summary.notifications
  const lines = [
    `Copied ${summary.from} to ${summary.to}:`,
    `  users            ${n(summary.users)}`,
    `  connections      ${n(summary.connections)}`,
    `  jobs             ${n(summary.jobs)} (files of ${n(summary.files.jobs)}: ${n(summary.files.files)} files, ${n(summary.files.bytes)} bytes)`,
    `  API tokens       ${n(summary.apiTokens)}, API clients ${n(summary.apiClients)}`,
    `  export labels    ${n(summary.exportLabels)}`,
    `  Slack access     ${n(summary.accessEntries)}`,
    `  audit entries    ${n(summary.auditEntries)}`,
    `  backup sets      ${n(summary.backupSets)}`,
    `  Slack threads    ${n(notes.slackThreads)}, outbox ${n(notes.slackPending)} to send, ${n(notes.slackSettled)} sent`,
    `  emails           ${n(notes.mailQueued)} to send, ${n(notes.mailSent)} sent, ${n(notes.mailFailed)} given up on`,
    `  replay keys      ${n(notes.replayKeys)}`,
  ]
  for (const skipped of summary.skipped) lines.push(`Skipped: ${skipped}`)
  for (const left of summary.notCopied) lines.push(`Not copied: ${left}`)
  return lines.join('\n')
}
