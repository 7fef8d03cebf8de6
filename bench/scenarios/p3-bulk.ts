import { spawn } from 'node:child_process'
import { closeSync, openSync, readFileSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { freshBuiltCli } from '../../bin/build-stamp.js'
import { loadConfig } from '../../src/config.ts'
import { splitUsersFile } from '../../src/engine/split-file.ts'
import type { Roster } from '../../src/roster.ts'
import { type BenchContext, count, type Scenario } from '../support/context.ts'
import { importFloorMs, importFloorWork } from '../support/floor.ts'
import { importFile, largeFile } from '../support/generate.ts'
import { describeProfile, profile } from '../support/profile.ts'
import { buildReplica } from '../support/replica.ts'
import type { Row } from '../support/report.ts'
import { importDone, openBenchRoster, queueImport } from '../support/roster.ts'
import { median, summarize } from '../support/stats.ts'
import { describeTransfer, measureTransfer } from '../support/transfer-cost.ts'

/**
 * P3: a bulk import of 100k users, two ways an admin does it: 50 files of 500 KB queued together through the
 * engine, and one large file through the real CLI process (`roster import <file> --split --wait`, spawned: what an
 * admin runs, Node's start-up included). Floor: the import floor of P1 (Roster's own validation) done file after
 * file on one thread, summed over the same files. Judged by the ratio to that floor, not by an absolute rate that
 * follows the host: the engine must beat one thread's floor (so it must use both cores), `--split` reach 0.8 of it.
 * The Roster measured has had files queue up before (openBenchRoster waits for its import worker thread).
 */

const repoRoot = fileURLToPath(new URL('../..', import.meta.url))
const engineTarget = 1
const splitTarget = 0.8

interface Files {
  texts: string[]
  /** Files of other users, imported before each timed run (not counted): see `warmUpFiles`. */
  warmUp: { text: string; users: number }[]
  /** Users in each file. */
  counts: number[]
  users: number
}

/** One pass of the floor over the files: its rate (users ÷ summed time) and its CPU per file, every thread (ms). */
async function floorPass(ctx: BenchContext, files: Files): Promise<{ rate: number; cpuMs: number }> {
  let floorMs = 0
  const cpu0 = cpuNow().all
  for (const text of files.texts) floorMs += await importFloorMs(ctx.dir, text)
  return { rate: files.users / (floorMs / 1000), cpuMs: (cpuNow().all - cpu0) / files.texts.length }
}

/** CPU time so far (ms): of this process's main thread (Linux /proc; undefined elsewhere), and of all its threads. */
function cpuNow(): { main: number | undefined; all: number } {
  const { user, system } = process.cpuUsage()
  let main: number | undefined
  try {
    const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    main = ((Number(fields[11]) + Number(fields[12])) * 1000) / 100 // USER_HZ
  } catch {}
  return { main, all: (user + system) / 1000 }
}

/**
 * Files queued once, before each timed run, into the same Roster: the server measured has had files queue up before,
 * so its import worker thread has run its functions enough for V8 to optimize them (a thread's first files take
 * ~30% longer), as P1's warm-up imports do for the main thread.
 */
const warmUpFiles = 10

/** CPU per file of the engine runs: the main thread's and all threads' (ms). */
const engineCpu: { main: number[]; all: number[] } = { main: [], all: [] }

function makeFiles(files: number): Files {
  const texts: string[] = []
  const counts: number[] = []
  let users = 0
  let next = 0
  for (let i = 0; i < files; i++) {
    const file = importFile(next)
    next = file.next
    users += file.users
    texts.push(file.text)
    counts.push(file.users)
  }
  const warmUp: Files['warmUp'] = []
  for (let i = 0; i < warmUpFiles; i++) {
    const file = importFile(next)
    next = file.next
    warmUp.push(file)
  }
  return { texts, counts, warmUp, users }
}

async function engineRun(
  ctx: BenchContext,
  files: Files,
  wrap: (run: () => Promise<number>) => Promise<number> = (run) => run(),
): Promise<number> {
  const store = await ctx.tenant(0)
  const roster = await openBenchRoster(store)
  try {
    const warmUp = files.warmUp.map(({ text }, i) =>
      queueImport(roster, store.connection, text, `warm-up-${i}.json`),
    )
    for (const [i, id] of (await Promise.all(warmUp)).entries())
      await importDone(roster, id, files.warmUp[i]?.users ?? 0)
    return await wrap(() => queueAll(roster, store.connection, files))
  } finally {
    let upkeepFrom: number | undefined
    await roster.close({
      beforeUpkeep: () => {
        upkeepFrom = performance.now()
      },
    })
    if (upkeepFrom !== undefined) upkeepMs.push(performance.now() - upkeepFrom)
  }
}

/**
 * How long each engine run's Roster took to close when a compaction of its journal was under way then (not
 * counted): the run's users take the journal past its mark, and the server compacts once no import is queued.
 */
const upkeepMs: number[] = []

/**
 * Queues every file at once, as an admin dropping them all into a channel does (Slack delivers each as its own
 * event: the requests overlap, none waits for the one before to be acknowledged), then waits for the last job:
 * users/s.
 */
async function queueAll(roster: Roster, connection: string, files: Files): Promise<number> {
  // The uploads' bytes, as requests deliver them: encoding the bench's strings is not Roster's work.
  const uploads = files.texts.map((text) => Buffer.from(text))
  const start = performance.now()
  const cpu0 = cpuNow()
  const ids = await Promise.all(
    uploads.map((bytes, i) => queueImport(roster, connection, bytes, `users-${i + 1}.json`)),
  )
  for (const [i, id] of ids.entries()) await importDone(roster, id, files.counts[i] ?? 0)
  const elapsed = performance.now() - start
  const cpu = cpuNow()
  if (cpu.main !== undefined && cpu0.main !== undefined)
    engineCpu.main.push((cpu.main - cpu0.main) / files.texts.length)
  engineCpu.all.push((cpu.all - cpu0.all) / files.texts.length)
  return files.users / (elapsed / 1000)
}

interface CliRun {
  code: number | null
  ms: number
  stdout: string
  stderr: string
}

/**
 * `roster <args>` as an admin runs it: bin/roster.js, which runs the bundle (dist/cli.js, `npm run build`) when it
 * is as fresh as the sources, else the sources through tsx (`fromSources`, or ROSTER_FROM_SOURCES=1).
 */
function runCli(
  ctx: BenchContext,
  storeDir: string,
  args: string[],
  options: { fromSources?: boolean; threadCpuFile?: string } = {},
): Promise<CliRun> {
  const { fromSources = false, threadCpuFile } = options
  // stdout to a file, not a pipe: the CLI exits right after writing, and a pipe may not have taken it all.
  const stdoutFile = join(ctx.dir, `cli-${Date.now()}.out`)
  const fd = openSync(stdoutFile, 'w')
  const start = performance.now()
  const preload = threadCpuFile === undefined ? [] : ['--require', threadCpuPreload]
  const child = spawn(process.execPath, [...preload, 'bin/roster.js', ...args], {
    cwd: repoRoot,
    env: {
      STORE_DIR: storeDir,
      LOG_LEVEL: 'silent',
      BACKUP_CRON: 'off',
      PATH: process.env.PATH ?? '',
      ...(fromSources ? { ROSTER_FROM_SOURCES: '1' } : {}),
      ...(threadCpuFile === undefined ? {} : { BENCH_THREAD_CPU: threadCpuFile }),
    },
    stdio: ['ignore', fd, 'pipe'],
  })
  closeSync(fd)
  let stderr = ''
  child.stderr?.setEncoding('utf8').on('data', (text: string) => {
    stderr += text
  })
  const timer = setTimeout(() => child.kill('SIGKILL'), 300_000)
  return new Promise((resolve) =>
    child.once('close', (code) => {
      clearTimeout(timer)
      resolve({ code, ms: performance.now() - start, stdout: readFileSync(stdoutFile, 'utf8'), stderr })
    }),
  )
}

/** CPU time (ms) of a `--split` run's threads, as bench/support/thread-cpu.cjs reads them when the CLI exits. */
interface CliThreadsCpu {
  main: number
  /** The import worker thread (it ends when Roster closes, before the process). */
  ended: number
  /** Threads still running at exit: V8's compiler and GC threads, libuv's file I/O pool. */
  running: number
  all: number
}

const threadCpuPreload = join(repoRoot, 'bench/support/thread-cpu.cjs')
const cliCpu: (CliThreadsCpu & { wallMs: number })[] = []

async function cliRun(ctx: BenchContext, bigFile: string, users: number): Promise<number> {
  const store = await ctx.tenant(0)
  const args = [
    'import',
    bigFile,
    '--split',
    '--connection',
    'Username-Password-Authentication',
    '--wait',
    '--json',
  ]
  const threadCpuFile = join(ctx.dir, `cli-threads-${Date.now()}.json`)
  const run = await runCli(ctx, store.storeDir, args, { threadCpuFile })
  try {
    cliCpu.push({ ...(JSON.parse(readFileSync(threadCpuFile, 'utf8')) as CliThreadsCpu), wallMs: run.ms })
  } catch {} // not Linux: no figures, said in the notes
  const inserted =
    run.code === 0 ? (JSON.parse(run.stdout) as { summary?: { inserted?: number } }).summary?.inserted : -1
  if (inserted !== users)
    throw new Error(
      `roster import --split exited ${run.code} (inserted ${inserted} of ${users}): ${run.stderr.slice(0, 500)}`,
    )
  return users / (run.ms / 1000)
}

/**
 * What the `--split` runs' time went to: each thread's CPU (median of the runs) against what 2 cores give in the
 * wall time the target allows, and the start-up the floor does not have (Node and the bundle, the file's cut).
 */
function describeCliCpu(
  bigFile: string,
  users: number,
  floorRate: number,
  floorCpuMsPerUser: number,
  startMs: number,
): string {
  if (cliCpu.length === 0) return '`--split` CPU by thread: not measured (Linux /proc only).'
  const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`
  const med = (pick: (run: (typeof cliCpu)[number]) => number) => median(cliCpu.map(pick))
  const wall = med((run) => run.wallMs)
  const all = med((run) => run.all)
  const allowedWall = users / floorRate / splitTarget
  const bytes = readFileSync(bigFile)
  const cutMs = median(
    [0, 1, 2].map(() => {
      const start = performance.now()
      splitUsersFile(bytes, 'big.json', loadConfig({}).limits.importMaxBytes)
      return performance.now() - start
    }),
  )
  const main = med((run) => run.main)
  const worker = med((run) => run.ended)
  const budget = 2 * allowedWall * 1000
  const startUp = `${s(startMs + cutMs)} of start-up come before the import worker has a part, mostly one thread at work (Node, the bundle and the store opened, ${s(startMs)} as \`roster connections\` takes them; the file's one pass and cut, ${s(cutMs)} in this process)`
  const verdict =
    all > budget
      ? `these runs took more: the CPU of all threads together is what stands between this row and its target on this host; and ${startUp}.`
      : `these runs took less, but left ${s(2 * wall - all)} of the two cores unused: ${startUp}, and the ${worker > main ? 'import worker' : 'main'} thread, the busier one, sets the pace of the parts.`
  return (
    `\`--split\` CPU by thread (median of the CLI runs; Linux /proc, read as the CLI exits): main thread ${s(main)}, import worker thread ${s(worker)}, V8's compiler and GC threads with libuv's file I/O pool ${s(med((run) => run.running))}; all ${s(all)} in ${s(wall)} of wall time (${(all / wall).toFixed(2)} of the 2 cores), ` +
    `${((all * 1000) / users).toFixed(0)} µs a user against the floor's ${(floorCpuMsPerUser * 1000).toFixed(0)} µs (one thread). ` +
    `${splitTarget}× the floor allows ${s(allowedWall * 1000)} of wall time for ${count(users)} users, in which 2 cores give ${s(budget)} of CPU; ${verdict}`
  )
}

export const p3: Scenario = {
  id: 'P3',
  title: 'bulk import of 100k users',
  async run(ctx) {
    const fileCount = ctx.quick ? 5 : 50
    const runs = ctx.quick ? 2 : 3
    engineCpu.main.length = 0
    engineCpu.all.length = 0
    upkeepMs.length = 0
    const files = makeFiles(fileCount)
    // A pass of the floor right before each run: the host's speed drifts over a minute, and both sides then meet it.
    const floors: { rate: number; cpuMs: number }[] = []
    const engineRates: number[] = []
    // One run first, not counted: the main thread's code is this process's, shared by every run (each run's Roster
    // and worker thread are new), and V8 optimizes what an import calls once per file only after some dozens of
    // files. The counted runs then meet a main thread as a server's is once it has taken such batches before.
    const firstFloor = await floorPass(ctx, files)
    const firstRate = await engineRun(ctx, files)
    engineCpu.main.length = 0
    engineCpu.all.length = 0
    upkeepMs.length = 0
    for (let run = 0; run < runs; run++) {
      floors.push(await floorPass(ctx, files))
      engineRates.push(await engineRun(ctx, files))
    }

    // The CLI as an admin who ran `npm run build` has it (README, CLI): built now if the bundle is stale.
    if (freshBuiltCli() === undefined) await buildReplica()
    const cliUsers = ctx.quick ? 10_000 : 100_000
    const bigFile = join(ctx.dir, 'big.json')
    await writeFile(bigFile, largeFile(0, cliUsers))
    const cliRates: number[] = []
    cliCpu.length = 0
    for (let run = 0; run < (ctx.quick ? 1 : 2); run++) {
      floors.push(await floorPass(ctx, files))
      cliRates.push(await cliRun(ctx, bigFile, cliUsers))
    }
    const floorRate = median(floors.map((f) => f.rate))
    const floorCpuMs = median(floors.map((f) => f.cpuMs))
    ctx.log(
      `  P3 ${fileCount} files, ${count(files.users)} users; floor ${floorRate.toFixed(0)} users/s (${floors.map((f) => f.rate.toFixed(0)).join(', ')})`,
    )
    // What the CLI costs before it imports anything: Node + tsx start-up, opening the store.
    const idle = await runCli(ctx, (await ctx.tenant(0)).storeDir, ['connections', '--json'])
    const idleSources = await runCli(ctx, (await ctx.tenant(0)).storeDir, ['connections', '--json'], {
      fromSources: true,
    })

    const floor = summarize(floors.map((f) => f.rate))
    const row = (label: string, rates: number[], target: number): Row => ({
      label,
      unit: 'users/s',
      value: summarize(rates),
      floor,
      ratio: median(rates) / floorRate,
      target: `≥ ${target}× floor`,
      met: median(rates) >= target * floorRate,
    })
    const notes = [
      `Floor: P1’s floor (${importFloorWork}) of each of the ${fileCount} files in turn, on one thread; rate = users ÷ summed time; one pass right before each engine and CLI run (the host's speed drifts), the median of them. The engine’s row is judged against 1× (one thread’s floor: beating it takes both cores), the CLI’s against ${splitTarget}× (it also starts Node and re-reads the file).`,
      `CLI: \`roster import big.json --split --wait\` spawned on ${count(cliUsers)} users (${((Buffer.byteLength(largeFile(0, 1)) * cliUsers) / 1e6).toFixed(0)} MB), timed from spawn to exit, as \`roster\` (bin/roster.js) runs it after \`npm run build\`: the bundle dist/cli.js, used while it is as fresh as the sources (bin/build-stamp.js). \`roster connections\` alone takes ${(idle.ms / 1000).toFixed(1)} s so (Node, loading the bundle, opening the store), ${(idleSources.ms / 1000).toFixed(1)} s from the sources through tsx.`,
    ]
    notes.push(
      "`--split` in the CLI's own process (no server): the CLI's thread checks the whole file in one pass over its bytes (what JSON.parse would say, no users built) and cuts it into NDJSON parts of at most IMPORT_MAX_BYTES by copying each user's bytes (the upload each part's job keeps); each part is recorded as a job at once and queues on the import worker thread, which parses and checks it while the main thread plans and commits the part before: the file is parsed once, part by part, as in the engine row.",
    )
    notes.push(
      `Engine: the ${fileCount} files are requested at once, as files dropped together into Slack arrive (each its own event; none waits for the one before to be acknowledged), into a Roster that has imported ${warmUpFiles} other files the same way first (not counted: its import worker thread's functions then run optimized, as a server's do after its first files), in a process that has run the whole batch once before (not counted: see below).`,
      "The floor keeps making its users with newUser and one JSON.stringify: on one thread that is still the fastest way (measured against writing each user from JSON parts as Roster's worker and store now do, which is about as fast on one thread and only lets the work be split between two).",
    )
    notes.push(
      `The process's first engine run (not counted, see above) ran at ${(firstRate / firstFloor.rate).toFixed(2)}× the floor pass right before it (${count(Math.round(firstRate))} against ${count(Math.round(firstFloor.rate))} users/s).`,
    )
    if (upkeepMs.length > 0)
      notes.push(
        `Upkeep after the engine runs (not counted): each run's ${count(files.users + files.warmUp.reduce((sum, f) => sum + f.users, 0))} users (warm-up files included) take the journal past the server's compaction mark (64 MiB), and the server compacts it once no import is queued, after the last file: closing Roster then waited ${upkeepMs.map((ms) => `${ms.toFixed(0)} ms`).join(', ')} for it. Until issue 15's eighth session it started at the first moment no file was being written, between two files of the batch, and ran beside the last ones.`,
      )
    // Each run against the floor pass taken right before it: the judged ratio divides medians of passes minutes
    // apart, and this host's speed drifts by more than the gaps to the targets within a run.
    const pairwise = (rates: number[], from: number) =>
      rates.map((rate, i) => `${(rate / (floors[from + i] as { rate: number }).rate).toFixed(2)}×`).join(', ')
    notes.push(
      `Each run against the floor pass right before it (not judged; the rows divide the medians): engine ${pairwise(engineRates, 0)}, \`--split\` ${pairwise(cliRates, runs)}; floor passes ${floors.map((f) => count(Math.round(f.rate))).join(', ')} users/s.`,
    )
    notes.push(describeCliCpu(bigFile, cliUsers, floorRate, floorCpuMs / (files.users / fileCount), idle.ms))
    notes.push(describeTransfer(await measureTransfer(files.texts[0] as string)))
    if (engineCpu.all.length > 0) {
      const mainCpu = engineCpu.main.length > 0 ? `main thread ${median(engineCpu.main).toFixed(0)} ms, ` : ''
      notes.push(
        `CPU per file (median of the engine runs, Linux /proc): ${mainCpu}all threads ${median(engineCpu.all).toFixed(0)} ms (the import worker, V8's GC threads and libuv's included), against the floor's ${floorCpuMs.toFixed(0)} ms (all threads). On 2 cores the engine beats one thread's floor only if its main thread and its worker each take less than the floor's time per file and all its threads together less than twice it. The worker's share is about the floor's own work (the same reading, parse and validation, and the stringify of the new users, as their JSON parts); the main thread's is Roster's own (the lookup, the plan, the commit's checks, the index, the journal, the job's record and files). \`node --import tsx bench/p3-threads.ts\` gives each thread's CPU with the worker on and off.`,
      )
    }
    if (median(engineRates) < engineTarget * floorRate) {
      let lines: string[] = []
      await engineRun(ctx, files, async (run) => {
        const { result, summary } = await profile(run)
        lines = describeProfile(summary)
        return result
      })
      notes.push(`engine, ${fileCount} files, one more run under the profiler: ${lines.join(' — ')}`)
    }
    return {
      rows: [
        row(
          `${count(files.users)} users as ${fileCount} files of 500 KB, queued together (engine)`,
          engineRates,
          engineTarget,
        ),
        row(`${count(cliUsers)} users as one file, CLI import --split`, cliRates, splitTarget),
      ],
      notes,
    }
  },
}
