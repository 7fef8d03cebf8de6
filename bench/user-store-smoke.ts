/**
 * Smoke benchmark for FileUserStore at tenant scale: `node --import tsx bench/user-store-smoke.ts [users]`.
 * Writes a snapshot of 1,000,000 users (default) into a temp dir, then measures opening it, committing one
 * 2,000-user batch into it and into an empty store, reading users by id, scanning it (parsing every user), and
 * compacting it (with the event-loop delay while compaction runs); then opening the compacted store, and opening
 * the same users from a version 1 snapshot (the compatibility path). Deletes its temp dirs at the end. Figures
 * vary by machine; this is not a test.
 */

import { execFileSync } from 'node:child_process'
import { mkdir, mkdtemp, open as openFile, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import { openFileUserStore } from '../src/adapters/store/file-user-store.ts'
import { snapshotLine, snapshotVersion } from '../src/adapters/store/store-files.ts'
import { type StoredUser, storedUserSchema } from '../src/domain/users/user.ts'
import type { CommitBatch } from '../src/engine/ports.ts'

const openOnly = process.argv[2] === '--open'
const tenantUsers = openOnly ? 0 : Number(process.argv[2] ?? 1_000_000)
const batchUsers = 2_000
const connections = ['con_k3Jd8sLq0PzX7aYb', 'con_Q8wE2rT5yU1iO9pA']
const givenNames = ['Amélie', 'Ben', 'Chiara', 'Dmitri', 'Eun-ji', 'Farah', 'Gustavo', 'Hana', 'Ivo', 'Jun']
const familyNames = [
  'Okafor',
  'Lindqvist',
  'Moreau',
  'Nakamura',
  'Petrov',
  'Quispe',
  'Rossi',
  'Singh',
  'Tanaka',
]

function makeUser(n: number, rev: number): StoredUser {
  const id = n.toString(16).padStart(24, '0')
  const given = givenNames[n % givenNames.length] ?? 'Ann'
  const family = familyNames[n % familyNames.length] ?? 'Lee'
  return {
    user_id: `auth0|${id}`,
    connection_id: connections[n % connections.length] ?? 'con_x',
    email: `${given.toLowerCase()}.${n}@example.com`,
    email_verified: n % 3 !== 0,
    given_name: given,
    family_name: family,
    user_metadata: { locale: n % 4 === 0 ? 'de-DE' : 'en-GB' },
    identities: [
      { connection: 'Username-Password-Authentication', provider: 'auth0', user_id: id, isSocial: false },
    ],
    created_at: '2025-03-14T09:26:53.589Z',
    updated_at: '2026-01-07T16:02:11.000Z',
    rev,
  }
}

function newUsers(from: number, count: number): Omit<StoredUser, 'rev'>[] {
  return Array.from({ length: count }, (_, i) => {
    const { rev: _rev, ...fields } = makeUser(from + i, 0)
    return fields
  })
}

/**
 * Writes the snapshot directly (the format of store-files.ts): much faster than 500 fsync'd commits. Version 2
 * (keys, then JSON) unless `version` is 1 (JSON only), the format of stores written before lazy loading.
 */
async function writeTenantSnapshot(dir: string, count: number, version = snapshotVersion): Promise<number> {
  const handle = await openFile(join(dir, 'snapshot.jsonl'), 'w')
  const commits = Math.ceil(count / batchUsers)
  await handle.writeFile(
    `${JSON.stringify({ format: 'roster-users', version, seq: commits, journal: 1, users: count })}\n`,
  )
  for (let start = 0; start < count; start += 10_000) {
    let text = ''
    for (let n = start; n < Math.min(start + 10_000, count); n++) {
      const user = makeUser(n, Math.floor(n / batchUsers) + 1)
      text += version === 1 ? `${JSON.stringify(user)}\n` : snapshotLine(user)
    }
    await handle.writeFile(text)
  }
  await handle.sync()
  await handle.close()
  return commits
}

/**
 * What opening would cost if it parsed every user, as it did before version 2: read the snapshot, split it into
 * lines and JSON.parse each user, keeping the objects, in a fresh process (so its heap does not disturb ours). Also
 * the time to just read the file into memory: a floor for opening as it is now.
 */
function parseFloorMs(path: string): { readMs: number; parseMs: number } {
  const script = `
    const { readFileSync } = require('node:fs')
    let start = performance.now()
    const buffer = readFileSync(process.argv[1])
    const readMs = performance.now() - start
    start = performance.now()
    const kept = []
    for (let from = buffer.indexOf(10) + 1, nl; (nl = buffer.indexOf(10, from)) !== -1; from = nl + 1) {
      let json = from
      for (let tabs = 0; tabs < 4; tabs++) json = buffer.indexOf(9, json) + 1
      kept.push(JSON.parse(buffer.toString('utf8', json, nl)))
    }
    console.log(JSON.stringify({ readMs, parseMs: performance.now() - start + readMs }))`
  return JSON.parse(execFileSync(process.execPath, ['-e', script, path], { encoding: 'utf8' }))
}

function ms(start: number): string {
  return `${(performance.now() - start).toFixed(1)} ms`
}

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MB`

function batchOf(from: number, chunk: number): CommitBatch {
  return {
    jobId: 'job_benchBENCHbench0',
    chunk,
    puts: newUsers(from, batchUsers),
    deletes: [],
    meta: { chunk },
  }
}

/** What the issue calls the floor for one import file: JSON.parse + validation + one fsync'd append of its bytes. */
async function importFloor(dir: string): Promise<number> {
  const fileText = JSON.stringify(newUsers(5_000_000, batchUsers))
  const start = performance.now()
  const rows = JSON.parse(fileText) as unknown[]
  const rowSchema = storedUserSchema.omit({ rev: true })
  for (const row of rows) rowSchema.parse(row)
  const handle = await openFile(join(dir, 'floor.jsonl'), 'a')
  await handle.writeFile(fileText)
  await handle.datasync()
  await handle.close()
  console.log(`  import file: ${(Buffer.byteLength(fileText) / 1024).toFixed(0)} KB, ${rows.length} users`)
  return performance.now() - start
}

async function measureEmpty(dir: string): Promise<void> {
  const floorMs = await importFloor(dir)
  console.log(`  floor for that file (parse + validate + fsync'd append): ${floorMs.toFixed(1)} ms`)
  const empty = await openFileUserStore(dir)
  const start = performance.now()
  await empty.commit(batchOf(0, 0))
  console.log(`commit ${batchUsers} users into an empty store: ${ms(start)}`)
  await empty.close()
}

async function measureBig(dir: string): Promise<void> {
  const rssBefore = process.memoryUsage().rss
  let start = performance.now()
  const store = await openFileUserStore(dir)
  console.log(`open ${store.count().toLocaleString('en')} users: ${ms(start)}`)
  printMemory('after open', rssBefore)

  for (let round = 0; round < 3; round++) {
    const ids = Array.from(
      { length: batchUsers },
      (_, i) => makeUser((i * 7919 + round) % tenantUsers, 0).user_id,
    )
    start = performance.now()
    let found = 0
    for (const id of ids) if (store.getById(id) !== undefined) found += 1
    const lookups = performance.now() - start
    start = performance.now()
    for (const id of ids) store.findByEmail(connections[0] as string, `${id}@example.com`)
    console.log(
      `getById of ${found.toLocaleString('en')} users (each parsed): ${lookups.toFixed(1)} ms; ` +
        `${ids.length.toLocaleString('en')} findByEmail misses: ${ms(start)}`,
    )
  }

  for (let chunk = 0; chunk < 5; chunk++) {
    start = performance.now()
    const pending = store.commit(batchOf(tenantUsers + chunk * batchUsers, chunk))
    const syncPart = performance.now() - start
    await pending
    console.log(
      `commit ${batchUsers} users into the big store: ${ms(start)} (sync part ${syncPart.toFixed(1)} ms)`,
    )
  }

  start = performance.now()
  const scanned = store.scan()
  console.log(`scan() of all users (the synchronous copy): ${ms(start)}`)
  start = performance.now()
  let seen = 0
  let revs = 0
  for (const user of scanned) {
    seen += 1
    revs += user.rev
  }
  console.log(
    `  iterating its ${seen.toLocaleString('en')} users (each parsed): ${ms(start)} (rev sum ${revs})`,
  )

  const gcPauses: number[] = []
  const gcObserver = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) gcPauses.push(entry.duration)
  })
  gcObserver.observe({ entryTypes: ['gc'] })
  const delay = monitorEventLoopDelay({ resolution: 5 })
  /** Only what compaction does in the background: started after the synchronous parts below. */
  const background = monitorEventLoopDelay({ resolution: 5 })
  delay.enable()
  start = performance.now()
  const compaction = store.compact()
  const syncPart = performance.now() - start
  // Commits keep flowing during compaction; they land in the new journal.
  const duringStart = performance.now()
  const during = store.commit(batchOf(tenantUsers + 10 * batchUsers, 10))
  const duringSync = performance.now() - duringStart
  background.enable()
  await Promise.all([compaction, during])
  delay.disable()
  background.disable()
  gcObserver.disconnect()
  console.log(`compact: ${ms(start)} (sync part ${syncPart.toFixed(1)} ms)`)
  const stalls = (histogram: typeof delay) =>
    `max ${(histogram.max / 1e6).toFixed(1)} ms, p99 ${(histogram.percentile(99) / 1e6).toFixed(1)} ms, ` +
    `mean ${(histogram.mean / 1e6).toFixed(1)} ms`
  console.log(
    `  event-loop delay during compaction: ${stalls(delay)}; longest GC pause ` +
      `${Math.max(0, ...gcPauses).toFixed(1)} ms`,
  )
  console.log(
    `  of which in the background, after the sync parts of compact() and of the commit made during it ` +
      `(${duringSync.toFixed(1)} ms): ${stalls(background)}`,
  )
  printMemory('after compaction', rssBefore)
  await store.close()
}

function printMemory(when: string, rssBefore: number): void {
  global.gc?.()
  const memory = process.memoryUsage()
  console.log(
    `  RSS ${when}: ${mb(memory.rss)} (was ${mb(rssBefore)}), heap used ${mb(memory.heapUsed)}, ` +
      `array buffers ${mb(memory.arrayBuffers)}${global.gc === undefined ? '' : ' (after a full GC)'}`,
  )
}

async function main(): Promise<void> {
  const bigDir = await mkdtemp(join(tmpdir(), 'roster-bench-big-'))
  const emptyDir = await mkdtemp(join(tmpdir(), 'roster-bench-empty-'))
  try {
    console.log(
      `FileUserStore smoke benchmark, ${tenantUsers.toLocaleString('en')} users, node ${process.version}`,
    )
    let start = performance.now()
    await writeTenantSnapshot(bigDir, tenantUsers)
    const snapshotPath = join(bigDir, 'snapshot.jsonl')
    const snapshotBytes = (await stat(snapshotPath)).size
    console.log(
      `generate snapshot: ${ms(start)}, ${mb(snapshotBytes)}, ${(snapshotBytes / tenantUsers).toFixed(0)} B/user`,
    )
    const floor = parseFloorMs(snapshotPath)
    console.log(
      `  reading the file: ${floor.readMs.toFixed(0)} ms; reading it and JSON.parse of every user ` +
        `(what opening cost before version 2), fresh process: ${floor.parseMs.toFixed(0)} ms`,
    )

    await measureEmpty(emptyDir)
    await measureBig(bigDir)

    start = performance.now()
    const reopened = await openFileUserStore(bigDir)
    console.log(`reopen the compacted store (${reopened.count().toLocaleString('en')} users): ${ms(start)}`)
    await reopened.close()

    await rm(bigDir, { recursive: true, force: true })
    await mkdir(bigDir)
    await writeTenantSnapshot(bigDir, tenantUsers, 1)
    // In a fresh process, so that the garbage of this one does not weigh on it.
    const script = fileURLToPath(import.meta.url)
    const opened = execFileSync(process.execPath, [...process.execArgv, script, '--open', bigDir], {
      encoding: 'utf8',
    })
    process.stdout.write(opened.replace(/^open/, 'open a version 1 snapshot in a fresh process:'))
  } finally {
    await rm(bigDir, { recursive: true, force: true })
    await rm(emptyDir, { recursive: true, force: true })
  }
}

/** `--open <dir>`: opens the store in `dir` and reports the time and memory it took. */
async function open(dir: string): Promise<void> {
  const rssBefore = process.memoryUsage().rss
  const start = performance.now()
  const store = await openFileUserStore(dir)
  console.log(`open ${store.count().toLocaleString('en')} users: ${ms(start)}`)
  printMemory('after open', rssBefore)
  await store.close()
}

if (openOnly) await open(process.argv[3] as string)
else await main()
