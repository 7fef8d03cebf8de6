import { describe, expect, it } from 'vitest'
import {
  keepSection,
  postgresCaveat,
  renderPostgresSection,
  sectionEnd,
  sectionStart,
  spliceSection,
} from '../../bench/support/markdown-sections.ts'
import type { BenchReport } from '../../bench/support/report.ts'

const report: BenchReport = {
  date: '2026-12-05T05:00:00.000Z',
  command: 'npm run bench -- --store postgres',
  quick: false,
  machine: { cpu: 'AMD EPYC', cores: 2, memoryGb: 24, node: 'v20', platform: 'linux x64' },
  seconds: 60,
  scenarios: [
    {
      id: 'P7',
      title: 'replicas',
      seconds: 10,
      notes: ['a note'],
      rows: [
        {
          label: 'start',
          unit: 's',
          value: { median: 0.5, min: 0.4, max: 0.6, runs: 3 },
          target: '≤ 1 s',
          met: true,
        },
      ],
    },
  ],
}

/** BENCHMARKS.md's two parts (bench/support/markdown-sections.ts): each run rewrites its own, keeps the other. */
describe('bench markdown sections', () => {
  const section = renderPostgresSection(report)

  it('renders the PostgreSQL figures between markers, under their own heading, with the caveat', () => {
    expect(section.startsWith(sectionStart)).toBe(true)
    expect(section.endsWith(sectionEnd)).toBe(true)
    expect(section).toContain('## PostgreSQL')
    expect(section).toContain('shared, loaded 2-core machine')
    expect(section).toContain('| P7 | start | 0.50 s (0.40–0.60) |')
    expect(section).toContain('#### P7 replicas')
    expect(section).not.toContain('# Benchmarks')
  })

  it('appends the section to a file without one, then replaces it in place', () => {
    const embedded = '# Benchmarks\n\nembedded figures\n'
    const once = spliceSection(embedded, section)
    expect(once).toBe(`# Benchmarks\n\nembedded figures\n\n${section}\n`)
    const newer = renderPostgresSection({ ...report, date: '2026-12-06T00:00:00.000Z' })
    const twice = spliceSection(`${once}\ntrailing\n`, newer)
    expect(twice).toContain('2026-12-06')
    expect(twice).not.toContain('2026-12-05')
    expect(twice.startsWith('# Benchmarks\n\nembedded figures\n')).toBe(true)
    expect(twice.endsWith('\ntrailing\n')).toBe(true)
  })

  it('keeps the PostgreSQL part when an embedded run rewrites the file', () => {
    const before = spliceSection('# Benchmarks\n\nold embedded\n', section)
    const after = keepSection(before, '# Benchmarks\n\nnew embedded\n')
    expect(after).toContain('new embedded')
    expect(after).not.toContain('old embedded')
    expect(after).toContain(section)
    expect(keepSection('# Benchmarks\n', '# fresh\n')).toBe('# fresh\n')
  })
})

describe('bench postgres caveat', () => {
  it('says the load the run began under', () => {
    const caveat = postgresCaveat(13.66)
    expect(caveat).toContain('load average 13.7')
    expect(caveat).toContain('re-take them on a quiet machine')
    expect(renderPostgresSection(report, caveat)).toContain(`> ${caveat}`)
  })

  it('warns only when the load reached the cores', () => {
    expect(postgresCaveat(1.6, 2)).toContain('load average 1.6')
    expect(postgresCaveat(1.6, 2)).not.toContain('loaded')
    expect(postgresCaveat(2.1, 2)).toContain('re-take them on a quiet machine')
  })
})
