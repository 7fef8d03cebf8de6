import pg from 'pg'
import { count, type Scenario } from '../support/context.ts'
import { importFile } from '../support/generate.ts'
import { buildReplica, type ReplicaCommand, startReplica } from '../support/replica.ts'
import type { Row } from '../support/report.ts'
import { openBenchRosterIdle, queueImport } from '../support/roster.ts'
import { summarize } from '../support/stats.ts'

/**
 * P7 (PostgreSQL only): replicas.
 * - Throughput: 50 files of ~500 KB queued together, run by 1 then by 2 Roster processes (src/main.ts) on one
 *   database. The files are queued by this process through an engine that is not started (it records the jobs and
 *   their files, as the replica that receives an upload does, and runs none), so only the replicas run them; users/s
 *   from the first queued file to the last job completed.
 * - Start-up: a replica spawned on a tenant of two sizes, spawn → GET /healthz 200, and its RSS then: a replica
 *   reads no user at start, so both stay flat as the tenant grows. Started both ways: from the sources (`npm
 *   start`, tsx) and from the bundle (`npm run build`, then `npm run start:built`).
 */

const files = 50
const targetStartS = 1
const targetRssMb = 200

/** Every job of `ids` ended; throws if one did not complete. Polls the catalog row (what every replica reads). */
async function waitAllDone(databaseUrl: string, ids: readonly string[]): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl })
  await client.connect()
  try {
    const deadline = Date.now() + 30 * 60_000
    for (;;) {
      const { rows } = await client.query<{ id: string; status: string; details: string | null }>(
        `SELECT j->>'id' AS id, j->>'status' AS status, j->>'statusDetails' AS details
         FROM catalog, jsonb_array_elements(doc->'jobs') j WHERE j->>'id' = ANY($1::text[])`,
        [ids],
      )
      const failed = rows.find((row) => row.status === 'failed' || row.status === 'expired')
      if (failed) throw new Error(`import ${failed.id} ended ${failed.status}: ${failed.details ?? ''}`)
      if (rows.length === ids.length && rows.every((row) => row.status === 'completed')) return
      if (Date.now() > deadline) throw new Error('the imports did not finish within 30 minutes')
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  } finally {
    await client.end()
  }
}

async function userCount(databaseUrl: string): Promise<number> {
  const client = new pg.Client({ connectionString: databaseUrl })
  await client.connect()
  try {
    const { rows } = await client.query<{ n: string }>('SELECT count(*) AS n FROM users')
    return Number(rows[0]?.n)
  } finally {
    await client.end()
  }
}

export const p7: Scenario = {
  id: 'P7',
  title: 'replicas on one database: 50 imports on 1 vs 2, start-up on a large tenant',
  stores: ['postgres'],
  async run(ctx) {
    const rows: Row[] = []
    const notes: string[] = []
    const rates = new Map<number, number>()
    const fileCount = ctx.quick ? 6 : files
    for (const replicas of [1, 2]) {
      const store = await ctx.tenant(0)
      const databaseUrl = store.databaseUrl as string
      const started = await Promise.all(
        Array.from({ length: replicas }, () => startReplica(ctx.dir, databaseUrl)),
      )
      const queuer = await openBenchRosterIdle(store)
      try {
        let next = 0
        let users = 0
        const texts = Array.from({ length: fileCount }, () => {
          const file = importFile(next)
          next = file.next
          users += file.users
          return file.text
        })
        const start = performance.now()
        const ids: string[] = []
        for (const text of texts) ids.push(await queueImport(queuer, store.connection, text))
        await waitAllDone(databaseUrl, ids)
        const seconds = (performance.now() - start) / 1000
        const stored = await userCount(databaseUrl)
        if (stored !== users) throw new Error(`${replicas} replica(s): ${stored} users stored of ${users}`)
        rates.set(replicas, users / seconds)
        ctx.log(`  P7 ${replicas} replica(s): ${count(users)} users in ${seconds.toFixed(1)} s`)
        rows.push({
          label: `${fileCount} files of 500 KB (${count(users)} users), ${replicas} replica${replicas > 1 ? 's' : ''}`,
          unit: 'users/s',
          value: summarize([users / seconds]),
        })
      } finally {
        await queuer.close()
        await Promise.all(started.map((replica) => replica.stop()))
      }
    }
    const one = rates.get(1) ?? Number.NaN
    const two = rates.get(2) ?? Number.NaN
    rows.push({ label: '2 replicas ÷ 1 replica', unit: 'ratio', value: summarize([two / one]) })
    notes.push(
      `Throughput: one run each, MAX_ACTIVE_IMPORTS at its default (2, tenant-wide): one replica runs two imports in one process, two replicas one each. The replicas share the machine's cores with PostgreSQL and with this process, so on a 2-core machine a second replica adds an event loop, not a core.`,
    )

    const sizes = ctx.quick ? [1_000, 50_000] : [100_000, 1_000_000]
    const runs = ctx.quick ? 2 : 3
    const openMs: string[] = []
    await buildReplica()
    const commands: { command: ReplicaCommand; name: string }[] = [
      { command: 'source', name: '`npm start` (tsx)' },
      { command: 'built', name: '`npm run start:built` (node dist/main.js)' },
    ]
    for (const [i, users] of sizes.entries()) {
      const store = await ctx.tenant(users)
      const starts = new Map<ReplicaCommand, { seconds: number; rssMb: number; peakMb: number }[]>()
      // Taken in turns: a busy moment of the machine falls on both alike.
      for (let run = 0; run < runs; run++) {
        for (const { command } of commands) {
          const replica = await startReplica(ctx.dir, store.databaseUrl as string, {}, command)
          const list = starts.get(command) ?? []
          list.push({ seconds: replica.startSeconds, rssMb: replica.rssMb, peakMb: replica.peakMb })
          starts.set(command, list)
          await replica.stop()
        }
      }
      const largest = i === sizes.length - 1
      // The store's own share of start-up, without Node, tsx and module loading: openRoster in this process.
      const openStart = performance.now()
      const inProcess = await openBenchRosterIdle(store)
      openMs.push(`${count(users)} users ${((performance.now() - openStart) / 1000).toFixed(2)} s`)
      await inProcess.close()
      for (const { command, name } of commands) {
        const list = starts.get(command) ?? []
        const seconds = summarize(list.map((s) => s.seconds))
        const peak = summarize(list.map((s) => s.peakMb))
        ctx.log(
          `  P7 start on ${count(users)} users, ${command}: ${seconds.median.toFixed(2)} s, peak RSS ${peak.median.toFixed(0)} MB`,
        )
        // The targets are for what a production replica runs: the bundle.
        const targeted = largest && command === 'built'
        rows.push(
          {
            label: `replica start on ${count(users)} users, ${name}: spawn → /healthz 200`,
            unit: 's',
            value: seconds,
            ...(targeted ? { target: `≤ ${targetStartS} s`, met: seconds.median <= targetStartS } : {}),
          },
          {
            label: `replica start on ${count(users)} users, ${name}: peak RSS`,
            unit: 'MB',
            value: peak,
            ...(targeted ? { target: `≤ ${targetRssMb} MB`, met: peak.median <= targetRssMb } : {}),
          },
        )
      }
    }
    notes.push(
      `Start-up: ${runs} spawns per size and per command, in turns, with DATABASE_URL (migrations already applied), timed to the first GET /healthz 200; peak RSS (VmHWM) read then. \`npm start\` runs \`node --import tsx src/main.ts\`: tsx compiles every module at each start. \`npm run start:built\` runs \`node dist/main.js\`, the bundle \`npm run build\` made once before (scripts/build.ts, esbuild): what a production replica should run. Node and loading the modules are part of both; Slack and SMTP are not configured (Bolt is then not loaded). Opening Roster on the same database in-process (openRoster, no spawn, one run) took ${openMs.join(', ')}.`,
    )
    return { rows, notes }
  },
}
