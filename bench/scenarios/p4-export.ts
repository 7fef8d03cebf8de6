import { createWriteStream } from 'node:fs'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { createGzip } from 'node:zlib'
import type { ExportFormat } from '../../src/domain/export/format.ts'
import type { Roster } from '../../src/roster.ts'
import { count, type Scenario } from '../support/context.ts'
import { pgExportFloor, pgExportFloorWork } from '../support/pg-floor.ts'
import { describeProfile, profile } from '../support/profile.ts'
import type { Row } from '../support/report.ts'
import { benchRequester, openBenchRoster } from '../support/roster.ts'
import { collectGarbage, rssSampler } from '../support/rss.ts'
import { summarize } from '../support/stats.ts'

/**
 * P4: export a tenant of 1M users to CSV, CSV+gzip, JSON and NDJSON through the engine (request → file written),
 * in users/s and peak RSS above the level before the export. Floor: a bare streaming writer of the same rows —
 * the store's scan, JSON.stringify per user, the same fs stream (and gzip level 1 for the gzip case), no engine.
 */

const cases: { format: ExportFormat; gzip: boolean }[] = [
  { format: 'csv', gzip: false },
  { format: 'csv', gzip: true },
  { format: 'json', gzip: false },
  { format: 'ndjson', gzip: false },
]
const targetRate = 100_000
const targetExtraMb = 100
const mb = (bytes: number) => bytes / 1048576

interface Sample {
  rate: number
  extraMb: number
}

async function floorRun(roster: Roster, path: string, gzip: boolean): Promise<Sample> {
  collectGarbage()
  const rss = rssSampler()
  const start = performance.now()
  let users = 0
  async function* pieces() {
    let piece = ''
    // The store's scan, as one synchronous page (parsing each user as the scan does), so the floor pays no
    // promise per user.
    const pages = roster.engine.ctx.users.scanJson?.()
    if (pages === undefined) throw new Error('the embedded store has scanJson')
    for await (const page of pages) {
      for (const json of page) {
        piece += `${JSON.stringify(json.user())}\n`
        if (++users % 1000 === 0) {
          yield piece
          piece = ''
        }
      }
    }
    yield piece
  }
  if (gzip) await pipeline(Readable.from(pieces()), createGzip({ level: 1 }), createWriteStream(path))
  else await pipeline(Readable.from(pieces()), createWriteStream(path))
  const seconds = (performance.now() - start) / 1000
  return { rate: users / seconds, extraMb: mb(rss.stop()) }
}

/** One export through the engine; `limit` exports only the first users (for the profiler: the same hot paths). */
async function exportRun(
  roster: Roster,
  format: ExportFormat,
  gzip: boolean,
  users: number,
  limit?: number,
): Promise<Sample> {
  collectGarbage()
  const rss = rssSampler()
  const start = performance.now()
  const job = await roster.engine.requestExport({
    format,
    gzip,
    requestedBy: benchRequester,
    ...(limit === undefined ? {} : { limit }),
  })
  const done = await roster.engine.waitFor(job.id)
  const seconds = (performance.now() - start) / 1000
  const extraMb = mb(rss.stop())
  if (done.type !== 'users_export' || done.status !== 'completed')
    throw new Error(`export ${format} failed: ${done.statusDetails ?? done.status}`)
  const expected = Math.min(users, limit ?? users)
  if (done.result?.users !== expected)
    throw new Error(`export ${format} wrote ${done.result?.users} of ${expected} users`)
  return { rate: expected / seconds, extraMb }
}

export const p4: Scenario = {
  id: 'P4',
  title: 'export 1M users',
  stores: ['embedded', 'postgres'],
  async run(ctx) {
    // On PostgreSQL exports read binary COPY pages of the users' stored JSON (src/adapters/postgres/user-scan.ts):
    // the same tenant sizes as the embedded store (P1 made the 1M-user template already), two runs each.
    const onPg = ctx.store === 'postgres'
    const users = ctx.quick ? 50_000 : 1_000_000
    // Each full-size run takes 10–25 s: three of each format, two of each floor, keep the whole bench in 15 minutes.
    const runs = onPg ? (ctx.quick ? 1 : 2) : ctx.quick ? 2 : 3
    const floorRuns = 2
    const store = await ctx.tenant(users)
    const roster = await openBenchRoster(store)
    const rows: Row[] = []
    const notes = [
      ctx.store === 'postgres'
        ? `Tenant of ${count(users)} users. Floor: ${pgExportFloorWork}. Extra RSS is the peak above the level before each run (sampled every 20 ms, after a GC). ${runs} runs per format and per floor; no warm-up run. Roster reads the same pages, compacts each user's text in place where it is jsonb's (rows written before migration 005) and appends its rev, then writes the file's rows from those bytes as on the embedded store (src/domain/export/json-rows.ts), and keeps the file in the database (job_file_parts: parts of 1 MB, lz4, one stored while the next is made), which the floor does not. What remains is the formatting of each user (src/domain/export/*), not the reading: the next page is in before it is asked for.`
        : `Tenant of ${count(users)} users. Floor: the store’s scan, JSON.stringify per user, one fs write stream (gzip level 1 for the gzip case, as exports use); extra RSS is the peak above the level before each run (sampled every 20 ms, after a GC). ${runs} runs per format, ${floorRuns} per floor; no warm-up run (the first thousand users warm the JIT). The floor parses every stored user (the store’s scan) before stringifying it: an export that avoids that parse can beat it (ratio above 1). Roster writes each row from the user’s stored bytes (src/domain/export/user-json.ts, json-rows.ts): one pass over them checks that they are what JSON.stringify writes (else that user is parsed, and a damaged one reported) and notes where the columns’ values are, each top-level key first compared with the name that followed the previous one last time; the row then copies those bytes, a word at a time (CSV adds its quotes and escaping; a JSON column under its own name is the stored "name":value run), into 1 MB chunks handed on piece by piece. What remains per user: that pass over every byte of the user (about a third of the main thread’s busy time in a CPU profile of a 200,000-user export), then the copies (about a sixth).`,
    ]
    try {
      const floors = new Map<boolean, Sample[]>()
      for (const gzip of [false, true]) {
        const samples: Sample[] = []
        for (let run = 0; run < runs; run++)
          samples.push(
            store.databaseUrl
              ? await pgExportFloor(store.databaseUrl, join(ctx.dir, 'floor.out'), gzip)
              : await floorRun(roster, join(ctx.dir, 'floor.out'), gzip),
          )
        floors.set(gzip, samples)
      }
      for (const { format, gzip } of cases) {
        const name = `${format}${gzip ? '+gzip' : ''}`
        const samples: Sample[] = []
        for (let run = 0; run < runs; run++) samples.push(await exportRun(roster, format, gzip, users))
        const floor = floors.get(gzip) ?? []
        const rate = summarize(samples.map((s) => s.rate))
        const extra = summarize(samples.map((s) => s.extraMb))
        const floorRate = summarize(floor.map((s) => s.rate))
        ctx.log(`  P4 ${name}: ${rate.median.toFixed(0)} users/s, +${extra.median.toFixed(0)} MB`)
        rows.push(
          {
            label: `${name}: rate`,
            unit: 'users/s',
            value: rate,
            floor: floorRate,
            ratio: rate.median / floorRate.median,
            target: `≥ ${count(targetRate)} users/s`,
            met: rate.median >= targetRate,
          },
          {
            label: `${name}: extra peak RSS`,
            unit: 'MB',
            value: extra,
            floor: summarize(floor.map((s) => s.extraMb)),
            target: `≤ ${targetExtraMb} MB`,
            met: extra.median <= targetExtraMb,
          },
        )
        if (rate.median < targetRate || extra.median > targetExtraMb) {
          const limit = Math.min(users, 200_000)
          const { summary } = await profile(() => exportRun(roster, format, gzip, users, limit))
          notes.push(
            `${name}, ${count(limit)} users under the profiler: ${describeProfile(summary).join(' — ')}`,
          )
        }
      }
    } finally {
      await roster.close()
    }
    return { rows, notes }
  },
}
