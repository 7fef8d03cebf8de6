/**
 * `npm run bench`: Roster's speed and memory against a floor measured in the same run (issue 6). Scenarios P1–P6
 * live in bench/scenarios; sizes and runs shrink with --quick (about a minute). Flags, also as npm config
 * (`npm run bench --quick` reaches here as npm_config_quick):
 *   --quick        small sizes, fewer runs
 *   --json         the report as JSON on stdout; progress on stderr (`npm run -s bench -- --json`: -s keeps
 *                  npm's own banner off stdout)
 *   --only P1,P4   these scenarios only
 *   --write        rewrite BENCHMARKS.md from this run (a full run of every scenario writes it unless --no-write)
 * Generated data goes to a temp directory, removed at the end, also on failure or Ctrl-C.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { cpus, loadavg, tmpdir, totalmem } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Cluster } from '../test/support/postgres-cluster.ts'
import { p1, p2 } from './scenarios/p1-import.ts'
import { p3 } from './scenarios/p3-bulk.ts'
import { p4 } from './scenarios/p4-export.ts'
import { p5 } from './scenarios/p5-slack.ts'
import { p6 } from './scenarios/p6-startup.ts'
import { p7 } from './scenarios/p7-replicas.ts'
import type { BenchContext, Scenario } from './support/context.ts'
import { type Flags, parseFlags } from './support/flags.ts'
import { copyStore, makeTenantStore, type TenantStore } from './support/generate.ts'
import {
  keepSection,
  postgresCaveat,
  renderPostgresSection,
  spliceSection,
} from './support/markdown-sections.ts'
import { copyPgTemplate, dropDatabase, makePgTemplate, startBenchCluster } from './support/postgres.ts'
import { type BenchReport, renderMarkdown, renderText, type ScenarioResult } from './support/report.ts'

const scenarios: Scenario[] = [p1, p2, p3, p4, p5, p6, p7]

let flags: Flags
try {
  flags = parseFlags(
    process.argv.slice(2),
    process.env,
    scenarios.map((s) => s.id),
  )
} catch (error) {
  process.stderr.write(`${(error as Error).message}\n`)
  process.exit(2)
}
const say = (line: string) => (flags.json ? process.stderr : process.stdout).write(`${line}\n`)
const selected = scenarios.filter(
  (s) => (s.stores ?? ['embedded']).includes(flags.store) && (!flags.only || flags.only.includes(s.id)),
)
const onPostgres = flags.store === 'postgres'
const writeMarkdown = flags.write ?? (!flags.quick && !flags.only)
const command = [
  'npm run bench',
  ...(flags.quick || flags.json || flags.only || flags.write || onPostgres ? ['--'] : []),
  ...(onPostgres ? ['--store postgres'] : []),
  ...(flags.quick ? ['--quick'] : []),
  ...(flags.json ? ['--json'] : []),
  ...(flags.only ? [`--only ${flags.only.join(',')}`] : []),
  ...(flags.write ? ['--write'] : []),
].join(' ')

const workDir = await mkdtemp(join(tmpdir(), 'roster-bench-'))
const removeWorkDir = () => rmSync(workDir, { recursive: true, force: true })
// Also when something crashes the process (an uncaught error skips the finally below).
process.once('exit', removeWorkDir)
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    removeWorkDir()
    process.exit(130)
  })
}

// PostgreSQL: the bench's own throwaway cluster, stopped at the end (a killed run's is stopped by the next run).
let cluster: Cluster | undefined
if (onPostgres) {
  try {
    cluster = await startBenchCluster()
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`)
    process.exit(1)
  }
}
const stopCluster = async () => {
  await cluster?.stop()
  cluster = undefined
}

const templates = new Map<number, Promise<TenantStore>>()
function template(users: number): Promise<TenantStore> {
  let made = templates.get(users)
  if (!made) {
    const start = performance.now()
    // On PostgreSQL the template is a database: `databaseUrl` holds its name until ctx.tenant copies it.
    const making: Promise<TenantStore> = cluster
      ? makePgTemplate(cluster.url, workDir, users).then((tpl) => ({
          storeDir: '',
          databaseUrl: tpl.name,
          connection: tpl.connection,
          users,
        }))
      : makeTenantStore(join(workDir, 'templates', `tenant-${users}`), users)
    made = making.then((store) => {
      if (users > 0)
        say(
          `  (generated a tenant of ${users.toLocaleString('en-US')} users in ${((performance.now() - start) / 1000).toFixed(1)} s)`,
        )
      return store
    })
    templates.set(users, made)
  }
  return made
}

const machine = {
  cpu: cpus()[0]?.model.trim() ?? 'unknown',
  cores: cpus().length,
  memoryGb: Math.round(totalmem() / 1024 ** 3),
  node: process.version,
  platform: `${process.platform} ${process.arch}`,
}
say(
  `Roster bench${flags.quick ? ' (quick)' : ''}${onPostgres ? ' on PostgreSQL' : ''}: ${selected.map((s) => s.id).join(', ')} on ${machine.cpu}, ${machine.cores} cores, Node ${machine.node}`,
)

// The machine's load when the run began: the PostgreSQL section says under what load its figures were taken.
const loadAtStart = loadavg()[0] ?? 0
const results: ScenarioResult[] = []
const shared = new Map<string, unknown>()
const runStart = performance.now()
try {
  await mkdir(join(workDir, 'templates'))
  for (const scenario of selected) {
    const dir = join(workDir, scenario.id)
    await mkdir(dir)
    let stores = 0
    const databases: string[] = []
    const ctx: BenchContext = {
      quick: flags.quick,
      store: flags.store,
      dir,
      log: say,
      shared,
      async tenant(users) {
        stores += 1
        const from = await template(users)
        const storeDir = join(dir, `store-${stores}`)
        if (!cluster || from.databaseUrl === undefined) return copyStore(from, storeDir)
        const databaseUrl = await copyPgTemplate(cluster.url, from.databaseUrl)
        databases.push(databaseUrl)
        await mkdir(storeDir)
        return { ...from, storeDir, databaseUrl }
      },
    }
    const start = performance.now()
    let result: ScenarioResult
    try {
      const output = await scenario.run(ctx)
      result = {
        id: scenario.id,
        title: scenario.title,
        ...output,
        seconds: (performance.now() - start) / 1000,
      }
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error)
      result = {
        id: scenario.id,
        title: scenario.title,
        rows: [],
        notes: [],
        seconds: (performance.now() - start) / 1000,
        error: message,
      }
    }
    await rm(dir, { recursive: true, force: true })
    if (cluster) for (const url of databases) await dropDatabase(cluster.url, url)
    results.push(result)
    for (const line of renderText(result)) say(line)
  }
} finally {
  await stopCluster()
  removeWorkDir()
}

const report: BenchReport = {
  date: new Date().toISOString(),
  command,
  quick: flags.quick,
  machine,
  seconds: (performance.now() - runStart) / 1000,
  scenarios: results,
}
const missed = results.flatMap((s) =>
  s.rows.filter((row) => row.met === false).map((row) => `${s.id} ${row.label}`),
)
const failed = results.filter((s) => s.error !== undefined)
say(
  `Done in ${report.seconds.toFixed(0)} s. Targets missed: ${missed.length === 0 ? 'none' : missed.join('; ')}.${failed.length > 0 ? ` Failed: ${failed.map((s) => s.id).join(', ')}.` : ''}`,
)
if (flags.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`)
if (writeMarkdown) {
  const path = fileURLToPath(new URL('../BENCHMARKS.md', import.meta.url))
  const before = existsSync(path) ? readFileSync(path, 'utf8') : ''
  // Each store's figures have a part of the file; a run rewrites its own part and keeps the other.
  writeFileSync(
    path,
    onPostgres
      ? spliceSection(before, renderPostgresSection(report, postgresCaveat(loadAtStart, cpus().length)))
      : keepSection(before, renderMarkdown(report)),
  )
  say(`Wrote ${path}.`)
}
// A missed target is a finding, not a failure; a scenario that could not run is.
process.exitCode = failed.length > 0 ? 1 : 0
