import { readFile } from 'node:fs/promises'

/** Samples this process's RSS every `intervalMs`; `stop()` gives the peak above the level at start, in bytes. */
export function rssSampler(intervalMs = 20): { stop(): number } {
  const base = process.memoryUsage().rss
  let peak = base
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss)
  }, intervalMs)
  return {
    stop() {
      clearInterval(timer)
      peak = Math.max(peak, process.memoryUsage().rss)
      return peak - base
    },
  }
}

/** A child's peak and current RSS (VmHWM, VmRSS from /proc), in bytes; undefined where /proc has no such pid. */
export async function processRss(pid: number): Promise<{ peak: number; current: number } | undefined> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8')
    const kb = (field: string) =>
      Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN)
    return { peak: kb('VmHWM') * 1024, current: kb('VmRSS') * 1024 }
  } catch {
    return undefined
  }
}

/** Runs the garbage collector if node was started with --expose-gc (npm run bench is), so baselines are steady. */
export function collectGarbage(): void {
  globalThis.gc?.()
}
