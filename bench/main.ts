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
import { rmSync, writeFileSync } from 'node:fs'
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { cpus, tmpdir, totalmem } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { p1, p2 } from './scenarios/p1-import.ts'
import { p3 } from './scenarios/p3-bulk.ts'
import { p4 } from './scenarios/p4-export.ts'
import { p5 } from './scenarios/p5-slack.ts'
import { p6 } from './scenarios/p6-startup.ts'
import type { BenchContext, Scenario } from './support/context.ts'
import { copyStore, makeTenantStore, type TenantStore } from './support/generate.ts'
import { type BenchReport, renderMarkdown, renderText, type ScenarioResult } from './support/report.ts'

const scenarios: Scenario[] = [p1, p2, p3, p4, p5, p6]

interface Flags {
  quick: boolean
  json: boolean
  only: string[] | undefined
  write: boolean | undefined
}

/** A flag from argv, or from npm's config env (`npm run bench --quick` sets npm_config_quick=true). */
function parseFlags(argv: readonly string[], env: NodeJS.ProcessEnv): Flags {
  const npm = (name: string) => {
    const value = env[`npm_config_${name}`]
    return value === undefined || value === '' || value === 'false' ? undefined : value
  }
  const has = (name: string) => argv.includes(`--${name}`) || npm(name) !== undefined
  let only: string | undefined = npm('only')
  for (const [i, arg] of argv.entries()) {
    if (arg === '--only') only = argv[i + 1]
    else if (arg.startsWith('--only=')) only = arg.slice('--only='.length)
  }
  const known = new Set(['--quick', '--json', '--write', '--no-write', '--only'])
  for (const [i, arg] of argv.entries()) {
    if (!known.has(arg) && !arg.startsWith('--only=') && argv[i - 1] !== '--only') {
      throw new Error(`unknown argument ${arg}: use --quick, --json, --only P1,P4, --write or --no-write`)
    }
  }
  const ids = only?.split(',').map((id) => id.trim().toUpperCase())
  for (const id of ids ?? []) {
    if (!scenarios.some((s) => s.id === id)) throw new Error(`--only: no scenario ${id} (P1 to P6)`)
  }
  return {
    quick: has('quick'),
    json: has('json'),
    only: ids,
    write: argv.includes('--no-write') ? false : has('write') ? true : undefined,
  }
}

const flags = parseFlags(process.argv.slice(2), process.env)
const say = (line: string) => (flags.json ? process.stderr : process.stdout).write(`${line}\n`)
const selected = scenarios.filter((s) => !flags.only || flags.only.includes(s.id))
const writeMarkdown = flags.write ?? (!flags.quick && !flags.only)
const command = [
  'npm run bench',
  ...(flags.quick || flags.json || flags.only || flags.write ? ['--'] : []),
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

const templates = new Map<number, Promise<TenantStore>>()
function template(users: number): Promise<TenantStore> {
  let made = templates.get(users)
  if (!made) {
    const start = performance.now()
    made = makeTenantStore(join(workDir, 'templates', `tenant-${users}`), users).then((store) => {
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
  `Roster bench${flags.quick ? ' (quick)' : ''}: ${selected.map((s) => s.id).join(', ')} on ${machine.cpu}, ${machine.cores} cores, Node ${machine.node}`,
)

const results: ScenarioResult[] = []
const shared = new Map<string, unknown>()
const runStart = performance.now()
try {
  await mkdir(join(workDir, 'templates'))
  for (const scenario of selected) {
    const dir = join(workDir, scenario.id)
    await mkdir(dir)
    let stores = 0
    const ctx: BenchContext = {
      quick: flags.quick,
      dir,
      log: say,
      shared,
      async tenant(users) {
        stores += 1
        return copyStore(await template(users), join(dir, `store-${stores}`))
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
    results.push(result)
    for (const line of renderText(result)) say(line)
  }
} finally {
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
  writeFileSync(path, renderMarkdown(report))
  say(`Wrote ${path}.`)
}
// A missed target is a finding, not a failure; a scenario that could not run is.
process.exitCode = failed.length > 0 ? 1 : 0
