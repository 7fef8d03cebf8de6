import { Session } from 'node:inspector/promises'
import { relative } from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * A short CPU profile of one run, for a scenario that misses its target: where the main thread spent its time,
 * by function and by file. The sampler sees only the main thread, so time spent waiting on the disk (fsync runs on
 * libuv's thread pool) shows as "(idle)": that is the I/O share.
 */

const repoRoot = fileURLToPath(new URL('../..', import.meta.url))

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
}
interface CpuProfile {
  nodes: ProfileNode[]
  samples?: number[]
  timeDeltas?: number[]
}

export interface ProfileSummary {
  totalMs: number
  /** "(idle)", "(garbage collector)", "(program)" and the rest, by self time. */
  top: { name: string; ms: number; share: number }[]
  files: { file: string; ms: number; share: number }[]
}

function where(url: string): string {
  if (url === '') return ''
  if (url.startsWith('node:')) return url
  const path = url.startsWith('file://') ? fileURLToPath(url) : url
  const rel = relative(repoRoot, path)
  return rel.startsWith('node_modules/') ? rel.split('/').slice(0, 2).join('/') : rel
}

export async function profile<T>(run: () => Promise<T>): Promise<{ result: T; summary: ProfileSummary }> {
  const session = new Session()
  session.connect()
  try {
    await session.post('Profiler.enable')
    await session.post('Profiler.setSamplingInterval', { interval: 500 })
    await session.post('Profiler.start')
    const result = await run()
    const { profile: cpu } = (await session.post('Profiler.stop')) as { profile: CpuProfile }
    return { result, summary: summarizeProfile(cpu) }
  } finally {
    session.disconnect()
  }
}

export function summarizeProfile(cpu: CpuProfile): ProfileSummary {
  const byId = new Map(cpu.nodes.map((node) => [node.id, node]))
  const self = new Map<string, number>()
  const files = new Map<string, number>()
  let total = 0
  const samples = cpu.samples ?? []
  const deltas = cpu.timeDeltas ?? []
  samples.forEach((id, i) => {
    const ms = (deltas[i + 1] ?? deltas[i] ?? 0) / 1000
    const frame = byId.get(id)?.callFrame
    if (!frame) return
    total += ms
    const file = where(frame.url)
    // No url: V8's own entries — "(idle)", "(garbage collector)", "(program)" — or a builtin (JSON.parse, …).
    const fn = frame.functionName || (file === '' ? '(native: JSON, Buffer, builtins)' : '(anonymous)')
    const name = file === '' ? fn : `${fn} ${file}:${frame.lineNumber + 1}`
    self.set(name, (self.get(name) ?? 0) + ms)
    const fileKey = file === '' ? fn : file
    files.set(fileKey, (files.get(fileKey) ?? 0) + ms)
  })
  const ranked = (m: Map<string, number>) =>
    [...m].sort((a, b) => b[1] - a[1]).map(([name, ms]) => ({ name, ms, share: total > 0 ? ms / total : 0 }))
  return {
    totalMs: total,
    top: ranked(self).slice(0, 5),
    files: ranked(files)
      .slice(0, 5)
      .map(({ name, ms, share }) => ({ file: name, ms, share })),
  }
}

/** Two lines: the top functions and the top files, by share of the run's main-thread time. */
export function describeProfile(summary: ProfileSummary): string[] {
  const pct = (share: number) => `${Math.round(share * 100)}%`
  return [
    `profile (main thread, ${Math.round(summary.totalMs)} ms): ${summary.top.map((t) => `${t.name} ${pct(t.share)}`).join('; ')}`,
    `by file: ${summary.files.map((f) => `${f.file} ${pct(f.share)}`).join('; ')}`,
  ]
}
