import type { Summary } from './stats.ts'

/** One measured figure: median and range over the runs, the floor measured alongside, and the target. */
export interface Row {
  /** What was measured, e.g. `import into 1,000,000 users`. */
  label: string
  unit: 'ms' | 's' | 'users/s' | 'MB' | 'KB' | 'ratio'
  value: Summary
  floor?: Summary
  /** value median ÷ floor median. */
  ratio?: number
  target?: string
  /** undefined: the row has no target of its own (context). */
  met?: boolean
}

export interface ScenarioResult {
  id: string
  title: string
  rows: Row[]
  /** Context, and for a missed target what dominates its time. */
  notes: string[]
  seconds: number
  error?: string
}

export interface Machine {
  cpu: string
  cores: number
  memoryGb: number
  node: string
  platform: string
}

export interface BenchReport {
  date: string
  command: string
  quick: boolean
  machine: Machine
  seconds: number
  scenarios: ScenarioResult[]
}

const grouped = (n: number, digits = 0) =>
  n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })

export function formatNumber(n: number, unit: Row['unit']): string {
  if (!Number.isFinite(n)) return '–'
  if (unit === 'users/s') return grouped(n)
  if (unit === 'ratio') return n.toFixed(2)
  if (unit === 's' || unit === 'KB') return n.toFixed(2)
  return grouped(n, Math.abs(n) < 10 ? 1 : 0)
}

function figure(row: Row): string {
  const { median, min, max, runs } = row.value
  const range = runs > 1 ? ` (${formatNumber(min, row.unit)}–${formatNumber(max, row.unit)})` : ''
  return `${formatNumber(median, row.unit)} ${row.unit}${range}`
}

const floorText = (row: Row) => (row.floor ? `${formatNumber(row.floor.median, row.unit)} ${row.unit}` : '—')
const ratioText = (row: Row) => (row.ratio === undefined ? '—' : `${row.ratio.toFixed(2)}×`)
const metText = (row: Row) => (row.met === undefined ? '—' : row.met ? 'met' : '**missed**')

/** Plain lines for a terminal. */
export function renderText(result: ScenarioResult): string[] {
  const lines = [`${result.id} ${result.title} (${result.seconds.toFixed(0)} s)`]
  if (result.error) lines.push(`  FAILED: ${result.error}`)
  for (const row of result.rows) {
    const met = row.met === undefined ? '' : row.met ? '  met' : '  MISSED'
    const target = row.target ? `  target ${row.target}${met}` : ''
    const floor = row.floor ? `  floor ${floorText(row)}  ratio ${ratioText(row)}` : ''
    lines.push(`  ${row.label}: ${figure(row)}${floor}${target}`)
  }
  for (const note of result.notes) lines.push(`  · ${note}`)
  return lines
}

const cell = (text: string) => text.replaceAll('|', '\\|')

/** BENCHMARKS.md: machine, date, command, one table, then the notes of each scenario. */
export function renderMarkdown(report: BenchReport): string {
  const m = report.machine
  const out = [
    '# Benchmarks',
    '',
    'Written by `npm run bench` (bench/main.ts) from one run; re-run it to refresh this file. Each figure is the',
    'median of several runs with their range, next to a floor measured in the same process run: the machines are',
    'shared and noisy, so the ratio to the floor says more than an absolute time. Ratio = figure ÷ floor: for times',
    'lower is better, for rates (users/s) higher is better. A missed target is listed with what dominates its time.',
    '',
    `- Machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGb} GB RAM, ${m.platform}, Node ${m.node}`,
    `- Date: ${report.date}`,
    `- Command: \`${report.command}\`${report.quick ? ' (quick: small sizes, not the targets’ sizes)' : ''}`,
    `- Whole run: ${Math.round(report.seconds)} s`,
    '',
    '| scenario | figure | median (range) | floor | ratio to floor | target | met |',
    '| --- | --- | --- | --- | --- | --- | --- |',
  ]
  for (const s of report.scenarios) {
    if (s.error) out.push(`| ${s.id} | ${cell(s.title)} | failed: ${cell(s.error)} | | | | |`)
    for (const row of s.rows) {
      out.push(
        `| ${s.id} | ${cell(row.label)} | ${figure(row)} | ${floorText(row)} | ${ratioText(row)} | ${cell(row.target ?? '—')} | ${metText(row)} |`,
      )
    }
  }
  out.push('', '## Notes', '')
  for (const s of report.scenarios) {
    out.push(`### ${s.id} ${s.title}`, '')
    const missed = s.rows.filter((row) => row.met === false).map((row) => row.label)
    const met = s.rows.filter((row) => row.met === true).length
    out.push(
      missed.length === 0
        ? `Targets met: ${met} of ${met}.`
        : `Targets met: ${met} of ${met + missed.length}; missed: ${missed.join(', ')}.`,
      '',
    )
    for (const note of s.notes) out.push(`- ${note}`)
    if (s.notes.length > 0) out.push('')
  }
  return `${out.join('\n').trimEnd()}\n`
}
