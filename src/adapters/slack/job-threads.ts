import { readFile } from 'node:fs/promises'
import { z } from 'zod'
import { writeFileDurably } from '../store/durable-json-file.ts'

/**
 * Which Slack thread speaks for which job: the parent message (channel + ts) that is updated in place while the
 * job runs, and the person to @mention. A dry run and the import it leads to share one thread. Persisted, so a
 * restart (or another replica) still answers in the right thread.
 */
export const jobThreadSchema = z.object({
  channel: z.string(),
  /** The parent message. */
  ts: z.string(),
  /** Who started the flow: mentioned in milestones and the result. */
  user: z.string(),
})
export type JobThread = z.infer<typeof jobThreadSchema>

/** How long a job stays "expected" unless its flow says otherwise: a parent post, retries included, is done by then. */
export const defaultExpectMs = 2 * 60_000

/**
 * The port: `slack-threads.json` in STORE_DIR (openJobThreads) or the `slack_threads` table shared by replicas
 * (src/adapters/postgres/slack-threads.ts).
 */
export interface JobThreads {
  get(jobId: string): Promise<JobThread | undefined>
  /** Links the job to its thread; the job is no longer expected. */
  link(jobId: string, thread: JobThread): Promise<void>
  /**
   * Someone is posting the job's parent (a flow, or a notifier making a fallback thread): notifiers wait for the
   * link instead of starting a thread of their own, for at most `forMs`. True when this call made the mark (the job
   * was neither linked nor expected already): the caller then owns the parent.
   */
  expect(jobId: string, forMs?: number): Promise<boolean>
  /** The parent will not come from there (Roster cannot post, or it is kept in the outbox): the mark goes. */
  unexpect(jobId: string): Promise<void>
  expected(jobId: string): Promise<boolean>
  /** Forgets threads of jobs that no longer exist (retention). */
  prune(liveJobIds: ReadonlySet<string>): Promise<void>
}

/** `slack-threads.json` (read by `roster store copy` too). */
export const jobThreadsFileSchema = z.object({ threads: z.record(z.string(), jobThreadSchema) })

/**
 * `STORE_DIR/slack-threads.json`. The expected marks are in memory: one process uses the store, and after a restart
 * the parent kept in the outbox says the same.
 */
export async function openJobThreads(file: string, now: () => number = Date.now): Promise<JobThreads> {
  let threads: Record<string, JobThread> = {}
  try {
    threads = jobThreadsFileSchema.parse(JSON.parse(await readFile(file, 'utf8'))).threads
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
  }
  /** Job → until when (ms). */
  const expected = new Map<string, number>()
  const isExpected = (jobId: string) => (expected.get(jobId) ?? 0) > now()
  let tail: Promise<void> = Promise.resolve()
  const save = () => {
    const snapshot = JSON.stringify({ threads })
    const write = tail.then(() => writeFileDurably(file, snapshot))
    tail = write.catch(() => undefined)
    return write
  }
  return {
    get: async (jobId) => threads[jobId],
    link(jobId, thread) {
      expected.delete(jobId)
      threads = { ...threads, [jobId]: thread }
      return save()
    },
    async expect(jobId, forMs = defaultExpectMs) {
      if (threads[jobId] || isExpected(jobId)) return false
      expected.set(jobId, now() + forMs)
      return true
    },
    async unexpect(jobId) {
      expected.delete(jobId)
    },
    expected: async (jobId) => isExpected(jobId),
    prune(live) {
      const kept = Object.fromEntries(Object.entries(threads).filter(([id]) => live.has(id)))
      if (Object.keys(kept).length === Object.keys(threads).length) return Promise.resolve()
      threads = kept
      return save()
    },
  }
}
