import { readFile } from 'node:fs/promises'
import { z } from 'zod'
import { writeFileDurably } from '../store/durable-json-file.ts'

/**
 * Which Slack thread speaks for which job: the parent message (channel + ts) that is updated in place while the
 * job runs, and the person to @mention. A dry run and the import it leads to share one thread. Persisted, so a
 * restart still answers in the right thread.
 */
export const jobThreadSchema = z.object({
  channel: z.string(),
  /** The parent message. */
  ts: z.string(),
  /** Who started the flow: mentioned in milestones and the result. */
  user: z.string(),
})
export type JobThread = z.infer<typeof jobThreadSchema>

const fileSchema = z.object({ threads: z.record(z.string(), jobThreadSchema) })

export interface JobThreads {
  get(jobId: string): JobThread | undefined
  /** Links the job to its thread; the job is no longer expected. */
  link(jobId: string, thread: JobThread): Promise<void>
  /**
   * A flow is posting the job's parent (or Slack has not taken it yet): the notifier waits for the link instead of
   * starting a thread of its own. In memory: after a restart the parent kept in the outbox says the same.
   */
  expect(jobId: string): void
  /** The flow gave up on a parent of its own (Roster cannot post there): the notifier may start one. */
  unexpect(jobId: string): void
  expected(jobId: string): boolean
  /** Forgets threads of jobs that no longer exist (retention). */
  prune(liveJobIds: ReadonlySet<string>): Promise<void>
}

export async function openJobThreads(file: string): Promise<JobThreads> {
  let threads: Record<string, JobThread> = {}
  try {
    threads = fileSchema.parse(JSON.parse(await readFile(file, 'utf8'))).threads
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
  }
  const expected = new Set<string>()
  let tail: Promise<void> = Promise.resolve()
  const save = () => {
    const snapshot = JSON.stringify({ threads })
    const write = tail.then(() => writeFileDurably(file, snapshot))
    tail = write.catch(() => undefined)
    return write
  }
  return {
    get: (jobId) => threads[jobId],
    link(jobId, thread) {
      expected.delete(jobId)
      threads = { ...threads, [jobId]: thread }
      return save()
    },
    expect: (jobId) => {
      if (!threads[jobId]) expected.add(jobId)
    },
    unexpect: (jobId) => {
      expected.delete(jobId)
    },
    expected: (jobId) => expected.has(jobId),
    prune(live) {
      const kept = Object.fromEntries(Object.entries(threads).filter(([id]) => live.has(id)))
      if (Object.keys(kept).length === Object.keys(threads).length) return Promise.resolve()
      threads = kept
      return save()
    },
  }
}
