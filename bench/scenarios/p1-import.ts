import { type BenchContext, count, type Scenario } from '../support/context.ts'
import { fileBytesFloorMs, importFloorMs, importFloorWork, schemaShare } from '../support/floor.ts'
import { importFile } from '../support/generate.ts'
import { pgImportFloorMs, pgImportFloorWork } from '../support/pg-floor.ts'
import { describeStatements, statementsDuring } from '../support/pg-statements.ts'
import { describeProfile, profile } from '../support/profile.ts'
import type { Row } from '../support/report.ts'
import { importDone, openBenchRoster, queueImport } from '../support/roster.ts'
import { median, summarize } from '../support/stats.ts'

/**
 * P1: one ~500 KB users file imported through the job engine (request → job completed and durable) into tenants
 * of 0, 100k and 1M users, next to the floor of the same file (read + parse + Roster's own validation + fsync'd
 * append: support/floor.ts).
 * P2 (the ratio of the largest tenant to the empty one) is computed from the same runs.
 */

export interface P1Measure {
  tenant: number
  importsMs: number[]
  floorsMs: number[]
  /** Embedded store: the floor of before issue 15's last session (the file's own bytes appended), for the note. */
  bytesFloorsMs: number[]
  /** The first (warm-up) import's time: the code not yet optimized, in the bench's process for tenant 0. */
  firstMs: number
  users: number
  /** Share of the last file's users that went to the zod schema. */
  schemaShare: number
  notes: string[]
}

export const p1Key = 'p1'
/**
 * Issue 15: against a floor that validates the way Roster does, an import may cost half as much again, no more.
 * Issue 14, on PostgreSQL: at most twice a COPY of the same rows.
 */
const targetRatios = { embedded: 1.5, postgres: 2 } as const

async function measureTenant(
  ctx: BenchContext,
  tenant: number,
  runs: number,
  warmups: number,
): Promise<P1Measure> {
  const store = await ctx.tenant(tenant)
  const roster = await openBenchRoster(store)
  const importsMs: number[] = []
  const floorsMs: number[] = []
  const bytesFloorsMs: number[] = []
  const notes: string[] = []
  let users = 0
  let share = 0
  let firstMs = 0
  // Each file holds new users: numbered from 0 upwards, never the tenant's own (generate.ts: tenantBase).
  let next = 0
  /** One run: a new file, its floor, then the import (the part a profile looks at, through `wrap`). */
  const oneRun = async (wrap: (run: () => Promise<number>) => Promise<number> = (run) => run()) => {
    const file = importFile(next)
    next = file.next
    users = file.users
    share = schemaShare(file.text)
    const floorMs = store.databaseUrl
      ? await pgImportFloorMs(ctx.dir, store.databaseUrl, store.connection, file.text)
      : await importFloorMs(ctx.dir, file.text)
    const bytesFloorMs = store.databaseUrl ? undefined : await fileBytesFloorMs(ctx.dir, file.text)
    // The upload's bytes, as a request delivers them: encoding the bench's string is not Roster's work.
    const bytes = Buffer.from(file.text)
    const ms = await wrap(async () => {
      const start = performance.now()
      await importDone(roster, await queueImport(roster, store.connection, bytes), file.users)
      return performance.now() - start
    })
    return { floorMs, bytesFloorMs, ms }
  }
  try {
    // Warm-up, not counted: the JIT (V8 optimizes a function after enough calls, and an import's own functions are
    // called once per import) and the first write of the store's journal. The first one's time is given in a note.
    firstMs = (await oneRun()).ms
    for (let warm = 1; warm < warmups; warm++) await oneRun()
    for (let run = 0; run < runs; run++) {
      const { floorMs, bytesFloorMs, ms } = await oneRun()
      floorsMs.push(floorMs)
      if (bytesFloorMs !== undefined) bytesFloorsMs.push(bytesFloorMs)
      importsMs.push(ms)
    }
    // On PostgreSQL always: where the database's time goes is the question every run of it asks.
    if (store.databaseUrl || median(importsMs) > targetRatios[ctx.store] * median(floorsMs)) {
      let lines: string[] = []
      let statements: string | undefined
      await oneRun(async (run) => {
        const profiled = async () => {
          const { result, summary } = await profile(run)
          lines = describeProfile(summary)
          return result
        }
        if (!store.databaseUrl) return profiled()
        const { result, rows } = await statementsDuring(store.databaseUrl, profiled)
        statements = describeStatements(rows)
        return result
      })
      if (statements) lines.push(statements)
      notes.push(`tenant ${count(tenant)}, one more import under the profiler: ${lines.join(' — ')}`)
    }
  } finally {
    await roster.close()
  }
  return { tenant, importsMs, floorsMs, bytesFloorsMs, firstMs, users, schemaShare: share, notes }
}

export async function measureP1(ctx: BenchContext): Promise<P1Measure[]> {
  const cached = ctx.shared.get(p1Key) as P1Measure[] | undefined
  if (cached) return cached
  const tenants = ctx.quick ? [0, 20_000] : [0, 100_000, 1_000_000]
  const runs = ctx.quick ? 3 : 11
  const measures: P1Measure[] = []
  for (const tenant of tenants) {
    const m = await measureTenant(ctx, tenant, runs, warmupsOf(ctx))
    ctx.log(
      `  P1 tenant ${count(tenant)}: import ${median(m.importsMs).toFixed(0)} ms, floor ${median(m.floorsMs).toFixed(0)} ms`,
    )
    measures.push(m)
  }
  ctx.shared.set(p1Key, measures)
  return measures
}

export const p1: Scenario = {
  id: 'P1',
  title: 'import one 500 KB file through the job engine, until durable',
  stores: ['embedded', 'postgres'],
  async run(ctx) {
    const measures = await measureP1(ctx)
    const targetRatio = targetRatios[ctx.store]
    const rows: Row[] = measures.map((m) => {
      const ratio = median(m.importsMs) / median(m.floorsMs)
      return {
        label: `${count(m.users)} users into a tenant of ${count(m.tenant)}`,
        unit: 'ms',
        value: summarize(m.importsMs),
        floor: summarize(m.floorsMs),
        ratio,
        target: `≤ ${targetRatio}× floor`,
        met: ratio <= targetRatio,
      }
    })
    const notes = [
      `Floor: ${ctx.store === 'postgres' ? pgImportFloorWork : importFloorWork}. Here the fast path answers ${fastShare(measures)} of the file’s users; the rest go to zod, in Roster as in the floor. Not in the floor (Roster’s own cost, counted against it): the job’s record, normalizing, in-file duplicates, planning against the tenant, the store’s encoding (${ctx.store === 'postgres' ? 'each stored row' : 'each stored user’s keys; its JSON.stringify, twice the file’s bytes here, is the floor’s too'}) and ${ctx.store === 'postgres' ? 'its commit (the lookup of the chunk’s keys, the chunk’s row with its undo pre-images, and its users: a chunk of new users COPYed straight into `users` as the floor does, others COPYed into a temp table then INSERT … SELECT … ON CONFLICT); the upload kept in the database' : 'journal'}.`,
      `Each tenant: ${warmupsOf(ctx)} warm-up imports first (not counted: V8 optimizes an import’s own functions, called once per import, only after a few imports; the floor’s few functions, called per user, are optimized within its first run); every run imports new users. The first warm-up import took ${measures.map((m) => `${m.firstMs.toFixed(0)} ms (tenant ${count(m.tenant)})`).join(', ')}: tenant 0’s is the bench process’s first import.`,
      ...bytesFloorNote(measures),
      ...measures.flatMap((m) => m.notes),
    ]
    return { rows, notes }
  },
}

/**
 * The embedded floor made no stored users until issue 15's last session: it appended the file's own bytes, less work
 * than any store can do. Its ratios, measured in the same runs, say how much of the gap the stored users are.
 */
function bytesFloorNote(measures: readonly P1Measure[]): string[] {
  if (measures.every((m) => m.bytesFloorsMs.length === 0)) return []
  const ratios = measures.map((m) => {
    const floor = median(m.bytesFloorsMs)
    return `tenant ${count(m.tenant)} ${(median(m.importsMs) / floor).toFixed(2)}× (${floor.toFixed(0)} ms)`
  })
  return [
    `Against the floor used before (the same reading and checks, then the file’s own bytes appended with one fsync: no stored user made), in the same runs: ${ratios.join(', ')}.`,
  ]
}

function warmupsOf(ctx: BenchContext): number {
  return ctx.quick ? 3 : 5
}

/** The share of the generated files' users answered by the fast path, as a percentage (the files differ little). */
function fastShare(measures: readonly P1Measure[]): string {
  const share = measures[0]?.schemaShare ?? 0
  return `${((1 - share) * 100).toFixed(1)}%`
}

export const p2: Scenario = {
  id: 'P2',
  title: 'scaling of P1: largest tenant ÷ empty tenant',
  stores: ['embedded', 'postgres'],
  async run(ctx) {
    const measures = await measureP1(ctx)
    const empty = measures[0]
    const largest = measures.at(-1)
    if (!empty || !largest) throw new Error('P1 measured no tenant')
    const ratio = median(largest.importsMs) / median(empty.importsMs)
    return {
      rows: [
        {
          label: `import time, tenant ${count(largest.tenant)} ÷ tenant ${count(empty.tenant)}`,
          unit: 'ratio',
          value: summarize([ratio]),
          target: '≤ 2',
          met: ratio <= 2,
        },
      ],
      notes: [],
    }
  },
}
